//! Renders a prepared chart tree the way Helm's engine does: every template of the chart and
//! of its enabled subcharts is parsed into one template set (so `define`s are shared), each
//! chart sees its own scoped `.Values`, and the result maps every non-partial template path to
//! its text with `<no value>` removed.
//!
//! Parsing is the expensive half of a render and depends only on which charts are enabled, so
//! [`Renderer`] keeps parsed sets keyed by the list of template names: the operator's steady
//! state re-renders with new values without parsing again.

pub mod defaults;
mod glob;
pub mod objects;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::chart::Chart;
use crate::engine::funcs::{CallContext, Lookup, RandomSource};
use crate::engine::{
    Budget, Exhausted, TemplateError, Templates, helm_exec_message, helm_parse_message,
};
use crate::value::{Map, Value};
use crate::values::{self, ValuesError, Violation};
pub use objects::{Capabilities, HelmVersion, KubeVersion};
use objects::{ChartMetadata, Files};

/// Template output, keyed by full template path (`chart/charts/sub/templates/x.yaml`).
pub type Rendered = BTreeMap<String, String>;

/// `.Release` as `helm template` and a first install see it.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_install: bool,
    pub is_upgrade: bool,
}

impl Release {
    pub fn install(name: &str, namespace: &str) -> Self {
        Release {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), Value::str(&self.name));
        m.insert("Namespace".into(), Value::str(&self.namespace));
        m.insert("Revision".into(), Value::Int(self.revision));
        m.insert("IsInstall".into(), Value::Bool(self.is_install));
        m.insert("IsUpgrade".into(), Value::Bool(self.is_upgrade));
        m.insert("Service".into(), Value::str("Helm"));
        Value::map(m)
    }
}

/// A render failure, displayed as `helm template` reports it: a `required`/`fail` message as
/// `execution error at (FILE:LINE:COL): MESSAGE` (what the webhook hands back to users), other
/// errors in Go's words. The engine's error is kept whole in `error`.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{}", helm_parse_message(.template, .error))]
    Parse {
        template: String,
        error: TemplateError,
    },
    #[error("{}", helm_exec_message(.error))]
    Execute {
        template: String,
        error: TemplateError,
        /// Set when the render's budget ran out (the error is then the budget's, wherever in
        /// `include`s and `tpl`s it struck): a larger budget might render these values.
        ran_out: Option<Exhausted>,
    },
    #[error(
        "values nested more than {} levels deep cannot be rendered",
        crate::value::MAX_COPY_DEPTH
    )]
    ValuesTooDeep,
}

