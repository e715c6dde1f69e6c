//! The built-in kinds whose status says more than kstatus's generic conditions can read: the
//! workload controllers publish counts, not a `Ready` condition, and a Job's or a claim's
//! outcome is in conditions and phases of their own.

use super::{AWAITING_READINESS, Health, Subject};

const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
const JOB_FAILED: &str = "JobFailed";
const AWAITING_COMPLETION: &str = "AwaitingCompletion";
const SUSPENDED: &str = "Suspended";
const AWAITING_BINDING: &str = "AwaitingBinding";
const CLAIM_LOST: &str = "ClaimLost";

/// `spec.replicas`, which the API server defaults to 1 when a manifest leaves it out.
fn desired_replicas(s: &Subject) -> i64 {
    s.int("/spec/replicas").unwrap_or(1)
}

/// `have/want what` for every count that falls short, in the order given.
fn shortfalls(counts: &[(&str, i64)], want: i64) -> Vec<String> {
    counts
        .iter()
        .filter(|(_, have)| *have < want)
        .map(|(what, have)| format!("{have}/{want} {what}"))
        .collect()
}

fn replicas_word(n: i64) -> &'static str {
    if n == 1 { "replica" } else { "replicas" }
}

/// Rolled out and available. A rollout past its `progressDeadlineSeconds` is degraded: the
/// controller itself has given up waiting. Zero desired replicas is healthy once the old
/// pods are gone, since a scaled-down Deployment is doing what was asked of it.
pub(super) fn deployment(s: &Subject) -> Health {
    if let Some(lag) = s.generation_lag() {
        return Health::progressing(AWAITING_READINESS, lag);
    }
    let desired = desired_replicas(s);
    let available = s.count("/status/availableReplicas");
    let updated = s.count("/status/updatedReplicas");
    let total = s.count("/status/replicas");
    if let Some(failure) = s.condition("ReplicaFailure").filter(|c| c.is_true()) {
        let reason = if failure.reason.is_empty() {
            "ReplicaFailure"
        } else {
            failure.reason
        };
        return Health::degraded(reason, s.say(failure.message));
    }
    let mut short = shortfalls(&[("available", available), ("updated", updated)], desired);
    if total > updated {
        let old = total - updated;
        short.push(format!("{old} old {} remaining", replicas_word(old)));
    } else if total > desired {
        let extra = total - desired;
        short.push(format!("{extra} {} being removed", replicas_word(extra)));
    }
    let progressing = s.condition("Progressing");
    if let Some(c) = progressing.filter(|c| c.reason == PROGRESS_DEADLINE_EXCEEDED) {
        short.push(c.message.to_string());
        let message = s.say(&non_empty(short, "progress deadline exceeded"));
        return Health::degraded(PROGRESS_DEADLINE_EXCEEDED, message);
    }
    if short.is_empty() {
        Health::Healthy
    } else {
        Health::progressing(AWAITING_READINESS, s.say(&short.join(", ")))
    }
}

/// Ready and available, and for a RollingUpdate every pod at the update revision, except the
/// ordinals below a partition, which by design keep the current revision.
pub(super) fn stateful_set(s: &Subject) -> Health {
    if let Some(lag) = s.generation_lag() {
        return Health::progressing(AWAITING_READINESS, lag);
    }
    let desired = desired_replicas(s);
    let ready = s.count("/status/readyReplicas");
    let available = s.count("/status/availableReplicas");
    let mut short = shortfalls(&[("ready", ready), ("available", available)], desired);
    let total = s.count("/status/replicas");
    if total > desired {
        let extra = total - desired;
        short.push(format!("{extra} {} being removed", replicas_word(extra)));
    }
    let strategy = s
        .str("/spec/updateStrategy/type")
        .unwrap_or("RollingUpdate");
    if strategy == "RollingUpdate" {
        let updated = s.count("/status/updatedReplicas");
        let partition = s
            .int("/spec/updateStrategy/rollingUpdate/partition")
            .unwrap_or(0)
            .clamp(0, desired);
        if partition > 0 {
            let want = desired - partition;
            if updated < want {
                short.push(format!("{updated}/{want} updated (partition {partition})"));
            }
        } else if updated < desired {
            short.push(format!("{updated}/{desired} updated"));
        } else if s.str("/status/updateRevision") != s.str("/status/currentRevision") {
            short.push(format!(
                "revision {} not yet rolled out",
                s.str("/status/updateRevision").unwrap_or_default()
            ));
        }
    }
    if short.is_empty() {
        Health::Healthy
    } else {
        Health::progressing(AWAITING_READINESS, s.say(&short.join(", ")))
    }
}

