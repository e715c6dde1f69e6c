//! What the reconciler knows about the cluster: its version and served resources (Helm's
//! `.Capabilities`, and how to reach each kind), plus the live read-only `lookup`.
//!
//! Discovery is cached and refreshed only when our own CRDs change it or a kind is missing, so
//! a no-op reconcile makes no discovery calls either.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};

use super::ReconcileError;
use super::plan::{Scopes, split_api_version};
use helm_render::engine::funcs::Lookup;
use helm_render::render::{Capabilities, KubeVersion};
use helm_render::value::{Map, Value};

/// One discovery result.
pub struct Snapshot {
    pub capabilities: Arc<Capabilities>,
    resources: HashMap<(String, String, String), (ApiResource, bool)>,
}

impl Snapshot {
    /// The resource serving `apiVersion`/`kind` and whether it is namespaced.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        let (group, version) = split_api_version(api_version);
        self.resources
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }

    /// Whether any version of `group` serves `kind`.
    pub fn serves(&self, group: &str, kind: &str) -> bool {
        self.resources
            .keys()
            .any(|(g, _, k)| g == group && k == kind)
    }
}

impl Scopes for Snapshot {
    fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.resolve(api_version, kind).map(|(_, n)| n)
    }
}

/// The shared, refreshable discovery cache.
pub struct Cluster {
    client: kube::Client,
    /// The snapshot and the ticket of the refresh that took it.
    current: RwLock<(u64, Arc<Snapshot>)>,
    /// Tickets for refreshes, in the order they start: of two overlapping refreshes, the one
    /// that began later saw the newer cluster and must win, whichever finishes first.
    tickets: AtomicU64,
}

impl Cluster {
    pub async fn discover(client: kube::Client) -> Result<Cluster, ReconcileError> {
        let snapshot = snapshot(&client).await?;
        Ok(Cluster {
            client,
            current: RwLock::new((0, Arc::new(snapshot))),
            tickets: AtomicU64::new(1),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => s.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Discovers again; returns the newest snapshot, which is this one unless a refresh that
    /// started later has already finished.
    pub async fn refresh(&self) -> Result<Arc<Snapshot>, ReconcileError> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let fresh = Arc::new(snapshot(&self.client).await?);
        let mut current = match self.current.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if ticket > current.0 {
            *current = (ticket, fresh);
        }
        Ok(current.1.clone())
    }
}

async fn snapshot(client: &kube::Client) -> Result<Snapshot, ReconcileError> {
    let info = client.apiserver_version().await?;
    let kube = KubeVersion::parse(&info.git_version)
        .or_else(|| KubeVersion::parse(&format!("v{}.{}.0", info.major, info.minor)))
        .ok_or_else(|| ReconcileError::Discovery(format!("version {:?}", info.git_version)))?;
    let discovery = Discovery::new(client.clone()).run_aggregated().await?;
    let mut api_versions = Vec::new();
    let mut resources = HashMap::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let gv = if group.name().is_empty() {
                version.to_string()
            } else {
                format!("{}/{version}", group.name())
            };
            api_versions.push(gv.clone());
            for (ar, caps) in group.versioned_resources(version) {
                // Subresources (`pods/status`) are not kinds a chart can render.
                if ar.plural.contains('/') {
                    continue;
                }
                api_versions.push(format!("{gv}/{}", ar.kind));
                let namespaced = caps.scope == Scope::Namespaced;
                resources.insert(
                    (ar.group.clone(), ar.version.clone(), ar.kind.clone()),
                    (ar, namespaced),
                );
            }
        }
    }
    api_versions.sort();
    api_versions.dedup();
    let capabilities = Capabilities::new(
        kube,
        api_versions,
        &helm_render::render::defaults::helm_version(),
    );
    Ok(Snapshot {
        capabilities: Arc::new(capabilities),
        resources,
    })
}

/// The object as Helm's `lookup` returns it: unstructured JSON, whose integers are int64.
pub fn unstructured(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::Array(a) => Value::list(a.iter().map(unstructured).collect()),
        J::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), unstructured(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

/// Helm's `lookup` against the live cluster, read-only. The template engine is synchronous,
/// so renders run on a blocking thread and each lookup blocks on the async client there.
pub struct LiveLookup {
    pub client: kube::Client,
    pub snapshot: Arc<Snapshot>,
    pub runtime: tokio::runtime::Handle,
}

impl Lookup for LiveLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        let Some((ar, namespaced)) = self.snapshot.resolve(api_version, kind) else {
            let (group, version) = split_api_version(api_version);
            let gvk = GroupVersionKind::gvk(group, version, kind);
            return Err(format!(
                "unable to get apiresource from unstructured: {}/{}, Kind={}",
                gvk.group, gvk.version, gvk.kind
            ));
        };
        let api: Api<DynamicObject> = if namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        let result = self.runtime.block_on(async {
            if name.is_empty() {
                let list = api.list(&ListParams::default()).await?;
                let items: Vec<serde_json::Value> = list
                    .items
                    .iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect();
                Ok::<_, kube::Error>(Some(serde_json::json!({ "items": items })))
            } else {
                let found = api.get_opt(name).await?;
                Ok(found.and_then(|o| serde_json::to_value(o).ok()))
            }
        });
        match result {
            Ok(Some(json)) => Ok(unstructured(&json)),
            Ok(None) => Ok(Value::map(Map::new())),
            Err(e) => Err(e.to_string()),
        }
    }
}