/// Why `helm template` would fail, in the order Helm checks.
#[derive(Debug, thiserror::Error)]
pub enum TemplateFailure {
    #[error(transparent)]
    Values(#[from] ValuesError),
    /// Worded as Helm's render reports it (violations grouped under their chart's name).
    #[error("{}", values::schema_error_message(.0).trim_end())]
    Schema(Vec<Violation>),
    #[error("chart requires kubeVersion: {wanted} which is incompatible with Kubernetes {kube}")]
    KubeVersion { wanted: String, kube: String },
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Where and as what a chart is rendered.
pub struct Target<'a> {
    pub release: &'a Release,
    pub capabilities: &'a Arc<Capabilities>,
    pub lookup: &'a dyn Lookup,
}

/// What [`template`] checks besides the engine, as `helm template` has them.
#[derive(Debug, Clone, Copy)]
pub struct TemplateChecks {
    /// `values.schema.json` of the chart and its subcharts (`--skip-schema-validation` off).
    pub schema: bool,
    /// The chart's `kubeVersion` range against the target cluster (Helm's install action
    /// checks it; Helm's engine alone does not).
    pub kube_version: bool,
}

/// A chart rendered by [`template`]: the chart tree as rendered (disabled subcharts removed,
/// aliases applied), whose CRDs `helm template --include-crds` prints, and the templates.
#[derive(Debug)]
pub struct Templated {
    pub chart: Chart,
    pub rendered: Rendered,
}

/// Everything `helm template` does after loading the chart: dependency processing and
/// coalescing with the user's values, schema validation, the `kubeVersion` check, then the
/// render. The one path from a chart and values to rendered templates for the CLI and the
/// conformance test; the operator's registry adds its values precedence in front of it.
pub fn template(
    renderer: &Renderer,
    chart: &Chart,
    user_values: Value,
    target: &Target<'_>,
    checks: TemplateChecks,
    random: &mut dyn RandomSource,
) -> Result<Templated, TemplateFailure> {
    let prepared = values::prepare(chart.clone(), user_values)?;
    let schema_checks = checks.schema.then(|| values::schema_checks(&prepared));
    let mut render = || {
        let wanted = &prepared.chart.metadata.kube_version;
        let kube = target.capabilities.kube_version();
        if checks.kube_version
            && !wanted.is_empty()
            && !crate::chart::semver::is_compatible_range(wanted, &kube.version)
        {
            return Err(TemplateFailure::KubeVersion {
                wanted: wanted.clone(),
                kube: kube.version.clone(),
            });
        }
        Ok(renderer.render(
            &prepared.chart,
            &prepared.values,
            target.release,
            target.capabilities,
            target.lookup,
            random,
        )?)
    };
    // Compiling a schema can cost as much as the render (a large schema, and the draft's
    // meta-schema it is checked against), so the checks run beside the render, on values
    // copied out before it; their verdict still comes first, as in Helm, which validates
    // before it renders. Nothing the render does is seen before the verdict: `template`
    // prints nothing, and its lookups are offline.
    let (violations, rendered) = match schema_checks {
        Some(schema_checks) if schema_checks.any_schema() => std::thread::scope(|scope| {
            let verdict = scope.spawn(move || schema_checks.run());
            let rendered = render();
            let violations = verdict
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (violations, rendered)
        }),
        Some(schema_checks) => (schema_checks.run(), render()),
        None => (Vec::new(), render()),
    };
    if !violations.is_empty() {
        return Err(TemplateFailure::Schema(violations));
    }
    let rendered = rendered?;
    Ok(Templated {
        chart: prepared.chart,
        rendered,
    })
}

/// One template to execute, with the chart context it runs in.
struct Job {
    name: String,
    base_path: String,
    /// Index of the chart's context in the render's contexts.
    chart: usize,
    partial: bool,
}

/// Helm's `action.TemplateName`: the release name `--name-template` renders to, a plain Go
/// template with Sprig's functions executed with no data (so `<no value>` stays in it, as in
/// Helm, and fails the release name check after).
pub fn template_name(
    name_template: &str,
    random: &mut dyn RandomSource,
) -> Result<String, NameTemplateError> {
    const NAME: &str = "name-template";
    let plain = |e: TemplateError| NameTemplateError(crate::engine::plain_template_message(&e));
    let mut templates = Templates::sprig_only();
    templates.parse(NAME, name_template).map_err(plain)?;
    let lookup = crate::engine::funcs::OfflineLookup;
    let mut ctx = CallContext::new(&lookup, random);
    templates
        .execute(NAME, &Value::Nil, &mut ctx)
        .map_err(plain)
}

/// A `--name-template` that does not parse or execute, in Go's words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NameTemplateError(String);

/// Parsed template sets by the list of their template names.
type ParsedSets = Mutex<HashMap<Vec<String>, Arc<Templates>>>;

/// Renders charts, reusing parsed template sets across renders of the same chart tree.
#[derive(Default)]
pub struct Renderer {
    parsed: Arc<ParsedSets>,
    budget: Budget,
    /// Templates parsed while the chart was loaded ([`crate::chart::load_parsing_ahead`]).
    ahead: Option<Arc<crate::engine::ParsedAhead>>,
}

impl Renderer {
    /// Renders within the default [`Budget`]: a step limit, no deadline.
    pub fn new() -> Self {
        Renderer::default()
    }