/// Scheduled, updated and available on every node that should run it. Zero nodes to run
/// on is healthy: the DaemonSet does what its node selector asks.
pub(super) fn daemon_set(s: &Subject) -> Health {
    if let Some(lag) = s.generation_lag() {
        return Health::progressing(AWAITING_READINESS, lag);
    }
    let desired = s.count("/status/desiredNumberScheduled");
    let short = shortfalls(
        &[
            ("available", s.count("/status/numberAvailable")),
            ("scheduled", s.count("/status/currentNumberScheduled")),
            ("updated", s.count("/status/updatedNumberScheduled")),
        ],
        desired,
    );
    if short.is_empty() {
        Health::Healthy
    } else {
        Health::progressing(AWAITING_READINESS, s.say(&short.join(", ")))
    }
}

/// A ReplicaSet a chart renders directly: its pods, ready and available.
pub(super) fn replica_set(s: &Subject) -> Health {
    if let Some(lag) = s.generation_lag() {
        return Health::progressing(AWAITING_READINESS, lag);
    }
    if let Some(failure) = s.condition("ReplicaFailure").filter(|c| c.is_true()) {
        return Health::degraded("ReplicaFailure", s.say(failure.message));
    }
    let short = shortfalls(
        &[
            ("available", s.count("/status/availableReplicas")),
            ("ready", s.count("/status/readyReplicas")),
        ],
        desired_replicas(s),
    );
    if short.is_empty() {
        Health::Healthy
    } else {
        Health::progressing(AWAITING_READINESS, s.say(&short.join(", ")))
    }
}

/// Complete is healthy, Failed is final, anything else is still running. `FailureTarget` and
/// `SuccessCriteriaMet` are the Job controller's verdicts before the pods are cleaned up and
/// the final condition is written, so they count as the final ones.
pub(super) fn job(s: &Subject) -> Health {
    for failed in ["Failed", "FailureTarget"] {
        if let Some(c) = s.condition(failed).filter(|c| c.is_true()) {
            let message = if c.message.is_empty() {
                c.reason
            } else {
                c.message
            };
            return Health::degraded(JOB_FAILED, s.say(message));
        }
    }
    if ["Complete", "SuccessCriteriaMet"]
        .iter()
        .any(|t| s.condition(t).is_some_and(|c| c.is_true()))
    {
        return Health::Healthy;
    }
    if s.condition("Suspended").is_some_and(|c| c.is_true()) {
        return Health::progressing(SUSPENDED, s.say("suspended"));
    }
    let succeeded = s.count("/status/succeeded");
    let completions = s.int("/spec/completions").unwrap_or(1);
    let mut parts = vec![format!("{succeeded}/{completions} succeeded")];
    let active = s.count("/status/active");
    if active > 0 {
        parts.push(format!("{active} active"));
    }
    let failed = s.count("/status/failed");
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    Health::progressing(AWAITING_COMPLETION, s.say(&parts.join(", ")))
}

/// Bound is healthy; Lost means its volume is gone and nothing will bring it back.
pub(super) fn claim(s: &Subject) -> Health {
    match s.str("/status/phase") {
        Some("Bound") => Health::Healthy,
        Some("Lost") => Health::degraded(CLAIM_LOST, s.say("its volume is lost")),
        phase => Health::progressing(
            AWAITING_BINDING,
            s.say(&format!("{}, not bound", phase.unwrap_or("Pending"))),
        ),
    }
}

fn non_empty(parts: Vec<String>, otherwise: &str) -> String {
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        otherwise.to_string()
    } else {
        parts.join(", ")
    }
}
