//! The reconciler: the DataScienceCluster controller, one controller per component kind, drift
//! watches and leader election. Argo CD style: charts are rendered template-only and
//! server-side-applied; nothing of Helm's release machinery is kept in the cluster.
//!
//! Pure rules live in [`plan`] (what gets applied) and [`status`] (what users read); the rest
//! is a thin runtime around the kube client.

pub mod cluster;
pub mod component;
pub mod dsc;
pub mod leader;
pub mod plan;
pub mod seed;
pub mod status;
pub mod watches;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kube::runtime::events::{Recorder, Reporter};
use tokio::task::{JoinHandle, JoinSet};

use crate::registry::Registry;

/// The field manager of every write; `kubectl get --show-managed-fields` names us by it.
pub const FIELD_MANAGER: &str = "dsc-helm";

#[derive(Debug, Clone)]
pub struct Options {
    /// Where namespaced objects go when a chart names no namespace.
    pub applications_namespace: String,
    /// Where the operator keeps its own objects: the render-seed Secret and the Lease.
    pub operator_namespace: String,
    /// This replica's name in the Lease (e.g. the pod name).
    pub identity: String,
    /// Off for single-replica runs and tests that count write calls.
    pub leader_election: bool,
    /// Counters the caller can read (metrics endpoint, tests, benchmarks).
    pub metrics: Arc<Metrics>,
}

/// Monotonic counters of what the reconciler did.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Component reconciles finished, successful or not.
    pub reconciles: AtomicU64,
    /// Component reconciles that found nothing to do and wrote nothing.
    pub unchanged: AtomicU64,
    /// Component reconciles that failed (and were retried with backoff).
    pub failures: AtomicU64,
    /// Objects server-side-applied.
    pub objects_applied: AtomicU64,
    /// DataScienceCluster reconciles finished.
    pub dsc_reconciles: AtomicU64,
}

impl Metrics {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    /// The counters in Prometheus' text exposition format, served on the webhook's /metrics.
    pub fn render(&self) -> String {
        let counters = [
            (
                "reconciles_total",
                "Component reconciles finished, successful or not.",
                &self.reconciles,
            ),
            (
                "reconciles_unchanged_total",
                "Component reconciles that found nothing to do and wrote nothing.",
                &self.unchanged,
            ),
            (
                "reconcile_failures_total",
                "Component reconciles that failed and were retried with backoff.",
                &self.failures,
            ),
            (
                "objects_applied_total",
                "Objects server-side-applied.",
                &self.objects_applied,
            ),
            (
                "dsc_reconciles_total",
                "DataScienceCluster reconciles finished.",
                &self.dsc_reconciles,
            ),
        ];
        let mut out = String::new();
        for (name, help, counter) in counters {
            let name = format!("dsc_helm_{name}");
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                Metrics::get(counter)
            ));
        }
        out
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::SeqCst);
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            applications_namespace: "opendatahub".to_string(),
            operator_namespace: "dsc-helm-system".to_string(),
            identity: format!("dsc-helm-{}", std::process::id()),
            leader_election: true,
            metrics: Arc::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("discovery: {0}")]
    Discovery(String),
    #[error("render seed: {0}")]
    Seed(String),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("task: {0}")]
    Task(String),
    #[error("{0}")]
    Failed(String),
}

/// What every controller shares.
pub struct Shared {
    pub client: kube::Client,
    pub registry: Arc<Registry>,
    pub options: Options,
    pub cluster: cluster::Cluster,
    pub seeds: seed::Seeds,
    pub watches: watches::Watches,
    pub recorder: Recorder,
    /// Wakes the DSC controller. Component controllers already watch their resources and
    /// forward the events, so the DSC controller does not open a second watch per kind.
    pub dsc_wake: tokio::sync::Notify,
    /// The component resources as their watches last saw them.
    pub resources: ResourceCache,
}

/// The latest version of each component's resource, by component name, kept by the
/// component controllers' watches: the DSC controller aggregates status from it without a
/// read per component. `None` means known to be absent; a missing entry means not yet listed.
#[derive(Default)]
pub struct ResourceCache(std::sync::Mutex<HashMap<String, Option<kube::api::DynamicObject>>>);

impl ResourceCache {
    pub fn put(&self, component: &str, resource: Option<kube::api::DynamicObject>) {
        let mut map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(component.to_string(), resource);
    }

