//! Helm charts: loading archives and directories, and processing dependencies.
//!
//! Loading follows Helm's `pkg/chart/loader`: an archive's top-level directory is stripped, every
//! entry is classified by its path (Chart.yaml, values.yaml, values.schema.json, templates/,
//! charts/, everything else kept for `.Files`), and subcharts under `charts/` are loaded
//! recursively whether they are nested `.tgz` archives or directories.

mod archive;
mod ignore;
mod metadata;
pub mod semver;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

pub use archive::{MAX_DECOMPRESSED_ARCHIVE_SIZE, MAX_DECOMPRESSED_CHART_SIZE, MAX_DIR_FILE_SIZE};
pub use metadata::{Dependency, ImportValue, Maintainer, Metadata};

use crate::engine::ParsedAhead;
use crate::value::{Map, MapRef, Value};
use archive::Budget;

/// A file of a chart as Helm keeps it: the path inside the chart and the raw bytes (a leading
/// UTF-8 byte-order mark already stripped, as Helm does).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A template of a chart. Templates must be UTF-8 because the engine parses them as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The path inside the chart, e.g. `templates/deployment.yaml`.
    pub name: String,
    pub source: String,
}

/// The chart's `values.schema.json`, kept raw (for error messages) and parsed. The compiled
/// validator is built on first use and shared by every clone of the chart, so repeated
/// validations (one per admission request) do not recompile it.
#[derive(Debug, Clone)]
pub struct Schema {
    pub raw: Vec<u8>,
    pub json: serde_json::Value,
    compiled: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Schema {
    /// Like Helm, a schema that is not even JSON does not stop the chart from loading; it
    /// fails validation, and only if this chart's values are validated (i.e. it is enabled).
    pub fn new(raw: Vec<u8>) -> Schema {
        match serde_json::from_slice(&raw) {
            Ok(json) => Schema {
                raw,
                json,
                compiled: Arc::default(),
            },
            Err(e) => Schema {
                raw,
                json: serde_json::Value::Null,
                compiled: Arc::new(OnceLock::from(Err(format!("invalid JSON: {e}")))),
            },
        }
    }

    /// The compiled validator; the error says why the schema does not compile (an unknown
    /// draft, or a `$ref` to a remote document, which is never fetched).
    pub fn validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.compiled
            .get_or_init(|| jsonschema::validator_for(&self.json).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// A loaded chart. Cloning is cheap: the bulky parts (template sources, files, the schema and
/// the default values) are shared, because every render and every admission request works on
/// its own copy of the tree (dependency processing removes and renames subcharts).
#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// The chart's default values (always a map).
    pub values: Value,
    pub schema: Option<Arc<Schema>>,
    pub templates: Arc<Vec<Template>>,
    /// Every other file, as `.Files` sees it (includes `crds/`, README, `.helmignore`, …).
    pub files: Arc<Vec<ChartFile>>,
    /// Subcharts found under `charts/`; after `values::prepare` only the enabled ones,
    /// aliased ones renamed to their alias.
    pub dependencies: Vec<Chart>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{archive}: {message}")]
    Archive { archive: String, message: String },
    #[error("{archive}: {entry}: {message}")]
    Entry {
        archive: String,
        entry: String,
        message: String,
    },
    #[error("{chart}: {message}")]
    Invalid { chart: String, message: String },
    #[error("error unpacking subchart {subchart} in {parent}: {source}")]
    Subchart {
        subchart: String,
        parent: String,
        #[source]
        source: Box<ChartError>,
    },
}

/// Loads a chart from a `.tgz` archive or a directory, as `helm template PATH` does.
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    load_from(path, None)
}

/// [`load`], with the templates of a packaged chart parsed into `ahead` on another thread as
/// they come out of the archive, for a render that follows at once (`helm template`). The
/// chart's own templates only, named as the render names them; what is not parsed when the
/// chart is loaded is left to the render.
pub fn load_parsing_ahead(path: &Path, ahead: &ParsedAhead) -> Result<Chart, ChartError> {
    load_from(path, Some(ahead))
}

fn load_from(path: &Path, ahead: Option<&ParsedAhead>) -> Result<Chart, ChartError> {
    let meta = std::fs::metadata(path).map_err(|source| ChartError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        let files = archive::read_dir(path)?;
        load_files(
            &path.display().to_string(),
            files,
            0,
            &mut EarlyValues::default(),
            "",
            &mut Budget::default(),
        )
    } else {
        let bytes = std::fs::read(path).map_err(|source| ChartError::Io {
            path: path.display().to_string(),
            source,
        })?;
        load_archive_at(
            &path.display().to_string(),
            &bytes,
            0,
            &mut Budget::default(),
            ahead,
        )
    }
}

/// Loads a chart from the bytes of a gzip-compressed tar archive; `name` only labels errors.
pub fn load_archive(name: &str, bytes: &[u8]) -> Result<Chart, ChartError> {
    load_archive_at(name, bytes, 0, &mut Budget::default(), None)
}

fn load_archive_at(
    name: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
    ahead: Option<&ParsedAhead>,
) -> Result<Chart, ChartError> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let mut early = EarlyValues::default();
        let mut feed = ahead.and_then(|ahead| TemplateFeed::start(scope, ahead, &stop));
        let loaded = archive::read_archive(name, bytes, budget, &mut |file| {
            early.start(scope, file);
            if let Some(feed) = &mut feed {
                feed.offer(file);
            }
        })
        .and_then(|files| load_files(name, files, depth, &mut early, "", budget));
        // The chart is loaded (or refused): the thread parsing ahead stops after the template
        // it is parsing, and the render parses the rest on every core.
        stop.store(true, Ordering::Relaxed);
        loaded
    })
}

