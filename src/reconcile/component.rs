//! One controller per component kind (FR-003): its own task, its own render cache and its own
//! backoff, so a failing or slow component never delays another.
//!
//! Two kinds of work: a reconcile (render, plan, apply what changed, prune) when the resource,
//! the cluster's kinds or an object's spec changed, and a health check when only the status of
//! an applied object changed (or an unhealthy one is due a [`readiness::RECHECK`]): it reads
//! that object, and writes nothing but the component's status, and that only when something
//! shown changed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::events::{Event as KubeEvent, EventType};
use kube::runtime::watcher::{self, watcher};
use serde::Deserialize as _;
use serde_json::{Value as Json, json};
use tracing::Instrument;

use super::drift::{self, LoopWatch, Repair};
use super::gate;
use super::hands_off;
use super::lookup::LiveLookup;
use super::plan::{self, Instance, Plan, PlanError, Planned};
use super::readiness::{self, Readiness};
use super::replace;
use super::status::{self, Outcome, Reason, Signal};
use super::watches::{ObjectKey, Trigger};
use super::{FIELD_MANAGER, Metrics, ReconcileError, Shared, backoff, now};
use crate::api::{ChartRef, ComponentStanza, ComponentStatus, InventoryEntry};
use crate::discovery::Snapshot;
use crate::registry::{Component, RenderTarget, upgrade};
use helm_render::engine::funcs::SeededRandom;
use helm_render::render::{Release, Renderer};

/// Holds the component resource until its objects are deleted (DESIGN.md: do not rely on
/// ownerReference garbage collection).
pub const FINALIZER: &str = "platform.opendatahub.io/dsc-helm-cleanup";
/// How long one reconcile waits for its CRDs to become Established before reporting failure.
const CRD_ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// What this process last applied successfully; the inputs of a no-op reconcile.
#[derive(Default)]
struct Memory {
    uid: String,
    digest: String,
    /// The outcome of that apply; a health check reports health against it. `None` until a
    /// reconcile succeeded: health checks then wait for one.
    outcome: Option<Outcome>,
    /// The content digest ([`plan::content_digest`]) of each object as that apply wrote it:
    /// the next apply writes only the objects whose content differs.
    written: HashMap<ObjectKey, [u8; 32]>,
}

/// What an apply returns.
struct ApplyOutput {
    /// The versions drift is judged by, of every planned object.
    desired: HashMap<ObjectKey, super::watches::Applied>,
    /// The live objects the API server answered with, of the objects written.
    bodies: Vec<(InventoryEntry, DynamicObject)>,
    errors: Vec<String>,
    /// The content digest of every object that is now as planned.
    written: HashMap<ObjectKey, [u8; 32]>,
    /// Objects left as they run because the API server will not take the change.
    held: Vec<Held>,
    /// What was deleted and created again (`upgradeStrategy: recreate`), for events.
    recreated: Vec<String>,
}

/// An object the apply left as it runs, and why: reported as the component's
/// `ImmutableFieldChange` or `CRDStoredVersionRemoved`, not as a failure to retry.
struct Held {
    reason: Reason,
    message: String,
    /// The running object, whose health the component still reports.
    live: Option<DynamicObject>,
}

/// Why one object was not applied.
enum Refused {
    Held(Box<Held>),
    Failed(String),
}

/// What a successful apply of one object reports besides the live object.
struct Written {
    live: DynamicObject,
    /// Set when the object was deleted and created again; the event's note.
    recreated: Option<String>,
}

pub struct ComponentController {
    shared: Arc<Shared>,
    /// Position in the shared registry: components are not cloned per controller.
    index: usize,
    trigger: Arc<Trigger>,
    renderer: Arc<Renderer>,
    resource: ApiResource,
    api: Api<DynamicObject>,
    memory: Memory,
    /// The latest health verdict on each applied object.
    readiness: Readiness,
    /// When this process applied inputs it had not applied before, until the component is
    /// Ready: the start of the apply-to-Ready histogram.
    applied_at: Option<tokio::time::Instant>,
    /// Since when this process has held the first apply back for a dependency. The readiness
    /// timeout counts from here, so an operator restart starts the count again.
    waiting_since: Option<tokio::time::Instant>,
    /// When the controller must reconcile again although nothing woke it: the end of the
    /// readiness timeout.
    wake_at: Option<tokio::time::Instant>,
    /// This process's recent drift repairs, to tell a fight with another writer.
    drift_loop: LoopWatch,
}

/// Runs the controller of one component until the future is dropped.
pub async fn run(shared: Arc<Shared>, index: usize, trigger: Arc<Trigger>) {
    let Some(component) = shared.registry.components.get(index) else {
        return;
    };
    let resource = crate::api::component_api_resource(component);
    let api: Api<DynamicObject> = Api::all_with(shared.client.clone(), &resource);
    let _watch = {
        let api = api.clone();
        let trigger = trigger.clone();
        let shared = shared.clone();
        let name = component.singleton_name();
        let kind = resource.kind.clone();
        super::AbortOnDrop(tokio::spawn(async move {
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let stream = watcher(api, config).backoff(crate::backoff::watch());
            futures::pin_mut!(stream);
            let component = shared
                .registry
                .components
                .get(index)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            // Whether the singleton showed up in the current (re)list.
            let mut listed = false;
            let mut last_seen: Option<Json> = None;
            let mut last_gate: Option<gate::GateView> = None;
            while let Some(event) = stream.next().await {
                // Our own status writes come back as events too; only what the controller
                // reads (metadata and spec) re-queues it, the status goes to the DSC only.
                let mut wake = true;
                match event {
                    Ok(watcher::Event::Apply(cr)) => {
                        let seen = reconcile_inputs(&cr);
                        wake = last_seen.as_ref() != Some(&seen);
                        last_seen = Some(seen);
                        shared.resources.put(&component, Some(cr));
                    }
                    Ok(watcher::Event::InitApply(cr)) => {
                        listed = true;
                        last_seen = Some(reconcile_inputs(&cr));
                        shared.resources.put(&component, Some(cr));
                    }
                    Ok(watcher::Event::Delete(_)) => {
                        last_seen = None;
                        shared.resources.put(&component, None);
                    }
                    Ok(watcher::Event::Init) => listed = false,
                    Ok(watcher::Event::InitDone) if !listed => {
                        last_seen = None;
                        shared.resources.put(&component, None);
                    }
                    Ok(watcher::Event::InitDone) => {}
                    Err(e) => {
                        let e = ReconcileError::from(e);
                        shared.options.metrics.error(&component, &e);
                        tracing::warn!(
                            component = %component,
                            object = %name,
                            kind = %kind,
                            error = %e,
                            "watching the component resource failed; retrying"
                        );
                        continue;
                    }
                }
                if wake {
                    trigger.wake();
                }
                let seen = shared.resources.get(&component).flatten();
                let gate = gate::gate_view(seen.as_ref());
                if last_gate.as_ref() != Some(&gate) {
                    last_gate = Some(gate);
                    wake_neighbours(&shared, &component);
                }
                shared.dsc_wake.notify_one();
            }
        }))
    };
    let mut controller = ComponentController {
        shared: shared.clone(),
        index,
        trigger: trigger.clone(),
        renderer: Arc::new(Renderer::new()),
        resource,
        api,
        memory: Memory::default(),
        readiness: Readiness::default(),
        applied_at: None,
        waiting_since: None,
        wake_at: None,
        drift_loop: LoopWatch::new(
            shared.options.drift_loop_limit,
            shared.options.drift_loop_window,
        ),
    };
    let mut failures: u32 = 0;
    // Rechecks in a row that changed nothing shown.
    let mut quiet: u32 = 0;
    trigger.wake();
    loop {
        let recheck = controller.memory.outcome.is_some() && controller.readiness.any_unhealthy();
        let fight_ends = controller.drift_loop.ends_at(tokio::time::Instant::now());
        let wake_at = controller.wake_at.into_iter().chain(fight_ends).min();
        let timer = async move {
            if let Some(at) = wake_at {
                tokio::time::sleep_until(at).await;
            }
        };
        let (timed_out, woken_by_timer) = if failures == 0 {
            tokio::select! {
                _ = trigger.notify.notified() => (false, false),
                _ = tokio::time::sleep(readiness::recheck_after(quiet)), if recheck => (true, false),
                () = timer, if wake_at.is_some() => (false, true),
            }
        } else {
            tokio::select! {
                _ = trigger.notify.notified() => {}
                _ = tokio::time::sleep(backoff(failures)) => {}
            }
            (false, false)
        };
        if woken_by_timer {
            controller.wake_at = None;
        }
        let full = trigger.take_full()
            || failures > 0
            || woken_by_timer
            || controller.memory.outcome.is_none();
        if !full {
            let span = tracing::info_span!(
                "health",
                component = %controller.component().name,
                object = %controller.component().singleton_name(),
            );
            match controller.check_health(timed_out).instrument(span).await {
                Ok(true) => quiet = 0,
                Ok(false) if timed_out => quiet = quiet.saturating_add(1),
                Ok(false) => {}
                Err(e) => {
                    controller
                        .shared
                        .options
                        .metrics
                        .error(&controller.component().name, &e);
                    tracing::warn!(
                        component = %controller.component().name,
                        object = %controller.component().singleton_name(),
                        error = %e,
                        kind = e.metric_label(),
                        "component health check failed; reconciling"
                    );
                    trigger.wake();
                }
            }
            continue;
        }
        quiet = 0;
        let span = tracing::info_span!(
            "reconcile",
            component = %controller.component().name,
            object = %controller.component().singleton_name(),
        );
        let started = tokio::time::Instant::now();
        let result = controller.reconcile().instrument(span).await;
        let metrics = &controller.shared.options.metrics;
        let component = &controller.component().name;
        metrics.observe(component, started.elapsed());
        Metrics::add(&metrics.reconciles, 1);
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                Metrics::add(&metrics.failures, 1);
                metrics.error(component, &e);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    component = %component,
                    object = %controller.component().singleton_name(),
                    error = %e,
                    kind = e.metric_label(),
                    retry = failures,
                    "component reconcile failed"
                );
            }
        }
    }
}