    pub fn get(&self, component: &str) -> Option<Option<kube::api::DynamicObject>> {
        let map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(component).cloned()
    }
}

/// Aborts a spawned task when dropped, so that dropping a controller's future stops its
/// helpers too.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Exponential backoff for failed reconciles: 1 s, 2 s, 4 s, … up to 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(9);
    Duration::from_secs(1u64 << exponent).min(Duration::from_secs(300))
}

/// RFC 3339 with second precision, as Kubernetes prints condition times.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs the reconciler until an unrecoverable error; dropping the future stops every task.
pub async fn run(
    client: kube::Client,
    registry: Arc<Registry>,
    options: Options,
) -> Result<(), ReconcileError> {
    let mut failures = 0;
    while let Err(e) = component::ensure_namespace(&client, &options.operator_namespace).await {
        failures += 1;
        tracing::warn!(error = %e, retry = failures, "creating the operator namespace failed");
        tokio::time::sleep(backoff(failures)).await;
    }
    if !options.leader_election {
        return run_controllers(client, registry, options).await;
    }
    let elector = leader::Elector::new(
        client.clone(),
        &options.operator_namespace,
        &options.identity,
    );
    loop {
        while !elector.try_acquire().await.unwrap_or(false) {
            tokio::time::sleep(leader::RENEW_EVERY).await;
        }
        tracing::info!(identity = %options.identity, "leader lease acquired; reconciling");
        let renew = async {
            let mut last = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(leader::RENEW_EVERY).await;
                match elector.try_acquire().await {
                    Ok(true) => last = tokio::time::Instant::now(),
                    Ok(false) => return,
                    // Stop leading before the lease could expire and another replica start.
                    Err(_) if last.elapsed() + leader::RENEW_EVERY >= leader::LEASE_DURATION => {
                        return;
                    }
                    Err(_) => {}
                }
            }
        };
        tokio::select! {
            result = run_controllers(client.clone(), registry.clone(), options.clone()) => return result,
            _ = renew => tracing::warn!("lost the leader lease; standing by"),
        }
    }
}

async fn run_controllers(
    client: kube::Client,
    registry: Arc<Registry>,
    options: Options,
) -> Result<(), ReconcileError> {
    let mut failures = 0;
    let cluster = loop {
        match cluster::Cluster::discover(client.clone()).await {
            Ok(c) => break c,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, retry = failures, "discovery failed");
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    };
    let triggers: Arc<HashMap<String, Arc<watches::Trigger>>> = Arc::new(
        registry
            .components
            .iter()
            .map(|c| (c.name.clone(), Arc::new(watches::Trigger::default())))
            .collect(),
    );
    let reporter = Reporter {
        controller: FIELD_MANAGER.to_string(),
        instance: Some(options.identity.clone()),
    };
    let shared = Arc::new(Shared {
        recorder: Recorder::new(client.clone(), reporter),
        seeds: seed::Seeds::new(client.clone(), &options.operator_namespace),
        watches: watches::Watches::new(client.clone(), triggers.clone()),
        cluster,
        client,
        registry: registry.clone(),
        options,
        dsc_wake: tokio::sync::Notify::new(),
        resources: ResourceCache::default(),
    });
    let mut tasks = JoinSet::new();
    tasks.spawn(dsc::run(shared.clone()));
    tasks.spawn(watches::watch_crds(shared.clone()));
    for (index, c) in registry.components.iter().enumerate() {
        let trigger = triggers.get(&c.name).cloned().unwrap_or_default();
        tasks.spawn(component::run(shared.clone(), index, trigger));
    }
    match tasks.join_next().await {
        Some(Err(e)) => Err(ReconcileError::Task(e.to_string())),
        _ => Err(ReconcileError::Task("a controller stopped".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<u64> = [1, 2, 3, 4, 9, 10, 50]
            .iter()
            .map(|&n| backoff(n).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 256, 300, 300]);
    }

    #[test]
    fn lookup_results_keep_integers_as_helm_does() {
        let v = cluster::unstructured(&serde_json::json!({"a": 1, "b": 1.5, "c": [2]}));
        assert_eq!(v.get("a"), Some(helm_render::value::Value::Int(1)));
        assert_eq!(v.get("b"), Some(helm_render::value::Value::Float(1.5)));
    }
}