/// Hands a packaged chart's templates, as they are read, to a thread that parses them under
/// the names the render gives them (`<name in Chart.yaml>/templates/...`; packaged charts
/// put Chart.yaml first, and templates read before it are left to the render), until `stop`
/// is set or the feed is dropped and every template handed over is parsed.
struct TemplateFeed {
    chart_name: Option<String>,
    send: std::sync::mpsc::Sender<(String, Arc<str>)>,
}

impl TemplateFeed {
    fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        ahead: &'env ParsedAhead,
        stop: &'env AtomicBool,
    ) -> Option<Self> {
        let (send, receive) = std::sync::mpsc::channel::<(String, Arc<str>)>();
        std::thread::Builder::new()
            .spawn_scoped(scope, move || {
                for (name, source) in receive {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    ahead.parse(name, source);
                }
            })
            .ok()?;
        Some(TemplateFeed {
            chart_name: None,
            send,
        })
    }

    fn offer(&mut self, file: &ChartFile) {
        if file.name == "Chart.yaml" {
            self.chart_name = metadata::parse_chart_yaml(&file.data)
                .ok()
                .map(|meta| meta.name);
            return;
        }
        let Some(chart_name) = &self.chart_name else {
            return;
        };
        if !file.name.starts_with("templates/") {
            return;
        }
        if let Ok(source) = std::str::from_utf8(&file.data) {
            // A send fails only when the thread is gone: the render parses the template then.
            let _ = self
                .send
                .send((format!("{chart_name}/{}", file.name), Arc::from(source)));
        }
    }
}

/// Parsing a chart's `values.yaml` is about a third of loading it, and the file comes second
/// in a packaged chart, so it is parsed on another thread while the rest of the archive is
/// inflated. Keyed by the file's path in the archive (`values.yaml`, `charts/x/values.yaml`).
#[derive(Default)]
struct EarlyValues<'scope> {
    parsing: std::collections::HashMap<String, ParseJob<'scope>>,
    /// Paths seen more than once: each copy is parsed in line, in order, as before.
    repeated: std::collections::HashSet<String>,
}

type ParseJob<'scope> = std::thread::ScopedJoinHandle<'scope, Result<Value, String>>;

/// Values files parsed ahead per archive; a crafted archive with thousands of them gets the
/// rest parsed in line rather than thousands of threads.
const MAX_EARLY_VALUES: usize = 8;
/// Room for the parser and the merge on nested documents (up to the YAML depth limit).
const EARLY_STACK: usize = 4 << 20;

