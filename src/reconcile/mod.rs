//! The reconciler: the DataScienceCluster controller, one controller per component kind, drift
//! watches and leader election. Argo CD style: charts are rendered template-only and
//! server-side-applied; nothing of Helm's release machinery is kept in the cluster.
//!
//! Pure rules live in [`plan`] (what gets applied) and [`status`] (what users read, from the
//! apply's outcome and each object's health); [`readiness`] keeps those health verdicts current
//! from the drift watches' events; the rest is a thin runtime around the kube client.

mod component;
mod drift;
mod dsc;
mod gate;
mod hands_off;
pub mod leader;
mod lookup;
mod metrics;
mod plan;
mod readiness;
mod replace;
mod seed;
mod status;
mod watches;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::events::{Recorder, Reporter};
use tokio::task::{JoinHandle, JoinSet};

use crate::discovery::{self, Cluster, DiscoveryError};
use crate::registry::Registry;
use crate::sync::lock;
use status::Reason;

pub use component::ensure_namespace;
pub use drift::{
    DEFAULT_LOOP_LIMIT as DEFAULT_DRIFT_LOOP_LIMIT,
    DEFAULT_LOOP_WINDOW as DEFAULT_DRIFT_LOOP_WINDOW,
};
pub use hands_off::ANNOTATION as HANDS_OFF_ANNOTATION;
pub use metrics::Metrics;
pub use plan::{INSTANCE_GENERATION, INSTANCE_NAME, INSTANCE_UID, PART_OF, VERSION};

/// The field manager of every write; `kubectl get --show-managed-fields` names us by it.
pub(crate) const FIELD_MANAGER: &str = "dsc-helm";

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
    /// Object applies and deletes in flight at once, over every component.
    pub max_concurrent_writes: usize,
    /// Repair rounds of one component within `drift_loop_window` beyond which it reports a
    /// fight with another writer ([`drift::LoopWatch`]).
    pub drift_loop_limit: usize,
    pub drift_loop_window: Duration,
}

/// Writes in flight at once by default: enough to keep an API server on two cores busy (the
/// scale benchmark), few enough that a first install of thousands of objects does not queue
/// everyone else's requests behind it.
pub const DEFAULT_CONCURRENT_WRITES: usize = 8;

