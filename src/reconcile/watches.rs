//! Drift detection: one metadata-only watch per kind that any component renders (or declares
//! in `watches`), filtered by our part-of label, shared by every component and stopped when no
//! component needs the kind any more.
//!
//! Our own writes also produce watch events. Each component remembers the version (see
//! [`Applied`]) its last apply returned for every object it wants; an event with that
//! version is our echo and ignored, anything else (an edit, a deletion, a label removed)
//! re-queues the component with the drift flag, which forces the next reconcile to apply.
//!
//! An event at a new resourceVersion that is not drift is a status write (a rollout, a pod
//! lost): it hands the object's key to the component for a health check
//! ([`Trigger::wake_for_health`]), which reads that object and writes at most the status,
//! without rendering or applying anything.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher::watcher};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::plan::PART_OF;
use crate::discovery::Snapshot;
use crate::sync::lock;

/// What drift of one object we applied is judged by: its version as our apply left it, and the
/// labels and annotations our manifest sets.
///
/// Kinds with a generation (Deployments, StatefulSets, custom resources, CRDs) bump it on every
/// spec change but not when their controller writes status, which a live cluster does many
/// times per rollout and which is not ours to repair; for them the version is the generation
/// with the values of *our* labels and annotations. Other managers' metadata is left out: the
/// Deployment controller's `deployment.kubernetes.io/revision`, written right after every
/// rollout starts, is no edit of ours to undo (a server-side apply leaves it as it is), and
/// counting it re-applied every component once more after each install or rollout. Kinds
/// without a generation (ConfigMaps, Secrets, Services) have no status churn, and their
/// resourceVersion is the version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    version: String,
    labels: Vec<String>,
    annotations: Vec<String>,
}

