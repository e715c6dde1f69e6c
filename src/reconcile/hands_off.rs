//! Hands off: an object annotated `opendatahub.io/managed: "false"` (Open Data Hub's
//! convention for "an admin owns this now") is created when it is missing and otherwise never
//! written: no update when the chart changes, no drift repair. Pruning and removal still
//! delete it when the chart stops rendering it, as Open Data Hub's operator does.
//!
//! The live object's annotation decides, not the manifest's: an admin takes an object over
//! with `kubectl annotate`, and a chart that renders the annotation has it on the live object
//! from the first apply on. The knowledge must survive an operator restart, so it comes from
//! the cluster, never from memory: the drift watches (metadata-only, so they see annotations)
//! record it per object ([`super::watches::Trigger::is_hands_off`]), and before an apply the
//! component waits for the watches of its kinds to have listed once. A kind whose watch has
//! not listed in time is read object by object instead ([`read_fallback`]), so a slow watch
//! costs reads, never an overwrite.

use std::collections::HashSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject};

use super::Shared;
use super::plan::{Plan, Planned};
use super::watches::{ObjectKey, Trigger};
use crate::discovery::Snapshot;

/// The annotation, and the value that hands an object off (Open Data Hub's spelling).
pub const ANNOTATION: &str = "opendatahub.io/managed";
const HANDS_OFF: &str = "false";

/// How long an apply waits for the drift watches of its kinds to finish their first list
/// before reading the objects of the stragglers one by one.
pub const LIST_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether live metadata hands the object off; the value is read as YAML users write it,
/// so `"False"` counts too.
pub fn is_hands_off(meta: &ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(HANDS_OFF))
}

/// Which planned objects are hands off, and which must be read to know: an object of a kind
/// whose watch has listed (`listed`, as (group, kind)) is decided by what the watch saw
/// (`watched`); one of any other kind cannot be decided without a read.
pub fn decide<'a>(
    objects: impl IntoIterator<Item = (ObjectKey, &'a Planned)>,
    listed: &HashSet<(String, String)>,
    watched: impl Fn(&ObjectKey) -> bool,
) -> (HashSet<ObjectKey>, Vec<(ObjectKey, &'a Planned)>) {
    let mut hands_off = HashSet::new();
    let mut unknown = Vec::new();
    for (key, planned) in objects {
        if listed.contains(&(key.0.clone(), key.1.clone())) {
            if watched(&key) {
                hands_off.insert(key);
            }
        } else {
            unknown.push((key, planned));
        }
    }
    (hands_off, unknown)
}

/// The planned objects of the component that are hands off now. The component must have
/// subscribed the plan's kinds first, so that their watches are running.
pub async fn find(
    shared: &Shared,
    trigger: &Trigger,
    plan: &Plan,
) -> Result<HashSet<ObjectKey>, kube::Error> {
    let kinds: HashSet<(String, String)> = plan
        .all()
        .map(|p| (p.group_version().0.to_string(), p.kind.clone()))
        .collect();
    let listed = shared.watches.listed(&kinds, LIST_WAIT).await;
    let (mut hands_off, unknown) = decide(
        plan.all().map(|p| (super::component::key(p), p)),
        &listed,
        |k| trigger.is_hands_off(k),
    );
    if !unknown.is_empty() {
        let snapshot = shared.cluster.snapshot();
        hands_off.extend(read_fallback(&shared.client, &snapshot, unknown).await?);
    }
    Ok(hands_off)
}

/// Reads the metadata of objects whose kind's watch has not listed: those found handed off.
/// A kind the cluster does not serve has no live objects, so none of them is. A failed read
/// fails the apply rather than risking an admin's object.
pub async fn read_fallback(
    client: &kube::Client,
    snapshot: &Snapshot,
    unknown: Vec<(ObjectKey, &Planned)>,
) -> Result<HashSet<ObjectKey>, kube::Error> {
    let mut hands_off = HashSet::new();
    for (key, planned) in unknown {
        let Some((ar, namespaced)) = snapshot.resolve(&planned.api_version, &planned.kind) else {
            continue;
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client.clone(), &planned.namespace, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        if let Some(meta) = api.get_metadata_opt(&planned.name).await?
            && is_hands_off(&meta.metadata)
        {
            hands_off.insert(key);
        }
    }
    Ok(hands_off)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(value: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            annotations: value.map(|v| [(ANNOTATION.to_string(), v.to_string())].into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn only_managed_false_hands_an_object_off() {
        assert!(is_hands_off(&meta(Some("false"))));
        assert!(is_hands_off(&meta(Some("False"))));
        assert!(!is_hands_off(&meta(Some("true"))));
        assert!(!is_hands_off(&meta(Some(""))));
        assert!(!is_hands_off(&meta(None)));
        let other = ObjectMeta {
            annotations: Some([("opendatahub.io/other".to_string(), "false".to_string())].into()),
            ..ObjectMeta::default()
        };
        assert!(!is_hands_off(&other));
    }

    fn planned(kind: &str, name: &str) -> Planned {
        Planned {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: name.into(),
            object: serde_json::json!({}),
            source: String::new(),
        }
    }

    fn key(kind: &str, name: &str) -> ObjectKey {
        (String::new(), kind.into(), "ns".into(), name.into())
    }

    /// A listed kind is decided by the watch's view, without a read; an unlisted kind's
    /// objects are all left to a read, whatever the (incomplete) view says.
    #[test]
    fn listed_kinds_are_decided_by_the_watch_and_the_rest_are_read() {
        let objects = [
            planned("ConfigMap", "taken"),
            planned("ConfigMap", "ours"),
            planned("Secret", "s"),
        ];
        let listed = HashSet::from([(String::new(), "ConfigMap".to_string())]);
        let watched = |k: &ObjectKey| k.3 == "taken" || k.1 == "Secret";
        let (hands_off, unknown) = decide(
            objects.iter().map(|p| (key(&p.kind, &p.name), p)),
            &listed,
            watched,
        );
        assert_eq!(hands_off, HashSet::from([key("ConfigMap", "taken")]));
        let unknown: Vec<ObjectKey> = unknown.into_iter().map(|(k, _)| k).collect();
        assert_eq!(unknown, [key("Secret", "s")]);
    }
}
