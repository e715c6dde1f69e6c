//! Status as Open Data Hub users read it: pure functions from what happened (the apply's
//! outcome and every applied object's health verdict) to conditions, so that the wording, the
//! transition-time rules and the rules for when a status is written at all are tested without a
//! cluster.

use std::collections::BTreeMap;

use crate::api::{
    ChartRef, ComponentStatus, ComponentSummary, Condition, InventoryEntry, ManagementState,
    UnhealthyObject,
};
use crate::health::Health;

pub const READY: &str = "Ready";
pub const PROVISIONING_SUCCEEDED: &str = "ProvisioningSucceeded";
pub const DEPLOYMENTS_AVAILABLE: &str = "DeploymentsAvailable";
pub const DEGRADED: &str = "Degraded";
pub const COMPONENTS_READY: &str = "ComponentsReady";

/// Reason of a `Ready` component (and of a DSC whose components all are).
pub const READY_REASON: &str = "Ready";
/// Reason while Deployments roll out, in Open Data Hub's words.
pub const DEPLOYMENTS_NOT_READY: &str = "DeploymentsNotReady";
/// Reason of a `Degraded=False` condition, in OpenShift's words for "nothing abnormal".
pub const AS_EXPECTED: &str = "AsExpected";
/// Reason of the informational `Degraded` condition of a running component whose dependency
/// is no longer Ready: its objects stay, it is only told.
pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
/// Reason of the `Degraded` condition of a component whose objects another writer keeps
/// changing ([`super::drift`]): it keeps repairing them, and says who fights it.
pub const DRIFT_LOOP: &str = "DriftLoop";
/// How many unhealthy objects the status lists: enough to act on, bounded so that a chart of
/// hundreds of failing objects does not make the status huge.
pub const MAX_UNHEALTHY: usize = 10;

/// Why a component is (not) ready; the names are DESIGN.md's condition reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ResourcesApplied,
    ChartRenderError,
    ValuesInvalid,
    ApplyFailed,
    Removed,
    /// Not yet applied: a dependency is not Ready.
    AwaitingDependency,
    /// Still not applied, and a dependency has not been Ready for the readiness timeout.
    DependencyTimeout,
    /// Applied, but an object whose immutable fields the chart changes was kept as it runs.
    ImmutableFieldChange,
    /// Applied, but a CRD that drops a version objects are stored in was not updated.
    CrdStoredVersionRemoved,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ResourcesApplied => "ResourcesApplied",
            Reason::ChartRenderError => "ChartRenderError",
            Reason::ValuesInvalid => "ValuesInvalid",
            Reason::ApplyFailed => "ApplyFailed",
            Reason::Removed => "Removed",
            Reason::AwaitingDependency => "AwaitingDependency",
            Reason::DependencyTimeout => "DependencyTimeout",
            Reason::ImmutableFieldChange => "ImmutableFieldChange",
            Reason::CrdStoredVersionRemoved => "CRDStoredVersionRemoved",
        }
    }

    /// Whether the apply kept objects back that another apply would not change: the rest is
    /// applied and running, but the component is degraded until someone acts.
    pub fn is_held(self) -> bool {
        matches!(
            self,
            Reason::ImmutableFieldChange | Reason::CrdStoredVersionRemoved
        )
    }

    /// Whether the reconcile held the apply back for a dependency.
    pub fn is_gated(self) -> bool {
        matches!(self, Reason::AwaitingDependency | Reason::DependencyTimeout)
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Reason::ChartRenderError | Reason::ValuesInvalid | Reason::ApplyFailed
        )
    }
}

/// The outcome of one component reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub reason: Reason,
    pub message: String,
}

/// The health of one applied object, in inventory order.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub entry: InventoryEntry,
    pub health: Health,
}

impl Verdict {
    fn is_deployment(&self) -> bool {
        self.entry.group == "apps" && self.entry.kind == "Deployment"
    }
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str, generation: i64) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: None,
        observed_generation: Some(generation),
        severity: String::new(),
    }
}

/// What a component's status shows besides its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub conditions: Vec<Condition>,
    pub unhealthy: Vec<UnhealthyObject>,
}