impl<'scope> EarlyValues<'scope> {
    fn start<'env>(&mut self, scope: &'scope std::thread::Scope<'scope, 'env>, file: &ChartFile) {
        let is_values = file.name == "values.yaml"
            || file
                .name
                .strip_suffix("/values.yaml")
                .is_some_and(is_dir_subchart_path);
        if !is_values || self.repeated.contains(&file.name) {
            return;
        }
        if self.parsing.remove(&file.name).is_some() {
            self.repeated.insert(file.name.clone());
            return;
        }
        if self.parsing.len() >= MAX_EARLY_VALUES {
            return;
        }
        let Ok(text) = String::from_utf8(file.data.clone()) else {
            return;
        };
        let job = std::thread::Builder::new()
            .stack_size(EARLY_STACK)
            .spawn_scoped(scope, move || chart_values(&text));
        if let Ok(job) = job {
            self.parsing.insert(file.name.clone(), job);
        }
    }

    /// The parsed values file at `path`, if it was parsed ahead.
    fn take(&mut self, path: &str) -> Option<Result<Value, String>> {
        self.parsing.remove(path)?.join().ok()
    }
}

/// Whether `dir` is a chart directory nested under `charts/` (`charts/a`, `charts/a/charts/b`).
fn is_dir_subchart_path(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.len().is_multiple_of(2) && parts.chunks(2).all(|pair| pair.first() == Some(&"charts"))
}

/// Subcharts nested deeper than this are refused: real charts stay within a handful of
/// levels, and a crafted archive-in-archive chain must not exhaust the stack.
pub const MAX_SUBCHART_DEPTH: usize = 32;

