//! Status as Open Data Hub users read it: pure functions from what happened to conditions, so
//! that the wording and the transition-time rules are tested without a cluster.

use std::collections::BTreeMap;

use crate::api::{ChartRef, ComponentSummary, Condition, ManagementState};

pub const READY: &str = "Ready";
pub const PROVISIONING_SUCCEEDED: &str = "ProvisioningSucceeded";
pub const DEGRADED: &str = "Degraded";
pub const COMPONENTS_READY: &str = "ComponentsReady";

/// Why a component is (not) ready; the names are DESIGN.md's condition reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ResourcesApplied,
    ChartRenderError,
    ValuesInvalid,
    ApplyFailed,
    Removed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ResourcesApplied => "ResourcesApplied",
            Reason::ChartRenderError => "ChartRenderError",
            Reason::ValuesInvalid => "ValuesInvalid",
            Reason::ApplyFailed => "ApplyFailed",
            Reason::Removed => "Removed",
        }
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

/// Ready, ProvisioningSucceeded and Degraded for a component resource.
pub fn component_conditions(
    previous: &[Condition],
    outcome: &Outcome,
    generation: i64,
    now: &str,
) -> Vec<Condition> {
    let reason = outcome.reason.as_str();
    let ok = !outcome.reason.is_failure() && outcome.reason != Reason::Removed;
    let failed = outcome.reason.is_failure();
    let mut ready = condition(READY, ok, reason, &outcome.message, generation);
    let mut provisioned = condition(
        PROVISIONING_SUCCEEDED,
        !failed,
        reason,
        &outcome.message,
        generation,
    );
    let degraded_message = if failed { outcome.message.as_str() } else { "" };
    let mut degraded = condition(DEGRADED, failed, reason, degraded_message, generation);
    if outcome.reason == Reason::Removed {
        for c in [&mut ready, &mut provisioned, &mut degraded] {
            c.severity = "Info".to_string();
        }
    }
    stamp(previous, vec![ready, provisioned, degraded], now)
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
        format!("not ready: {}", not_ready.join(", "))
    };
    let reason = if all_ready { "Ready" } else { "NotReady" };
    let mut conditions = vec![
        condition(READY, all_ready, reason, &message, generation),
        condition(COMPONENTS_READY, all_ready, reason, &message, generation),
    ];
    conditions.extend(per_kind);
    let phase = if all_ready { "Ready" } else { "Not Ready" }.to_string();
    (phase, stamp(previous, conditions, now), summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(conditions: &'a [Condition], t: &str) -> &'a Condition {
        conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap_or_else(|| panic!("no condition {t}"))
    }

    #[test]
    fn success_is_ready_and_not_degraded() {
        let out = Outcome {
            reason: Reason::ResourcesApplied,
            message: "7 objects applied".into(),
        };
        let c = component_conditions(&[], &out, 2, "t1");
        assert_eq!(find(&c, READY).status, "True");
        assert_eq!(find(&c, READY).reason, "ResourcesApplied");
        assert_eq!(find(&c, PROVISIONING_SUCCEEDED).status, "True");
        assert_eq!(find(&c, DEGRADED).status, "False");
        assert_eq!(find(&c, DEGRADED).message, "");
        assert!(c.iter().all(|x| x.observed_generation == Some(2)));
    }

    #[test]
    fn render_error_is_degraded_with_its_reason() {
        let out = Outcome {
            reason: Reason::ChartRenderError,
            message: "boom".into(),
        };
        let c = component_conditions(&[], &out, 1, "t1");
        assert_eq!(find(&c, READY).status, "False");
        assert_eq!(find(&c, DEGRADED).status, "True");
        assert_eq!(find(&c, DEGRADED).reason, "ChartRenderError");
        assert_eq!(find(&c, DEGRADED).message, "boom");
        assert_eq!(find(&c, PROVISIONING_SUCCEEDED).status, "False");
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let ok = Outcome {
            reason: Reason::ResourcesApplied,
            message: String::new(),
        };
        let first = component_conditions(&[], &ok, 1, "t1");
        let second = component_conditions(&first, &ok, 1, "t2");
        assert_eq!(first, second);
        let bad = Outcome {
            reason: Reason::ApplyFailed,
            message: "x".into(),
        };
        let third = component_conditions(&second, &bad, 1, "t3");
        assert_eq!(
            find(&third, READY).last_transition_time.as_deref(),
            Some("t3")
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
            assert_eq!(find(&c, READY).message, "not ready: a");
        }
    }
}