impl Default for Options {
    fn default() -> Self {
        Options {
            applications_namespace: "opendatahub".to_string(),
            operator_namespace: "dsc-helm-system".to_string(),
            identity: format!("dsc-helm-{}", std::process::id()),
            leader_election: true,
            metrics: Arc::default(),
            max_concurrent_writes: DEFAULT_CONCURRENT_WRITES,
            drift_loop_limit: DEFAULT_DRIFT_LOOP_LIMIT,
            drift_loop_window: DEFAULT_DRIFT_LOOP_WINDOW,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("watch: {0}")]
    Watch(#[from] kube::runtime::watcher::Error),
    #[error("discovery: {0}")]
    Discovery(#[from] DiscoveryError),
    #[error("render seed: {0}")]
    Seed(#[from] getrandom::Error),
    #[error(
        "render seed: secret {} kept changing while adding the seed of {component}",
        seed::SECRET_NAME
    )]
    SeedContended { component: String },
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    /// The inventory is unknown, so nothing may be pruned or removed until the status reads.
    #[error("the status of {object} is unreadable; nothing is pruned until it is fixed: {source}")]
    Status {
        object: String,
        source: serde_json::Error,
    },
    #[error("task: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("a controller stopped")]
    Stopped,
    /// The component's own failure, as its status reports it.
    #[error("{}: {message}", reason.as_str())]
    Component { reason: Reason, message: String },
    /// The DSC controller's failures, by component.
    #[error("{}", components_message(.0))]
    Components(Vec<(String, ReconcileError)>),
}

fn components_message(errors: &[(String, ReconcileError)]) -> String {
    errors
        .iter()
        .map(|(component, e)| format!("{component}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ReconcileError {
    /// The error's kind as the `kind` label of `dsc_helm_reconcile_errors_total`: a fixed
    /// set, so that the metric's label set stays bounded.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) => "kube",
            ReconcileError::Watch(_) => "watch",
            ReconcileError::Discovery(_) => "discovery",
            ReconcileError::Seed(_) => "seed",
            ReconcileError::SeedContended { .. } => "seed_contended",
            ReconcileError::Json(_) => "json",
            ReconcileError::Status { .. } => "status_unreadable",
            ReconcileError::Task(_) => "task",
            ReconcileError::Stopped => "stopped",
            ReconcileError::Component { reason, .. } => match reason {
                Reason::ValuesInvalid => "values_invalid",
                Reason::ChartRenderError => "chart_render_error",
                Reason::ApplyFailed => "apply_failed",
                Reason::ResourcesApplied
                | Reason::Removed
                | Reason::AwaitingDependency
                | Reason::DependencyTimeout
                | Reason::ImmutableFieldChange
                | Reason::CrdStoredVersionRemoved => "component",
            },
            ReconcileError::Components(_) => "components",
        }
    }
}

/// What every controller shares.
pub(crate) struct Shared {
    pub client: kube::Client,
    pub registry: Arc<Registry>,
    pub options: Options,
    pub cluster: Arc<Cluster>,
    pub seeds: seed::Seeds,
    pub watches: watches::Watches,
    pub recorder: Recorder,
    /// Wakes the DSC controller. Component controllers already watch their resources and
    /// forward the events, so the DSC controller does not open a second watch per kind.
    pub dsc_wake: tokio::sync::Notify,
    /// The component resources as their watches last saw them.
    pub resources: ResourceCache,
    /// Each component controller's trigger, by component name: a component's watch wakes its
    /// dependents and dependencies through them when what their gates read changes.
    pub triggers: Arc<HashMap<String, Arc<watches::Trigger>>>,
    /// One permit per object write in flight ([`Options::max_concurrent_writes`]); tokio's
    /// semaphore is first come, first served, so components take turns.
    pub write_slots: tokio::sync::Semaphore,
}

/// The latest version of each component's resource, by component name, kept by the
/// component controllers' watches: the DSC controller aggregates status from it without a
/// read per component. `None` means known to be absent; a missing entry means not yet listed.
#[derive(Default)]
pub(crate) struct ResourceCache(
    std::sync::Mutex<HashMap<String, Option<kube::api::DynamicObject>>>,
);

impl ResourceCache {
    pub fn put(&self, component: &str, resource: Option<kube::api::DynamicObject>) {
        lock(&self.0).insert(component.to_string(), resource);
    }

    pub fn get(&self, component: &str) -> Option<Option<kube::api::DynamicObject>> {
        lock(&self.0).get(component).cloned()
    }
}

/// Aborts a spawned task when dropped, so that dropping a controller's future stops its
/// helpers too.
pub(crate) struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Exponential backoff for failed reconciles: 1 s, 2 s, 4 s, … up to 5 minutes.
pub(crate) fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(9);
    Duration::from_secs(1u64 << exponent).min(Duration::from_secs(300))
}

/// RFC 3339 with second precision, as Kubernetes prints condition times.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs the reconciler until an unrecoverable error, with a discovery cache of its own that it
/// keeps current; dropping the future stops every task. A process that also serves the webhook
/// shares one cache between both instead ([`run_on`]).
pub async fn run(
    client: kube::Client,
    registry: Arc<Registry>,
    options: Options,
) -> Result<(), ReconcileError> {
    let mut failures = 0;
    let cluster = loop {
        match Cluster::discover(client.clone()).await {
            Ok(c) => break Arc::new(c),
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, retry = failures, "discovery failed");
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    };
    tokio::select! {
        () = discovery::follow(&cluster) => Err(ReconcileError::Stopped),
        result = run_on(client, cluster.clone(), registry, options) => result,
    }
}

/// Runs the reconciler on a discovery cache that the caller keeps current
/// ([`discovery::follow`]); dropping the future stops every task.
pub async fn run_on(
    client: kube::Client,
    cluster: Arc<Cluster>,
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
        return run_controllers(client, cluster, registry, options).await;
    }
    let elector = leader::Elector::new(
        client.clone(),
        &options.operator_namespace,
        &options.identity,
    );
    let lease = |e: &ReconcileError, doing: &str| {
        options.metrics.error(metrics::LEADER_ELECTION, e);
        tracing::warn!(
            lease = leader::LEASE_NAME,
            namespace = %options.operator_namespace,
            identity = %options.identity,
            error = %e,
            "{doing} the leader lease failed"
        );
    };
    loop {
        loop {
            match elector.try_acquire().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => lease(&e, "taking"),
            }
            tokio::time::sleep(elector.retry_in()).await;
        }
        tracing::info!(identity = %options.identity, "leader lease acquired; reconciling");
        let renew = async {
            let mut last = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(leader::RENEW_EVERY).await;
                match elector.try_acquire().await {
                    Ok(true) => last = tokio::time::Instant::now(),
                    Ok(false) => return,
                    Err(e) => {
                        lease(&e, "renewing");
                        // Stop leading before the lease could expire and another replica start.
                        if last.elapsed() + leader::RENEW_EVERY >= leader::LEASE_DURATION {
                            return;
                        }
                    }
                }
            }
        };
        tokio::select! {
            result = run_controllers(client.clone(), cluster.clone(), registry.clone(), options.clone()) => return result,
            _ = renew => tracing::warn!("lost the leader lease; standing by"),
        }
    }
}

