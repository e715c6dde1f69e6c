//! Every kind without rules of its own (custom resources above all), judged by kstatus's
//! conventions: the abnormal-true conditions `Stalled` and `Reconciling`, the `Ready` (or
//! `Available`) condition that most controllers publish, and `observedGeneration`. An object
//! with none of them (a ConfigMap, a Service, a resource whose controller reports nothing) is
//! healthy once it exists: there is nothing to wait for.

use super::{AWAITING_READINESS, Condition, Health, Subject};

/// Words that, in the reason of a `Ready=False` or `Available=False` condition, mean the
/// controller has failed rather than not finished (`ReconciliationFailed`, `InstallFailed`,
/// `FailedDiscoveryCheck`, `InvalidSpec`, `ProgressDeadlineExceeded`, `CrashLoopBackOff`).
/// kstatus cannot tell the two apart and calls both in progress; a person reading our status
/// needs to know which one needs them.
const FAILURE_WORDS: [&str; 7] = [
    "Fail", "Error", "Invalid", "Denied", "Exceeded", "BackOff", "Stalled",
];

pub(super) fn health(s: &Subject) -> Health {
    // Without `status.observedGeneration` the controller does not say what it has seen.
    if s.int("/status/observedGeneration").is_some()
        && let Some(lag) = s.generation_lag()
    {
        return Health::progressing("LatestGenerationNotObserved", lag);
    }
    if let Some(c) = s.condition("Stalled").filter(Condition::is_true) {
        return Health::degraded(or(c.reason, "Stalled"), s.say(or(c.message, "stalled")));
    }
    if let Some(c) = s.condition("Reconciling").filter(Condition::is_true) {
        return Health::progressing(
            or(c.reason, "Reconciling"),
            s.say(or(c.message, "reconciling")),
        );
    }
    // Open Data Hub's and OpenShift's own convention, abnormal-true like kstatus's.
    if let Some(c) = s.condition("Degraded").filter(Condition::is_true) {
        return Health::degraded(or(c.reason, "Degraded"), s.say(or(c.message, "degraded")));
    }
    for type_ in ["Ready", "Available"] {
        let Some(c) = s.condition(type_) else {
            continue;
        };
        if c.is_true() {
            return Health::Healthy;
        }
        let message = s.say(or(c.message, &format!("{type_} is {}", c.status)));
        return if is_failure(c.reason) {
            Health::degraded(c.reason, message)
        } else {
            Health::progressing(or(c.reason, AWAITING_READINESS), message)
        };
    }
    Health::Healthy
}

fn is_failure(reason: &str) -> bool {
    FAILURE_WORDS.iter().any(|w| reason.contains(w))
}

fn or<'a>(s: &'a str, otherwise: &'a str) -> &'a str {
    if s.is_empty() { otherwise } else { s }
}