    /// A renderer that takes the parse of each template `ahead` parsed from there.
    pub fn with_parsed_ahead(self, ahead: Arc<crate::engine::ParsedAhead>) -> Self {
        Renderer {
            ahead: Some(ahead),
            ..self
        }
    }

    /// Each render may take `budget` (see [`crate::engine::Budget`]).
    pub fn within(budget: Budget) -> Self {
        Renderer {
            budget,
            ..Renderer::default()
        }
    }

    /// A renderer with another budget that shares this one's parsed templates, for a caller
    /// that renders the same charts under two budgets and should parse each chart once.
    pub fn sharing_templates(&self, budget: Budget) -> Self {
        Renderer {
            parsed: self.parsed.clone(),
            budget,
            ahead: self.ahead.clone(),
        }
    }

    /// Renders `chart` (already dependency-processed) with its coalesced `values`.
    pub fn render(
        &self,
        chart: &Chart,
        values: &Value,
        release: &Release,
        capabilities: &Arc<Capabilities>,
        lookup: &dyn Lookup,
        random: &mut dyn RandomSource,
    ) -> Result<Rendered, RenderError> {
        // Templates change maps in place, as Go's do; this render's own copy of the values
        // keeps those changes from the chart's defaults, which other renders share.
        let values = values.deep_copy().ok_or(RenderError::ValuesTooDeep)?;
        let globals = Globals {
            release: release.to_value(),
            capabilities: Value::Object(capabilities.clone()),
        };
        let mut jobs = Vec::new();
        let mut sources = Vec::new();
        let mut contexts = Vec::new();
        collect(
            chart,
            &values,
            "",
            true,
            &globals,
            &mut Collected {
                jobs: &mut jobs,
                sources: &mut sources,
                contexts: &mut contexts,
            },
        );
        // Helm parses deeper paths first and, at equal depth, in reverse lexical order, so
        // that a parent's `define` (parsed last) overrides a subchart's of the same name.
        let depths: Vec<usize> = jobs.iter().map(|j| slash_count(&j.name)).collect();
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            depths[b]
                .cmp(&depths[a])
                .then_with(|| jobs[b].name.cmp(&jobs[a].name))
        });
        let key: Vec<String> = order.iter().map(|&i| jobs[i].name.clone()).collect();
        let templates = self.templates_for(key, &order, &jobs, &sources)?;

        let mut ctx = CallContext::new(lookup, random);
        let mut session = templates.session_within(&mut ctx, self.budget);
        // Each template is written here, then copied out at its exact size: the buffer stays
        // in cache, and no output grows by reallocation. It starts as large as the largest
        // source, about what a template of CRDs prints, so that one is not written by
        // doubling either (what is reserved and never written costs no memory).
        let mut scratch = String::with_capacity(sources.iter().map(|s| s.len()).max().unwrap_or(0));
        let mut rendered = Rendered::new();
        for &i in &order {
            let job = &jobs[i];
            if job.partial {
                continue;
            }
            // Helm hands every template of a chart the same map, so what one template
            // changes with `set $ ...` is seen by the templates rendered after it.
            let data = &contexts[job.chart];
            if let Value::Map(map) = data {
                let mut template_info = Map::new();
                template_info.insert("Name".into(), Value::str(&job.name));
                template_info.insert("BasePath".into(), Value::str(&job.base_path));
                map.update(|m| m.insert("Template".into(), Value::map(template_info)));
            }
            scratch.clear();
            if let Err(error) = session.execute_shared(&job.name, data, &mut scratch) {
                return Err(RenderError::Execute {
                    template: job.name.clone(),
                    error,
                    ran_out: session.ran_out(),
                });
            }
            rendered.insert(
                job.name.clone(),
                crate::engine::strip_no_value(scratch.as_str().to_owned()),
            );
        }
        Ok(rendered)
    }

    fn templates_for(
        &self,
        key: Vec<String>,
        order: &[usize],
        jobs: &[Job],
        sources: &[&str],
    ) -> Result<Arc<Templates>, RenderError> {
        if let Some(found) = self.cached(&key) {
            return Ok(found);
        }
        let mut templates = Templates::new();
        let texts: Vec<(&str, &str)> = order
            .iter()
            .map(|&i| (jobs[i].name.as_str(), sources[i]))
            .collect();
        templates
            .parse_many_with(&texts, self.ahead.as_deref())
            .map_err(|(at, error)| RenderError::Parse {
                template: texts[at].0.to_string(),
                error,
            })?;
        let templates = Arc::new(templates);
        if let Ok(mut cache) = self.parsed.lock() {
            cache.insert(key, templates.clone());
        }
        Ok(templates)
    }

    fn cached(&self, key: &[String]) -> Option<Arc<Templates>> {
        self.parsed.lock().ok()?.get(key).cloned()
    }
}