async fn run_controllers(
    client: kube::Client,
    cluster: Arc<Cluster>,
    registry: Arc<Registry>,
    options: Options,
) -> Result<(), ReconcileError> {
    let triggers: Arc<HashMap<String, Arc<watches::Trigger>>> = Arc::new(
        registry
            .components
            .iter()
            .map(|c| {
                let trigger = watches::Trigger::with_rules(c.health.clone());
                (c.name.clone(), Arc::new(trigger))
            })
            .collect(),
    );
    let reporter = Reporter {
        controller: FIELD_MANAGER.to_string(),
        instance: Some(options.identity.clone()),
    };
    let write_slots = options.max_concurrent_writes.max(1);
    let shared = Arc::new(Shared {
        recorder: Recorder::new(client.clone(), reporter),
        seeds: seed::Seeds::new(client.clone(), &options.operator_namespace),
        watches: watches::Watches::new(client.clone(), triggers.clone(), options.metrics.clone()),
        cluster,
        client,
        registry: registry.clone(),
        options,
        dsc_wake: tokio::sync::Notify::new(),
        resources: ResourceCache::default(),
        triggers: triggers.clone(),
        write_slots: tokio::sync::Semaphore::new(write_slots),
    });
    let mut tasks = JoinSet::new();
    tasks.spawn(dsc::run(shared.clone()));
    tasks.spawn(watches::wake_when_served(shared.clone()));
    for (index, c) in registry.components.iter().enumerate() {
        let trigger = triggers.get(&c.name).cloned().unwrap_or_default();
        tasks.spawn(component::run(shared.clone(), index, trigger));
    }
    match tasks.join_next().await {
        Some(Err(e)) => Err(e.into()),
        _ => Err(ReconcileError::Stopped),
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
        let v = lookup::unstructured(&serde_json::json!({"a": 1, "b": 1.5, "c": [2]}));
        assert_eq!(v.get("a"), Some(helm_render::value::Value::Int(1)));
        assert_eq!(v.get("b"), Some(helm_render::value::Value::Float(1.5)));
    }

    /// Each failure names its kind, and component failures their reason, so that the error
    /// metric tells a values problem from an API outage.
    #[test]
    fn errors_are_labelled_by_kind() {
        let component = |reason| ReconcileError::Component {
            reason,
            message: "m".into(),
        };
        let json = serde_json::from_str::<i64>("x").expect_err("not JSON");
        let cases = [
            (component(Reason::ValuesInvalid), "values_invalid"),
            (component(Reason::ChartRenderError), "chart_render_error"),
            (component(Reason::ApplyFailed), "apply_failed"),
            (
                ReconcileError::Status {
                    object: "default-a".into(),
                    source: json,
                },
                "status_unreadable",
            ),
            (ReconcileError::Stopped, "stopped"),
            (
                ReconcileError::Discovery(DiscoveryError::Version("x".into())),
                "discovery",
            ),
            (
                ReconcileError::Components(vec![("a".into(), ReconcileError::Stopped)]),
                "components",
            ),
        ];
        for (error, label) in cases {
            assert_eq!(error.metric_label(), label, "{error}");
        }
    }

    #[test]
    fn the_dsc_controllers_failures_name_each_component() {
        let e = ReconcileError::Components(vec![
            ("a".into(), ReconcileError::Stopped),
            (
                "b".into(),
                ReconcileError::Component {
                    reason: Reason::ApplyFailed,
                    message: "m".into(),
                },
            ),
        ]);
        assert_eq!(e.to_string(), "a: a controller stopped; b: ApplyFailed: m");
    }
}