/// Ready, ProvisioningSucceeded, DeploymentsAvailable and Degraded for a component resource,
/// and its unhealthy objects. `Ready` means applied and every object healthy: a degraded object
/// names the reason (the first in inventory order), otherwise a Deployment still rolling out
/// makes it `DeploymentsNotReady`, otherwise the first waiting object's reason
/// (`AwaitingReadiness`, `AwaitingCompletion`, ...) is the component's.
///
/// A component held back for a dependency (`AwaitingDependency`, `DependencyTimeout`) has
/// applied nothing: it is not Ready, not provisioned, and degraded only once it timed out. One
/// already applied whose dependencies are not all Ready (`dependencies` says which) keeps its
/// own Ready verdict and, unless it is degraded itself, reports `Degraded` with reason
/// `DependencyNotReady` and severity Info.
pub fn component_status(
    previous: &ComponentStatus,
    outcome: &Outcome,
    verdicts: &[Verdict],
    dependencies: Option<&str>,
    generation: i64,
    now: &str,
) -> Shown {
    let failed = outcome.reason.is_failure();
    let removed = outcome.reason == Reason::Removed;
    let gated = outcome.reason.is_gated();
    let verdicts: &[Verdict] = if removed || gated { &[] } else { verdicts };
    let unhealthy: Vec<&Verdict> = verdicts.iter().filter(|v| !v.health.is_healthy()).collect();
    let degraded = unhealthy
        .iter()
        .find(|v| matches!(v.health, Health::Degraded { .. }));
    let deployment = unhealthy.iter().find(|v| v.is_deployment());
    // The object whose verdict the component reports.
    let blamed = degraded.or(deployment).or(unhealthy.first());
    let (ready, mut degraded_condition) = if gated {
        let reason = outcome.reason.as_str();
        let timed_out = outcome.reason == Reason::DependencyTimeout;
        let degraded = if timed_out {
            condition(DEGRADED, true, reason, &outcome.message, generation)
        } else {
            condition(DEGRADED, false, AS_EXPECTED, "", generation)
        };
        (
            condition(READY, false, reason, &outcome.message, generation),
            degraded,
        )
    } else if failed || removed {
        let reason = outcome.reason.as_str();
        let degraded_message = if failed { outcome.message.as_str() } else { "" };
        (
            condition(READY, false, reason, &outcome.message, generation),
            condition(DEGRADED, failed, reason, degraded_message, generation),
        )
    } else if let Some(v) = blamed {
        let reason = match (degraded, deployment) {
            (None, Some(_)) => DEPLOYMENTS_NOT_READY,
            _ => v.health.reason().unwrap_or(DEPLOYMENTS_NOT_READY),
        };
        let mut message = v.health.message().unwrap_or_default().to_string();
        if unhealthy.len() > 1 {
            message.push_str(&format!(
                " (and {} more objects not ready)",
                unhealthy.len() - 1
            ));
        }
        let degraded_condition = match degraded {
            Some(d) => condition(
                DEGRADED,
                true,
                d.health.reason().unwrap_or(DEGRADED),
                d.health.message().unwrap_or_default(),
                generation,
            ),
            None => condition(DEGRADED, false, AS_EXPECTED, "", generation),
        };
        (
            condition(READY, false, reason, &message, generation),
            degraded_condition,
        )
    } else {
        (
            condition(READY, true, READY_REASON, "", generation),
            condition(DEGRADED, false, AS_EXPECTED, "", generation),
        )
    };
    let held = outcome.reason.is_held();
    if held {
        degraded_condition = condition(
            DEGRADED,
            true,
            outcome.reason.as_str(),
            &outcome.message,
            generation,
        );
    }
    if let Some(message) = dependencies
        && !(failed || removed || gated)
        && degraded_condition.status == "False"
    {
        degraded_condition = condition(DEGRADED, true, DEPENDENCY_NOT_READY, message, generation);
        degraded_condition.severity = "Info".to_string();
    }
    let provisioned = if failed || removed || gated || held {
        let reason = outcome.reason.as_str();
        condition(
            PROVISIONING_SUCCEEDED,
            false,
            reason,
            &outcome.message,
            generation,
        )
    } else {
        condition(
            PROVISIONING_SUCCEEDED,
            true,
            outcome.reason.as_str(),
            &outcome.message,
            generation,
        )
    };
    let deployments = if gated {
        condition(
            DEPLOYMENTS_AVAILABLE,
            false,
            outcome.reason.as_str(),
            "",
            generation,
        )
    } else {
        deployments_available(verdicts, removed, generation)
    };
    let mut conditions = vec![ready, provisioned, deployments, degraded_condition];
    if removed {
        for c in &mut conditions {
            c.severity = "Info".to_string();
        }
    }
    let unhealthy = unhealthy
        .iter()
        .take(MAX_UNHEALTHY)
        .map(|v| UnhealthyObject {
            group: v.entry.group.clone(),
            kind: v.entry.kind.clone(),
            namespace: v.entry.namespace.clone(),
            name: v.entry.name.clone(),
            reason: v.health.reason().unwrap_or_default().to_string(),
            message: v.health.message().unwrap_or_default().to_string(),
        })
        .collect();
    let same_generation = previous.observed_generation == Some(generation);
    let mut shown = Shown {
        conditions: stamp(&previous.conditions, conditions, now),
        unhealthy,
    };
    if same_generation {
        settle(previous, &mut shown);
    }
    shown
}

