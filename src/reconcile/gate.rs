//! Ordering between components (`dependsOn`): when a component may first be applied, and when
//! a dependency's objects may be removed. Pure rules over the component resources as the API
//! server (or their watches) last showed them, so that both are tested without a cluster.
//!
//! A component is applied for the first time only when every dependency reports `Ready` for
//! its current generation; one that has applied before keeps running whatever its
//! dependencies do (it is only told, see [`super::status::component_status`]). On removal the
//! order reverses: a dependency's objects wait until every dependent that is being removed
//! with it has none left.

use kube::api::DynamicObject;
use serde_json::Value as Json;

use super::status::{READY, Reason};

/// How a dependency stands, as its dependents see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Ready,
    /// Not Ready, by its own current status (the reason it gives), or because it is not
    /// managed or being removed.
    NotReady(String),
    /// No verdict yet: its watch has not listed it, or its status does not yet speak for its
    /// current spec. A first apply waits for it; a running dependent is not told, since
    /// every operator start and every values change of the dependency would say it.
    Pending(String),
}

/// Reason shown for a dependency whose resource its watch has not listed yet.
const UNKNOWN: &str = "Unknown";
/// Reason shown for a dependency whose status does not yet speak for its current spec.
const RECONCILING: &str = "Reconciling";
/// Reason shown for a dependency being deleted.
const REMOVING: &str = "Removing";

/// The standing of a component from its resource: `None` when its watch has not listed it yet,
/// `Some(None)` when it has no resource (it is not managed).
pub fn standing(seen: Option<Option<&DynamicObject>>) -> Standing {
    let cr = match seen {
        None => return Standing::Pending(UNKNOWN.to_string()),
        Some(None) => return Standing::NotReady(Reason::Removed.as_str().to_string()),
        Some(Some(cr)) => cr,
    };
    if cr.metadata.deletion_timestamp.is_some() {
        return Standing::NotReady(REMOVING.to_string());
    }
    let status = cr.data.get("status");
    let observed = status
        .and_then(|s| s.get("observedGeneration"))
        .and_then(Json::as_i64);
    if observed.is_none() || observed != cr.metadata.generation {
        return Standing::Pending(RECONCILING.to_string());
    }
    let ready = status
        .and_then(|s| s.get("conditions"))
        .and_then(Json::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == READY));
    match ready {
        Some(c) if c["status"] == "True" => Standing::Ready,
        Some(c) => Standing::NotReady(c["reason"].as_str().unwrap_or(RECONCILING).to_string()),
        None => Standing::Pending(RECONCILING.to_string()),
    }
}

/// What a component waits for, in `dependsOn` order: `waiting for a: Reason; waiting for b:
/// Reason`. `None` when every dependency is Ready, or, with `settled_only`, when none is
/// known not to be (what a running dependent is told).
pub fn waiting_for(dependencies: &[(&str, Standing)], settled_only: bool) -> Option<String> {
    let waits: Vec<String> = dependencies
        .iter()
        .filter_map(|(name, standing)| match standing {
            Standing::Ready => None,
            Standing::Pending(_) if settled_only => None,
            Standing::NotReady(reason) | Standing::Pending(reason) => {
                Some(format!("waiting for {name}: {reason}"))
            }
        })
        .collect();
    (!waits.is_empty()).then(|| waits.join("; "))
}

/// The part of a component resource the gates read. A watch event that changes it wakes the
/// component's dependents and dependencies; any other change (a status message counting
/// restarts) wakes nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateView {
    standing: Standing,
    holds_objects: bool,
    being_removed: bool,
}

pub fn gate_view(seen: Option<&DynamicObject>) -> GateView {
    GateView {
        standing: standing(Some(seen)),
        holds_objects: seen.is_some_and(holds_objects),
        being_removed: seen.is_some_and(|cr| being_removed(cr, true)),
    }
}

fn holds_objects(cr: &DynamicObject) -> bool {
    cr.data
        .pointer("/status/inventory")
        .and_then(Json::as_array)
        .is_some_and(|i| !i.is_empty())
}

/// Whether the component is on its way out: its resource is being deleted, its own spec says
/// it is not managed, or the DataScienceCluster no longer manages it (`dsc_manages`).
fn being_removed(cr: &DynamicObject, dsc_manages: bool) -> bool {
    let managed = cr
        .data
        .pointer("/spec/managementState")
        .is_some_and(|s| s == "Managed");
    cr.metadata.deletion_timestamp.is_some() || !managed || !dsc_manages
}

