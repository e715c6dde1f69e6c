//! What makes a DataScienceCluster or a component resource acceptable, as pure functions of the
//! object and the registry (the singleton rule, which needs the cluster, is in the server).
//!
//! Each Managed component is checked the way Helm would treat its values: the merged values
//! (chart < platform < features < values) against the schemas of the chart and its enabled
//! subcharts, then, when those pass, a dry render so that `required`, `fail` and template
//! errors refuse as well, and so does output that is not Kubernetes YAML. Every problem is
//! collected so that one denial names them all, each under the field the user wrote
//! (`spec.components.<name>.values...` or `.features...`).
//!
//! The outcome for a component is a pure function of (component, prefix, features, values),
//! so it is cached under a digest of them: re-applying an unchanged DSC, as GitOps tools do
//! constantly, costs a hash instead of a render.
//!
//! Admission control for expensive renders: every dry render first runs within
//! [`ROUTINE_STEPS`], five times what the heaviest render of the corpus needs and hundreds
//! of times what the examples need. A render that exhausts it (a chart that `tpl`s a user's
//! value into a loop, or values that make a chart iterate a very long list) is retried with
//! the reconciler's full budget, but only in the single expensive slot, on a thread of its
//! own at the lowest scheduling priority. When that slot is taken the values are refused at
//! once, unchecked, with a message that says so and a 429: they might be fine, but the
//! webhook can afford to find out for only one such request at a time, and admitting values
//! it has not rendered would defeat `failurePolicy: Fail`. So runaway values, however many
//! arrive, cost a routine render each plus one low-priority thread; ordinary reviews never
//! wait for an expensive render, only (as any review does) for routine renders ahead of
//! them in the worker queue.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use serde::Deserialize as _;

use super::review::Verdict;
use crate::api::ManagementState;
use crate::registry::{Component, ComponentRenderError, Feature, JsonType, Registry, StanzaError};
use crate::sync::{lock, read, write};
use helm_render::engine::funcs::{OfflineLookup, SeededRandom};
use helm_render::engine::{Budget, DEFAULT_STEPS, Exhausted, ROUTINE_STEPS};
use helm_render::manifest::only_scalar_words_changed;
use helm_render::manifest::{ManifestError, parse_template};
use helm_render::render::{Capabilities, Release, RenderError, Rendered, Renderer};
use helm_render::values::Violation;

/// Each dry render's full limits: the reconciler's step budget, so that a render the webhook
/// allows never runs out in the reconciler, and a deadline well inside the webhook
/// configuration's `timeoutSeconds: 10`, so that a runaway chart is denied with a reason
/// instead of the API server timing out (and, with `failurePolicy: Fail`, refusing anyway).
pub const DRY_RENDER_BUDGET: Budget = Budget {
    steps: DEFAULT_STEPS,
    time: Some(std::time::Duration::from_secs(3)),
};

/// The first try of each dry render: a render that needs more counts as expensive and needs
/// the expensive slot.
const ROUTINE_BUDGET: Budget = Budget {
    steps: ROUTINE_STEPS,
    time: DRY_RENDER_BUDGET.time,
};

/// How many renders beyond [`ROUTINE_STEPS`] may run at once. The server gives its worker
/// pool this many workers beyond one per core, so that a review waiting on an expensive
/// render never takes a routine review's worker.
pub const EXPENSIVE_SLOTS: usize = 1;

/// The nice value of the thread an expensive render runs on, the lowest: against a routine
/// render on the same core it gets a weight of 15 to 1024, so it takes the CPU time that
/// routine reviews leave.
const EXPENSIVE_NICE: i32 = 19;

/// Beyond this many cached outcomes the cache starts over; outcomes are small, and a DSC
/// rarely has more than a few dozen distinct versions alive at once.
const CACHE_LIMIT: usize = 4096;

/// How the webhook checks values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// Dry-render each Managed component after its schemas pass.
    pub dry_render: bool,
    /// Reuse outcomes for identical input.
    pub cache: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            dry_render: true,
            cache: true,
        }
    }
}