/// Shows a drift fight (`message` says who, see [`super::drift::LoopWatch`]) as `Degraded`
/// with reason [`DRIFT_LOOP`]. It does not touch `Ready`: the objects are as the chart says
/// after each repair. A component already degraded for a reason of its own keeps that
/// condition, which is the one to act on first; the informational `DependencyNotReady` gives
/// way.
pub fn with_fight(
    previous: &ComponentStatus,
    mut shown: Shown,
    message: &str,
    generation: i64,
    now: &str,
) -> Shown {
    let Some(i) = shown.conditions.iter().position(|c| c.type_ == DEGRADED) else {
        return shown;
    };
    let current = &shown.conditions[i];
    if current.status == "True" && current.severity != "Info" {
        return shown;
    }
    let mut fight = condition(DEGRADED, true, DRIFT_LOOP, message, generation);
    if let Some(p) = previous.conditions.iter().find(|p| {
        p.type_ == DEGRADED && p.reason == DRIFT_LOOP && same_but_numbers(&p.message, message)
    }) {
        fight.message.clone_from(&p.message);
    }
    shown.conditions[i] = stamp(&previous.conditions, vec![fight], now)
        .pop()
        .unwrap_or_default();
    shown
}

/// `DeploymentsAvailable`, as Open Data Hub counts it but by our health rules: a Deployment
/// scaled to zero is available, one whose controller has not seen its spec is not.
fn deployments_available(verdicts: &[Verdict], removed: bool, generation: i64) -> Condition {
    if removed {
        return condition(
            DEPLOYMENTS_AVAILABLE,
            false,
            Reason::Removed.as_str(),
            "",
            generation,
        );
    }
    let deployments: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_deployment()).collect();
    let ready = deployments.iter().filter(|v| v.health.is_healthy()).count();
    let all = ready == deployments.len();
    let reason = if all {
        DEPLOYMENTS_AVAILABLE
    } else {
        DEPLOYMENTS_NOT_READY
    };
    let message = format!("{ready}/{} deployments ready", deployments.len());
    condition(DEPLOYMENTS_AVAILABLE, all, reason, &message, generation)
}

/// Keeps the previous message wherever the new one says the same in other numbers: a
/// crash-looping pod's restart count rises every few seconds, a rollout's "1/2 available"
/// counts up, and neither is worth a status write (and a watch event to every client) while
/// the reason stays the same. A new reason, another object or pod, or a new generation shows
/// at once; the pods of a StatefulSet (`db-0`, `db-1`) differ only in numbers and so one may be
/// named for another until the reason changes.
fn settle(previous: &ComponentStatus, shown: &mut Shown) {
    for c in &mut shown.conditions {
        if let Some(p) = previous.conditions.iter().find(|p| {
            p.type_ == c.type_
                && p.status == c.status
                && p.reason == c.reason
                && same_but_numbers(&p.message, &c.message)
        }) {
            c.message.clone_from(&p.message);
        }
    }
    for u in &mut shown.unhealthy {
        if let Some(p) = previous.unhealthy.iter().find(|p| {
            (&p.group, &p.kind, &p.namespace, &p.name, &p.reason)
                == (&u.group, &u.kind, &u.namespace, &u.name, &u.reason)
                && same_but_numbers(&p.message, &u.message)
        }) {
            u.message.clone_from(&p.message);
        }
    }
}

/// Whether two messages are equal once every run of digits is read as one placeholder.
/// Digits inside words (a pod's `7d9f` hash) count as letters, so another pod is another
/// message.
fn same_but_numbers(a: &str, b: &str) -> bool {
    fn shape(s: &str) -> String {
        fn flush(word: &mut String, out: &mut String) {
            if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
                out.push('#');
            } else {
                out.push_str(word);
            }
            word.clear();
        }
        let (mut out, mut word) = (String::new(), String::new());
        for c in s.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
    a == b || shape(a) == shape(b)
}

/// The event a status change is worth, if any: a Warning when the component stops being
/// Ready or its objects become degraded, a Normal event when it becomes Ready. Failures of
/// the reconcile itself (values, render, apply) have their own Warning and are left out here.
pub fn signal(previous: &[Condition], next: &[Condition]) -> Option<Signal> {
    let status = |conditions: &[Condition], type_: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| (c.status == "True", c.reason.clone(), c.message.clone()))
    };
    let (ready, reason, message) = status(next, READY)?;
    let was_ready = status(previous, READY).is_some_and(|(r, ..)| r);
    // Failures report themselves, and a removal is what the user asked for.
    let own_event = [
        Reason::ChartRenderError,
        Reason::ValuesInvalid,
        Reason::ApplyFailed,
        Reason::Removed,
    ]
    .iter()
    .any(|r| r.as_str() == reason);
    if ready {
        return (!was_ready).then_some(Signal::Ready);
    }
    if own_event {
        return None;
    }
    let degraded = status(next, DEGRADED).is_some_and(|(d, ..)| d);
    let was_degraded = status(previous, DEGRADED).is_some_and(|(d, ..)| d);
    (was_ready || (degraded && !was_degraded)).then_some(Signal::NotReady { reason, message })
}

/// An event about a component's readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Ready,
    NotReady { reason: String, message: String },
}

/// Keeps each condition's lastTransitionTime while its status stays the same, so that an
/// unchanged outcome yields an identical status (and no write).
pub fn stamp(previous: &[Condition], mut next: Vec<Condition>, now: &str) -> Vec<Condition> {
    for c in &mut next {
        let kept = previous
            .iter()
            .find(|p| p.type_ == c.type_ && p.status == c.status)
            .and_then(|p| p.last_transition_time.clone());
        c.last_transition_time = Some(kept.unwrap_or_else(|| now.to_string()));
    }
    next
}