/// Whether a dependent, read fresh from the API server, holds back its dependency's removal:
/// it is being removed too and still has objects. A dependent that stays managed does not
/// (the webhook refuses that configuration; should it happen anyway, the dependent reports
/// its dependency as not ready instead of blocking the removal forever).
pub fn holds_removal(dependent: &DynamicObject, dsc_manages: bool) -> bool {
    being_removed(dependent, dsc_manages) && holds_objects(dependent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(generation: i64, status: Json) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "components.platform.opendatahub.io/v1alpha1",
            "kind": "ModelRegistry",
            "metadata": {"name": "default-model-registry", "generation": generation},
            "spec": {"managementState": "Managed"},
            "status": status,
        }))
        .expect("a component resource")
    }

    fn ready(status: &str, reason: &str, observed: i64) -> Json {
        json!({
            "observedGeneration": observed,
            "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": ""}],
        })
    }

    #[test]
    fn a_dependency_is_ready_only_by_a_current_ready_condition() {
        let cases = [
            (resource(2, ready("True", "Ready", 2)), Standing::Ready),
            (
                resource(2, ready("False", "CrashLoopBackOff", 2)),
                Standing::NotReady("CrashLoopBackOff".into()),
            ),
            (
                resource(3, ready("True", "Ready", 2)),
                Standing::Pending("Reconciling".into()),
            ),
            (
                resource(1, Json::Null),
                Standing::Pending("Reconciling".into()),
            ),
        ];
        for (cr, want) in cases {
            assert_eq!(standing(Some(Some(&cr))), want, "{:?}", cr.data["status"]);
        }
        assert_eq!(standing(None), Standing::Pending("Unknown".into()));
        assert_eq!(standing(Some(None)), Standing::NotReady("Removed".into()));
        let mut deleting = serde_json::to_value(resource(2, ready("True", "Ready", 2))).unwrap();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-12-06T21:00:00Z");
        let deleting: DynamicObject = serde_json::from_value(deleting).unwrap();
        assert_eq!(
            standing(Some(Some(&deleting))),
            Standing::NotReady("Removing".into())
        );
    }

    #[test]
    fn the_wait_names_each_dependency_not_ready_with_its_reason() {
        let deps = [
            ("db", Standing::Ready),
            (
                "model-registry",
                Standing::NotReady("CrashLoopBackOff".into()),
            ),
            ("certs", Standing::NotReady("Removed".into())),
            ("catalog", Standing::Pending("Reconciling".into())),
        ];
        assert_eq!(
            waiting_for(&deps, false).as_deref(),
            Some(
                "waiting for model-registry: CrashLoopBackOff; waiting for certs: Removed; waiting for catalog: Reconciling"
            )
        );
        assert_eq!(
            waiting_for(&deps, true).as_deref(),
            Some("waiting for model-registry: CrashLoopBackOff; waiting for certs: Removed"),
            "a running dependent is told only of verdicts"
        );
        assert_eq!(waiting_for(&deps[3..], true), None);
        assert_eq!(waiting_for(&deps[..1], false), None);
        assert_eq!(waiting_for(&[], false), None);
    }

    #[test]
    fn only_a_dependent_leaving_with_objects_holds_a_removal_back() {
        let with_objects = json!({"inventory": [{"group": "", "version": "v1", "kind": "ConfigMap",
                                                  "namespace": "apps", "name": "a"}]});
        let staying = resource(1, with_objects.clone());
        assert!(!holds_removal(&staying, true), "it stays managed");
        assert!(holds_removal(&staying, false), "the DSC removes it");
        let mut unmanaged = staying.clone();
        unmanaged.data["spec"]["managementState"] = json!("Removed");
        assert!(holds_removal(&unmanaged, true));
        let emptied = resource(1, json!({"inventory": []}));
        assert!(!holds_removal(&emptied, false), "nothing left to delete");
    }

    /// Status messages that only count (restarts, rollouts) change nothing a gate reads.
    #[test]
    fn gate_views_change_with_readiness_and_objects_not_with_messages() {
        let a = resource(1, ready("False", "CrashLoopBackOff", 1));
        let mut b = a.clone();
        b.data["status"]["conditions"][0]["message"] = json!("restarted 7 times");
        assert_eq!(gate_view(Some(&a)), gate_view(Some(&b)));
        let now_ready = resource(1, ready("True", "Ready", 1));
        assert_ne!(gate_view(Some(&a)), gate_view(Some(&now_ready)));
        assert_ne!(gate_view(Some(&a)), gate_view(None));
    }
}