/// Builds a chart from its files (paths relative to the chart root), Helm's `LoadFiles`.
/// `early` holds values files already being parsed, by their path in the archive; `prefix`
/// is this chart's directory in it (`charts/x/` for a subchart directory); subchart archives
/// draw on `budget` with the archive they came in.
fn load_files(
    origin: &str,
    files: Vec<ChartFile>,
    depth: usize,
    early: &mut EarlyValues<'_>,
    prefix: &str,
    budget: &mut Budget,
) -> Result<Chart, ChartError> {
    let invalid = |message: String| ChartError::Invalid {
        chart: origin.to_string(),
        message,
    };
    if depth > MAX_SUBCHART_DEPTH {
        return Err(invalid(format!(
            "subcharts nested more than {MAX_SUBCHART_DEPTH} levels deep"
        )));
    }
    let chart_yaml = files
        .iter()
        .find(|f| f.name == "Chart.yaml")
        .ok_or_else(|| invalid("Chart.yaml file is missing".to_string()))?;
    let mut metadata = metadata::parse_chart_yaml(&chart_yaml.data)
        .map_err(|e| invalid(format!("cannot load Chart.yaml: {e}")))?;

    let mut values = Value::map(Map::new());
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut subcharts: std::collections::BTreeMap<String, Vec<ChartFile>> = Default::default();

    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" => {
                // Only its syntax matters for rendering, but Helm refuses a broken lock file.
                let text = std::str::from_utf8(&f.data)
                    .map_err(|_| invalid("cannot load Chart.lock: invalid UTF-8".to_string()))?;
                crate::yaml::parse_value(text)
                    .map_err(|e| invalid(format!("cannot load Chart.lock: {e}")))?;
            }
            "values.yaml" => {
                let parsed = match early.take(&format!("{prefix}values.yaml")) {
                    Some(parsed) => parsed,
                    None => {
                        let text = std::str::from_utf8(&f.data).map_err(|_| {
                            invalid("cannot load values.yaml: invalid UTF-8".to_string())
                        })?;
                        chart_values(text)
                    }
                };
                values = parsed.map_err(|e| invalid(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => schema = Some(Arc::new(Schema::new(f.data))),
            "requirements.yaml" => {
                let deps = metadata::parse_requirements(&f.data)
                    .map_err(|e| invalid(format!("cannot load requirements.yaml: {e}")))?;
                if let Some(deps) = deps {
                    metadata.dependencies = deps;
                }
                if metadata.api_version == "v1" {
                    other.push(f);
                }
            }
            "requirements.lock" => {
                if metadata.api_version == "v1" {
                    other.push(f);
                }
            }
            name if name.starts_with("templates/") => {
                let source = String::from_utf8(f.data).map_err(|e| ChartError::Entry {
                    archive: origin.to_string(),
                    entry: f.name.clone(),
                    message: format!(
                        "template is not valid UTF-8 (byte offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                })?;
                templates.push(Template {
                    name: f.name,
                    source,
                });
            }
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    other.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let (sub, inner) = rest.split_once('/').unwrap_or((rest, ""));
                let sub = sub.to_string();
                let inner = inner.to_string();
                subcharts.entry(sub.clone()).or_default().push(ChartFile {
                    name: if inner.is_empty() { sub } else { inner },
                    data: f.data,
                });
            }
            _ => other.push(f),
        }
    }
    metadata.validate().map_err(invalid)?;

    let mut dependencies = Vec::new();
    for (sub, files) in subcharts {
        if sub.starts_with('_') || sub.starts_with('.') {
            continue;
        }
        let wrap = |source: ChartError| ChartError::Subchart {
            subchart: sub.clone(),
            parent: metadata.name.clone(),
            source: Box::new(source),
        };
        let chart = if sub.ends_with(".tgz") {
            let Some(file) = files.into_iter().find(|f| f.name == sub) else {
                return Err(wrap(invalid(format!(
                    "error unpacking subchart tar: expected {sub}"
                ))));
            };
            load_archive_at(
                &format!("{origin}/charts/{sub}"),
                &file.data,
                depth + 1,
                budget,
                None,
            )
            .map_err(wrap)?
        } else {
            // A plain file directly in charts/ that is not an archive is not a chart.
            let inner: Vec<ChartFile> = files.into_iter().filter(|f| f.name != sub).collect();
            load_files(
                &format!("{origin}/charts/{sub}"),
                inner,
                depth + 1,
                early,
                &format!("{prefix}charts/{sub}/"),
                budget,
            )
            .map_err(wrap)?
        };
        dependencies.push(chart);
    }

    Ok(Chart {
        metadata,
        values,
        schema,
        templates: Arc::new(templates),
        files: Arc::new(other),
        dependencies,
    })
}

/// A values document as Helm loads it: empty or null means an empty map, anything but a map
/// is an error.
pub fn parse_values_text(text: &str) -> Result<Value, String> {
    match crate::yaml::parse_value(text).map_err(|e| e.to_string())? {
        Value::Nil => Ok(Value::map(Map::new())),
        v @ Value::Map(_) => Ok(v),
        other => Err(format!(
            "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::List(_) => "array",
                Value::String(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            }
        )),
    }
}

/// A chart's `values.yaml`: Helm 4.2 merges all of its YAML documents, later ones winning,
/// maps merged key by key.
///
/// The documents come from `crate::yaml::parse_value` today, which reads the first document;
/// the yaml module's multi-document reader slots in here.
fn chart_values(text: &str) -> Result<Value, String> {
    let documents = vec![parse_values_text(text)?];
    let mut merged = Map::new();
    for doc in &documents {
        if let Value::Map(m) = doc {
            merge_documents(&mut merged, &m.read());
        }
    }
    Ok(Value::map(merged))
}

/// Helm's loader `MergeMaps`: nested maps merge, anything else is replaced.
fn merge_documents(base: &mut Map, over: &Map) {
    for (k, v) in over {
        if let (Value::Map(ov), Some(Value::Map(bv))) = (v, base.get_mut(k)) {
            let mut entries = bv.entries();
            merge_documents(&mut entries, &ov.read());
            *bv = MapRef::new(entries);
            continue;
        }
        base.insert(k.clone(), v.clone());
    }
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Library charts contribute `define`s to their parents but render nothing themselves.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The CRD files of this chart (`crds/`), which Helm also keeps in `.Files`.
    pub fn crds(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| f.name.starts_with("crds/"))
    }

    /// Every template of the chart tree with the name the engine knows it by:
    /// `<chart>/templates/x.yaml`, and `<chart>/charts/<sub>/templates/x.yaml` for subcharts
    /// (by alias after dependency processing). Library charts are included because their
    /// `define`s must be visible; the renderer skips their output.
    pub fn all_templates(&self) -> Vec<(String, &Template, &Chart)> {
        let mut out = Vec::new();
        self.collect_templates(self.name(), &mut out);
        out
    }

    fn collect_templates<'a>(
        &'a self,
        prefix: &str,
        out: &mut Vec<(String, &'a Template, &'a Chart)>,
    ) {
        for t in self.templates.iter() {
            out.push((format!("{prefix}/{}", t.name), t, self));
        }
        for dep in &self.dependencies {
            dep.collect_templates(&format!("{prefix}/charts/{}", dep.name()), out);
        }
    }
}

#[cfg(test)]
mod tests;
