//! The one read this module makes: the pods of a workload that is not healthy, listed through
//! its selector in its namespace, only when there is something to explain (so no cluster-wide
//! pod watch, and no pod reads at all while everything runs).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};

use super::{SelectorError, pod_selector};

#[derive(Debug, thiserror::Error)]
pub enum PodsError {
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error("listing the pods of {object}: {source}")]
    List {
        object: String,
        #[source]
        source: kube::Error,
    },
}

/// The pods `object` (of `kind` in `group`) owns by its selector; empty for kinds that own
/// none, and for cluster-scoped objects, which cannot select namespaced pods.
pub async fn pods_of(
    client: &kube::Client,
    group: &str,
    kind: &str,
    object: &DynamicObject,
) -> Result<Vec<Pod>, PodsError> {
    let (Some(selector), Some(namespace)) = (
        pod_selector(group, kind, object)?,
        object.metadata.namespace.as_deref(),
    ) else {
        return Ok(Vec::new());
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let name = object.metadata.name.as_deref().unwrap_or_default();
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| PodsError::List {
            object: format!("{} {namespace}/{name}", kind.to_lowercase()),
            source,
        })?;
    tracing::debug!(
        component = "health",
        kind,
        namespace,
        name,
        selector,
        pods = list.items.len(),
        "listed pods"
    );
    Ok(list.items)
}