/// What the DSC controller knows about one registered component.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    pub name: String,
    pub kind: String,
    pub managed: bool,
    pub chart: ChartRef,
    /// The component resource exists (it may be terminating).
    pub exists: bool,
    /// Its Ready condition, when its controller has reported for the current generation.
    pub ready: Option<Condition>,
}

/// The DSC's conditions and per-component summaries.
pub fn dsc_status(
    previous: &[Condition],
    components: &[ComponentView],
    generation: i64,
    now: &str,
) -> (String, Vec<Condition>, BTreeMap<String, ComponentSummary>) {
    let mut per_kind = Vec::new();
    let mut not_ready = Vec::new();
    let mut summaries = BTreeMap::new();
    for c in components {
        let type_ = format!("{}Ready", c.kind);
        let cond = if c.managed {
            match &c.ready {
                Some(r) if r.status == "True" => {
                    condition(&type_, true, &r.reason, &r.message, generation)
                }
                Some(r) => {
                    not_ready.push(c.name.clone());
                    condition(&type_, false, &r.reason, &r.message, generation)
                }
                None => {
                    not_ready.push(c.name.clone());
                    condition(
                        &type_,
                        false,
                        "Reconciling",
                        &format!("{} is being reconciled", c.name),
                        generation,
                    )
                }
            }
        } else if c.exists {
            not_ready.push(c.name.clone());
            let mut cond = condition(
                &type_,
                false,
                Reason::Removed.as_str(),
                &format!("{} is being removed", c.name),
                generation,
            );
            cond.severity = "Info".to_string();
            cond
        } else {
            let mut cond = condition(
                &type_,
                false,
                Reason::Removed.as_str(),
                &format!("{} is not managed", c.name),
                generation,
            );
            cond.severity = "Info".to_string();
            cond
        };
        per_kind.push(cond);
        summaries.insert(
            c.name.clone(),
            ComponentSummary {
                management_state: Some(if c.managed {
                    ManagementState::Managed
                } else {
                    ManagementState::Removed
                }),
                chart: Some(c.chart.clone()),
            },
        );
    }
    let all_ready = not_ready.is_empty();
    let message = if all_ready {
        String::new()
    } else {
        format!("Some components are not ready: {}", not_ready.join(", "))
    };
    let reason = if all_ready { READY_REASON } else { "NotReady" };
    let mut conditions = vec![
        condition(READY, all_ready, reason, &message, generation),
        condition(COMPONENTS_READY, all_ready, reason, &message, generation),
    ];
    conditions.extend(per_kind);
    let phase = if all_ready { "Ready" } else { "Not Ready" }.to_string();
    (phase, stamp(previous, conditions, now), summaries)
}