/// What a reconcile depends on in the component resource: everything but the status and the
/// bookkeeping the API server changes with every write.
fn reconcile_inputs(cr: &DynamicObject) -> Json {
    let mut metadata = cr.metadata.clone();
    metadata.resource_version = None;
    metadata.managed_fields = None;
    json!({
        "metadata": metadata,
        "spec": cr.data.get("spec"),
    })
}

/// The resource's status; none yet is the empty one. A status that does not parse is an
/// error, never an empty inventory: that would prune nothing and forget every object.
fn status_of(cr: &DynamicObject) -> Result<ComponentStatus, serde_json::Error> {
    match cr.data.get("status") {
        None | Some(Json::Null) => Ok(ComponentStatus::default()),
        Some(status) => ComponentStatus::deserialize(status),
    }
}

fn has_finalizer(cr: &DynamicObject) -> bool {
    cr.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}

impl ComponentController {
    fn component(&self) -> &Component {
        // `run` checked the index against the same immutable registry.
        &self.shared.registry.components[self.index]
    }

    fn name(&self) -> String {
        self.component().singleton_name()
    }

    async fn reconcile(&mut self) -> Result<(), ReconcileError> {
        let Some(mut cr) = self.api.get_opt(&self.name()).await? else {
            self.forget();
            return Ok(());
        };
        let mut current = match status_of(&cr) {
            Ok(status) => status,
            Err(source) => {
                let e = ReconcileError::Status {
                    object: self.name(),
                    source,
                };
                self.event(&cr, &e.to_string()).await;
                return Err(e);
            }
        };
        if cr.metadata.deletion_timestamp.is_some() {
            if has_finalizer(&cr) {
                if let Some(waiting) = self.removal_waits().await? {
                    return self.hold_removal(&mut cr, &mut current, waiting).await;
                }
                self.delete_all(&current.inventory).await?;
                self.set_finalizer(&cr, false).await?;
            }
            self.forget();
            return Ok(());
        }
        if !has_finalizer(&cr) {
            cr = self.set_finalizer(&cr, true).await?;
        }
        let generation = cr.metadata.generation.unwrap_or_default();
        let stanza: ComponentStanza = match cr
            .data
            .get("spec")
            .map(|s| serde_json::from_value(s.clone()))
            .transpose()
        {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                return self
                    .fail(
                        &mut cr,
                        &mut current,
                        Reason::ValuesInvalid,
                        format!("spec: {e}"),
                    )
                    .await;
            }
        };
        if !stanza.is_managed() {
            if let Some(waiting) = self.removal_waits().await? {
                return self.hold_removal(&mut cr, &mut current, waiting).await;
            }
            self.delete_all(&current.inventory).await?;
            self.forget();
            let outcome = Outcome {
                reason: Reason::Removed,
                message: format!("{} is not managed", self.component().name),
            };
            let next = self.status(&current, &outcome, generation, String::new(), Vec::new());
            return self.write_status(&mut cr, &mut current, next).await;
        }
        let installed = !current.inventory.is_empty() || !current.render_digest.is_empty();
        match self.dependencies_waiting(false) {
            Some(waiting) if !installed => {
                return self
                    .hold_apply(&mut cr, &mut current, generation, waiting)
                    .await;
            }
            _ => {
                self.waiting_since = None;
                self.wake_at = None;
            }
        }
        let drift = self.trigger.take_drift();
        let seen = self.trigger.take_seen();
        let plan = match self.plan(&cr, &stanza).await? {
            Ok(plan) => plan,
            Err((reason, message)) => {
                return self.fail(&mut cr, &mut current, reason, message).await;
            }
        };
        let inventory = plan.inventory();
        let uid = cr.metadata.uid.clone().unwrap_or_default();
        let unchanged = drift.is_empty()
            && self.memory.digest == plan.digest
            && self.memory.uid == uid
            && current.render_digest == plan.digest
            && current.inventory == inventory;
        if unchanged {
            Metrics::add(&self.shared.options.metrics.unchanged, 1);
            // Kinds may have become watchable since (a declared kind's CRD appeared).
            self.subscribe(&plan);
            // What the apply of these inputs reported: objects it held back stay held.
            let outcome = self
                .memory
                .outcome
                .clone()
                .unwrap_or_else(|| applied(&plan));
            self.memory.outcome = Some(outcome.clone());
            let snapshot = self.shared.cluster.snapshot();
            let shared = self.shared.clone();
            self.readiness.retain(&inventory);
            let component = &shared.registry.components[self.index];
            self.readiness
                .refresh(
                    &shared.client,
                    &snapshot,
                    &component.name,
                    &component.health,
                    &inventory,
                    &seen,
                    false,
                )
                .await;
            let next = self.status(&current, &outcome, generation, plan.digest, inventory);
            return self.write_status(&mut cr, &mut current, next).await;
        }
        if self.memory.digest != plan.digest {
            self.applied_at = Some(tokio::time::Instant::now());
        }