impl Applied {
    /// `manifest` is the object we applied, `live` the metadata the API server answered with.
    pub fn new(manifest: &serde_json::Value, live: &ObjectMeta) -> Applied {
        let keys = |field: &str| -> Vec<String> {
            manifest
                .pointer(&format!("/metadata/{field}"))
                .and_then(serde_json::Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut applied = Applied {
            version: String::new(),
            labels: keys("labels"),
            annotations: keys("annotations"),
        };
        applied.version = applied.version_of(live);
        applied
    }

    /// The version of `meta` as this object's drift is judged.
    fn version_of(&self, meta: &ObjectMeta) -> String {
        let Some(generation) = meta.generation else {
            return meta.resource_version.clone().unwrap_or_default();
        };
        let ours = |all: &Option<std::collections::BTreeMap<String, String>>, keys: &[String]| {
            keys.iter()
                .map(|k| (k.clone(), all.as_ref().and_then(|m| m.get(k)).cloned()))
                .collect::<Vec<_>>()
        };
        format!(
            "generation {generation}, labels {:?}, annotations {:?}",
            ours(&meta.labels, &self.labels),
            ours(&meta.annotations, &self.annotations)
        )
    }
}

/// Identifies one object: group, kind, namespace, name.
pub type ObjectKey = (String, String, String, String);

/// How a component controller is woken up.
#[derive(Default)]
pub struct Trigger {
    pub notify: Notify,
    /// The objects we manage that drifted (edited, deleted, stripped of our label) since the
    /// last reconcile took them: it re-applies these even if its inputs did not change, and
    /// names them in its `DriftCorrected` events.
    drifted: Mutex<HashSet<ObjectKey>>,
    /// The objects whose live annotations hand them to an admin
    /// ([`super::hands_off::ANNOTATION`]), as the drift watches last saw them.
    hands_off: Mutex<HashSet<ObjectKey>>,
    /// Every object the component wants, as our last apply left it.
    pub desired: Mutex<HashMap<ObjectKey, Applied>>,
    /// Set by every wake but a health check's: the next wake-up reconciles in full.
    full: AtomicBool,
    /// Objects whose status changed since the last health check, with the resourceVersion
    /// the event carried.
    seen: Mutex<HashMap<ObjectKey, String>>,
    /// The component's own health rules: a kind they judge is worth a health check even when
    /// the built-in rules would not read it.
    rules: crate::health::Rules,
    /// Objects being written, with the watch events about them that came meanwhile (`None`:
    /// deleted). The echo of a write can arrive before its response; judged against the old
    /// record it looks like drift, and one false drift re-applies every object of the
    /// component. Such events wait here until the write's response says which are ours.
    in_flight: Mutex<HashMap<ObjectKey, Vec<Option<ObjectMeta>>>>,
}

impl Trigger {
    pub fn with_rules(rules: crate::health::Rules) -> Trigger {
        Trigger {
            rules,
            ..Trigger::default()
        }
    }

    /// Re-queues a full reconcile (render, plan, apply when anything changed).
    pub fn wake(&self) {
        self.full.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Re-queues a full reconcile that re-applies `key`, which drifted.
    pub fn wake_for_drift(&self, key: ObjectKey) {
        lock(&self.drifted).insert(key);
        self.wake();
    }

    /// Re-queues a health check of the object `key`, seen at `resource_version`.
    pub fn wake_for_health(&self, key: ObjectKey, resource_version: String) {
        lock(&self.seen).insert(key, resource_version);
        self.notify.notify_one();
    }

    /// Whether a full reconcile was asked for since the last call.
    pub fn take_full(&self) -> bool {
        self.full.swap(false, Ordering::SeqCst)
    }

    /// The objects seen at new versions since the last call.
    pub fn take_seen(&self) -> HashMap<ObjectKey, String> {
        std::mem::take(&mut *lock(&self.seen))
    }

    /// The objects that drifted since the last call.
    pub fn take_drift(&self) -> HashSet<ObjectKey> {
        std::mem::take(&mut *lock(&self.drifted))
    }

    /// Whether the live object `key` was last seen handed off to an admin.
    pub fn is_hands_off(&self, key: &ObjectKey) -> bool {
        lock(&self.hands_off).contains(key)
    }

    /// Records what an event showed of `key`'s hands-off annotation (`None`: deleted).
    fn note_hands_off(&self, key: &ObjectKey, seen: Option<&ObjectMeta>) {
        let mut hands_off = lock(&self.hands_off);
        if seen.is_some_and(super::hands_off::is_hands_off) {
            hands_off.insert(key.clone());
        } else {
            hands_off.remove(key);
        }
    }

    /// After a relist of one kind: objects of that kind it did not return are gone.
    fn keep_hands_off(&self, group: &str, kind: &str, listed: &HashSet<ObjectKey>) {
        lock(&self.hands_off).retain(|k| k.0 != group || k.1 != kind || listed.contains(k));
    }

    /// The drift record of one object, if it is wanted.
    pub fn desired_of(&self, key: &ObjectKey) -> Option<Applied> {
        lock(&self.desired).get(key).cloned()
    }

    pub fn set_desired(&self, desired: HashMap<ObjectKey, Applied>) {
        *lock(&self.desired) = desired;
    }

    /// Records one applied object at once, so that the echo of our own write (which may
    /// arrive before the whole apply is done) is not taken for drift.
    pub fn record(&self, key: ObjectKey, applied: Applied) {
        lock(&self.desired).insert(key, applied);
    }

    /// Marks an object as being written: its watch events wait for [`Trigger::end_write`].
    pub fn begin_write(&self, key: ObjectKey) {
        lock(&self.in_flight).insert(key, Vec::new());
    }

    /// Ends a write. On success (`written`: what it left, and the resourceVersion the API
    /// server answered) the record is replaced, and of the events that came meanwhile only
    /// those after our echo are judged: the ones before it, or all of them when the echo is
    /// still to come, show the object before our write. On failure they are judged as they
    /// would have been.
    pub fn end_write(&self, key: &ObjectKey, written: Option<(Applied, &str)>) {
        let parked = lock(&self.in_flight).remove(key).unwrap_or_default();
        let later: Vec<Option<ObjectMeta>> = match written {
            Some((applied, resource_version)) => {
                self.record(key.clone(), applied);
                let echo = parked.iter().position(|seen| {
                    seen.as_ref().and_then(|m| m.resource_version.as_deref())
                        == Some(resource_version)
                });
                match echo {
                    Some(i) => parked.into_iter().skip(i + 1).collect(),
                    None => Vec::new(),
                }
            }
            None => parked,
        };
        if later.iter().any(|seen| self.is_drift(key, seen.as_ref())) {
            self.wake_for_drift(key.clone());
        } else if let Some(Some(last)) = later.last()
            && super::readiness::reads(&self.rules, &key.0, &key.1)
        {
            // A status write right after ours (a rollout starting): a health check, as the
            // watch would have asked for.
            let version = last.resource_version.clone().unwrap_or_default();
            self.wake_for_health(key.clone(), version);
        }
    }

    /// Keeps an event about an object being written for [`Trigger::end_write`]; false when
    /// the object is not being written.
    fn park(&self, key: &ObjectKey, seen: Option<&ObjectMeta>) -> bool {
        match lock(&self.in_flight).get_mut(key) {
            Some(events) => {
                events.push(seen.cloned());
                true
            }
            None => false,
        }
    }

    /// The objects of this group and kind that the component wants and a (re)list did not
    /// return: deleted, or stripped of our label, while the watch was away.
    fn missing(&self, group: &str, kind: &str, listed: &HashSet<ObjectKey>) -> Vec<ObjectKey> {
        lock(&self.desired)
            .keys()
            .filter(|k| k.0 == group && k.1 == kind && !listed.contains(k))
            .cloned()
            .collect()
    }

    fn wants(&self, key: &ObjectKey) -> bool {
        lock(&self.desired).contains_key(key)
    }

    /// Whether the component wants any object of this group and kind.
    fn wants_kind(&self, group: &str, kind: &str) -> bool {
        lock(&self.desired)
            .keys()
            .any(|k| k.0 == group && k.1 == kind)
    }

    /// Whether an event about `key` with `seen` metadata (None: deleted) is drift. An object
    /// handed off to an admin drifts only by disappearing: it is created again.
    fn is_drift(&self, key: &ObjectKey, seen: Option<&ObjectMeta>) -> bool {
        match (lock(&self.desired).get(key), seen) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(seen)) if super::hands_off::is_hands_off(seen) => false,
            (Some(ours), Some(seen)) => ours.version_of(seen) != ours.version,
        }
    }
}

struct KindWatch {
    task: JoinHandle<()>,
    /// True once the watch's first list is done: from then on its view of the kind's
    /// hands-off annotations is complete.
    listed: tokio::sync::watch::Receiver<bool>,
    subscribers: BTreeSet<String>,
    /// Components that declare the kind in their descriptor without rendering it: any event
    /// with their label re-queues them. Shared with the watch task.
    declared_by: Arc<Mutex<BTreeSet<String>>>,
}

/// The set of running drift watches.
pub struct Watches {
    client: kube::Client,
    /// Where the number of open watches and of objects they see is published.
    metrics: Arc<super::Metrics>,
    triggers: Arc<HashMap<String, Arc<Trigger>>>,
    kinds: Mutex<HashMap<(String, String, String), KindWatch>>,
    /// Declared kinds the cluster does not serve yet, by component: (group, kind). They are
    /// watched once discovery serves them (FR-002), see [`wake_when_served`].
    pending: Mutex<HashMap<String, BTreeSet<(String, String)>>>,
}

impl Watches {
    pub fn new(
        client: kube::Client,
        triggers: Arc<HashMap<String, Arc<Trigger>>>,
        metrics: Arc<super::Metrics>,
    ) -> Watches {
        Watches {
            client,
            metrics,
            triggers,
            kinds: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }
    /// Remembers which declared kinds of `component` wait for their CRD.
    pub fn set_pending(&self, component: &str, kinds: BTreeSet<(String, String)>) {
        let mut pending = lock(&self.pending);
        if kinds.is_empty() {
            pending.remove(component);
        } else {
            pending.insert(component.to_string(), kinds);
        }
    }

    /// Components waiting for a kind that `snapshot` serves.
    fn waiting_for(&self, snapshot: &Snapshot) -> Vec<String> {
        lock(&self.pending)
            .iter()
            .filter(|(_, kinds)| kinds.iter().any(|(g, k)| snapshot.serves(g, k)))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Wakes the components waiting for a kind that `snapshot` serves.
    pub fn wake_served(&self, snapshot: &Snapshot) {
        for component in self.waiting_for(snapshot) {
            if let Some(t) = self.triggers.get(&component) {
                t.wake();
            }
        }
    }

    /// Makes the watched kinds of `component` exactly `rendered` plus `declared`; starts what
    /// is new, stops what nobody needs any more.
    pub fn subscribe(&self, component: &str, rendered: &[ApiResource], declared: &[ApiResource]) {
        let mut kinds = lock(&self.kinds);
        let key = |ar: &ApiResource| (ar.group.clone(), ar.version.clone(), ar.kind.clone());
        let wanted: HashMap<_, _> = rendered
            .iter()
            .map(|ar| (key(ar), (ar, false)))
            .chain(declared.iter().map(|ar| (key(ar), (ar, true))))
            .collect();
        for (k, (ar, is_declared)) in &wanted {
            let entry = kinds.entry(k.clone()).or_insert_with(|| {
                let declared_by = Arc::new(Mutex::new(BTreeSet::new()));
                let (listed_tx, listed) = tokio::sync::watch::channel(false);
                KindWatch {
                    task: tokio::spawn(watch_kind(
                        self.client.clone(),
                        (*ar).clone(),
                        self.triggers.clone(),
                        declared_by.clone(),
                        Seen::new(self.metrics.clone()),
                        listed_tx,
                    )),
                    listed,
                    subscribers: BTreeSet::new(),
                    declared_by,
                }
            });
            entry.subscribers.insert(component.to_string());
            let mut declared_by = lock(&entry.declared_by);
            if *is_declared {
                declared_by.insert(component.to_string());
            } else {
                declared_by.remove(component);
            }
        }
        kinds.retain(|k, w| {
            if !wanted.contains_key(k) {
                w.subscribers.remove(component);
                lock(&w.declared_by).remove(component);
            }
            if w.subscribers.is_empty() {
                w.task.abort();
                false
            } else {
                true
            }
        });
        super::Metrics::set(&self.metrics.watches_open, kinds.len() as u64);
    }

    /// Waits until the watches of these kinds (group, kind) have done their first list, for
    /// at most `timeout`; returns the kinds whose watch has, of those asked for. A kind not
    /// watched is not among them.
    pub async fn listed(
        &self,
        kinds: &HashSet<(String, String)>,
        timeout: std::time::Duration,
    ) -> HashSet<(String, String)> {
        let receivers: Vec<((String, String), tokio::sync::watch::Receiver<bool>)> =
            lock(&self.kinds)
                .iter()
                .filter(|((g, _, k), _)| kinds.contains(&(g.clone(), k.clone())))
                .map(|((g, _, k), w)| ((g.clone(), k.clone()), w.listed.clone()))
                .collect();
        let wait = futures::future::join_all(receivers.iter().map(|(_, rx)| {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|listed| *listed).await;
            }
        }));
        let _ = tokio::time::timeout(timeout, wait).await;
        receivers
            .into_iter()
            .filter(|(_, rx)| *rx.borrow())
            .map(|(kind, _)| kind)
            .collect()
    }

