//! Visible drift: what one repair put back, and whether a component's repairs add up to a
//! fight with another writer.
//!
//! "The fields put back" are found by reading each drifted object just before re-applying it
//! and comparing that read with the apply's answer, at the fields our manifest sets: a field
//! whose value the apply changed is one someone else had changed. Both sides are the API
//! server's own rendering, so defaulting and normalisation (`500m` for `0.5`, an int port for
//! a string one) never show up as drift, as they would when comparing the manifest itself with
//! the live object. The other managers' entries in `managedFields` would name who owns a
//! field, not what it was changed to or whether it differed at all (a kubectl merge patch that
//! writes our value back still takes the field over), so they only serve to name the writer
//! ([`other_manager`]). The read costs one GET per drifted object, never one per object.
//!
//! A fight is counted in repair rounds: a reconcile that put anything back counts once, so
//! one `kubectl delete` of several objects is one repair, not several. More than
//! [`LoopWatch`]'s limit within its window, and the component reports `Degraded` with reason
//! [`super::status::DRIFT_LOOP`] until a whole window passes without a repair. It keeps
//! correcting meanwhile: the chart's state is what the operator promises, the condition is
//! what tells a human to stop the other writer, and the client's rate limit (`--api-qps`)
//! bounds what the fight costs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{Api, DynamicObject};
use serde_json::Value as Json;
use tokio::time::Instant;

use super::FIELD_MANAGER;
use super::plan::{Plan, Planned};
use super::watches::ObjectKey;
use crate::discovery::Snapshot;

/// The reason of the Normal event each repair emits.
pub const DRIFT_CORRECTED: &str = "DriftCorrected";
/// How many fields an event names before `and N more`.
const SHOWN_FIELDS: usize = 4;
/// Repair rounds that count as a fight by default: more than this many...
pub const DEFAULT_LOOP_LIMIT: usize = 5;
/// ...within this long.
pub const DEFAULT_LOOP_WINDOW: Duration = Duration::from_secs(600);

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path as users write it for kubectl's `jsonpath` and in docs: `spec.replicas`,
/// `spec.template.spec.containers[0].image`, keys with dots or slashes in brackets
/// (`metadata.labels["app.kubernetes.io/part-of"]`).
pub fn show_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Key(k) => {
                let _ = write!(out, "[{k:?}]");
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

fn at<'a>(value: Option<&'a Json>, segment: &Segment) -> Option<&'a Json> {
    match segment {
        Segment::Key(k) => value?.get(k),
        Segment::Index(i) => value?.get(i),
    }
}

