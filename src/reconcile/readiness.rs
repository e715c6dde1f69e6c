//! The live half of "Ready means running": what each applied object's health was when last
//! seen, and the reads that keep it current.
//!
//! Bodies come from where they already are, never from a watch of their own. An apply's
//! response is the live object, status included, so right after an apply nothing is read.
//! Later, the drift watches (metadata-only, see [`super::watches`]) see every status write of a
//! component's objects as a new resourceVersion with an unchanged [`super::watches::observed_version`],
//! and hand the object's key to the component, which reads that one object. That costs one GET
//! per status write of an object we own (a rollout makes a handful, a steady workload none),
//! keeps one kind of watch for drift and health, and keeps bodies of ConfigMaps and Secrets out
//! of the operator's memory and traffic; a full-object watch per workload kind would stream the
//! same bodies but hold a second watch per kind. Kinds whose health is "it exists" are never
//! read ([`needs_body`]).
//!
//! Pods change without their workload's status changing (a container going from
//! `ContainerCreating` to `ImagePullBackOff`, a restart count rising), so while an object is
//! unhealthy it is read again, with its pods, [`RECHECK`] after the last change and then less
//! and less often while nothing shown changes ([`recheck_after`]): a Job that failed for good
//! costs a read a minute, not one every few seconds. Healthy objects are not polled.

use std::collections::HashMap;
use std::time::Duration;

use kube::api::{Api, DynamicObject};

use super::status::Verdict;
use super::watches::ObjectKey;
use crate::api::InventoryEntry;
use crate::discovery::Snapshot;
use crate::health::{self, AWAITING_READINESS, Health};

/// How soon an unhealthy object (and its pods) is first read again while nothing else changes.
pub const RECHECK: Duration = Duration::from_secs(5);
/// The longest wait between two reads of an unhealthy object.
pub const RECHECK_MAX: Duration = Duration::from_secs(60);

/// The wait before the next recheck after `quiet` rechecks in a row that changed nothing
/// shown: [`RECHECK`], doubling up to [`RECHECK_MAX`].
pub fn recheck_after(quiet: u32) -> Duration {
    RECHECK.saturating_mul(1 << quiet.min(4)).min(RECHECK_MAX)
}

/// Whether the health of objects of this kind needs their body. Objects of these kinds have no
/// status to wait for (or none our rules judge), so they are healthy once they exist, and are
/// never read for health. Every other kind, custom resources included, is read.
pub fn needs_body(group: &str, kind: &str) -> bool {
    let bodiless = match group {
        "" => matches!(
            kind,
            "ConfigMap"
                | "Secret"
                | "Service"
                | "ServiceAccount"
                | "Endpoints"
                | "LimitRange"
                | "ResourceQuota"
                | "Namespace"
        ),
        "rbac.authorization.k8s.io" | "admissionregistration.k8s.io" => true,
        // The apply already waited for its CRDs to be Established.
        "apiextensions.k8s.io" => kind == "CustomResourceDefinition",
        "networking.k8s.io" => matches!(kind, "NetworkPolicy" | "IngressClass"),
        "policy" => kind == "PodDisruptionBudget",
        "scheduling.k8s.io" => kind == "PriorityClass",
        "storage.k8s.io" => kind == "StorageClass",
        _ => false,
    };
    !bodiless
}

/// Whether objects of this kind are read for their health: [`needs_body`], or a rule of the
/// component's descriptor judges them (a rule may look at any kind, even one whose health is
/// otherwise "it exists").
pub fn reads(rules: &health::Rules, group: &str, kind: &str) -> bool {
    needs_body(group, kind) || rules.covers(group, kind)
}

pub fn key_of(entry: &InventoryEntry) -> ObjectKey {
    (
        entry.group.clone(),
        entry.kind.clone(),
        entry.namespace.clone(),
        entry.name.clone(),
    )
}

/// One object's health as of one of its versions.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    /// The resourceVersion the verdict was made on: an event at this version is nothing new.
    version: String,
    health: Health,
}

/// The component's latest verdicts, by object.
#[derive(Debug, Default)]
pub struct Readiness {
    verdicts: HashMap<ObjectKey, Observed>,
}

impl Readiness {
    pub fn clear(&mut self) {
        self.verdicts.clear();
    }