    /// Kinds currently watched, for the tests below.
    #[cfg(test)]
    fn watched(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<_> = lock(&self.kinds).keys().cloned().collect();
        out.sort();
        out
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for w in lock(&self.kinds).values() {
            w.task.abort();
        }
    }
}

/// The objects with our label one watch currently sees, counted into
/// [`super::Metrics::watched_objects`]; what it counted is taken back when the watch stops.
struct Seen {
    keys: HashSet<ObjectKey>,
    metrics: Arc<super::Metrics>,
}

impl Seen {
    fn new(metrics: Arc<super::Metrics>) -> Seen {
        Seen {
            keys: HashSet::new(),
            metrics,
        }
    }

    fn add(&mut self, key: &ObjectKey) {
        if !self.keys.contains(key) {
            self.keys.insert(key.clone());
            super::Metrics::add(&self.metrics.watched_objects, 1);
        }
    }

    fn remove(&mut self, key: &ObjectKey) {
        if self.keys.remove(key) {
            super::Metrics::sub(&self.metrics.watched_objects, 1);
        }
    }

    /// After a relist: only what it listed is still there.
    fn keep_only(&mut self, listed: &HashSet<ObjectKey>) {
        let before = self.keys.len();
        self.keys.retain(|k| listed.contains(k));
        super::Metrics::sub(
            &self.metrics.watched_objects,
            (before - self.keys.len()) as u64,
        );
    }
}

impl Drop for Seen {
    fn drop(&mut self) {
        super::Metrics::sub(&self.metrics.watched_objects, self.keys.len() as u64);
    }
}

async fn watch_kind(
    client: kube::Client,
    ar: ApiResource,
    triggers: Arc<HashMap<String, Arc<Trigger>>>,
    declared_by: Arc<Mutex<BTreeSet<String>>>,
    mut seen_objects: Seen,
    listed_tx: tokio::sync::watch::Sender<bool>,
) {
    // Metadata-only: drift needs labels and resourceVersions, never the objects' bodies.
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
    let stream =
        watcher(api, watcher::Config::default().labels(PART_OF)).backoff(crate::backoff::watch());
    futures::pin_mut!(stream);
    // The keys a (re)list returned. A watch that broke (an API server restart) lists again,
    // and an object deleted meanwhile is simply absent from the list, with no Delete event.
    let mut listed: Option<HashSet<ObjectKey>> = None;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                let mut components: Vec<&str> = triggers
                    .iter()
                    .filter(|(_, t)| t.wants_kind(&ar.group, &ar.kind))
                    .map(|(c, _)| c.as_str())
                    .collect();
                components.sort_unstable();
                tracing::warn!(
                    components = ?components,
                    group = %ar.group,
                    version = %ar.version,
                    kind = %ar.kind,
                    error = %e,
                    "drift watch failed; retrying"
                );
                continue;
            }
        };
        let (meta, deleted) = match &event {
            Event::Apply(m) | Event::InitApply(m) => (m, false),
            Event::Delete(m) => (m, true),
            Event::Init => {
                listed = Some(HashSet::new());
                continue;
            }
            Event::InitDone => {
                if let Some(listed) = listed.take() {
                    seen_objects.keep_only(&listed);
                    for trigger in triggers.values() {
                        trigger.keep_hands_off(&ar.group, &ar.kind, &listed);
                        for key in trigger.missing(&ar.group, &ar.kind, &listed) {
                            trigger.wake_for_drift(key);
                        }
                    }
                }
                listed_tx.send_replace(true);
                continue;
            }
        };
        let key: ObjectKey = (
            ar.group.clone(),
            ar.kind.clone(),
            meta.metadata.namespace.clone().unwrap_or_default(),
            meta.metadata.name.clone().unwrap_or_default(),
        );
        if let (Event::InitApply(_), Some(listed)) = (&event, listed.as_mut()) {
            listed.insert(key.clone());
        }
        let label = meta.metadata.labels.as_ref().and_then(|l| l.get(PART_OF));
        if deleted || label.is_none() {
            seen_objects.remove(&key);
        } else {
            seen_objects.add(&key);
        }
        let Some(component) = label else {
            // Someone removed our label: the watch reports the object as deleted, with its
            // new labels. Whoever wants it must re-apply it.
            if deleted {
                for trigger in triggers.values() {
                    trigger.note_hands_off(&key, None);
                    if trigger.is_drift(&key, None) {
                        trigger.wake_for_drift(key.clone());
                    }
                }
            }
            continue;
        };
        let Some(trigger) = triggers.get(component) else {
            continue;
        };
        let seen = (!deleted).then_some(&meta.metadata);
        trigger.note_hands_off(&key, seen);
        if trigger.park(&key, seen) {
            continue;
        }
        if trigger.is_drift(&key, seen) {
            tracing::debug!(
                component = %component,
                kind = %ar.kind,
                namespace = %key.2,
                name = %key.3,
                deleted,
                "drift"
            );
            trigger.wake_for_drift(key);
        } else if !matches!(event, Event::InitApply(_)) && lock(&declared_by).contains(component) {
            trigger.wake();
        } else if !deleted
            && super::readiness::reads(&trigger.rules, &ar.group, &ar.kind)
            && trigger.wants(&key)
        {
            let resource_version = meta.metadata.resource_version.clone().unwrap_or_default();
            trigger.wake_for_health(key, resource_version);
        }
    }
}