/// What every chart of the tree shares.
struct Globals {
    release: Value,
    capabilities: Value,
}

fn slash_count(name: &str) -> usize {
    name.bytes().filter(|&b| b == b'/').count()
}

/// Where [`collect`] gathers the render's work.
struct Collected<'r, 'c> {
    jobs: &'r mut Vec<Job>,
    sources: &'r mut Vec<&'c str>,
    contexts: &'r mut Vec<Value>,
}

/// Walks the chart tree depth-first, building each chart's context (Helm's `recAllTpls`) and
/// the jobs for its templates. Returns the chart's context for its parent's `.Subcharts`.
fn collect<'c>(
    chart: &'c Chart,
    scoped_values: &Value,
    parent_path: &str,
    is_root: bool,
    globals: &Globals,
    out: &mut Collected<'_, 'c>,
) -> Value {
    let name = &chart.metadata.name;
    let full_path = if is_root {
        name.clone()
    } else {
        format!("{parent_path}/charts/{name}")
    };
    let values = match scoped_values {
        Value::Map(_) => scoped_values.clone(),
        _ => Value::map(Map::new()),
    };
    let mut subcharts = Map::new();
    for child in &chart.dependencies {
        let child_values = values
            .get(&child.metadata.name)
            .filter(|v| matches!(v, Value::Map(_)))
            .unwrap_or_else(|| Value::map(Map::new()));
        let child_context = collect(child, &child_values, &full_path, false, globals, out);
        subcharts.insert(child.metadata.name.clone(), child_context);
    }

    let mut context = Map::new();
    context.insert(
        "Chart".into(),
        Value::Object(Arc::new(ChartMetadata::new(&chart.metadata, is_root))),
    );
    context.insert(
        "Files".into(),
        Value::Object(Arc::new(Files::new(chart.files.clone()))),
    );
    context.insert("Release".into(), globals.release.clone());
    context.insert("Capabilities".into(), globals.capabilities.clone());
    context.insert("Values".into(), values);
    context.insert("Subcharts".into(), Value::map(subcharts));
    let context = Value::map(context);
    let chart_index = out.contexts.len();
    out.contexts.push(context.clone());

    let library = chart.metadata.chart_type.eq_ignore_ascii_case("library");
    let base_path = format!("{full_path}/templates");
    for template in chart.templates.iter() {
        let partial = template
            .name
            .rsplit('/')
            .next()
            .is_some_and(|base| base.starts_with('_'));
        if library && !partial {
            continue;
        }
        out.jobs.push(Job {
            name: format!("{full_path}/{}", template.name),
            base_path: base_path.clone(),
            chart: chart_index,
            partial,
        });
        out.sources.push(template.source.as_str());
    }
    context
}

#[cfg(test)]
mod tests;
