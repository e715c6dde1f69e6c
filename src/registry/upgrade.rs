//! Fields the API server will not change in place, and what a component does when its chart
//! asks it to. Helm stops there ("field is immutable", Helm issue 7082); a component instead
//! keeps the running object and says so, or, when its descriptor allows, deletes the object
//! and creates it again, as Helm 4's `--force-replace` does. The reconciler reads these rules
//! when the API server refuses an apply, and the webhook reads them to warn before the values
//! are stored, so that the warning names what the apply will meet.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

/// What a component does with an object whose immutable fields its chart changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Leave the running object as it is and report `Degraded`, reason
    /// `ImmutableFieldChange`: nothing is lost, and an admin decides.
    #[default]
    Keep,
    /// Delete the object and create it as rendered. A StatefulSet is deleted with its pods
    /// and claims orphaned (the new one adopts them); anything else in the foreground, its
    /// dependents first, and the new object is created once the old one is gone.
    Recreate,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Keep => "keep",
            Strategy::Recreate => "recreate",
        }
    }

    fn parse(text: &str) -> Result<Strategy, String> {
        match text {
            "keep" => Ok(Strategy::Keep),
            "recreate" => Ok(Strategy::Recreate),
            other => Err(format!(
                "unknown strategy {other:?}: must be keep or recreate"
            )),
        }
    }
}

/// `upgradeStrategy` as a descriptor writes it: one strategy for every kind
/// (`upgradeStrategy: recreate`) or one per kind (`upgradeStrategy: {StatefulSet: recreate}`),
/// where kinds not named keep their objects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StrategySpec {
    Every(String),
    PerKind(BTreeMap<String, String>),
}

/// A component's strategies, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpgradeStrategy {
    every: Strategy,
    kinds: BTreeMap<String, Strategy>,
}

impl UpgradeStrategy {
    /// Reads a descriptor's `upgradeStrategy`; every problem in one message.
    pub fn from_spec(spec: Option<&StrategySpec>) -> Result<UpgradeStrategy, String> {
        match spec {
            None => Ok(UpgradeStrategy::default()),
            Some(StrategySpec::Every(text)) => Ok(UpgradeStrategy {
                every: Strategy::parse(text)?,
                kinds: BTreeMap::new(),
            }),
            Some(StrategySpec::PerKind(kinds)) => {
                let mut problems = Vec::new();
                let mut parsed = BTreeMap::new();
                for (kind, text) in kinds {
                    match Strategy::parse(text) {
                        Ok(s) => {
                            parsed.insert(kind.clone(), s);
                        }
                        Err(e) => problems.push(format!("{kind}: {e}")),
                    }
                }
                if problems.is_empty() {
                    Ok(UpgradeStrategy {
                        every: Strategy::Keep,
                        kinds: parsed,
                    })
                } else {
                    Err(problems.join("; "))
                }
            }
        }
    }

    pub fn for_kind(&self, kind: &str) -> Strategy {
        self.kinds.get(kind).copied().unwrap_or(self.every)
    }
}

/// The fields of a kind that the API server refuses to change once the object exists, as
/// dotted paths. Kinds not listed may still have some (a custom resource's CEL rule); the
/// reconciler recognises those by the API server's answer alone.
pub fn immutable_paths(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") => &["spec.selector"],
        ("apps", "StatefulSet") => &[
            "spec.selector",
            "spec.volumeClaimTemplates",
            "spec.serviceName",
            "spec.podManagementPolicy",
        ],
        ("batch", "Job") => &["spec.selector", "spec.template"],
        // All of a claim's spec but the storage it requests (and its volume attributes class).
        ("", "PersistentVolumeClaim") => &[
            "spec.accessModes",
            "spec.selector",
            "spec.storageClassName",
            "spec.volumeMode",
            "spec.volumeName",
            "spec.dataSource",
            "spec.dataSourceRef",
            "spec.resources.limits",
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => &["roleRef"],
        ("", "Service") => &["spec.clusterIP", "spec.clusterIPs"],
        _ => &[],
    }
}

/// Whether recreating an object of this kind leaves its dependents in place: a StatefulSet's
/// pods and volume claims hold its data, and the new StatefulSet adopts them.
pub fn recreate_orphans(group: &str, kind: &str) -> bool {
    group == "apps" && kind == "StatefulSet"
}

/// The immutable fields whose values differ between two renderings of one object, a field
/// present in one and absent in the other included: what a new rendering would ask the API
/// server to change.
pub fn changed_between(group: &str, kind: &str, old: &Json, new: &Json) -> Vec<&'static str> {
    immutable_paths(group, kind)
        .iter()
        .copied()
        .filter(|path| at(old, path) != at(new, path))
        .collect()
}

/// The immutable fields the desired object sets to something the live one does not hold.
/// The API server adds defaults to what it stores (a claim template's `volumeMode`, its
/// `status`), so the desired value need only be contained in the live one; a field the
/// desired object leaves out is not asked to change.
pub fn changed_against_live(
    group: &str,
    kind: &str,
    desired: &Json,
    live: &Json,
) -> Vec<&'static str> {
    immutable_paths(group, kind)
        .iter()
        .copied()
        .filter(|path| match (at(desired, path), at(live, path)) {
            (None, _) => false,
            (Some(d), Some(l)) => !contained(d, l),
            (Some(_), None) => true,
        })
        .collect()
}