        // Record what is about to be created before creating it: an operator killed mid-apply
        // then still knows every object it may have made, and prunes or removes it later.
        if inventory.iter().any(|e| !current.inventory.contains(e)) {
            let mut widened = current.clone();
            widened.inventory.extend(inventory.iter().cloned());
            widened.inventory.sort();
            widened.inventory.dedup();
            self.write_status(&mut cr, &mut current, widened).await?;
        }
        // Drifted objects are applied again; the rest only if their content changed.
        let unchanged_since = (self.memory.uid == uid).then(|| {
            let mut written = self.memory.written.clone();
            written.retain(|k, _| !drift.contains(k));
            written
        });
        self.subscribe(&plan);
        let hands_off = hands_off::find(&self.shared, &self.trigger, &plan).await?;
        let drifted: HashSet<ObjectKey> = drift.difference(&hands_off).cloned().collect();
        let before = drift::read_drifted(
            &self.shared.client,
            &self.shared.cluster.snapshot(),
            &plan,
            &drifted,
        )
        .await;
        let ApplyOutput {
            desired,
            bodies,
            mut errors,
            written,
            held,
            recreated,
        } = self
            .apply(&plan, unchanged_since.unwrap_or_default(), &hands_off)
            .await?;
        let repairs = repairs(&plan, &before, &bodies);
        let fight_started = !repairs.is_empty()
            && self
                .drift_loop
                .record(tokio::time::Instant::now(), &repairs);
        tracing::debug!(
            component = %self.component().name,
            object = %self.name(),
            drifted = drift.len(),
            hands_off = hands_off.len(),
            written = bodies.len(),
            planned = plan.crds.len() + plan.objects.len(),
            "applied"
        );
        self.readiness.retain(&inventory);
        for (entry, body) in &bodies {
            let verdict = readiness::judge(
                &self.shared.client,
                &self.component().name,
                &self.component().health,
                &entry.group,
                &entry.kind,
                body,
            )
            .await;
            let version = body.metadata.resource_version.clone().unwrap_or_default();
            self.readiness
                .record(readiness::key_of(entry), version, verdict);
        }
        if !hands_off.is_empty() {
            // Not written, so not judged from an apply's answer: read what was never judged.
            let snapshot = self.shared.cluster.snapshot();
            let shared = self.shared.clone();
            let component = &shared.registry.components[self.index];
            self.readiness
                .refresh(
                    &shared.client,
                    &snapshot,
                    &component.name,
                    &component.health,
                    &inventory,
                    &HashMap::new(),
                    false,
                )
                .await;
        }
        self.drift_corrected(&cr, &repairs, fight_started).await;
        let mut recorded = inventory.clone();
        if errors.is_empty() {
            for entry in plan::prune_set(&current.inventory, &inventory) {
                if let Err(e) = self.delete(&entry).await {
                    recorded.push(entry.clone());
                    tracing::warn!(kind = %entry.kind, name = %entry.name, error = %e, "pruning failed");
                }
            }
        } else {
            // Keep what a failed apply may have left, so a later prune or removal finds it.
            recorded.extend(current.inventory.iter().cloned());
        }
        recorded.sort();
        recorded.dedup();
        self.trigger.set_desired(desired);
        self.subscribe(&plan);
        for note in &recreated {
            tracing::info!(component = %self.component().name, object = %self.name(), "{note}");
            self.publish(&cr, EventType::Normal, "Recreated".to_string(), note)
                .await;
        }
        if !errors.is_empty() {
            errors.extend(held.iter().map(|h| h.message.clone()));
        }
        if errors.is_empty() {
            let outcome = held_outcome(&held).unwrap_or_else(|| applied(&plan));
            self.memory = Memory {
                uid,
                digest: plan.digest.clone(),
                outcome: Some(outcome.clone()),
                written,
            };
            let upgraded_from = current
                .chart
                .as_ref()
                .filter(|c| {
                    c.name == self.component().chart_name()
                        && c.version != self.component().chart_version()
                })
                .map(|c| c.version.clone());
            let next = self.status(&current, &outcome, generation, plan.digest, recorded);
            self.write_status(&mut cr, &mut current, next).await?;
            if !held.is_empty() {
                let reason = outcome.reason.as_str().to_string();
                self.publish(&cr, EventType::Warning, reason, &outcome.message)
                    .await;
            }
            if let Some(from) = upgraded_from {
                self.upgraded(&cr, &from).await;
            }
            Ok(())
        } else {
            self.memory = Memory::default();
            let message = errors.join("; ");
            let outcome = Outcome {
                reason: Reason::ApplyFailed,
                message: message.clone(),
            };
            let digest = current.render_digest.clone();
            let next = self.status(&current, &outcome, generation, digest, recorded);
            self.write_status(&mut cr, &mut current, next).await?;
            self.event(&cr, &message).await;
            Err(ReconcileError::Component {
                reason: Reason::ApplyFailed,
                message,
            })
        }
    }

    /// What this component waits for, from its dependencies' resources as their watches last
    /// saw them; `None` when every dependency is Ready (with `settled_only`, when none is known
    /// not to be, see [`gate::Standing::Pending`]).
    fn dependencies_waiting(&self, settled_only: bool) -> Option<String> {
        let resources = &self.shared.resources;
        let standings: Vec<(&str, gate::Standing)> = self
            .component()
            .depends_on
            .iter()
            .map(|d| {
                let seen = resources.get(d);
                (
                    d.as_str(),
                    gate::standing(seen.as_ref().map(Option::as_ref)),
                )
            })
            .collect();
        gate::waiting_for(&standings, settled_only)
    }

    /// Holds the first apply back until the dependencies are Ready: nothing is applied, the
    /// status says what is awaited, and after the readiness timeout that it timed out. The
    /// dependencies' watches wake the controller when they change; a timer wakes it once, at
    /// the timeout.
    async fn hold_apply(
        &mut self,
        cr: &mut DynamicObject,
        current: &mut ComponentStatus,
        generation: i64,
        waiting: String,
    ) -> Result<(), ReconcileError> {
        self.memory = Memory::default();
        let timeout = self.component().readiness_timeout;
        let since = *self
            .waiting_since
            .get_or_insert_with(tokio::time::Instant::now);
        let outcome = if since.elapsed() >= timeout {
            self.wake_at = None;
            Outcome {
                reason: Reason::DependencyTimeout,
                message: format!(
                    "dependencies not Ready within {}; {waiting}",
                    show_duration(timeout)
                ),
            }
        } else {
            self.wake_at = Some(since + timeout);
            Outcome {
                reason: Reason::AwaitingDependency,
                message: waiting,
            }
        };
        tracing::debug!(
            component = %self.component().name,
            object = %self.name(),
            reason = outcome.reason.as_str(),
            "{}",
            outcome.message
        );
        let next = self.status(
            current,
            &outcome,
            generation,
            current.render_digest.clone(),
            current.inventory.clone(),
        );
        self.write_status(cr, current, next).await
    }

    /// The dependents that must be gone before this component's objects are deleted: those
    /// being removed too that still have objects, read fresh (a watch may lag behind the
    /// DataScienceCluster controller's deletes). `None` when nothing holds the removal back.
    async fn removal_waits(&self) -> Result<Option<String>, ReconcileError> {
        let dependents = self.shared.registry.dependents(&self.component().name);
        if dependents.is_empty() {
            return Ok(None);
        }
        let dsc = super::dsc::ruling(&Api::all(self.shared.client.clone())).await?;
        let mut holding = Vec::new();
        for dependent in dependents {
            let ar = crate::api::component_api_resource(dependent);
            let api: Api<DynamicObject> = Api::all_with(self.shared.client.clone(), &ar);
            let Some(resource) = api.get_opt(&dependent.singleton_name()).await? else {
                continue;
            };
            let dsc_manages = dsc.as_ref().is_some_and(|d| {
                d.spec
                    .components
                    .get(&dependent.name)
                    .is_some_and(ComponentStanza::is_managed)
            });
            if gate::holds_removal(&resource, dsc_manages) {
                holding.push(dependent.name.as_str());
            }
        }
        Ok((!holding.is_empty()).then(|| {
            format!(
                "removal waits for {} to be removed first",
                holding.join(", ")
            )
        }))
    }

    /// Keeps this component's objects while dependents being removed still have theirs; their
    /// watches wake the controller when they are gone.
    async fn hold_removal(
        &mut self,
        cr: &mut DynamicObject,
        current: &mut ComponentStatus,
        waiting: String,
    ) -> Result<(), ReconcileError> {
        tracing::info!(
            component = %self.component().name,
            object = %self.name(),
            "{waiting}"
        );
        self.memory = Memory::default();
        let generation = cr.metadata.generation.unwrap_or_default();
        let outcome = Outcome {
            reason: Reason::Removed,
            message: waiting,
        };
        let next = self.status(
            current,
            &outcome,
            generation,
            current.render_digest.clone(),
            current.inventory.clone(),
        );
        self.write_status(cr, current, next).await
    }

    /// Values → render → plan. The outer error is the API's; the inner one the component's.
    async fn plan(
        &self,
        cr: &DynamicObject,
        stanza: &ComponentStanza,
    ) -> Result<Result<Plan, (Reason, String)>, ReconcileError> {
        let values = stanza.values.clone().unwrap_or(Json::Null);
        let prepared = match self.component().checked_values(&stanza.features, &values) {
            Ok(p) => p,
            Err(e) => return Ok(Err((Reason::ValuesInvalid, e.to_string()))),
        };
        let seed = self.shared.seeds.get(&self.component().name).await?;
        let mut refreshed = false;
        loop {
            let snapshot = self.shared.cluster.snapshot();
            let renderer = self.renderer.clone();
            let shared = self.shared.clone();
            let index = self.index;
            let prepared = prepared.clone();
            let release = Release::install(
                &self.component().name,
                &self.shared.options.applications_namespace,
            );
            let lookup = LiveLookup {
                client: self.shared.client.clone(),
                snapshot: snapshot.clone(),
                runtime: tokio::runtime::Handle::current(),
            };
            let seed = seed.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let target = RenderTarget {
                    renderer: &renderer,
                    release: &release,
                    capabilities: &snapshot.capabilities,
                    lookup: &lookup,
                };
                shared.registry.components[index].render_checked(
                    prepared,
                    &target,
                    &mut SeededRandom::new(&seed),
                )
            })
            .await?;
            let rendered = match rendered {
                Ok(r) => r,
                Err(e) => return Ok(Err((Reason::ChartRenderError, e.to_string()))),
            };
            let instance = Instance {
                component: self.component().name.clone(),
                api_version: self.resource.api_version.clone(),
                kind: self.resource.kind.clone(),
                name: self.name(),
                uid: cr.metadata.uid.clone().unwrap_or_default(),
                generation: cr.metadata.generation.unwrap_or_default(),
                chart_version: self.component().chart_version().to_string(),
            };
            let snapshot = self.shared.cluster.snapshot();
            match plan::plan(
                &rendered.prepared.chart,
                &rendered.rendered,
                &instance,
                &self.shared.options.applications_namespace,
                snapshot.as_ref(),
            ) {
                Ok(p) => return Ok(Ok(p)),
                // A kind may have been installed since the last discovery: look once more.
                Err(PlanError::UnknownKind { .. }) if !refreshed => {
                    self.shared.cluster.refresh().await?;
                    refreshed = true;
                }
                Err(e @ PlanError::UnknownKind { .. }) => {
                    return Ok(Err((Reason::ApplyFailed, e.to_string())));
                }
                Err(e) => return Ok(Err((Reason::ChartRenderError, e.to_string()))),
            }
        }
    }

    /// Applies CRDs (then waits for them), then everything else in order, skipping each
    /// object whose content is what `written` says this process last wrote (and whose drift
    /// record is still there) and each one `hands_off` (see [`hands_off`]). Per-object errors
    /// are collected so that one bad object does not hide the others.
    async fn apply(
        &self,
        plan: &Plan,
        written: HashMap<ObjectKey, [u8; 32]>,
        hands_off: &HashSet<ObjectKey>,
    ) -> Result<ApplyOutput, ReconcileError> {
        let mut desired = HashMap::new();
        let mut bodies = Vec::new();
        let mut errors = Vec::new();
        let mut now_written = HashMap::new();
        // An object already as planned: its drift record carries over, nothing is sent.
        let unchanged = |p: &Planned,
                         desired: &mut HashMap<ObjectKey, _>,
                         now: &mut HashMap<ObjectKey, [u8; 32]>| {
            let digest = plan::content_digest(&p.object);
            let k = key(p);
            if hands_off.contains(&k) {
                // Not written; wanted all the same, so that its deletion is drift.
                desired.insert(k, super::watches::Applied::default());
                return true;
            }
            let kept = (written.get(&k) == Some(&digest))
                .then(|| self.trigger.desired_of(&k))
                .flatten();
            match kept {
                Some(applied) => {
                    desired.insert(k.clone(), applied);
                    now.insert(k, digest);
                    true
                }
                None => false,
            }
        };
        ensure_namespace(
            &self.shared.client,
            &self.shared.options.applications_namespace,
        )
        .await?;
        let snapshot = self.shared.cluster.snapshot();
        let mut held = Vec::new();
        let mut recreated = Vec::new();
        for crd in &plan.crds {
            if unchanged(crd, &mut desired, &mut now_written) {
                continue;
            }
            self.trigger.begin_write(key(crd));
            match self.apply_one(crd, &snapshot).await {
                Ok(Written { live, .. }) => {
                    let applied = super::watches::Applied::new(&crd.object, &live.metadata);
                    let version = live.metadata.resource_version.clone().unwrap_or_default();
                    self.trigger
                        .end_write(&key(crd), Some((applied.clone(), &version)));
                    desired.insert(key(crd), applied);
                    now_written.insert(key(crd), plan::content_digest(&crd.object));
                }
                Err(refused) => {
                    self.trigger.end_write(&key(crd), None);
                    match refused {
                        Refused::Held(h) => held.push(*h),
                        Refused::Failed(e) => errors.push(e),
                    }
                }
            }
        }
        let mut snapshot = snapshot;
        if !plan.crds.is_empty() {
            let crds: Api<CustomResourceDefinition> = Api::all(self.shared.client.clone());
            let mut missing = false;
            for crd in &plan.crds {
                if let Err(e) = wait_established(&crds, &crd.name).await {
                    errors.push(e);
                }
                let served = crd
                    .object
                    .pointer("/spec/versions")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.get("name").and_then(Json::as_str))
                    .any(|v| {
                        let group = crd.object.pointer("/spec/group").and_then(Json::as_str);
                        let kind = crd
                            .object
                            .pointer("/spec/names/kind")
                            .and_then(Json::as_str);
                        match (group, kind) {
                            (Some(g), Some(k)) => {
                                snapshot.resolve(&format!("{g}/{v}"), k).is_some()
                            }
                            _ => true,
                        }
                    });
                missing |= !served;
            }
            if missing {
                snapshot = self.shared.cluster.refresh().await?;
                // `.Capabilities` changed: render again with what the cluster now serves.
                self.trigger.wake();
            }
        }
        for object in &plan.objects {
            if unchanged(object, &mut desired, &mut now_written) {
                continue;
            }
            self.trigger.begin_write(key(object));
            match self.apply_one(object, &snapshot).await {
                Ok(Written { live, recreated: r }) => {
                    let applied = super::watches::Applied::new(&object.object, &live.metadata);
                    let version = live.metadata.resource_version.clone().unwrap_or_default();
                    self.trigger
                        .end_write(&key(object), Some((applied.clone(), &version)));
                    desired.insert(key(object), applied);
                    now_written.insert(key(object), plan::content_digest(&object.object));
                    bodies.push((object.entry(), live));
                    recreated.extend(r);
                }
                Err(Refused::Held(h)) => {
                    // Watched as the running object stands: an edit or a deletion of it is
                    // drift, and the next apply meets the refusal again or creates it anew.
                    match &h.live {
                        Some(live) => {
                            let applied =
                                super::watches::Applied::new(&object.object, &live.metadata);
                            let version =
                                live.metadata.resource_version.clone().unwrap_or_default();
                            self.trigger
                                .end_write(&key(object), Some((applied.clone(), &version)));
                            desired.insert(key(object), applied);
                            bodies.push((object.entry(), live.clone()));
                        }
                        None => self.trigger.end_write(&key(object), None),
                    }
                    held.push(*h);
                }
                Err(Refused::Failed(e)) => {
                    self.trigger.end_write(&key(object), None);
                    errors.push(e);
                }
            }
        }
        Ok(ApplyOutput {
            desired,
            bodies,
            errors,
            written: now_written,
            held,
            recreated,
        })
    }

    /// Server-side apply of one object. A change the API server refuses as immutable is kept
    /// back or, under `upgradeStrategy: recreate`, made by deleting the object and creating it
    /// again; a CRD that would drop a stored version is not sent.
    async fn apply_one(&self, object: &Planned, snapshot: &Snapshot) -> Result<Written, Refused> {
        let describe = |e: &dyn std::fmt::Display| {
            format!(
                "{} {}: {e}",
                object.kind,
                qualified(&object.namespace, &object.name)
            )
        };
        let Some((ar, namespaced)) = snapshot.resolve(&object.api_version, &object.kind) else {
            return Err(Refused::Failed(describe(&format!(
                "no matches for kind {} in version {}",
                object.kind, object.api_version
            ))));
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(self.shared.client.clone(), &object.namespace, &ar)
        } else {
            Api::all_with(self.shared.client.clone(), &ar)
        };
        let (group, _) = object.group_version();
        if object.kind == plan::CRD_KIND && group == plan::CRD_GROUP {
            self.keep_stored_versions(&api, object)
                .await
                .map_err(|e| match e {
                    Ok(held) => Refused::Held(held),
                    Err(e) => Refused::Failed(describe(&e)),
                })?;
        }
        let error = match self.patch(&api, object).await {
            Ok(live) => {
                return Ok(Written {
                    live,
                    recreated: None,
                });
            }
            Err(e) => e,
        };
        let Some(named) = replace::immutable_refusal(&error) else {
            return Err(Refused::Failed(describe(&error)));
        };
        let live = api.get_opt(&object.name).await.ok().flatten();
        let live_json = live.as_ref().and_then(|l| serde_json::to_value(l).ok());
        let mut fields: Vec<String> = live_json
            .as_ref()
            .map(|l| upgrade::changed_against_live(group, &object.kind, &object.object, l))
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect();
        if fields.is_empty() {
            fields = named;
        }
        let fields = if fields.is_empty() {
            "an immutable field".to_string()
        } else {
            fields.join(", ")
        };
        let strategy = self.component().upgrade_strategy.for_kind(&object.kind);
        let replaceable = live
            .as_ref()
            .filter(|l| plan::may_delete(&l.metadata, &self.component().name))
            .and_then(|l| l.metadata.uid.clone());
        match (strategy, replaceable) {
            (upgrade::Strategy::Recreate, Some(uid)) => {
                let orphan = upgrade::recreate_orphans(group, &object.kind);
                replace::delete_and_wait(&api, &object.name, &uid, orphan, replace::DELETE_TIMEOUT)
                    .await
                    .map_err(|e| Refused::Failed(describe(&e)))?;
                let live = self
                    .patch(&api, object)
                    .await
                    .map_err(|e| Refused::Failed(describe(&e)))?;
                let how = if orphan {
                    "its pods and claims were left running for the new one to adopt"
                } else {
                    "deleted in the foreground"
                };
                let note = describe(&format!(
                    "recreated: {fields} cannot change in place (upgradeStrategy recreate; {how})"
                ));
                Ok(Written {
                    live,
                    recreated: Some(note),
                })
            }
            (strategy, _) => {
                let hint = match strategy {
                    upgrade::Strategy::Keep => {
                        "; upgradeStrategy: recreate in the component's descriptor replaces it"
                    }
                    // Recreate, but the object is not ours to delete (or already going away).
                    upgrade::Strategy::Recreate => {
                        "; not recreated: it lacks this component's label, is kept by \
                         helm.sh/resource-policy, or is already being deleted"
                    }
                };
                Err(Refused::Held(Box::new(Held {
                    reason: Reason::ImmutableFieldChange,
                    message: describe(&format!(
                        "{fields} cannot change in place, so the running object is kept{hint}"
                    )),
                    live,
                })))
            }
        }
    }

    /// Sends one server-side apply, retrying conflicts and server restarts shortly.
    async fn patch(
        &self,
        api: &Api<DynamicObject>,
        object: &Planned,
    ) -> Result<DynamicObject, kube::Error> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut attempts = 0;
        loop {
            let result = {
                // Closed only when the controllers stop, and then nothing is applied any more.
                let Ok(_slot) = self.shared.write_slots.acquire().await else {
                    return Err(kube::Error::Service("the reconciler is stopping".into()));
                };
                api.patch(&object.name, &params, &Patch::Apply(&object.object))
                    .await
            };
            match result {
                Ok(applied) => {
                    Metrics::add(&self.shared.options.metrics.objects_applied, 1);
                    return Ok(applied);
                }
                // A conflict with a concurrent writer or a server restart: try again shortly.
                Err(e) if attempts < 3 && is_transient(&e) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(200 * attempts)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Refuses to send a CRD that no longer lists a version its objects are stored in: the
    /// API server would refuse it with a message about `status.storedVersions` that says
    /// nothing of what to do. `Err(Ok(held))` holds the CRD back, `Err(Err(_))` is a failed
    /// read.
    async fn keep_stored_versions(
        &self,
        api: &Api<DynamicObject>,
        crd: &Planned,
    ) -> Result<(), Result<Box<Held>, kube::Error>> {
        let Some(live) = api.get_opt(&crd.name).await.map_err(Err)? else {
            return Ok(());
        };
        let live = serde_json::to_value(&live).unwrap_or_default();
        let dropped = replace::dropped_stored_versions(&live, &crd.object);
        if dropped.is_empty() {
            return Ok(());
        }
        Err(Ok(Box::new(Held {
            reason: Reason::CrdStoredVersionRemoved,
            message: format!(
                "CustomResourceDefinition {}: not updated: the chart no longer lists version {}, \
                 which objects are still stored in (status.storedVersions); migrate them to a \
                 listed version and remove it from status.storedVersions first",
                crd.name,
                dropped.join(", ")
            ),
            live: None,
        })))
    }

    /// Deletes one inventory entry if it still carries our label; gone objects are fine.
    async fn delete(&self, entry: &InventoryEntry) -> Result<(), ReconcileError> {
        let api_version = if entry.group.is_empty() {
            entry.version.clone()
        } else {
            format!("{}/{}", entry.group, entry.version)
        };
        let snapshot = self.shared.cluster.snapshot();
        let Some((ar, namespaced)) = snapshot.resolve(&api_version, &entry.kind) else {
            return Ok(());
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(self.shared.client.clone(), &entry.namespace, &ar)
        } else {
            Api::all_with(self.shared.client.clone(), &ar)
        };
        let Some(meta) = api.get_metadata_opt(&entry.name).await? else {
            return Ok(());
        };
        if !plan::may_delete(&meta.metadata, &self.component().name) {
            return Ok(());
        }
        let Ok(_slot) = self.shared.write_slots.acquire().await else {
            return Err(ReconcileError::Stopped);
        };
        match api.delete(&entry.name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_all(&self, inventory: &[InventoryEntry]) -> Result<(), ReconcileError> {
        let mut first_error = None;
        for entry in plan::removal_set(inventory) {
            if let Err(e) = self.delete(&entry).await {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Returns the resource as the API server now holds it.
    async fn set_finalizer(
        &self,
        cr: &DynamicObject,
        present: bool,
    ) -> Result<DynamicObject, ReconcileError> {
        let mut finalizers: Vec<String> = cr
            .metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f != FINALIZER)
            .collect();
        if present {
            finalizers.push(FINALIZER.to_string());
        }
        // The resourceVersion turns a concurrent change into a 409 and a retry, never a lost
        // finalizer of someone else.
        let patch = json!({"metadata": {
            "finalizers": finalizers,
            "resourceVersion": cr.metadata.resource_version,
        }});
        Ok(self
            .api
            .patch(&self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await?)
    }

    fn status(
        &self,
        current: &ComponentStatus,
        outcome: &Outcome,
        generation: i64,
        render_digest: String,
        inventory: Vec<InventoryEntry>,
    ) -> ComponentStatus {
        let verdicts = self
            .readiness
            .verdicts(&self.component().health, &inventory);
        let dependencies = if outcome.reason.is_gated() {
            None
        } else {
            self.dependencies_waiting(true)
        };
        let mut shown = status::component_status(
            current,
            outcome,
            &verdicts,
            dependencies.as_deref(),
            generation,
            &now(),
        );
        if let Some(fight) = self.drift_loop.fight(tokio::time::Instant::now())
            && !outcome.reason.is_gated()
            && outcome.reason != Reason::Removed
        {
            shown = status::with_fight(current, shown, &fight.message, generation, &now());
        }
        ComponentStatus {
            conditions: shown.conditions,
            observed_generation: Some(generation),
            chart: Some(ChartRef {
                name: self.component().chart_name().to_string(),
                version: self.component().chart_version().to_string(),
            }),
            unhealthy: shown.unhealthy,
            render_digest,
            inventory,
        }
    }

    /// A health check: the objects whose status changed (or, at a recheck, the unhealthy
    /// ones) are read again, and the status is written if what it shows changed. Nothing is
    /// rendered or applied; a resource whose inputs moved on since our last apply is left to
    /// the reconcile its watch has queued. Returns whether the status changed.
    async fn check_health(&mut self, recheck: bool) -> Result<bool, ReconcileError> {
        let seen = self.trigger.take_seen();
        let Some(outcome) = self.memory.outcome.clone() else {
            return Ok(false);
        };
        let Some(mut cr) = self.api.get_opt(&self.name()).await? else {
            return Ok(false);
        };
        let mut current = status_of(&cr).map_err(|source| ReconcileError::Status {
            object: self.name(),
            source,
        })?;
        let ours = cr.metadata.uid.as_deref() == Some(self.memory.uid.as_str())
            && current.render_digest == self.memory.digest;
        if cr.metadata.deletion_timestamp.is_some() || !ours {
            return Ok(false);
        }
        let snapshot = self.shared.cluster.snapshot();
        let shared = self.shared.clone();
        let component = &shared.registry.components[self.index];
        self.readiness
            .refresh(
                &shared.client,
                &snapshot,
                &component.name,
                &component.health,
                &current.inventory,
                &seen,
                recheck,
            )
            .await;
        // The generation our last reconcile observed: a newer one is the reconcile's to report.
        let generation = current.observed_generation.unwrap_or_default();
        let next = self.status(
            &current,
            &outcome,
            generation,
            current.render_digest.clone(),
            current.inventory.clone(),
        );
        let changed = next != current;
        self.write_status(&mut cr, &mut current, next).await?;
        Ok(changed)
    }

    /// Writes the status only when it differs, so a no-op reconcile writes nothing; then
    /// signals what changed in readiness (events and metrics). `cr` and `current` are what was
    /// read; afterwards they are what the API server holds (see [`write_status_fresh`]).
    async fn write_status(
        &mut self,
        cr: &mut DynamicObject,
        current: &mut ComponentStatus,
        next: ComponentStatus,
    ) -> Result<(), ReconcileError> {
        let ready = next
            .conditions
            .iter()
            .any(|c| c.type_ == status::READY && c.status == "True");
        let metrics = self.shared.options.metrics.clone();
        metrics.set_ready(&self.component().name, ready);
        if *current == next && cr.data.get("status").is_some() {
            return Ok(());
        }
        let before = current.conditions.clone();
        if !write_status_fresh(&self.api, &self.resource, cr, current, next).await? {
            return Ok(());
        }
        if ready && let Some(applied_at) = self.applied_at.take() {
            metrics.observe_ready(&self.component().name, applied_at.elapsed());
        }
        if let Some(signal) = status::signal(&before, &current.conditions) {
            self.signal(cr, signal).await;
        }
        Ok(())
    }

    /// The event of a readiness change: Warning with the reason when the component stops
    /// being Ready or degrades, Normal when it becomes Ready.
    async fn signal(&self, cr: &DynamicObject, signal: Signal) {
        let (type_, reason, note) = match signal {
            Signal::Ready => (
                EventType::Normal,
                status::READY_REASON.to_string(),
                format!(
                    "{} is ready: every object is healthy",
                    self.component().name
                ),
            ),
            Signal::NotReady { reason, message } => (EventType::Warning, reason, message),
        };
        tracing::info!(
            component = %self.component().name,
            object = %self.name(),
            reason = %reason,
            "{note}"
        );
        self.publish(cr, type_, reason, &note).await;
    }

    /// The event of a new chart version applied in full: `Upgraded model-registry 0.2.0 →
    /// 0.3.0`. What the new version no longer renders was pruned by the same reconcile.
    async fn upgraded(&self, cr: &DynamicObject, from: &str) {
        let note = format!(
            "Upgraded {} {from} → {}",
            self.component().name,
            self.component().chart_version()
        );
        tracing::info!(
            component = %self.component().name,
            object = %self.name(),
            chart = %self.component().chart_name(),
            "{note}"
        );
        self.publish(cr, EventType::Normal, "Upgraded".to_string(), &note)
            .await;
    }

    /// The events and metrics of one reconcile's repairs: a Normal `DriftCorrected` per object
    /// put back, and a Warning `DriftLoop` when they start a fight (the status shows it too).
    async fn drift_corrected(&self, cr: &DynamicObject, repairs: &[Repair], fight_started: bool) {
        let component = &self.component().name;
        for repair in repairs {
            self.shared
                .options
                .metrics
                .drift_corrected(component, &repair.kind);
            let note = repair.note();
            tracing::info!(component = %component, object = %self.name(), "{note}");
            self.publish(cr, EventType::Normal, drift::DRIFT_CORRECTED.into(), &note)
                .await;
        }
        let fight = self.drift_loop.fight(tokio::time::Instant::now());
        if let Some(fight) = fight.filter(|_| fight_started) {
            tracing::warn!(component = %component, object = %self.name(), "{}", fight.message);
            let reason = status::DRIFT_LOOP.to_string();
            self.publish(cr, EventType::Warning, reason, &fight.message)
                .await;
        }
    }

    /// Reports a component failure: status, a Warning event, and an error for the backoff.
    async fn fail(
        &mut self,
        cr: &mut DynamicObject,
        current: &mut ComponentStatus,
        reason: Reason,
        message: String,
    ) -> Result<(), ReconcileError> {
        self.memory = Memory::default();
        let generation = cr.metadata.generation.unwrap_or_default();
        let outcome = Outcome {
            reason,
            message: message.clone(),
        };
        let next = self.status(
            current,
            &outcome,
            generation,
            current.render_digest.clone(),
            current.inventory.clone(),
        );
        self.write_status(cr, current, next).await?;
        self.event(cr, &message).await;
        Err(ReconcileError::Component { reason, message })
    }

    async fn event(&self, cr: &DynamicObject, message: &str) {
        let reason = "ProvisioningError".to_string();
        self.publish(cr, EventType::Warning, reason, message).await;
    }

    async fn publish(&self, cr: &DynamicObject, type_: EventType, reason: String, message: &str) {
        let reference = kube::Resource::object_ref(cr, &self.resource);
        let event = KubeEvent {
            type_,
            reason,
            // The events API caps notes at 1 kB.
            note: Some(truncate(message, 1000)),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        if let Err(e) = self.shared.recorder.publish(&event, &reference).await {
            tracing::warn!(error = %e, "publishing an event failed");
        }
    }

    fn subscribe(&self, plan: &Plan) {
        let snapshot = self.shared.cluster.snapshot();
        let rendered: Vec<ApiResource> = plan
            .all()
            .filter_map(|p| snapshot.resolve(&p.api_version, &p.kind).map(|(ar, _)| ar))
            .collect();
        let mut declared = Vec::new();
        let mut pending = std::collections::BTreeSet::new();
        for w in &self.component().watches {
            let api_version = if w.group.is_empty() {
                w.version.clone()
            } else {
                format!("{}/{}", w.group, w.version)
            };
            match snapshot.resolve(&api_version, &w.kind) {
                Some((ar, _)) => declared.push(ar),
                None => {
                    pending.insert((w.group.clone(), w.kind.clone()));
                }
            }
        }
        // A snapshot published before the pending kinds were recorded was judged without
        // them (see `watches::wake_when_served`): judge it here.
        let served = |latest: &Snapshot| pending.iter().any(|(g, k)| latest.serves(g, k));
        self.shared
            .watches
            .set_pending(&self.component().name, pending.clone());
        let latest = self.shared.cluster.snapshot();
        if !Arc::ptr_eq(&latest, &snapshot) && served(&latest) {
            self.trigger.wake();
        }
        self.shared
            .watches
            .subscribe(&self.component().name, &rendered, &declared);
    }

    fn forget(&mut self) {
        self.memory = Memory::default();
        self.drift_loop = LoopWatch::new(
            self.shared.options.drift_loop_limit,
            self.shared.options.drift_loop_window,
        );
        self.readiness.clear();
        self.applied_at = None;
        self.shared
            .watches
            .set_pending(&self.component().name, Default::default());
        self.trigger.set_desired(HashMap::new());
        self.shared
            .watches
            .subscribe(&self.component().name, &[], &[]);
    }
}

/// Wakes the controllers of the components that depend on `component` and of those it
/// depends on: a change in what their gates read about it may open one.
fn wake_neighbours(shared: &Shared, component: &str) {
    let registry = &shared.registry;
    let dependencies = registry
        .get(component)
        .map(|c| c.depends_on.clone())
        .unwrap_or_default();
    let dependents = registry
        .dependents(component)
        .into_iter()
        .map(|c| c.name.clone());
    for name in dependencies.into_iter().chain(dependents) {
        if let Some(trigger) = shared.triggers.get(&name) {
            trigger.wake();
        }
    }
}

/// A duration as Go prints the common ones (`10m0s`, `1h30m0s`, `45s`), as users write them.
pub(super) fn show_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// How many times a status write is tried while other writers keep changing the resource.
const STATUS_ATTEMPTS: u32 = 5;

/// Writes `next` as the status of `cr`, whose status read as `read`. The write carries the
/// resourceVersion read, so that a writer who changed the resource since (another replica
/// recording objects it is about to create, say) is never silently overwritten: the API server
/// answers 409, and the write is rebased on a fresh read ([`status::rebase`]) and tried
/// again, up to [`STATUS_ATTEMPTS`] times with a short backoff. A resource deleted or
/// replaced meanwhile (another uid) is left alone: the conflict fails the reconcile, whose
/// retry starts over from the new one. On success `cr` and `read` are what the API server
/// now holds; `Ok(false)` when the fresh read already showed what we meant to write.
async fn write_status_fresh(
    api: &Api<DynamicObject>,
    resource: &ApiResource,
    cr: &mut DynamicObject,
    read: &mut ComponentStatus,
    mut next: ComponentStatus,
) -> Result<bool, ReconcileError> {
    let name = cr.metadata.name.clone().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut delays = crate::backoff::conflict();
    let mut attempt = 1;
    loop {
        let body = json!({
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "metadata": {"name": name, "resourceVersion": cr.metadata.resource_version},
            "status": next,
        });
        match api.patch_status(&name, &params, &Patch::Apply(&body)).await {
            Ok(written) => {
                *cr = written;
                *read = next;
                return Ok(true);
            }
            Err(kube::Error::Api(e)) if e.code == 409 && attempt < STATUS_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(object = %name, attempt, "status write conflicted; reading again");
                tokio::time::sleep(delays.next().unwrap_or_default()).await;
                let fresh = api.get(&name).await?;
                if fresh.metadata.uid != cr.metadata.uid {
                    return Err(kube::Error::Api(e).into());
                }
                let status = status_of(&fresh).map_err(|source| ReconcileError::Status {
                    object: name.clone(),
                    source,
                })?;
                next = status::rebase(next, read, &status);
                *cr = fresh;
                *read = status;
                if *read == next {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The outcome of an apply that held objects back: the first one's reason, every message.
fn held_outcome(held: &[Held]) -> Option<Outcome> {
    let first = held.first()?;
    Some(Outcome {
        reason: first.reason,
        message: held
            .iter()
            .map(|h| h.message.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn applied(plan: &Plan) -> Outcome {
    Outcome {
        reason: Reason::ResourcesApplied,
        message: format!("{} objects applied", plan.crds.len() + plan.objects.len()),
    }
}

/// What the written objects' answers show was put back, of the drifted ones read before the
/// apply (`before`). CRDs are left out: their repair is not reported.
fn repairs(
    plan: &Plan,
    before: &HashMap<ObjectKey, Option<DynamicObject>>,
    bodies: &[(InventoryEntry, DynamicObject)],
) -> Vec<Repair> {
    let planned: HashMap<ObjectKey, &Planned> = plan.objects.iter().map(|p| (key(p), p)).collect();
    bodies
        .iter()
        .filter_map(|(entry, after)| {
            let k = readiness::key_of(entry);
            let before = before.get(&k)?;
            Repair::judge(planned.get(&k)?, before.as_ref(), after)
        })
        .collect()
}

pub(super) fn key(p: &Planned) -> ObjectKey {
    (
        p.group_version().0.to_string(),
        p.kind.clone(),
        p.namespace.clone(),
        p.name.clone(),
    )
}

fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 409 || s.code == 429 || s.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Creates the namespace when it is missing; a read when it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), ReconcileError> {
    let api: Api<Namespace> = Api::all(client.clone());
    if api.get_metadata_opt(name).await?.is_some() {
        return Ok(());
    }
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + CRD_ESTABLISH_TIMEOUT;
    loop {
        let established = api
            .get_opt(name)
            .await
            .map_err(|e| format!("CustomResourceDefinition {name}: {e}"))?
            .is_some_and(|crd| crate::api::is_established(&crd));
        if established {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "CustomResourceDefinition {name} is not Established after {}s",
                CRD_ESTABLISH_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(status: Option<Json>) -> DynamicObject {
        let mut data = json!({"spec": {}});
        if let Some(status) = status {
            data["status"] = status;
        }
        DynamicObject {
            types: None,
            metadata: kube::api::ObjectMeta::default(),
            data,
        }
    }

    /// Only a missing status is empty; one that does not parse must not become an empty
    /// inventory, which would prune nothing and forget every object.
    #[test]
    fn an_unparsable_status_is_an_error_not_an_empty_inventory() {
        let empty = ComponentStatus::default();
        assert_eq!(status_of(&resource(None)).ok(), Some(empty.clone()));
        assert_eq!(status_of(&resource(Some(Json::Null))).ok(), Some(empty));
        let entry = json!({"group": "", "version": "v1", "kind": "ConfigMap",
                           "namespace": "ns", "name": "a"});
        let listed = status_of(&resource(Some(json!({"inventory": [entry]}))));
        assert_eq!(listed.map(|s| s.inventory.len()).ok(), Some(1));
        assert!(status_of(&resource(Some(json!({"inventory": "not a list"})))).is_err());
        assert!(status_of(&resource(Some(json!({"observedGeneration": "x"})))).is_err());
    }

    /// The API server's answer to a status apply whose resourceVersion another writer had
    /// moved on, in kube-apiserver's words.
    const CONFLICT: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on webapps.components.platform.opendatahub.io \"default-webapp\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"default-webapp","group":"components.platform.opendatahub.io","kind":"webapps"},"code":409}"#;

    fn webapps() -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(
                "components.platform.opendatahub.io",
                "v1alpha1",
                "WebApp",
            ),
            "webapps",
        )
    }

    fn cm(name: &str) -> InventoryEntry {
        InventoryEntry {
            version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "apps".into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn webapp(uid: &str, rv: &str, inventory: &[InventoryEntry]) -> Json {
        json!({
            "apiVersion": "components.platform.opendatahub.io/v1alpha1",
            "kind": "WebApp",
            "metadata": {"name": "default-webapp", "uid": uid, "resourceVersion": rv},
            "spec": {},
            "status": {"inventory": inventory},
        })
    }

    /// Every request the fake API server got: method and body.
    type Recorded = Arc<std::sync::Mutex<Vec<(String, Json)>>>;

    /// A fake API server: each PATCH is answered by `patch(n, body)` (n counts from 1), each
    /// GET with `fresh`; every request is recorded as (method, body).
    fn fake(
        fresh: Json,
        patch: impl Fn(usize, &Json) -> (u16, String) + Send + Sync + 'static,
    ) -> (kube::Client, Recorded) {
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        let patch = Arc::new(patch);
        let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let (seen, patch, fresh) = (seen.clone(), patch.clone(), fresh.clone());
            async move {
                let method = req.method().to_string();
                let bytes = http_body_util::BodyExt::collect(req.into_body())
                    .await
                    .expect("request body")
                    .to_bytes();
                let body: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
                let patches = {
                    let mut seen = seen.lock().expect("not poisoned");
                    seen.push((method.clone(), body.clone()));
                    seen.iter().filter(|(m, _)| m == "PATCH").count()
                };
                let (code, answer) = if method == "PATCH" {
                    patch(patches, &body)
                } else {
                    (200, fresh.to_string())
                };
                let response = http::Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(kube::client::Body::from(answer.into_bytes()))
                    .expect("response");
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        (kube::Client::new(service, "default"), requests)
    }

    /// A 409 on a status write is no failure: the resource is read again, our status is
    /// rebased on what the other writer left (its inventory additions kept) and written with
    /// the fresh resourceVersion.
    #[tokio::test]
    async fn a_conflicting_status_write_is_read_again_and_retried() {
        let fresh = webapp("u1", "7", &[cm("a"), cm("z")]);
        let (client, requests) = fake(fresh.clone(), |n, body| match n {
            1 => (409, CONFLICT.to_string()),
            _ => {
                let mut written = webapp("u1", "8", &[]);
                written["status"] = body["status"].clone();
                (200, written.to_string())
            }
        });
        let ar = webapps();
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        let mut cr: DynamicObject =
            serde_json::from_value(webapp("u1", "5", &[cm("a")])).expect("object");
        let mut read = status_of(&cr).expect("status");
        let next = ComponentStatus {
            inventory: vec![cm("a"), cm("c")],
            render_digest: "ours".into(),
            ..Default::default()
        };
        let written = write_status_fresh(&api, &ar, &mut cr, &mut read, next).await;
        assert!(matches!(written, Ok(true)), "{written:?}");
        let requests = requests.lock().expect("not poisoned").clone();
        let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(methods, ["PATCH", "GET", "PATCH"]);
        assert_eq!(requests[0].1["metadata"]["resourceVersion"], "5");
        assert_eq!(requests[2].1["metadata"]["resourceVersion"], "7");
        assert_eq!(
            requests[2].1["status"]["inventory"],
            json!([cm("a"), cm("c"), cm("z")])
        );
        assert_eq!(cr.metadata.resource_version.as_deref(), Some("8"));
        assert_eq!(read.inventory, [cm("a"), cm("c"), cm("z")]);
        assert_eq!(read.render_digest, "ours");
    }

    /// Retries are bounded: a resource that conflicts every time fails the write (the
    /// reconcile then backs off), and one replaced by another of the same name is not
    /// written at all.
    #[tokio::test]
    async fn status_writes_give_up_on_endless_conflicts_and_on_a_replaced_resource() {
        let ar = webapps();
        let original: DynamicObject =
            serde_json::from_value(webapp("u1", "5", &[])).expect("object");
        let next = ComponentStatus {
            render_digest: "ours".into(),
            ..Default::default()
        };
        for (fresh, patches) in [
            (webapp("u1", "7", &[cm("z")]), STATUS_ATTEMPTS as usize),
            (webapp("u2", "7", &[]), 1),
        ] {
            let (client, requests) = fake(fresh, |_, _| (409, CONFLICT.to_string()));
            let api: Api<DynamicObject> = Api::all_with(client, &ar);
            let mut cr = original.clone();
            let mut read = status_of(&cr).expect("status");
            let written = write_status_fresh(&api, &ar, &mut cr, &mut read, next.clone()).await;
            assert!(
                matches!(&written, Err(ReconcileError::Kube(kube::Error::Api(e))) if e.code == 409),
                "{written:?}"
            );
            let requests = requests.lock().expect("not poisoned");
            assert_eq!(
                requests.iter().filter(|(m, _)| m == "PATCH").count(),
                patches
            );
        }
    }
}