/// Re-queues the components waiting for a declared kind (see [`Watches::set_pending`]) once
/// discovery serves it: their reconcile then subscribes the kind. The discovery cache's CRD
/// watch makes sure a new CRD is discovered soon after it is Established.
pub async fn wake_when_served(shared: Arc<super::Shared>) {
    let mut snapshots = shared.cluster.subscribe();
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        shared.watches.wake_served(&snapshot);
        if snapshots.changed().await.is_err() {
            // The cache outlives this task (it is in `shared`); should it not, nothing new
            // will ever be served.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectKey {
        ("apps".into(), "Deployment".into(), "ns".into(), name.into())
    }

    /// Metadata at `resource_version` of a kind without a generation.
    fn plain(resource_version: &str) -> ObjectMeta {
        ObjectMeta {
            resource_version: Some(resource_version.into()),
            ..ObjectMeta::default()
        }
    }

    fn applied(resource_version: &str) -> Applied {
        Applied::new(&serde_json::json!({}), &plain(resource_version))
    }

    #[test]
    fn our_own_echo_is_not_drift_but_edits_and_deletions_are() {
        let t = Trigger::default();
        t.set_desired(HashMap::from([(key("a"), applied("10"))]));
        assert!(
            !t.is_drift(&key("a"), Some(&plain("10"))),
            "the echo of our apply"
        );
        assert!(
            t.is_drift(&key("a"), Some(&plain("11"))),
            "someone else's edit"
        );
        assert!(t.is_drift(&key("a"), None), "a deletion");
        assert!(
            !t.is_drift(&key("b"), None),
            "objects we no longer want (pruned) are not drift"
        );
        t.record(key("a"), applied("12"));
        assert!(
            !t.is_drift(&key("a"), Some(&plain("12"))),
            "recorded at apply time"
        );
    }

    /// Events about an object being written wait for the write's answer: our echo and what
    /// came before it are not drift, even when they arrive before the answer; an edit after
    /// the echo is; a failed write judges them all as usual.
    #[test]
    fn events_during_a_write_are_judged_by_its_answer() {
        let t = Trigger::default();
        t.set_desired(HashMap::from([(key("a"), applied("10"))]));
        t.begin_write(key("a"));
        assert!(
            t.park(&key("a"), Some(&plain("11"))),
            "an older state, parked"
        );
        assert!(
            t.park(&key("a"), Some(&plain("12"))),
            "our echo, before the answer"
        );
        t.end_write(&key("a"), Some((applied("12"), "12")));
        assert!(t.take_drift().is_empty(), "nothing but our own write");
        assert!(
            !t.park(&key("a"), Some(&plain("13"))),
            "no longer in flight"
        );

        t.begin_write(key("a"));
        t.park(&key("a"), Some(&plain("14")));
        t.park(&key("a"), Some(&plain("15")));
        t.end_write(&key("a"), Some((applied("14"), "14")));
        assert_eq!(
            t.take_drift(),
            HashSet::from([key("a")]),
            "an edit right after our write"
        );

        t.begin_write(key("a"));
        t.park(&key("a"), Some(&plain("16")));
        t.end_write(&key("a"), Some((applied("17"), "17")));
        assert!(
            t.take_drift().is_empty(),
            "the echo is still to come: earlier states only"
        );

        t.begin_write(key("a"));
        t.park(&key("a"), None);
        t.end_write(&key("a"), None);
        assert_eq!(
            t.take_drift(),
            HashSet::from([key("a")]),
            "deleted while a failed write was on its way"
        );
    }

    /// A status write asks for a health check of that object, not for a reconcile; drift and
    /// every other wake do.
    #[test]
    fn a_health_wake_asks_for_no_reconcile() {
        let t = Trigger::default();
        t.wake_for_health(key("a"), "10".into());
        t.wake_for_health(key("a"), "11".into());
        assert!(!t.take_full());
        assert_eq!(t.take_seen(), HashMap::from([(key("a"), "11".to_string())]));
        assert!(t.take_seen().is_empty(), "taken once");
        t.wake_for_drift(key("a"));
        assert!(t.take_full());
        assert!(!t.take_full(), "taken once");
        t.wake();
        assert!(t.take_full());
    }

    #[test]
    fn an_object_missing_from_a_relist_is_drift() {
        let t = Trigger::default();
        t.set_desired(HashMap::from([
            (key("a"), applied("1")),
            (key("b"), applied("1")),
        ]));
        let (group, kind) = (key("a").0, key("a").1);
        let both = HashSet::from([key("a"), key("b")]);
        assert!(t.missing(&group, &kind, &both).is_empty());
        assert_eq!(
            t.missing(&group, &kind, &HashSet::from([key("a")])),
            [key("b")]
        );
        assert!(
            t.missing("other.group", &kind, &HashSet::new()).is_empty(),
            "another kind's list says nothing about these"
        );
        assert!(t.wants_kind(&group, &kind));
        assert!(!t.wants_kind("other.group", &kind));
    }

    #[test]
    fn status_writes_and_other_managers_metadata_are_not_drift_but_spec_and_our_labels_are() {
        let meta = |generation: Option<i64>, rv: &str, labels: &[(&str, &str)]| ObjectMeta {
            generation,
            resource_version: Some(rv.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            annotations: Some([("ours".to_string(), "1".to_string())].into()),
            ..ObjectMeta::default()
        };
        let manifest = serde_json::json!({"metadata": {
            "labels": {"app": "a"}, "annotations": {"ours": "1"},
        }});
        let ours = Applied::new(&manifest, &meta(Some(1), "10", &[("app", "a")]));
        let drift = |seen: &ObjectMeta| ours.version_of(seen) != ours.version;
        assert!(
            !drift(&meta(Some(1), "11", &[("app", "a")])),
            "a controller's status write"
        );
        assert!(drift(&meta(Some(2), "12", &[("app", "a")])), "a spec edit");
        assert!(
            drift(&meta(Some(1), "13", &[("app", "b")])),
            "our label edited"
        );
        assert!(drift(&meta(Some(1), "13", &[])), "our label removed");
        let mut revision = meta(Some(1), "14", &[("app", "a"), ("team", "x")]);
        revision
            .annotations
            .get_or_insert_default()
            .insert("deployment.kubernetes.io/revision".into(), "2".into());
        assert!(
            !drift(&revision),
            "metadata another manager added (the Deployment controller's revision)"
        );
        revision.annotations = None;
        assert!(drift(&revision), "our annotation removed");
        let plain = Applied::new(&manifest, &meta(None, "14", &[("app", "a")]));
        assert_ne!(
            plain.version_of(&meta(None, "15", &[("app", "a")])),
            plain.version,
            "kinds without a generation: any write"
        );
    }

    fn ar(kind: &str) -> ApiResource {
        let gvk = kube::core::GroupVersionKind::gvk("apps", "v1", kind);
        ApiResource::from_gvk(&gvk)
    }

    /// A kind is watched while any component needs it, and only then. The client points
    /// nowhere: the watch tasks only retry, which is all this test needs of them.
    #[tokio::test]
    async fn a_kind_is_watched_while_any_component_needs_it() {
        let url = "http://127.0.0.1:9".parse().expect("url");
        let client = kube::Client::try_from(kube::Config::new(url)).expect("client");
        let metrics: Arc<super::super::Metrics> = Arc::default();
        let watches = Watches::new(client, Arc::new(HashMap::new()), metrics.clone());
        let names =
            |w: &Watches| -> Vec<String> { w.watched().into_iter().map(|(_, _, k)| k).collect() };
        let open = || super::super::Metrics::get(&metrics.watches_open);
        watches.subscribe("a", &[ar("Deployment"), ar("StatefulSet")], &[]);
        watches.subscribe("b", &[ar("Deployment")], &[ar("DaemonSet")]);
        assert_eq!(names(&watches), ["DaemonSet", "Deployment", "StatefulSet"]);
        assert_eq!(open(), 3, "one watch per kind, shared");
        watches.subscribe("a", &[], &[]);
        assert_eq!(names(&watches), ["DaemonSet", "Deployment"]);
        watches.subscribe("b", &[ar("Deployment")], &[]);
        assert_eq!(names(&watches), ["Deployment"]);
        assert_eq!(open(), 1);
        watches.subscribe("b", &[], &[]);
        assert!(names(&watches).is_empty());
        assert_eq!(open(), 0);
        assert!(metrics.render().contains("dsc_helm_watches_open 0\n"));
    }

    #[test]
    fn drift_is_taken_once_per_object() {
        let t = Trigger::default();
        assert!(t.take_drift().is_empty());
        t.wake_for_drift(key("a"));
        t.wake_for_drift(key("b"));
        t.wake_for_drift(key("a"));
        assert_eq!(t.take_drift(), HashSet::from([key("a"), key("b")]));
        assert!(t.take_drift().is_empty());
    }

    fn annotated(resource_version: &str, managed: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            annotations: managed.map(|v| {
                [(
                    super::super::hands_off::ANNOTATION.to_string(),
                    v.to_string(),
                )]
                .into()
            }),
            ..plain(resource_version)
        }
    }

    /// An object handed off to an admin: its edits are no drift, its deletion is (it is
    /// created again), and taking the annotation off makes it ours again. The watch's view of
    /// the annotation follows every event and is pruned by a relist.
    #[test]
    fn a_hands_off_object_drifts_only_by_disappearing() {
        let t = Trigger::default();
        t.set_desired(HashMap::from([(key("a"), applied("10"))]));
        let taken = annotated("11", Some("false"));
        t.note_hands_off(&key("a"), Some(&taken));
        assert!(t.is_hands_off(&key("a")));
        assert!(!t.is_drift(&key("a"), Some(&taken)), "the admin's edit");
        assert!(
            !t.is_drift(&key("a"), Some(&annotated("12", Some("false")))),
            "another edit of theirs"
        );
        assert!(t.is_drift(&key("a"), None), "deleted: created again");
        let back = annotated("13", Some("true"));
        t.note_hands_off(&key("a"), Some(&back));
        assert!(!t.is_hands_off(&key("a")));
        assert!(t.is_drift(&key("a"), Some(&back)), "ours again");

        t.note_hands_off(&key("a"), Some(&taken));
        t.note_hands_off(&key("b"), Some(&taken));
        t.keep_hands_off("apps", "Deployment", &HashSet::from([key("b")]));
        assert!(!t.is_hands_off(&key("a")), "gone from the relist");
        assert!(t.is_hands_off(&key("b")));
        t.note_hands_off(&key("b"), None);
        assert!(!t.is_hands_off(&key("b")), "deleted");
    }
}
