//! Keeps the dry render's `.Capabilities` in step with the cluster. A chart that renders
//! differently once an API exists (`.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`)
//! must get the verdict the reconciler's render will reach, so the webhook cannot judge by the
//! cluster it saw at startup: CRDs come and go while it runs. It follows the discovery cache
//! the reconciler renders with ([`crate::discovery`]), whose CRD watch decides when to look.

use std::sync::Arc;

use tokio::sync::watch;

use super::validate::ClusterView;
use crate::discovery::Snapshot;

/// Installs every published snapshot's capabilities in `view`. Runs until the task is dropped
/// or the discovery cache is gone.
pub async fn follow_cluster(mut snapshots: watch::Receiver<Arc<Snapshot>>, view: Arc<ClusterView>) {
    loop {
        let capabilities = snapshots.borrow_and_update().capabilities.clone();
        if view.update(capabilities) {
            tracing::info!("the cluster's APIs changed; dry renders now see the new ones");
        }
        if snapshots.changed().await.is_err() {
            return;
        }
    }
}
