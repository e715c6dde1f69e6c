//! Why a workload is not healthy, read from its pods: its own status has only counts
//! ("0/2 available"), while the pods carry what a person has to fix (the image that cannot be
//! pulled, the container that keeps crashing, the Secret that is missing, the scheduler's
//! reason for not placing the pod).
//!
//! Of all the pods' problems one is reported, picked the same way every time so that an
//! unchanged cluster yields an unchanged status (and no status write): faults before mere
//! waiting, then by kind of fault, then more restarts first, then pod and container name.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::Health;

/// A problem of one pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cause {
    /// Fault or merely waiting; the derived order puts faults first.
    severity: Severity,
    /// Among causes of the same severity, the lower the more telling.
    rank: u8,
    /// Negated restart count, so that more restarts sort first.
    restarts: i64,
    pod: String,
    container: String,
    reason: String,
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    /// Will not get better by waiting: the workload is degraded, with this cause's reason.
    Fault,
    /// Says what the workload waits for, without changing the verdict.
    Waiting,
}

/// Waiting reasons of a container that will not start until someone fixes its spec, an
/// image, a Secret or a ConfigMap, by rank.
const WAITING_FAULTS: [&str; 9] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "ErrImageNeverPull",
    "ImagePullBackOff",
    "ErrImagePull",
    "RunContainerError",
    "PreStartHookError",
    "PostStartHookError",
];

const OOM_KILLED: &str = "OOMKilled";
const CRASH_LOOP: &str = "CrashLoopBackOff";
const UNSCHEDULABLE: &str = "Unschedulable";

/// `verdict` with the most telling cause among `pods` added: a fault makes the workload
/// Degraded with the fault's reason (`ImagePullBackOff` says more than the rollout's
/// `ProgressDeadlineExceeded` or the Job's `JobFailed`, whose words stay in the message); a
/// pod that is merely not ready yet adds its detail and keeps the verdict. A healthy verdict
/// is returned as is: the pods of a healthy workload are not its problem.
pub fn explain(verdict: Health, pods: &[Pod]) -> Health {
    let (reason, message, degraded) = match verdict {
        Health::Healthy => return Health::Healthy,
        Health::Progressing { reason, message } => (reason, message, false),
        Health::Degraded { reason, message } => (reason, message, true),
    };
    let Some(cause) = pods.iter().flat_map(causes).min() else {
        return if degraded {
            Health::Degraded { reason, message }
        } else {
            Health::Progressing { reason, message }
        };
    };
    let message = format!("{message}; pod {}: {}", cause.pod, cause.detail);
    match cause.severity {
        Severity::Fault => Health::Degraded {
            reason: cause.reason,
            message,
        },
        Severity::Waiting if degraded => Health::Degraded { reason, message },
        Severity::Waiting => Health::Progressing { reason, message },
    }
}

/// Every problem of one pod. A pod being deleted is on its way out, and its last words are
/// not the workload's problem.
fn causes(pod: &Pod) -> Vec<Cause> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let (Some(status), None) = (&pod.status, &pod.metadata.deletion_timestamp) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let cause = |severity, rank, restarts: i32, container: &str, reason: &str, detail| Cause {
        severity,
        rank,
        restarts: -i64::from(restarts),
        pod: name.clone(),
        container: container.to_string(),
        reason: reason.to_string(),
        detail,
    };
    let unschedulable = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(c) = unschedulable.filter(|c| c.reason.as_deref() == Some(UNSCHEDULABLE)) {
        let detail = c.message.clone().unwrap_or_else(|| "unschedulable".into());
        out.push(cause(Severity::Fault, 20, 0, "", UNSCHEDULABLE, detail));
    }
    let containers = [
        ("init container", &status.init_container_statuses),
        ("container", &status.container_statuses),
    ];
    for (label, statuses) in containers {
        for c in statuses.iter().flatten() {
            if let Some((severity, rank, reason, what)) = container_cause(c) {
                let detail = format!("{label} {}: {what}", c.name);
                out.push(cause(
                    severity,
                    rank,
                    c.restart_count,
                    &c.name,
                    &reason,
                    detail,
                ));
            }
        }
    }
    // A pod the kubelet gave up on (Evicted, DeadlineExceeded) says so in its own reason,
    // which tells more than the exit of the container it stopped.
    if let (Some("Failed"), Some(reason)) = (status.phase.as_deref(), &status.reason) {
        let detail = match &status.message {
            Some(m) => format!("{reason}: {m}"),
            None => reason.clone(),
        };
        out.push(cause(Severity::Waiting, 39, 0, "", reason, detail));
    }
    out
}

/// What is wrong with one container: (severity, rank, reason, detail without the name).
fn container_cause(c: &ContainerStatus) -> Option<(Severity, u8, String, String)> {
    let state = c.state.as_ref();
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let waiting_reason = waiting
        .and_then(|w| w.reason.as_deref())
        .unwrap_or_default();
    let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let restarts = match c.restart_count {
        1 => "restarted once".to_string(),
        n => format!("restarted {n} times"),
    };
    // A crash-looping container alternates between back-off and a short run; judged by its
    // last exit rather than its current state, the cause stays the same through both.
    let running = state.is_some_and(|s| s.running.is_some());
    let crash_looping = waiting_reason == CRASH_LOOP
        || (running && !c.ready && c.restart_count > 0 && last.is_some());
    if crash_looping {
        let (reason, exit) = match last {
            Some(t) => (t.reason.as_deref().unwrap_or("Error"), t.exit_code),
            None => ("Error", 0),
        };
        if reason == OOM_KILLED {
            let detail = format!("{OOM_KILLED} (exit code {exit}), {restarts}");
            return Some((Severity::Fault, 0, OOM_KILLED.into(), detail));
        }
        let detail = format!("crash loop back-off, {restarts}, last exit code {exit} ({reason})");
        return Some((Severity::Fault, 1, CRASH_LOOP.into(), detail));
    }
    if let Some(rank) = WAITING_FAULTS.iter().position(|r| *r == waiting_reason) {
        let message = waiting
            .and_then(|w| w.message.as_deref())
            .filter(|m| !m.is_empty())
            .unwrap_or(waiting_reason);
        let rank = u8::try_from(rank).unwrap_or(u8::MAX).saturating_add(2);
        return Some((Severity::Fault, rank, waiting_reason.into(), message.into()));
    }
    if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        let reason = t.reason.as_deref().unwrap_or("Error");
        if reason == OOM_KILLED {
            let detail = format!("{OOM_KILLED} (exit code {})", t.exit_code);
            return Some((Severity::Fault, 0, OOM_KILLED.into(), detail));
        }
        if t.exit_code != 0 {
            let mut detail = format!("terminated with exit code {} ({reason})", t.exit_code);
            if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
                detail = format!("{detail}: {m}");
            }
            return Some((Severity::Waiting, 40, reason.into(), detail));
        }
        return None;
    }
    if running && !c.ready {
        return Some((
            Severity::Waiting,
            42,
            "ContainersNotReady".into(),
            "running, not ready".into(),
        ));
    }
    None
}
