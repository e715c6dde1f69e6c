//! Whether an applied object is doing its job, judged from the live object alone, and why not.
//!
//! "Applied" is not "running": a Deployment whose image cannot be pulled is accepted by the
//! API server like any other. A component is Ready only when every object it owns is healthy
//! by the rules of its kind ([`health`]), and when a workload is not, its pods name the cause a
//! person needs ([`explain`]): the scheduler's message, the image that cannot be pulled, the
//! container that keeps crashing.
//!
//! Everything here except [`pods_of`] is pure, so each rule is tested on recorded objects
//! (`tests/fixtures/health/`) without a cluster. The kinds with rules of their own are the
//! built-in workloads and claims (`workloads.rs`); every other kind follows kstatus's
//! conditions (`generic.rs`). A component's descriptor may replace the rules of a kind with
//! CEL expressions of its own (`rules.rs`).

mod generic;
mod list;
mod pods;
mod rules;
mod selector;
mod workloads;

#[cfg(test)]
mod tests;

use std::fmt;

use kube::api::DynamicObject;
use serde_json::Value as Json;

pub use list::{PodsError, pods_of};
pub use pods::explain;
pub use rules::{HEALTH_CHECK_ERROR, HEALTH_CHECK_FAILED, HealthCheck, RuleError, Rules};
pub use selector::{SelectorError, label_selector, pod_selector};

/// Reason of a workload (or any object) that is on its way but not there yet.
pub const AWAITING_READINESS: &str = "AwaitingReadiness";
/// Reason of an object that is being deleted.
pub const TERMINATING: &str = "Terminating";

/// The verdict on one object. The reasons are the words Kubernetes and Open Data Hub use
/// (`ProgressDeadlineExceeded`, `JobFailed`, `ImagePullBackOff`, `AwaitingReadiness`, ...), so
/// that they can go into a condition's `reason` unchanged; messages start with the object
/// (`deployment webapp: 0/2 available`) so that they can be joined into one condition message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Not there yet, and nothing says it will not get there by itself.
    Progressing {
        reason: String,
        message: String,
    },
    /// Stuck until someone changes something: a failed Job, a rollout past its deadline, a
    /// pod that cannot pull its image.
    Degraded {
        reason: String,
        message: String,
    },
}

impl Health {
    fn progressing(reason: &str, message: String) -> Health {
        Health::Progressing {
            reason: reason.to_string(),
            message,
        }
    }

    fn degraded(reason: &str, message: String) -> Health {
        Health::Degraded {
            reason: reason.to_string(),
            message,
        }
    }

    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }

    /// `None` when healthy.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::Progressing { reason, .. } | Health::Degraded { reason, .. } => Some(reason),
        }
    }

    /// `None` when healthy.
    pub fn message(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::Progressing { message, .. } | Health::Degraded { message, .. } => Some(message),
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Healthy => f.write_str("Healthy"),
            Health::Progressing { reason, message } => {
                write!(f, "Progressing ({reason}): {message}")
            }
            Health::Degraded { reason, message } => write!(f, "Degraded ({reason}): {message}"),
        }
    }
}

/// The kinds with rules of their own. The group is part of the match: a custom resource
/// that happens to be called `Deployment` follows the generic rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    PersistentVolumeClaim,
    Other,
}

impl Kind {
    fn of(group: &str, kind: &str) -> Kind {
        match (group, kind) {
            ("apps", "Deployment") => Kind::Deployment,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps", "DaemonSet") => Kind::DaemonSet,
            ("apps", "ReplicaSet") => Kind::ReplicaSet,
            ("batch", "Job") => Kind::Job,
            ("", "PersistentVolumeClaim") => Kind::PersistentVolumeClaim,
            _ => Kind::Other,
        }
    }
}

/// The health of a live object of `kind` in `group` (`""` for the core group). The caller
/// names the kind because it always knows it (from the plan or the watch), while a
/// [`DynamicObject`]'s `types` may be absent.
pub fn health(group: &str, kind: &str, object: &DynamicObject) -> Health {
    health_by(&Rules::default(), group, kind, object)
}

/// [`health`], with the component's own `rules` in place of the built-in ones for the kinds
/// they cover.
pub fn health_by(rules: &Rules, group: &str, kind: &str, object: &DynamicObject) -> Health {
    let subject = Subject::new(kind, object);
    if object.metadata.deletion_timestamp.is_some() {
        return Health::progressing(TERMINATING, subject.say("being deleted"));
    }
    if let Some(verdict) = rules.judge(group, kind, &subject, object) {
        return verdict;
    }
    match Kind::of(group, kind) {
        Kind::Deployment => workloads::deployment(&subject),
        Kind::StatefulSet => workloads::stateful_set(&subject),
        Kind::DaemonSet => workloads::daemon_set(&subject),
        Kind::ReplicaSet => workloads::replica_set(&subject),
        Kind::Job => workloads::job(&subject),
        Kind::PersistentVolumeClaim => workloads::claim(&subject),
        Kind::Other => generic::health(&subject),
    }
}

/// One object under judgement: how messages name it, and its body.
struct Subject<'a> {
    /// `deployment webapp`: the kind in lower case, as kubectl names it.
    name: String,
    generation: Option<i64>,
    data: &'a Json,
}

impl<'a> Subject<'a> {
    fn new(kind: &str, object: &'a DynamicObject) -> Subject<'a> {
        let name = object.metadata.name.as_deref().unwrap_or_default();
        Subject {
            name: format!("{} {name}", kind.to_lowercase()),
            generation: object.metadata.generation,
            data: &object.data,
        }
    }

    fn say(&self, what: &str) -> String {
        format!("{}: {what}", self.name)
    }

    fn int(&self, pointer: &str) -> Option<i64> {
        self.data.pointer(pointer).and_then(Json::as_i64)
    }

    fn str(&self, pointer: &str) -> Option<&'a str> {
        self.data.pointer(pointer).and_then(Json::as_str)
    }

    /// A count from the status, where the API server omits zeros.
    fn count(&self, pointer: &str) -> i64 {
        self.int(pointer).unwrap_or(0)
    }

    /// `status.observedGeneration` when it lags `metadata.generation`: the controller has not
    /// seen the latest spec, so every other status field describes an older one.
    fn generation_lag(&self) -> Option<String> {
        let generation = self.generation?;
        match self.int("/status/observedGeneration") {
            Some(observed) if observed >= generation => None,
            observed => Some(self.say(&format!(
                "generation {generation} not yet observed (observed {})",
                observed.map_or_else(|| "none".to_string(), |o| o.to_string())
            ))),
        }
    }

    /// The `status.conditions` entry of `type_`.
    fn condition(&self, type_: &str) -> Option<Condition<'a>> {
        self.data
            .pointer("/status/conditions")
            .and_then(Json::as_array)?
            .iter()
            .find(|c| c.get("type").and_then(Json::as_str) == Some(type_))
            .map(Condition::of)
    }
}

/// One entry of `status.conditions`, with absent fields empty.
#[derive(Debug, Clone, Copy)]
struct Condition<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl<'a> Condition<'a> {
    fn of(c: &'a Json) -> Condition<'a> {
        let field = |name: &str| c.get(name).and_then(Json::as_str).unwrap_or_default();
        Condition {
            status: field("status"),
            reason: field("reason"),
            message: field("message"),
        }
    }

    fn is_true(&self) -> bool {
        self.status == "True"
    }
}