/// The status to write after a conflict: `next` was computed over `read`, and another writer
/// has since made it `fresh`. Ours wins, except that inventory entries the other writer added
/// are kept: they may name objects it created, and the inventory is all that lets a later
/// prune or removal find them. An entry it dropped stays too if we still list it: an extra
/// entry costs a prune attempt, a missing one an orphan.
pub fn rebase(
    mut next: ComponentStatus,
    read: &ComponentStatus,
    fresh: &ComponentStatus,
) -> ComponentStatus {
    let added = fresh
        .inventory
        .iter()
        .filter(|e| !read.inventory.contains(e) && !next.inventory.contains(e))
        .cloned()
        .collect::<Vec<_>>();
    if !added.is_empty() {
        next.inventory.extend(added);
        next.inventory.sort();
        next.inventory.dedup();
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a conflict our status is written again, keeping what the other writer added to
    /// the inventory (objects it may have created) and nothing else of its.
    #[test]
    fn a_rebased_status_keeps_the_other_writers_inventory_additions() {
        let cm = |name| entry("", "ConfigMap", name);
        let read = ComponentStatus {
            inventory: vec![cm("a"), cm("b")],
            ..Default::default()
        };
        let next = ComponentStatus {
            inventory: vec![cm("a"), cm("c")],
            render_digest: "ours".into(),
            observed_generation: Some(2),
            ..Default::default()
        };
        let fresh = ComponentStatus {
            inventory: vec![cm("a"), cm("b"), cm("z"), cm("d")],
            render_digest: "theirs".into(),
            observed_generation: Some(1),
            ..Default::default()
        };
        let rebased = rebase(next.clone(), &read, &fresh);
        assert_eq!(
            rebased.inventory,
            [cm("a"), cm("c"), cm("d"), cm("z")],
            "b was pruned by us; d and z were added by the other writer"
        );
        assert_eq!(rebased.render_digest, "ours");
        assert_eq!(rebased.observed_generation, Some(2));
        assert_eq!(rebase(next.clone(), &read, &read), next, "nothing new");
    }

    fn find<'a>(conditions: &'a [Condition], t: &str) -> &'a Condition {
        conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap_or_else(|| panic!("no condition {t}"))
    }

    fn applied() -> Outcome {
        Outcome {
            reason: Reason::ResourcesApplied,
            message: "7 objects applied".into(),
        }
    }

    fn entry(group: &str, kind: &str, name: &str) -> InventoryEntry {
        InventoryEntry {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: "apps".into(),
            name: name.into(),
        }
    }

    fn verdict(group: &str, kind: &str, name: &str, health: Health) -> Verdict {
        Verdict {
            entry: entry(group, kind, name),
            health,
        }
    }

    fn healthy(kind: &str, name: &str) -> Verdict {
        let group = if kind == "Deployment" { "apps" } else { "" };
        verdict(group, kind, name, Health::Healthy)
    }

    fn waiting(group: &str, kind: &str, name: &str, reason: &str, message: &str) -> Verdict {
        let health = Health::Progressing {
            reason: reason.into(),
            message: message.into(),
        };
        verdict(group, kind, name, health)
    }

    fn broken(group: &str, kind: &str, name: &str, reason: &str, message: &str) -> Verdict {
        let health = Health::Degraded {
            reason: reason.into(),
            message: message.into(),
        };
        verdict(group, kind, name, health)
    }

    fn shown(previous: &ComponentStatus, verdicts: &[Verdict], generation: i64) -> Shown {
        component_status(previous, &applied(), verdicts, None, generation, "t1")
    }

    /// The status a write of `shown` leaves behind, for the next computation to compare with.
    fn written(shown: &Shown, generation: i64) -> ComponentStatus {
        ComponentStatus {
            conditions: shown.conditions.clone(),
            unhealthy: shown.unhealthy.clone(),
            observed_generation: Some(generation),
            ..Default::default()
        }
    }

    #[test]
    fn applied_and_healthy_is_ready_and_not_degraded() {
        let verdicts = [healthy("ConfigMap", "c"), healthy("Deployment", "web")];
        let s = shown(&ComponentStatus::default(), &verdicts, 2);
        let c = &s.conditions;
        assert_eq!(find(c, READY).status, "True");
        assert_eq!(find(c, READY).reason, READY_REASON);
        assert_eq!(find(c, PROVISIONING_SUCCEEDED).status, "True");
        assert_eq!(find(c, PROVISIONING_SUCCEEDED).reason, "ResourcesApplied");
        assert_eq!(find(c, PROVISIONING_SUCCEEDED).message, "7 objects applied");
        assert_eq!(find(c, DEPLOYMENTS_AVAILABLE).status, "True");
        assert_eq!(
            find(c, DEPLOYMENTS_AVAILABLE).message,
            "1/1 deployments ready"
        );
        assert_eq!(find(c, DEGRADED).status, "False");
        assert_eq!(find(c, DEGRADED).message, "");
        assert!(c.iter().all(|x| x.observed_generation == Some(2)));
        assert!(s.unhealthy.is_empty());
    }

    #[test]
    fn a_rolling_deployment_is_deployments_not_ready_and_not_degraded() {
        let verdicts = [
            waiting(
                "",
                "PersistentVolumeClaim",
                "data",
                "AwaitingBinding",
                "pvc data: Pending",
            ),
            waiting(
                "apps",
                "Deployment",
                "web",
                "AwaitingReadiness",
                "deployment web: 0/2 available",
            ),
            healthy("Deployment", "api"),
        ];
        let s = shown(&ComponentStatus::default(), &verdicts, 1);
        let ready = find(&s.conditions, READY);
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, DEPLOYMENTS_NOT_READY);
        assert_eq!(
            ready.message,
            "deployment web: 0/2 available (and 1 more objects not ready)"
        );
        let available = find(&s.conditions, DEPLOYMENTS_AVAILABLE);
        assert_eq!(
            (available.status.as_str(), available.message.as_str()),
            ("False", "1/2 deployments ready")
        );
        assert_eq!(find(&s.conditions, DEGRADED).status, "False");
        assert_eq!(find(&s.conditions, PROVISIONING_SUCCEEDED).status, "True");
        let names: Vec<&str> = s.unhealthy.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["data", "web"], "in inventory order");
        assert_eq!(s.unhealthy[0].reason, "AwaitingBinding");
    }

    #[test]
    fn without_deployments_the_first_waiting_objects_reason_is_the_components() {
        let verdicts = [waiting(
            "batch",
            "Job",
            "migrate",
            "AwaitingCompletion",
            "job migrate: 0/1 succeeded",
        )];
        let s = shown(&ComponentStatus::default(), &verdicts, 1);
        assert_eq!(find(&s.conditions, READY).reason, "AwaitingCompletion");
        assert_eq!(
            find(&s.conditions, DEPLOYMENTS_AVAILABLE).message,
            "0/0 deployments ready"
        );
    }

    #[test]
    fn a_degraded_object_names_the_reason_whatever_its_place() {
        let pull = "deployment web: 0/2 available; pod web-7d9f-x2k: container web: Back-off pulling image \"nginx:nope\"";
        let verdicts = [
            waiting(
                "apps",
                "Deployment",
                "api",
                "AwaitingReadiness",
                "deployment api: 0/1 available",
            ),
            broken("apps", "Deployment", "web", "ImagePullBackOff", pull),
        ];
        let s = shown(&ComponentStatus::default(), &verdicts, 1);
        let ready = find(&s.conditions, READY);
        assert_eq!(ready.reason, "ImagePullBackOff");
        assert_eq!(
            ready.message,
            format!("{pull} (and 1 more objects not ready)")
        );
        let degraded = find(&s.conditions, DEGRADED);
        assert_eq!(degraded.status, "True");
        assert_eq!(degraded.reason, "ImagePullBackOff");
        assert_eq!(degraded.message, pull);
        assert_eq!(find(&s.conditions, PROVISIONING_SUCCEEDED).status, "True");
    }

    #[test]
    fn the_unhealthy_list_is_bounded() {
        let verdicts: Vec<Verdict> = (0..25)
            .map(|i| {
                waiting(
                    "",
                    "PersistentVolumeClaim",
                    &format!("c{i}"),
                    "AwaitingBinding",
                    "m",
                )
            })
            .collect();
        let s = shown(&ComponentStatus::default(), &verdicts, 1);
        assert_eq!(s.unhealthy.len(), MAX_UNHEALTHY);
        assert!(
            find(&s.conditions, READY)
                .message
                .ends_with("(and 24 more objects not ready)")
        );
    }

    #[test]
    fn render_error_is_degraded_with_its_reason() {
        let out = Outcome {
            reason: Reason::ChartRenderError,
            message: "boom".into(),
        };
        let s = component_status(&ComponentStatus::default(), &out, &[], None, 1, "t1");
        let c = &s.conditions;
        assert_eq!(find(c, READY).status, "False");
        assert_eq!(find(c, READY).reason, "ChartRenderError");
        assert_eq!(find(c, DEGRADED).status, "True");
        assert_eq!(find(c, DEGRADED).reason, "ChartRenderError");
        assert_eq!(find(c, DEGRADED).message, "boom");
        assert_eq!(find(c, PROVISIONING_SUCCEEDED).status, "False");
    }

    /// Held back for a dependency: nothing applied, not provisioned, and degraded only once
    /// the wait timed out.
    #[test]
    fn a_component_waiting_for_a_dependency_is_not_ready_and_degrades_only_on_timeout() {
        let waiting_for = "waiting for model-registry: CrashLoopBackOff";
        let verdicts = [healthy("Deployment", "web")];
        for (reason, degraded) in [
            (Reason::AwaitingDependency, "False"),
            (Reason::DependencyTimeout, "True"),
        ] {
            let out = Outcome {
                reason,
                message: waiting_for.into(),
            };
            let s = component_status(&ComponentStatus::default(), &out, &verdicts, None, 1, "t");
            let c = &s.conditions;
            assert_eq!(find(c, READY).status, "False");
            assert_eq!(find(c, READY).reason, reason.as_str());
            assert_eq!(find(c, READY).message, waiting_for);
            assert_eq!(find(c, PROVISIONING_SUCCEEDED).status, "False");
            assert_eq!(find(c, DEPLOYMENTS_AVAILABLE).status, "False");
            assert_eq!(find(c, DEGRADED).status, degraded, "{reason:?}");
            assert!(s.unhealthy.is_empty());
        }
    }

    /// A running component whose dependency degrades keeps its own verdict and is told, as
    /// Info; its own degradation wins over the dependency's.
    #[test]
    fn a_running_component_reports_a_dependency_that_stopped_being_ready_as_info() {
        let told = Some("waiting for db: CrashLoopBackOff");
        let ok = [healthy("Deployment", "web")];
        let s = component_status(&ComponentStatus::default(), &applied(), &ok, told, 1, "t");
        assert_eq!(find(&s.conditions, READY).status, "True");
        let degraded = find(&s.conditions, DEGRADED);
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", DEPENDENCY_NOT_READY)
        );
        assert_eq!(degraded.severity, "Info");
        assert_eq!(degraded.message, "waiting for db: CrashLoopBackOff");

        let broken = [broken(
            "batch",
            "Job",
            "task",
            "JobFailed",
            "job task: failed",
        )];
        let s = component_status(
            &ComponentStatus::default(),
            &applied(),
            &broken,
            told,
            1,
            "t",
        );
        let degraded = find(&s.conditions, DEGRADED);
        assert_eq!(degraded.reason, "JobFailed");
        assert_eq!(degraded.severity, "");
    }

    /// An apply that kept an object back (an immutable field, a stored CRD version) reports
    /// the running objects' health as Ready, and is Degraded and not provisioned, naming the
    /// object, until someone acts.
    #[test]
    fn an_object_held_back_degrades_a_component_whose_objects_run() {
        let message = "Deployment ns/web: spec.selector cannot change in place, so the running object is kept";
        let held = Outcome {
            reason: Reason::ImmutableFieldChange,
            message: message.to_string(),
        };
        let ok = [healthy("Deployment", "web")];
        let s = component_status(&ComponentStatus::default(), &held, &ok, None, 3, "t");
        assert_eq!(find(&s.conditions, READY).status, "True");
        let degraded = find(&s.conditions, DEGRADED);
        assert_eq!(
            (
                degraded.status.as_str(),
                degraded.reason.as_str(),
                degraded.message.as_str()
            ),
            ("True", "ImmutableFieldChange", message)
        );
        let provisioned = find(&s.conditions, PROVISIONING_SUCCEEDED);
        assert_eq!(
            (provisioned.status.as_str(), provisioned.reason.as_str()),
            ("False", "ImmutableFieldChange")
        );
        let rolling = [waiting(
            "apps",
            "Deployment",
            "web",
            "Progressing",
            "1/2 updated",
        )];
        let crd = Outcome {
            reason: Reason::CrdStoredVersionRemoved,
            message: "CustomResourceDefinition widgets.example.com: not updated".to_string(),
        };
        let s = component_status(&ComponentStatus::default(), &crd, &rolling, None, 3, "t");
        assert_eq!(find(&s.conditions, READY).status, "False");
        assert_eq!(
            find(&s.conditions, DEGRADED).reason,
            "CRDStoredVersionRemoved"
        );
    }

    /// A fight degrades a component that is otherwise fine (or only told about a dependency),
    /// keeps Ready as it is and its transition time while it lasts; a degradation of the
    /// component's own wins.
    #[test]
    fn a_drift_fight_degrades_an_otherwise_healthy_component() {
        let ok = [healthy("Deployment", "web")];
        let fresh = ComponentStatus::default();
        let fight =
            "objects repaired 6 times within 10m0s; field manager \"x\" keeps changing them";
        let s = with_fight(&fresh, shown(&fresh, &ok, 1), fight, 1, "t1");
        assert_eq!(find(&s.conditions, READY).status, "True");
        let degraded = find(&s.conditions, DEGRADED);
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", DRIFT_LOOP)
        );
        assert_eq!(degraded.message, fight);
        assert_eq!(degraded.last_transition_time.as_deref(), Some("t1"));
        let before = written(&s, 1);
        let more = fight.replace('6', "7");
        let again = with_fight(&before, shown(&before, &ok, 1), &more, 1, "t2");
        assert_eq!(
            again.conditions, s.conditions,
            "a higher count alone writes nothing"
        );

        let told = Some("waiting for db");
        let info = component_status(&fresh, &applied(), &ok, told, 1, "t");
        let s = with_fight(&fresh, info, fight, 1, "t");
        assert_eq!(find(&s.conditions, DEGRADED).reason, DRIFT_LOOP);
        assert_eq!(find(&s.conditions, DEGRADED).severity, "");

        let failing = [broken(
            "batch",
            "Job",
            "task",
            "JobFailed",
            "job task: failed",
        )];
        let s = with_fight(&fresh, shown(&fresh, &failing, 1), fight, 1, "t");
        assert_eq!(find(&s.conditions, DEGRADED).reason, "JobFailed");
    }

    #[test]
    fn a_removed_component_lists_nothing_and_says_so_as_info() {
        let out = Outcome {
            reason: Reason::Removed,
            message: "a is not managed".into(),
        };
        let verdicts = [waiting(
            "apps",
            "Deployment",
            "web",
            "AwaitingReadiness",
            "m",
        )];
        let s = component_status(&ComponentStatus::default(), &out, &verdicts, None, 1, "t1");
        assert!(s.unhealthy.is_empty());
        assert!(
            s.conditions
                .iter()
                .all(|c| c.status == "False" && c.severity == "Info")
        );
        assert_eq!(find(&s.conditions, READY).reason, "Removed");
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let verdicts = [healthy("Deployment", "web")];
        let first = shown(&ComponentStatus::default(), &verdicts, 1);
        let second = component_status(&written(&first, 1), &applied(), &verdicts, None, 1, "t2");
        assert_eq!(first, second);
        let bad = Outcome {
            reason: Reason::ApplyFailed,
            message: "x".into(),
        };
        let third = component_status(&written(&second, 1), &bad, &verdicts, None, 1, "t3");
        assert_eq!(
            find(&third.conditions, READY)
                .last_transition_time
                .as_deref(),
            Some("t3")
        );
        assert_eq!(
            find(&third.conditions, DEPLOYMENTS_AVAILABLE)
                .last_transition_time
                .as_deref(),
            Some("t1"),
            "still available"
        );
    }

    fn crash(pod: &str, restarts: u32) -> Verdict {
        broken(
            "apps",
            "Deployment",
            "web",
            "CrashLoopBackOff",
            &format!(
                "deployment web: 0/1 available; pod {pod}: container web: crash loop back-off, restarted {restarts} times, last exit code 1 (Error)"
            ),
        )
    }

    /// kwok (like a kubelet) restarts a crash-looping container every few seconds; a status
    /// that followed the count would be written as often.
    #[test]
    fn a_rising_restart_count_alone_changes_nothing_shown() {
        let first = shown(&ComponentStatus::default(), &[crash("web-7d9f-x2k", 3)], 1);
        let previous = written(&first, 1);
        assert_eq!(shown(&previous, &[crash("web-7d9f-x2k", 12)], 1), first);
        let other_pod = shown(&previous, &[crash("web-7d9f-q8z", 12)], 1);
        assert_ne!(other_pod, first, "another pod is news");
        assert!(
            find(&other_pod.conditions, READY)
                .message
                .contains("web-7d9f-q8z")
        );
        let next_generation = shown(&previous, &[crash("web-7d9f-x2k", 12)], 2);
        assert!(
            find(&next_generation.conditions, READY)
                .message
                .contains("restarted 12 times"),
            "a new generation is shown afresh"
        );
        let pull = broken(
            "apps",
            "Deployment",
            "web",
            "ImagePullBackOff",
            "deployment web: 0/1 available",
        );
        assert_eq!(
            find(&shown(&previous, &[pull], 1).conditions, READY).reason,
            "ImagePullBackOff"
        );
    }

    #[test]
    fn numbers_are_placeholders_but_digits_in_words_are_not() {
        assert!(same_but_numbers(
            "restarted 3 times, exit 1",
            "restarted 14 times, exit 137"
        ));
        assert!(same_but_numbers("0/2 available", "1/2 available"));
        assert!(!same_but_numbers("pod web-7d9f-x2k", "pod web-8c1a-x2k"));
        assert!(!same_but_numbers(
            "restarted 3 times",
            "restarted three times"
        ));
        assert!(same_but_numbers("", ""));
    }

    #[test]
    fn events_mark_becoming_ready_losing_it_and_degrading() {
        let status =
            |verdicts: &[Verdict]| shown(&ComponentStatus::default(), verdicts, 1).conditions;
        let ready = status(&[healthy("Deployment", "web")]);
        let rolling = status(&[waiting(
            "apps",
            "Deployment",
            "web",
            "AwaitingReadiness",
            "m",
        )]);
        let pulling = status(&[broken("apps", "Deployment", "web", "ImagePullBackOff", "p")]);
        assert_eq!(signal(&[], &ready), Some(Signal::Ready));
        assert_eq!(signal(&rolling, &ready), Some(Signal::Ready));
        assert_eq!(signal(&ready, &ready), None);
        assert_eq!(signal(&[], &rolling), None, "a first rollout is no news");
        assert_eq!(
            signal(&ready, &rolling),
            Some(Signal::NotReady {
                reason: DEPLOYMENTS_NOT_READY.into(),
                message: "m".into()
            })
        );
        assert_eq!(
            signal(&rolling, &pulling),
            Some(Signal::NotReady {
                reason: "ImagePullBackOff".into(),
                message: "p".into()
            })
        );
        assert_eq!(signal(&pulling, &pulling), None);
        let failed = component_status(
            &ComponentStatus::default(),
            &Outcome {
                reason: Reason::ApplyFailed,
                message: "x".into(),
            },
            &[],
            None,
            1,
            "t",
        );
        assert_eq!(
            signal(&ready, &failed.conditions),
            None,
            "failures have their own event"
        );
    }

    fn view(name: &str, managed: bool, exists: bool, ready: Option<&str>) -> ComponentView {
        ComponentView {
            name: name.into(),
            kind: format!("K{name}"),
            managed,
            chart: ChartRef {
                name: name.into(),
                version: "1.0.0".into(),
            },
            exists,
            ready: ready.map(|s| Condition {
                type_: READY.into(),
                status: s.into(),
                reason: "ResourcesApplied".into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn dsc_is_ready_when_every_managed_component_is() {
        let (phase, c, summaries) = dsc_status(
            &[],
            &[
                view("a", true, true, Some("True")),
                view("b", false, false, None),
            ],
            5,
            "t",
        );
        assert_eq!(phase, "Ready");
        assert_eq!(find(&c, READY).status, "True");
        assert_eq!(find(&c, COMPONENTS_READY).status, "True");
        let removed = find(&c, "KbReady");
        assert_eq!(removed.reason, "Removed");
        assert_eq!(removed.severity, "Info");
        assert_eq!(removed.status, "False");
        assert_eq!(
            summaries["b"].management_state,
            Some(ManagementState::Removed)
        );
        assert_eq!(
            summaries["a"].management_state,
            Some(ManagementState::Managed)
        );
    }

    #[test]
    fn dsc_waits_for_failing_unreported_and_terminating_components() {
        for views in [
            vec![view("a", true, true, Some("False"))],
            vec![view("a", true, true, None)],
            vec![view("a", false, true, None)],
        ] {
            let (phase, c, _) = dsc_status(&[], &views, 1, "t");
            assert_eq!(phase, "Not Ready");
            assert_eq!(find(&c, READY).status, "False");
            assert_eq!(find(&c, READY).message, "Some components are not ready: a");
        }
    }
}