    /// Records the verdict on one object at `version`.
    pub fn record(&mut self, key: ObjectKey, version: String, health: Health) {
        self.verdicts.insert(key, Observed { version, health });
    }

    /// Forgets the objects that are no longer applied (pruned), so that they do not hold the
    /// component back.
    pub fn retain(&mut self, inventory: &[InventoryEntry]) {
        let wanted: std::collections::HashSet<ObjectKey> = inventory.iter().map(key_of).collect();
        self.verdicts.retain(|k, _| wanted.contains(k));
    }

    /// Whether some object is unhealthy, and so worth a [`RECHECK`].
    pub fn any_unhealthy(&self) -> bool {
        self.verdicts.values().any(|o| !o.health.is_healthy())
    }

    /// Whether `entry` has to be read: it was never judged, an event saw it at another version
    /// than the one judged (`seen`), or it is unhealthy and a recheck is due.
    pub fn needs_read(
        &self,
        rules: &health::Rules,
        entry: &InventoryEntry,
        seen: Option<&str>,
        recheck: bool,
    ) -> bool {
        if !reads(rules, &entry.group, &entry.kind) {
            return false;
        }
        match self.verdicts.get(&key_of(entry)) {
            None => true,
            Some(o) => seen.is_some_and(|v| v != o.version) || (recheck && !o.health.is_healthy()),
        }
    }

    /// Every inventory entry's verdict, in inventory order. An object whose kind needs a body
    /// and that has not been judged yet is not assumed healthy.
    pub fn verdicts(&self, rules: &health::Rules, inventory: &[InventoryEntry]) -> Vec<Verdict> {
        inventory
            .iter()
            .map(|entry| {
                let health = match self.verdicts.get(&key_of(entry)) {
                    Some(o) => o.health.clone(),
                    None if reads(rules, &entry.group, &entry.kind) => Health::Progressing {
                        reason: AWAITING_READINESS.to_string(),
                        message: format!(
                            "{} {}: not yet observed",
                            entry.kind.to_lowercase(),
                            entry.name
                        ),
                    },
                    None => Health::Healthy,
                };
                Verdict {
                    entry: entry.clone(),
                    health,
                }
            })
            .collect()
    }

    /// Reads the objects of `inventory` that [`Readiness::needs_read`] and judges them. `seen`
    /// holds the versions watch events reported since the last call. A failed read keeps the
    /// previous verdict (and is logged): the next event or recheck tries again.
    #[allow(clippy::too_many_arguments)]
    pub async fn refresh(
        &mut self,
        client: &kube::Client,
        snapshot: &Snapshot,
        component: &str,
        rules: &health::Rules,
        inventory: &[InventoryEntry],
        seen: &HashMap<ObjectKey, String>,
        recheck: bool,
    ) {
        for entry in inventory {
            let key = key_of(entry);
            if !self.needs_read(rules, entry, seen.get(&key).map(String::as_str), recheck) {
                continue;
            }
            let api_version = if entry.group.is_empty() {
                entry.version.clone()
            } else {
                format!("{}/{}", entry.group, entry.version)
            };
            let Some((ar, namespaced)) = snapshot.resolve(&api_version, &entry.kind) else {
                continue;
            };
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(client.clone(), &entry.namespace, &ar)
            } else {
                Api::all_with(client.clone(), &ar)
            };
            match api.get_opt(&entry.name).await {
                Ok(Some(object)) => {
                    let version = object.metadata.resource_version.clone().unwrap_or_default();
                    let verdict =
                        judge(client, component, rules, &entry.group, &entry.kind, &object).await;
                    self.record(key, version, verdict);
                }
                // Drift: the drift watch has re-queued the apply that recreates it.
                Ok(None) => {
                    let message =
                        format!("{} {}: not found", entry.kind.to_lowercase(), entry.name);
                    let health = Health::Progressing {
                        reason: AWAITING_READINESS.to_string(),
                        message,
                    };
                    self.record(key, String::new(), health);
                }
                Err(e) => tracing::warn!(
                    component,
                    kind = %entry.kind,
                    namespace = %entry.namespace,
                    name = %entry.name,
                    error = %e,
                    "reading an object for its health failed"
                ),
            }
        }
    }
}