type Outcome = Arc<Verdict>;

/// The cluster a dry render assumes (`.Capabilities`), shared between the validator and
/// whatever keeps it current ([`super::follow_cluster`]). Each change bumps a generation that
/// is part of every cache key, so a verdict reached under the old cluster is never served
/// under the new one, even if it was computed while the change happened.
pub struct ClusterView {
    current: RwLock<(u64, Arc<Capabilities>)>,
}

impl ClusterView {
    pub fn new(capabilities: Arc<Capabilities>) -> Arc<ClusterView> {
        Arc::new(ClusterView {
            current: RwLock::new((0, capabilities)),
        })
    }

    /// The generation and capabilities now in force.
    pub fn get(&self) -> (u64, Arc<Capabilities>) {
        read(&self.current).clone()
    }

    /// Installs freshly discovered capabilities; true when they differ from the current ones.
    pub fn update(&self, capabilities: Arc<Capabilities>) -> bool {
        let mut current = write(&self.current);
        if current.1.same_cluster(&capabilities) {
            return false;
        }
        *current = (current.0 + 1, capabilities);
        true
    }
}

/// What decides one Managed component's values: compute them (through the cache), or only
/// look them up.
type ValuesCheck<'a> = dyn FnMut(&Component, &str, &BTreeMap<String, Json>, &Json) -> Verdict + 'a;

/// Which rendered template texts are known to be Kubernetes YAML. Parsing a large chart's
/// output costs about half as much as rendering it, and an edit to the values usually
/// changes a few words of that output, not its structure. So each template's last parsed
/// text is kept, and a new text is parsed only when it is not that text with some scalar
/// words changed ([`only_scalar_words_changed`], which costs a byte comparison).
struct KnownManifests {
    parsed: Mutex<ParsedTexts>,
}

/// Per template, the last text that was parsed, and the bytes they hold together.
#[derive(Default)]
struct ParsedTexts {
    texts: HashMap<String, Arc<str>>,
    bytes: usize,
}

/// Beyond this many bytes of parsed texts the set starts over.
const PARSED_BYTES_LIMIT: usize = 32 << 20;

impl KnownManifests {
    fn new() -> Self {
        KnownManifests {
            parsed: Mutex::new(ParsedTexts::default()),
        }
    }

    /// The first template whose output is not Kubernetes YAML, as the reconciler would find.
    fn check(&self, rendered: &helm_render::render::Rendered) -> Result<(), ManifestError> {
        let mut manifests = Vec::new();
        for (source, text) in rendered {
            let last = lock(&self.parsed).texts.get(source).cloned();
            if last.is_some_and(|last| only_scalar_words_changed(&last, text)) {
                continue;
            }
            parse_template(source, text, &mut manifests)?;
            manifests.clear();
            lock(&self.parsed).remember(source, text);
        }
        Ok(())
    }
}

impl ParsedTexts {
    fn remember(&mut self, source: &str, text: &str) {
        if self.bytes + text.len() > PARSED_BYTES_LIMIT {
            *self = ParsedTexts::default();
        }
        self.bytes += text.len();
        if let Some(old) = self.texts.insert(source.to_string(), Arc::from(text)) {
            self.bytes -= old.len();
        }
    }
}

/// One component's dry renderers, sharing parsed templates.
struct DryRenderers {
    routine: Renderer,
    full: Renderer,
}

/// A component's outcome, and whether it may be cached: one that depends on the machine's
/// load (a deadline reached, the expensive slot taken) is computed again next time.
struct Computed {
    verdict: Verdict,
    lasting: bool,
}

impl From<Verdict> for Computed {
    fn from(verdict: Verdict) -> Self {
        Computed {
            verdict,
            lasting: true,
        }
    }
}