/// What happens to an object whose immutable fields change, in the words an admission
/// warning and a status use.
pub fn consequence(strategy: Strategy, group: &str, kind: &str) -> String {
    match strategy {
        Strategy::Keep => format!(
            "the API server refuses the change: the running {kind} is kept as it is and the \
             component reports Degraded (ImmutableFieldChange); a descriptor with \
             upgradeStrategy: recreate replaces it instead"
        ),
        Strategy::Recreate if recreate_orphans(group, kind) => format!(
            "upgradeStrategy recreate: the {kind} is deleted with its pods and claims left \
             running, and created again, adopting them"
        ),
        Strategy::Recreate => format!(
            "upgradeStrategy recreate: the {kind} and what it owns are deleted, and it is \
             created again"
        ),
    }
}

fn at<'a>(object: &'a Json, dotted: &str) -> Option<&'a Json> {
    dotted
        .split('.')
        .try_fold(object, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// Whether every value `want` sets is in `have`: objects by key (extra keys in `have` are
/// defaults), lists element by element and of equal length, scalars equal.
fn contained(want: &Json, have: &Json) -> bool {
    match (want, have) {
        (Json::Object(w), Json::Object(h)) => w.iter().all(|(k, v)| match h.get(k) {
            Some(hv) => contained(v, hv),
            None => v.is_null(),
        }),
        (Json::Array(w), Json::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contained(a, b))
        }
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(storage: &str, service: &str) -> Json {
        json!({"spec": {
            "serviceName": service,
            "selector": {"matchLabels": {"app": "db"}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": storage}}}
            }]
        }})
    }

    #[test]
    fn strategies_read_for_every_kind_or_per_kind() {
        let every = UpgradeStrategy::from_spec(Some(&StrategySpec::Every("recreate".into())));
        assert_eq!(
            every.map(|s| s.for_kind("Deployment")),
            Ok(Strategy::Recreate)
        );
        let per_kind = UpgradeStrategy::from_spec(Some(&StrategySpec::PerKind(
            [("StatefulSet".to_string(), "recreate".to_string())].into(),
        )))
        .unwrap_or_default();
        assert_eq!(per_kind.for_kind("StatefulSet"), Strategy::Recreate);
        assert_eq!(per_kind.for_kind("Deployment"), Strategy::Keep);
        assert_eq!(
            UpgradeStrategy::from_spec(None).map(|s| s.for_kind("Job")),
            Ok(Strategy::Keep)
        );
    }

    #[test]
    fn unknown_strategies_are_refused_naming_the_kind() {
        let e = UpgradeStrategy::from_spec(Some(&StrategySpec::PerKind(
            [
                ("Deployment".to_string(), "replace".to_string()),
                ("Job".to_string(), "recreate".to_string()),
            ]
            .into(),
        )));
        assert_eq!(
            e,
            Err("Deployment: unknown strategy \"replace\": must be keep or recreate".to_string())
        );
        assert!(UpgradeStrategy::from_spec(Some(&StrategySpec::Every("force".into()))).is_err());
    }

    #[test]
    fn a_changed_selector_or_claim_template_is_found_between_renderings() {
        let old = json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1}});
        let new = json!({"spec": {"selector": {"matchLabels": {"app": "b"}}, "replicas": 3}});
        assert_eq!(
            changed_between("apps", "Deployment", &old, &new),
            ["spec.selector"]
        );
        let replicas_only =
            json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 3}});
        assert!(changed_between("apps", "Deployment", &old, &replicas_only).is_empty());
        assert_eq!(
            changed_between(
                "apps",
                "StatefulSet",
                &sts("1Gi", "db"),
                &sts("2Gi", "db-headless")
            ),
            ["spec.volumeClaimTemplates", "spec.serviceName"]
        );
        assert!(changed_between("", "ConfigMap", &old, &new).is_empty());
    }

    #[test]
    fn defaults_the_server_added_are_not_changes_but_new_values_are() {
        let mut live = sts("1Gi", "db");
        live["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] = json!("Filesystem");
        live["spec"]["volumeClaimTemplates"][0]["status"] = json!({"phase": "Pending"});
        live["spec"]["podManagementPolicy"] = json!("OrderedReady");
        assert!(changed_against_live("apps", "StatefulSet", &sts("1Gi", "db"), &live).is_empty());
        assert_eq!(
            changed_against_live("apps", "StatefulSet", &sts("2Gi", "db"), &live),
            ["spec.volumeClaimTemplates"]
        );
        let binding = |role: &str| json!({"roleRef": {"kind": "Role", "name": role}});
        assert_eq!(
            changed_against_live(
                "rbac.authorization.k8s.io",
                "RoleBinding",
                &binding("edit"),
                &binding("view")
            ),
            ["roleRef"]
        );
        let service = json!({"spec": {"ports": [{"port": 80}]}});
        let allocated = json!({"spec": {"clusterIP": "10.0.0.7", "ports": [{"port": 80}]}});
        assert!(changed_against_live("", "Service", &service, &allocated).is_empty());
    }

    #[test]
    fn the_consequence_names_the_kind_and_what_survives() {
        assert!(
            consequence(Strategy::Keep, "apps", "Deployment")
                .contains("running Deployment is kept")
        );
        assert!(
            consequence(Strategy::Recreate, "apps", "StatefulSet")
                .contains("pods and claims left running")
        );
        assert!(consequence(Strategy::Recreate, "apps", "Deployment").contains("deleted"));
    }
}
