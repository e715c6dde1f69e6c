//! Keeps the dry render's `.Capabilities` in step with the cluster. A chart that renders
//! differently once an API exists (`.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`)
//! must get the verdict the reconciler's render will reach, so the webhook cannot judge by the
//! cluster it saw at startup: CRDs come and go while it runs.
//!
//! CRD changes are watched (metadata only) and followed by a fresh discovery a second later,
//! repeated a few times while the API server publishes the change;
//! a slow periodic refresh catches what no CRD event announces (aggregated APIs, an upgraded
//! API server).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::time::Instant;

use super::validate::ClusterView;
use crate::reconcile::cluster::Cluster;

/// How long after a CRD event discovery runs: installing a chart's CRDs is a burst of events,
/// worth one discovery.
const SETTLE: Duration = Duration::from_secs(1);
/// A new CRD's group reaches discovery a moment after the CRD reports Established (longer on
/// a loaded API server), so an event-driven refresh is repeated after each of these pauses.
const CONFIRM: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(30),
];
/// The refresh that catches changes without a CRD event.
const PERIODIC: Duration = Duration::from_secs(300);

/// Runs until the task is dropped; never ends or fails on its own (errors are logged and
/// retried).
pub async fn follow_cluster(client: kube::Client, view: Arc<ClusterView>) {
    let api: Api<PartialObjectMeta<CustomResourceDefinition>> = Api::all(client.clone());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut periodic = tokio::time::interval_at(Instant::now() + PERIODIC, PERIODIC);
    // The next discovery, and how many confirming ones have followed the last change.
    let mut due: Option<(Instant, usize)> = None;
    // The watch retries forever; should it ever end, the periodic refresh carries on alone.
    let mut watching = true;
    loop {
        let wake = due.map_or_else(|| Instant::now() + PERIODIC, |(at, _)| at);
        tokio::select! {
            event = stream.next(), if watching => match event {
                Some(Ok(Event::Apply(_) | Event::Delete(_) | Event::InitDone)) => {
                    // A refresh already due sooner stays due, so a CRD that never stops
                    // changing cannot postpone discovery for ever.
                    let settled = Instant::now() + SETTLE;
                    let at = due.map_or(settled, |(at, _)| at.min(settled));
                    due = Some((at, 0));
                }
                Some(_) => {}
                None => watching = false,
            },
            _ = periodic.tick() => refresh(&client, &view).await,
            () = tokio::time::sleep_until(wake), if due.is_some() => {
                refresh(&client, &view).await;
                due = due.and_then(|(_, confirmed)| {
                    let pause = CONFIRM.get(confirmed)?;
                    Some((Instant::now() + *pause, confirmed + 1))
                });
            }
        }
    }
}

async fn refresh(client: &kube::Client, view: &ClusterView) {
    match Cluster::discover(client.clone()).await {
        Ok(cluster) => {
            if view.update(cluster.snapshot().capabilities.clone()) {
                tracing::info!("the cluster's APIs changed; dry renders now see the new ones");
            }
        }
        Err(e) => tracing::warn!(error = %e, "discovery for dry renders failed; keeping the last"),
    }
}