/// The registry plus what makes repeated validation cheap: renderers per component (so
/// templates are parsed once), the outcome cache, and the rendered texts known to be
/// Kubernetes YAML; and the expensive slot.
pub struct Validator {
    registry: Arc<Registry>,
    renderers: HashMap<String, DryRenderers>,
    /// Held by each render that goes beyond [`ROUTINE_STEPS`].
    expensive: tokio::sync::Semaphore,
    cluster: Arc<ClusterView>,
    namespace: String,
    checks: Checks,
    /// Outcomes by digest, all reached under one cluster generation.
    cache: Mutex<(u64, HashMap<[u8; 32], Outcome>)>,
    manifests: KnownManifests,
}

impl Validator {
    /// `namespace` is where the reconciler installs the charts (`.Release.Namespace`);
    /// `capabilities` what the dry render reports as the cluster.
    pub fn new(
        registry: Arc<Registry>,
        capabilities: Arc<Capabilities>,
        namespace: &str,
        checks: Checks,
    ) -> Self {
        Self::with_cluster(registry, ClusterView::new(capabilities), namespace, checks)
    }

    /// A validator whose dry renders follow `cluster` as it changes.
    pub fn with_cluster(
        registry: Arc<Registry>,
        cluster: Arc<ClusterView>,
        namespace: &str,
        checks: Checks,
    ) -> Self {
        let renderers = registry
            .components
            .iter()
            .map(|c| {
                let routine = Renderer::within(ROUTINE_BUDGET);
                let full = routine.sharing_templates(DRY_RENDER_BUDGET);
                (c.name.clone(), DryRenderers { routine, full })
            })
            .collect();
        Validator {
            registry,
            renderers,
            expensive: tokio::sync::Semaphore::new(EXPENSIVE_SLOTS),
            cluster,
            namespace: namespace.to_string(),
            checks,
            cache: Mutex::new((0, HashMap::new())),
            manifests: KnownManifests::new(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Takes the expensive slot as a render beyond the routine budget would, so that a test
    /// can see what a review meets while one runs.
    #[cfg(test)]
    pub(super) fn occupy_expensive_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.expensive.try_acquire().ok()
    }

    /// Checks a DataScienceCluster object (CREATE or UPDATE).
    pub fn validate_dsc(&self, object: &Json) -> Verdict {
        self.walk_dsc(object, &mut |c, p, f, v| self.check_values(c, p, f, v))
    }

    /// The verdict on a DataScienceCluster when every outcome it needs is already cached, so
    /// the server can answer without queueing behind uncached work; `None` on any miss.
    pub fn cached_dsc(&self, object: &Json) -> Option<Verdict> {
        self.lookup_only(|v, check| v.walk_dsc(object, check))
    }

    /// Checks a component's own resource, whose `spec` is the component's stanza; `kind` is the
    /// kind the request names. `None` when no registered component has that kind.
    pub fn validate_component(&self, kind: &str, object: &Json) -> Option<Verdict> {
        self.walk_component(kind, object, &mut |c, p, f, v| {
            self.check_values(c, p, f, v)
        })
    }

    /// Warnings for the fields `new` (the verdict on an UPDATE's object) would change that
    /// cannot change in place, against `old` (the verdict on the stored object).
    pub fn immutable_warnings(&self, old: &Verdict, new: &Verdict) -> Vec<String> {
        let mut out = Vec::new();
        for (prefix, (name, shape)) in &new.shapes {
            let Some((_, before)) = old.shapes.get(prefix).filter(|(n, _)| n == name) else {
                continue;
            };
            if let Some(component) = self.registry.get(name) {
                out.extend(super::immutable::warnings(component, prefix, before, shape));
            }
        }
        out
    }

    /// [`validate_component`](Self::validate_component) answered from the cache alone; `None`
    /// on a miss or for a kind no component has.
    pub fn cached_component(&self, kind: &str, object: &Json) -> Option<Verdict> {
        self.lookup_only(|v, check| v.walk_component(kind, object, check))
            .flatten()
    }

    /// Runs `walk` with cache lookups in place of computation; `None` when caching is off or
    /// any lookup missed.
    fn lookup_only<T>(&self, walk: impl FnOnce(&Self, &mut ValuesCheck<'_>) -> T) -> Option<T> {
        if !self.checks.cache {
            return None;
        }
        let mut missed = false;
        let out = walk(self, &mut |c, p, f, v| {
            self.cached(&digest(&c.name, p, f, v, self.checks, self.cluster.get().0))
                .unwrap_or_else(|| {
                    missed = true;
                    Verdict::default()
                })
        });
        (!missed).then_some(out)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Verdict> {
        let hit = lock(&self.cache).1.get(key).cloned()?;
        Some((*hit).clone())
    }

    fn walk_dsc(&self, object: &Json, check: &mut ValuesCheck<'_>) -> Verdict {
        let mut verdict = Verdict::default();
        let spec = match object.get("spec") {
            None | Some(Json::Null) => return verdict,
            Some(Json::Object(spec)) => spec,
            Some(other) => {
                verdict
                    .problems
                    .push(format!("spec: must be an object, not {}", json_type(other)));
                return verdict;
            }
        };
        for key in spec.keys().filter(|k| k.as_str() != "components") {
            verdict
                .warnings
                .push(format!("spec.{key}: unknown field, ignored"));
        }
        let components = match spec.get("components") {
            None | Some(Json::Null) => return verdict,
            Some(Json::Object(c)) => c,
            Some(other) => {
                verdict.problems.push(format!(
                    "spec.components: must be an object, not {}",
                    json_type(other)
                ));
                return verdict;
            }
        };
        for (name, stanza) in components {
            let prefix = format!("spec.components.{name}");
            match self.registry.get(name) {
                Some(component) => {
                    verdict.merge(self.check_stanza(component, &prefix, stanza, check))
                }
                None => verdict.problems.push(format!(
                    "{prefix}: unknown component; registered components: {}",
                    self.registered_names()
                )),
            }
        }
        verdict
            .problems
            .extend(unmet_dependencies(&self.registry, components));
        verdict
    }

    fn walk_component(
        &self,
        kind: &str,
        object: &Json,
        check: &mut ValuesCheck<'_>,
    ) -> Option<Verdict> {
        let component = self.registry.components.iter().find(|c| c.kind == kind)?;
        let stanza = object.get("spec").unwrap_or(&Json::Null);
        Some(self.check_stanza(component, "spec", stanza, check))
    }

    fn registered_names(&self) -> String {
        let names: Vec<&str> = self
            .registry
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    /// One component's stanza under `prefix`.
    fn check_stanza(
        &self,
        component: &Component,
        prefix: &str,
        stanza: &Json,
        check: &mut ValuesCheck<'_>,
    ) -> Verdict {
        let _span = tracing::debug_span!("component", component = %component.name).entered();
        let mut verdict = Verdict::default();
        let stanza = match stanza {
            Json::Null => return verdict,
            Json::Object(s) => s,
            other => {
                verdict.problems.push(format!(
                    "{prefix}: must be an object, not {}",
                    json_type(other)
                ));
                return verdict;
            }
        };
        for key in stanza.keys() {
            if !matches!(key.as_str(), "managementState" | "features" | "values") {
                verdict
                    .warnings
                    .push(format!("{prefix}.{key}: unknown field, ignored"));
            }
        }
        // The reconciler's own type decides: `""` is refused, as the CRD's enum refuses it.
        let state = stanza.get("managementState").unwrap_or(&Json::Null);
        let managed = match Option::<ManagementState>::deserialize(state) {
            Ok(state) => state == Some(ManagementState::Managed),
            Err(_) => {
                verdict.problems.push(format!(
                    "{prefix}.managementState: unsupported value {state}: must be {}",
                    ManagementState::ALL
                        .map(ManagementState::as_str)
                        .join(" or ")
                ));
                return verdict;
            }
        };
        let features = stanza.get("features").unwrap_or(&Json::Null);
        let values = stanza.get("values").unwrap_or(&Json::Null);
        if !managed {
            for (field, v) in [("features", features), ("values", values)] {
                if !is_empty(v) {
                    verdict.warnings.push(format!(
                        "{prefix}.{field}: ignored while {} is Removed; not validated",
                        component.name
                    ));
                }
            }
            return verdict;
        }
        let features = match features {
            Json::Null => BTreeMap::new(),
            Json::Object(f) => check_features(component, prefix, f, &mut verdict),
            other => {
                verdict.problems.push(format!(
                    "{prefix}.features: must be an object, not {}",
                    json_type(other)
                ));
                BTreeMap::new()
            }
        };
        // Values win over features (FR-005), so a feature whose path the values also set
        // has no effect; say so rather than let it look applied.
        for name in features.keys() {
            if let Some(f) = component.features.get(name)
                && has_path(values, f.segments())
            {
                verdict.warnings.push(format!(
                    "{prefix}.features.{name}: overridden by {prefix}.values.{}",
                    f.path
                ));
            }
        }
        if !matches!(values, Json::Null | Json::Object(_)) {
            verdict.problems.push(format!(
                "{prefix}.values: must be an object, not {}",
                json_type(values)
            ));
            return verdict;
        }
        verdict.merge(check(component, prefix, &features, values));
        verdict
    }

    /// Schema and dry-render outcome of valid features plus the stanza's values, cached.
    fn check_values(
        &self,
        component: &Component,
        prefix: &str,
        features: &BTreeMap<String, Json>,
        values: &Json,
    ) -> Verdict {
        if !self.checks.cache {
            return self
                .compute(component, prefix, features, values, &self.cluster.get().1)
                .verdict;
        }
        let (generation, capabilities) = self.cluster.get();
        let key = digest(
            &component.name,
            prefix,
            features,
            values,
            self.checks,
            generation,
        );
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        let Computed {
            verdict: outcome,
            lasting,
        } = self.compute(component, prefix, features, values, &capabilities);
        if !lasting {
            return outcome;
        }
        let mut cache = lock(&self.cache);
        let (cached_generation, entries) = &mut *cache;
        // Entries of an older cluster generation can never be hit again; an outcome reached
        // under one is not worth keeping.
        if generation > *cached_generation {
            entries.clear();
            *cached_generation = generation;
        }
        if generation == *cached_generation {
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(key, Arc::new(outcome.clone()));
        }
        drop(cache);
        outcome
    }

    fn compute(
        &self,
        component: &Component,
        prefix: &str,
        features: &BTreeMap<String, Json>,
        values: &Json,
        capabilities: &Arc<Capabilities>,
    ) -> Computed {
        let mut verdict = Verdict::default();
        let values_warning = |w: &String| format!("{prefix}.values: {w}");
        let prepared = match component.checked_values(features, values) {
            Ok(p) => p,
            Err(e) => {
                verdict.problems.extend(match &e {
                    ComponentRenderError::Stanza(e) => vec![stanza_problem(prefix, e)],
                    ComponentRenderError::Schema {
                        violations,
                        warnings,
                    } => {
                        verdict.warnings.extend(warnings.iter().map(values_warning));
                        violations
                            .iter()
                            .map(|v| violation_problem(component, prefix, features, values, v))
                            .collect()
                    }
                    other => vec![format!("{prefix}.values: {other}")],
                });
                return verdict.into();
            }
        };
        verdict
            .warnings
            .extend(prepared.warnings.iter().map(values_warning));
        if !self.checks.dry_render {
            return verdict.into();
        }
        let Some(renderers) = self.renderers.get(&component.name) else {
            return verdict.into();
        };
        let release = Release::install(&component.name, &self.namespace);
        let render = |renderer: &Renderer| {
            // Seeded per component: generated secrets do not change the verdict, and equal
            // input renders equally, which the cache relies on.
            let mut random = SeededRandom::new(component.name.as_bytes());
            renderer.render(
                &prepared.chart,
                &prepared.values,
                &release,
                capabilities,
                &OfflineLookup,
                &mut random,
            )
        };
        let rendered = match render(&renderers.routine) {
            Err(RenderError::Execute {
                template,
                ran_out: Some(Exhausted::Steps(_)),
                ..
            }) => match self.expensive.try_acquire() {
                Ok(_slot) => at_low_priority(|| render(&renderers.full)),
                Err(_) => {
                    verdict.busy = true;
                    verdict
                        .problems
                        .push(busy_problem(prefix, component, &template));
                    return Computed {
                        verdict,
                        lasting: false,
                    };
                }
            },
            other => other,
        };
        let rendered: Rendered = match rendered {
            Ok(rendered) => rendered,
            Err(e) => {
                // A render stopped by its deadline says the machine was busy, not that the
                // values are bad: the denial stands, but the next try renders again.
                let lasting = !matches!(
                    e,
                    RenderError::Execute {
                        ran_out: Some(Exhausted::Time(_)),
                        ..
                    }
                );
                verdict.problems.push(format!(
                    "{prefix}.values: chart {} refuses these values: {e}",
                    component.chart_name()
                ));
                return Computed { verdict, lasting };
            }
        };
        verdict.shapes.insert(
            prefix.to_string(),
            (
                component.name.clone(),
                Arc::new(super::immutable::shape_of(&rendered, &self.namespace)),
            ),
        );
        // The reconciler applies what the render wrote. A value that breaks the YAML (a
        // newline in an unquoted string, say) fails there, as `helm install` fails on it, so
        // it is refused here instead.
        if let Err(e) = self.manifests.check(&rendered) {
            verdict.problems.push(format!(
                "{prefix}.values: chart {} renders these values into something that is not Kubernetes YAML: {e}",
                component.chart_name()
            ));
        }
        verdict.into()
    }
}

/// The refusal of values whose render needs the expensive slot while it is taken: what was
/// not checked, why, and that trying again may succeed.
fn busy_problem(prefix: &str, component: &Component, template: &str) -> String {
    format!(
        "{prefix}.values: not checked, so refused: the dry render of chart {} with these \
         values needs more than {ROUTINE_STEPS} template steps (they ran out in {template}), \
         and the webhook renders only one such chart at a time, which another request is \
         doing now; try again shortly",
        component.chart_name()
    )
}

/// Runs `work` on a thread of its own at a lower scheduling priority ([`EXPENSIVE_NICE`]),
/// so that on a loaded machine an expensive render gets the CPU time routine reviews leave.
/// An unprivileged thread cannot raise its priority again, so the thread is a new one each
/// time rather than one of the runtime's pooled threads. When no thread can be started,
/// `work` runs here at the caller's priority; a panic goes on in the caller, as it would have
/// there.
fn at_low_priority<T: Send>(work: impl Fn() -> T + Sync) -> T {
    let work = &work;
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("expensive-render".into())
            .spawn_scoped(scope, move || {
                lower_priority();
                work()
            });
        match spawned {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => work(),
        }
    })
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority reads its three integer arguments, and
    // on Linux a thread id names that thread alone.
    let lowered = unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, EXPENSIVE_NICE)
    };
    if lowered != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "an expensive render runs at normal priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// The valid features of a stanza; each invalid one becomes a problem and is left out, so that
/// the values are still checked and every problem is reported at once.
/// A `Managed` component whose dependency is not `Managed` could never become Ready: one
/// problem per such pair, naming both and what the dependency is.
fn unmet_dependencies(
    registry: &Registry,
    components: &serde_json::Map<String, Json>,
) -> Vec<String> {
    let state = |name: &str| {
        components
            .get(name)
            .and_then(|stanza| stanza.get("managementState"))
            .and_then(Json::as_str)
    };
    let mut problems = Vec::new();
    for component in &registry.components {
        if state(&component.name) != Some(ManagementState::Managed.as_str()) {
            continue;
        }
        for dependency in &component.depends_on {
            let standing = match state(dependency) {
                Some(s) if s == ManagementState::Managed.as_str() => continue,
                Some(s) => format!("which is {s}"),
                None => format!(
                    "which is absent from spec.components (so {})",
                    ManagementState::Removed.as_str()
                ),
            };
            problems.push(format!(
                "spec.components.{}: depends on {dependency}, {standing}",
                component.name
            ));
        }
    }
    problems
}

fn check_features(
    component: &Component,
    prefix: &str,
    given: &serde_json::Map<String, Json>,
    verdict: &mut Verdict,
) -> BTreeMap<String, Json> {
    let mut valid = BTreeMap::new();
    for (name, value) in given {
        let path = format!("{prefix}.features.{name}");
        let Some(feature) = component.features.get(name) else {
            let declared: Vec<&str> = component.features.keys().map(String::as_str).collect();
            verdict.problems.push(format!(
                "{path}: unknown feature; {} declares {}",
                component.name,
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            ));
            continue;
        };
        match feature_problem(feature, value) {
            Some(reason) => verdict.problems.push(format!("{path}: {reason}")),
            None => {
                valid.insert(name.clone(), value.clone());
            }
        }
    }
    valid
}

/// What the CRD schema would say about a feature value; the webhook repeats it because
/// component resources and older CRDs may not carry every constraint.
fn feature_problem(feature: &Feature, value: &Json) -> Option<String> {
    if !feature.json_type.admits(value) {
        return Some(format!(
            "{value} is not of type {}",
            feature.json_type.as_str()
        ));
    }
    if let Some(allowed) = &feature.enum_values
        && !allowed.iter().any(|a| json_equal(a, value))
    {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Some(format!(
            "unsupported value {value}: must be one of {}",
            allowed.join(", ")
        ));
    }
    if let (Some(pattern), Json::String(s)) = (&feature.pattern, value)
        && regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(s))
    {
        return Some(format!("{value} does not match the pattern {pattern:?}"));
    }
    if matches!(feature.json_type, JsonType::Integer | JsonType::Number)
        && let Some(n) = value.as_f64()
    {
        if let Some(min) = feature.minimum
            && n < min
        {
            return Some(format!("{value} is less than the minimum {min}"));
        }
        if let Some(max) = feature.maximum
            && n > max
        {
            return Some(format!("{value} is greater than the maximum {max}"));
        }
    }
    None
}

fn json_equal(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn stanza_problem(prefix: &str, e: &StanzaError) -> String {
    match e {
        StanzaError::UnknownFeature { feature, .. } => {
            format!("{prefix}.features.{feature}: unknown feature")
        }
        StanzaError::FeatureType {
            feature,
            value,
            expected,
            ..
        } => format!("{prefix}.features.{feature}: {value} is not of type {expected}"),
        StanzaError::ValuesNotMap { found, .. } => {
            format!("{prefix}.values: must be an object, not {found}")
        }
        StanzaError::Values { source, .. } => format!("{prefix}.values: {source}"),
    }
}

/// A schema violation under the field the user wrote: the feature that set the value when the
/// stanza's values do not, else the values path.
fn violation_problem(
    component: &Component,
    prefix: &str,
    features: &BTreeMap<String, Json>,
    values: &Json,
    v: &Violation,
) -> String {
    let within = |base: &str| v.path == base || v.path.starts_with(&format!("{base}."));
    let from_feature = features.keys().find(|name| {
        component
            .features
            .get(*name)
            .is_some_and(|f| within(&f.path) && !has_path(values, f.path.split('.')))
    });
    let field = match from_feature {
        Some(name) => format!("{prefix}.features.{name}"),
        None if v.path.is_empty() => format!("{prefix}.values"),
        None => format!("{prefix}.values.{}", v.path),
    };
    format!("{field}: {}", v.message)
}

fn has_path<'a>(values: &Json, segments: impl Iterator<Item = &'a str>) -> bool {
    let mut cur = values;
    for seg in segments {
        match cur.get(seg) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// The cache key. JSON serialization is deterministic for equal documents (object keys are
/// sorted), and lengths are hashed so that no two inputs can run together.
fn digest(
    name: &str,
    prefix: &str,
    features: &BTreeMap<String, Json>,
    values: &Json,
    checks: Checks,
    cluster_generation: u64,
) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        name.as_bytes(),
        prefix.as_bytes(),
        &serde_json::to_vec(features).unwrap_or_default(),
        &serde_json::to_vec(values).unwrap_or_default(),
        &[u8::from(checks.dry_render)],
        &cluster_generation.to_le_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}