/// The fields `manifest` sets whose value differs between `before` (the live object as read
/// before the re-apply) and `after` (the apply's answer), most general first: a block someone
/// removed is one path, not one per leaf. `apiVersion` and `kind` are never drift.
pub fn fields_put_back(manifest: &Json, before: &Json, after: &Json) -> Vec<Vec<Segment>> {
    fn walk(
        manifest: &Json,
        before: Option<&Json>,
        after: Option<&Json>,
        path: &mut Vec<Segment>,
        out: &mut Vec<Vec<Segment>>,
    ) {
        if before == after {
            return;
        }
        match (manifest, before, after) {
            (Json::Object(m), Some(Json::Object(_)), Some(Json::Object(_))) => {
                for (k, v) in m {
                    if path.is_empty() && (k == "apiVersion" || k == "kind") {
                        continue;
                    }
                    let segment = Segment::Key(k.clone());
                    let (b, a) = (at(before, &segment), at(after, &segment));
                    path.push(segment);
                    walk(v, b, a, path, out);
                    path.pop();
                }
            }
            (Json::Array(m), Some(Json::Array(b)), Some(Json::Array(a))) if a.len() == b.len() => {
                for (i, v) in m.iter().enumerate() {
                    let segment = Segment::Index(i);
                    path.push(segment);
                    walk(v, b.get(i), a.get(i), path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        }
    }
    let mut out = Vec::new();
    walk(
        manifest,
        Some(before),
        Some(after),
        &mut Vec::new(),
        &mut out,
    );
    out
}

/// `data.color, spec.replicas and 3 more`.
pub fn describe_fields(paths: &[Vec<Segment>]) -> String {
    let shown: Vec<String> = paths
        .iter()
        .take(SHOWN_FIELDS)
        .map(|p| show_path(p))
        .collect();
    let mut out = shown.join(", ");
    if paths.len() > SHOWN_FIELDS {
        let _ = write!(out, " and {} more", paths.len() - SHOWN_FIELDS);
    }
    out
}

/// Whether a manager's `fieldsV1` set holds `path`: its keys are `f:<field>`; list items
/// (`k:{…}`, `v:…`, `i:…`) are not matched, so a path into a list counts as held when the
/// list itself is.
fn holds(fields: &Json, path: &[Segment]) -> bool {
    let mut node = fields;
    for segment in path {
        match segment {
            Segment::Key(k) => match node.get(format!("f:{k}")) {
                Some(next) => node = next,
                None => return false,
            },
            Segment::Index(_) => return true,
        }
    }
    true
}

/// The field manager (other than ours) that changed the fields we put back, from the live
/// object's `managedFields` as read before the repair: the one holding most of `paths`, the
/// latest of those on a tie. Status writers (the `status` subresource) are not candidates:
/// what they write is not ours. When nobody holds any of the paths (a merge patch that removed
/// one of our labels holds nothing), the latest writer is named.
pub fn other_manager(managed: &[ManagedFieldsEntry], paths: &[Vec<Segment>]) -> Option<String> {
    managed
        .iter()
        .filter(|e| e.manager.as_deref().is_some_and(|m| m != FIELD_MANAGER))
        .filter(|e| e.subresource.as_deref().unwrap_or_default().is_empty())
        .map(|e| {
            let held = e
                .fields_v1
                .as_ref()
                .map_or(0, |f| paths.iter().filter(|p| holds(&f.0, p)).count());
            (held, e.time.clone(), e.manager.clone().unwrap_or_default())
        })
        .max()
        .map(|(_, _, manager)| manager)
}

/// One object put back by a reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Empty for an object created again after a deletion.
    pub fields: Vec<Vec<Segment>>,
    /// Whoever had changed it, when `managedFields` says.
    pub manager: Option<String>,
}

impl Repair {
    /// What was put back, given the object as read before the re-apply (`None`: it was gone)
    /// and the apply's answer; `None` when the apply changed none of our fields (another
    /// manager's addition, which is theirs to keep, or a race with a writer who already put
    /// it back).
    pub fn judge(
        planned: &Planned,
        before: Option<&DynamicObject>,
        after: &DynamicObject,
    ) -> Option<Repair> {
        let (fields, manager) = match before {
            None => (Vec::new(), None),
            Some(before) => {
                let (b, a) = (serde_json::to_value(before), serde_json::to_value(after));
                let (Ok(b), Ok(a)) = (b, a) else {
                    return None;
                };
                let fields = fields_put_back(&planned.object, &b, &a);
                if fields.is_empty() {
                    return None;
                }
                let managed = before
                    .metadata
                    .managed_fields
                    .as_deref()
                    .unwrap_or_default();
                let manager = other_manager(managed, &fields);
                (fields, manager)
            }
        };
        Some(Repair {
            kind: planned.kind.clone(),
            namespace: planned.namespace.clone(),
            name: planned.name.clone(),
            fields,
            manager,
        })
    }

    /// The object as `kubectl` names it: `ConfigMap apps/webapp`.
    pub fn object(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    /// The event's note: `Put back ConfigMap apps/webapp: data.color (changed by
    /// "kubectl-edit")`, or `Recreated ConfigMap apps/webapp (deleted)`.
    pub fn note(&self) -> String {
        if self.fields.is_empty() {
            return format!("Recreated {} (deleted)", self.object());
        }
        let mut note = format!(
            "Put back {}: {}",
            self.object(),
            describe_fields(&self.fields)
        );
        if let Some(m) = &self.manager {
            let _ = write!(note, " (changed by {m:?})");
        }
        note
    }
}

/// Reads the drifted objects of `plan` as they are before the re-apply; `None` for those
/// that are gone. A failed read only loses the fields in the event (the object is still
/// repaired), so it is logged and the object reported as if recreated.
pub async fn read_drifted(
    client: &kube::Client,
    snapshot: &Snapshot,
    plan: &Plan,
    drifted: &HashSet<ObjectKey>,
) -> HashMap<ObjectKey, Option<DynamicObject>> {
    let mut out = HashMap::new();
    if drifted.is_empty() {
        return out;
    }
    // CRDs are repaired but not reported (see `component::repairs`): not read either.
    for p in &plan.objects {
        let key = super::component::key(p);
        if !drifted.contains(&key) {
            continue;
        }
        let Some((ar, namespaced)) = snapshot.resolve(&p.api_version, &p.kind) else {
            continue;
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client.clone(), &p.namespace, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        match api.get_opt(&p.name).await {
            Ok(live) => {
                out.insert(key, live);
            }
            Err(e) => tracing::warn!(
                kind = %p.kind,
                namespace = %p.namespace,
                name = %p.name,
                error = %e,
                "reading a drifted object before its repair failed"
            ),
        }
    }
    out
}

/// A component's recent repair rounds, and whether they add up to a fight: more than `limit`
/// within `window` starts one, and it lasts until a whole window passes without a repair.
#[derive(Debug, Clone)]
pub struct LoopWatch {
    limit: usize,
    window: Duration,
    rounds: VecDeque<Instant>,
    /// The last writer named by a repair in the window, and the last repair's object.
    manager: Option<String>,
    last: String,
    looping: bool,
}

/// A fight in progress, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fight {
    pub rounds: usize,
    pub message: String,
}

impl LoopWatch {
    pub fn new(limit: usize, window: Duration) -> LoopWatch {
        LoopWatch {
            limit,
            window,
            rounds: VecDeque::new(),
            manager: None,
            last: String::new(),
            looping: false,
        }
    }

    fn in_window(&self, at: Instant, now: Instant) -> bool {
        at + self.window > now
    }

    /// Records one repair round at `now`; true when it starts a fight.
    pub fn record(&mut self, now: Instant, repairs: &[Repair]) -> bool {
        while self
            .rounds
            .front()
            .is_some_and(|at| !self.in_window(*at, now))
        {
            self.rounds.pop_front();
        }
        if self.rounds.is_empty() {
            self.looping = false;
            self.manager = None;
        }
        self.rounds.push_back(now);
        if let Some(m) = repairs.iter().rev().find_map(|r| r.manager.clone()) {
            self.manager = Some(m);
        }
        if let Some(r) = repairs.last() {
            self.last = r.note();
        }
        let started = !self.looping && self.rounds.len() > self.limit;
        self.looping |= started;
        started
    }

    /// The fight at `now`, if one is on.
    pub fn fight(&self, now: Instant) -> Option<Fight> {
        let rounds = self
            .rounds
            .iter()
            .filter(|at| self.in_window(**at, now))
            .count();
        if !self.looping || rounds == 0 {
            return None;
        }
        let who = match &self.manager {
            Some(m) => format!("field manager {m:?} keeps changing them"),
            None => "something keeps changing or deleting them".to_string(),
        };
        Some(Fight {
            rounds,
            message: format!(
                "objects repaired {rounds} times within {}; {who}; last: {}",
                super::component::show_duration(self.window),
                self.last
            ),
        })
    }

    /// When the fight is over unless another repair comes: the controller wakes then to
    /// clear the condition.
    pub fn ends_at(&self, now: Instant) -> Option<Instant> {
        let end = *self.rounds.back()? + self.window;
        (self.looping && end > now).then_some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, Time};
    use serde_json::json;

    fn paths(found: &[Vec<Segment>]) -> Vec<String> {
        found.iter().map(|p| show_path(p)).collect()
    }

    /// Only the fields the manifest sets and the apply changed are put back; another
    /// manager's additions, fields the server fills in and metadata we do not set are not.
    #[test]
    fn the_fields_put_back_are_ours_that_the_apply_changed() {
        let manifest = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/part-of": "webapp"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "resources": {"limits": {"cpu": "0.5"}}},
            ]}}},
        });
        let after = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "resourceVersion": "12",
                         "labels": {"app.kubernetes.io/part-of": "webapp", "team": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "resources": {"limits": {"cpu": "500m"}}},
            ]}}},
            "status": {"replicas": 2},
        });
        let mut before = after.clone();
        before["metadata"]["resourceVersion"] = json!("11");
        before["status"]["replicas"] = json!(3);
        assert!(
            fields_put_back(&manifest, &before, &after).is_empty(),
            "the server's normalised cpu, another label, status and resourceVersion are no drift"
        );
        before["spec"]["replicas"] = json!(5);
        before["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:1");
        before["metadata"]["labels"] = json!({"team": "x"});
        assert_eq!(
            paths(&fields_put_back(&manifest, &before, &after)),
            [
                r#"metadata.labels["app.kubernetes.io/part-of"]"#,
                "spec.replicas",
                "spec.template.spec.containers[0].image",
            ]
        );
        let mut removed = after.clone();
        removed["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .expect("container")
            .remove("resources");
        assert_eq!(
            paths(&fields_put_back(&manifest, &removed, &after)),
            ["spec.template.spec.containers[0].resources"],
            "a removed block is one path"
        );
        let mut extra = after.clone();
        extra["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .push(json!({"name": "sidecar"}));
        assert_eq!(
            paths(&fields_put_back(&manifest, &extra, &after)),
            ["spec.template.spec.containers"],
            "a list of another length is one path"
        );
    }

    #[test]
    fn long_field_lists_are_capped() {
        let key = |k: &str| vec![Segment::Key("data".into()), Segment::Key(k.into())];
        let six: Vec<_> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| key(k))
            .collect();
        assert_eq!(describe_fields(&six[..1]), "data.a");
        assert_eq!(
            describe_fields(&six),
            "data.a, data.b, data.c, data.d and 2 more"
        );
    }

    fn entry(
        manager: &str,
        subresource: Option<&str>,
        secs: i64,
        fields: Json,
    ) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some("Update".into()),
            subresource: subresource.map(Into::into),
            time: Some(Time(
                k8s_openapi::jiff::Timestamp::from_second(secs).expect("time"),
            )),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }
    }

    /// The writer named is the one that holds the fields we put back, not merely the latest
    /// (a status writer or someone who added a field of their own), and never ourselves.
    #[test]
    fn the_other_manager_is_the_one_holding_the_fields_put_back() {
        let color = vec![Segment::Key("data".into()), Segment::Key("color".into())];
        let managed = [
            entry("dsc-helm", None, 1, json!({"f:data": {"f:size": {}}})),
            entry("fighter", None, 2, json!({"f:data": {"f:color": {}}})),
            entry(
                "labeller",
                None,
                3,
                json!({"f:metadata": {"f:labels": {"f:x": {}}}}),
            ),
            entry(
                "kube-controller-manager",
                Some("status"),
                4,
                json!({"f:status": {}}),
            ),
        ];
        assert_eq!(
            other_manager(&managed, std::slice::from_ref(&color)).as_deref(),
            Some("fighter")
        );
        let image = vec![
            Segment::Key("spec".into()),
            Segment::Key("containers".into()),
            Segment::Index(0),
            Segment::Key("image".into()),
        ];
        let list = [entry(
            "editor",
            None,
            1,
            json!({"f:spec": {"f:containers": {}}}),
        )];
        assert_eq!(
            other_manager(&list, &[image]).as_deref(),
            Some("editor"),
            "a path into a list is held by whoever holds the list"
        );
        assert_eq!(
            other_manager(&managed, &[]).as_deref(),
            Some("labeller"),
            "nobody holds the fields: the latest writer"
        );
        assert_eq!(
            other_manager(&managed[..1], &[color]),
            None,
            "only ourselves"
        );
    }

    fn repair(manager: Option<&str>) -> Repair {
        Repair {
            kind: "ConfigMap".into(),
            namespace: "apps".into(),
            name: "a".into(),
            fields: vec![vec![
                Segment::Key("data".into()),
                Segment::Key("color".into()),
            ]],
            manager: manager.map(Into::into),
        }
    }

    #[test]
    fn a_repair_note_names_the_object_the_fields_and_the_writer() {
        assert_eq!(
            repair(Some("fighter")).note(),
            r#"Put back ConfigMap apps/a: data.color (changed by "fighter")"#
        );
        let mut gone = repair(None);
        gone.fields.clear();
        assert_eq!(gone.note(), "Recreated ConfigMap apps/a (deleted)");
    }

    /// More than `limit` rounds within the window start a fight; it lasts while the window
    /// holds any round and ends once a whole window passed without one; a round after that
    /// starts counting afresh.
    #[test]
    fn repairs_within_the_window_add_up_to_a_fight_until_a_quiet_window() {
        let window = Duration::from_secs(60);
        let mut watch = LoopWatch::new(2, window);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert!(!watch.record(t0, &[repair(None)]));
        assert!(!watch.record(t0 + s(10), &[repair(None)]));
        assert_eq!(
            watch.fight(t0 + s(10)),
            None,
            "two rounds are not more than two"
        );
        assert!(watch.record(t0 + s(20), &[repair(Some("fighter"))]));
        let fight = watch.fight(t0 + s(20)).expect("a fight");
        assert_eq!(fight.rounds, 3);
        assert!(
            fight.message.contains(r#"field manager "fighter""#) && fight.message.contains("1m0s"),
            "{}",
            fight.message
        );
        assert!(!watch.record(t0 + s(70), &[repair(None)]), "already on");
        assert_eq!(watch.fight(t0 + s(70)).map(|f| f.rounds), Some(2));
        assert!(
            watch
                .fight(t0 + s(70))
                .is_some_and(|f| f.message.contains("fighter")),
            "the writer stays named while the fight lasts"
        );
        assert_eq!(watch.ends_at(t0 + s(70)), Some(t0 + s(130)));
        assert_eq!(watch.fight(t0 + s(130)), None, "a quiet window ends it");
        assert_eq!(watch.ends_at(t0 + s(130)), None);
        assert!(!watch.record(t0 + s(200), &[repair(None)]));
        assert_eq!(watch.fight(t0 + s(200)), None, "counting starts afresh");
        let mut quiet = LoopWatch::new(2, window);
        for i in 0..10 {
            assert!(!quiet.record(t0 + s(61 * i), &[repair(None)]));
        }
        assert_eq!(
            quiet.fight(t0 + s(549)),
            None,
            "one round a window is no fight"
        );
    }
}