/// The health of one live object, by the component's `rules` or the built-in ones; its pods
/// are listed only when it is not healthy, to name the cause. A failed pod list leaves the
/// verdict unexplained rather than failing.
pub async fn judge(
    client: &kube::Client,
    component: &str,
    rules: &health::Rules,
    group: &str,
    kind: &str,
    object: &DynamicObject,
) -> Health {
    if !reads(rules, group, kind) {
        return Health::Healthy;
    }
    let verdict = health::health_by(rules, group, kind, object);
    let name = object.metadata.name.as_deref().unwrap_or_default();
    let namespace = object.metadata.namespace.as_deref().unwrap_or_default();
    if verdict.is_healthy() {
        return verdict;
    }
    let explained = match health::pods_of(client, group, kind, object).await {
        Ok(pods) => health::explain(verdict, &pods),
        Err(e) => {
            tracing::warn!(component, kind, namespace, name, error = %e, "listing pods failed");
            verdict
        }
    };
    tracing::debug!(component, kind, namespace, name, health = %explained, "judged");
    explained
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(group: &str, kind: &str, name: &str) -> InventoryEntry {
        InventoryEntry {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    fn waiting() -> Health {
        Health::Progressing {
            reason: AWAITING_READINESS.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn rechecks_back_off_while_nothing_changes() {
        let secs: Vec<u64> = (0..7).map(|n| recheck_after(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(recheck_after(u32::MAX), RECHECK_MAX);
    }

    #[test]
    fn only_kinds_with_a_status_to_judge_are_read() {
        assert!(needs_body("apps", "Deployment"));
        assert!(needs_body("", "PersistentVolumeClaim"));
        assert!(needs_body("batch", "Job"));
        assert!(needs_body("example.com", "Widget"), "custom resources");
        assert!(needs_body("", "Pod"));
        assert!(!needs_body("", "ConfigMap"));
        assert!(!needs_body("rbac.authorization.k8s.io", "RoleBinding"));
        assert!(!needs_body(
            "apiextensions.k8s.io",
            "CustomResourceDefinition"
        ));
        assert!(
            needs_body("example.com", "ConfigMap"),
            "a custom kind named like a core one"
        );
    }

    #[test]
    fn an_unjudged_workload_is_not_assumed_healthy_but_a_config_map_is() {
        let r = Readiness::default();
        let inventory = [
            entry("apps", "Deployment", "web"),
            entry("", "ConfigMap", "c"),
        ];
        let v = r.verdicts(&health::Rules::default(), &inventory);
        assert_eq!(v[0].health.reason(), Some(AWAITING_READINESS));
        assert_eq!(
            v[0].health.message(),
            Some("deployment web: not yet observed")
        );
        assert!(v[1].health.is_healthy());
    }

    #[test]
    fn an_object_is_read_when_unjudged_changed_or_unhealthy_at_a_recheck() {
        let mut r = Readiness::default();
        let none = health::Rules::default();
        let web = entry("apps", "Deployment", "web");
        let db = entry("apps", "StatefulSet", "db");
        assert!(r.needs_read(&none, &web, None, false), "never judged");
        r.record(key_of(&web), "10".into(), Health::Healthy);
        r.record(key_of(&db), "20".into(), waiting());
        assert!(!r.needs_read(&none, &web, None, false));
        assert!(
            !r.needs_read(&none, &web, Some("10"), false),
            "the version judged"
        );
        assert!(
            r.needs_read(&none, &web, Some("11"), false),
            "a status write since"
        );
        assert!(
            !r.needs_read(&none, &web, None, true),
            "healthy objects are not polled"
        );
        assert!(r.needs_read(&none, &db, None, true), "unhealthy ones are");
        let secret = entry("", "Secret", "s");
        assert!(!r.needs_read(&none, &secret, None, true));
        let rules = health::Rules::compile(&[health::HealthCheck {
            api_version: "v1".into(),
            kind: "Secret".into(),
            current: "has(data.password)".into(),
            failed: None,
            in_progress: None,
        }])
        .expect("a rule");
        assert!(
            r.needs_read(&rules, &secret, None, true),
            "a kind with a rule of the descriptor's is read"
        );
        assert_eq!(
            r.verdicts(&rules, std::slice::from_ref(&secret))[0]
                .health
                .reason(),
            Some(AWAITING_READINESS),
            "and not assumed healthy before it is"
        );
        assert!(r.any_unhealthy());
        r.retain(&[web]);
        assert!(!r.any_unhealthy(), "a pruned object holds nothing back");
    }
}
