//! The component registry: the umbrella `charts/Chart.yaml`, one packaged archive per
//! dependency in `charts/charts/`, and one descriptor per component in `charts/components/`.
//!
//! Everything is loaded and cross-checked once at startup (NFR-001). Any problem stops the
//! operator (FR-008); all problems are collected so that one run shows every broken file.

pub mod descriptor;
pub mod graph;
mod render;
pub mod upgrade;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use descriptor::{Descriptor, Feature, JsonType, Watch};
pub use render::{ComponentRenderError, RenderTarget, RenderedComponent};
pub use values::{StanzaError, component_values, overrides};

use helm_render::chart::semver::{Constraint, Version};
use helm_render::chart::{Chart, parse_values_text};
use helm_render::value::{Map, Value};

/// Where descriptors live, relative to the umbrella chart.
pub const DESCRIPTOR_DIR: &str = "components";
/// The platform overrides file, inside a chart archive or beside a descriptor.
pub const PLATFORM_VALUES: &str = "values.rhoai.yaml";

/// A registered component: a loaded chart plus what its descriptor declares.
#[derive(Debug, Clone)]
pub struct Component {
    /// The name under `spec.components` (the dependency alias, else its name).
    pub name: String,
    pub kind: String,
    pub description: String,
    pub chart: Chart,
    pub archive: PathBuf,
    pub descriptor_file: PathBuf,
    /// `values.rhoai.yaml` of the archive, overlaid by the one beside the descriptor.
    pub platform_values: Value,
    pub features: BTreeMap<String, Feature>,
    pub watches: Vec<Watch>,
    /// The descriptor's health rules, compiled.
    pub health: crate::health::Rules,
    /// Components that must be Ready before this one is first applied; all registered, no
    /// cycle (checked at load).
    pub depends_on: Vec<String>,
    /// How long this component waits for its dependencies before saying it timed out.
    pub readiness_timeout: std::time::Duration,
    /// What the component does when its chart changes a field the API server will not.
    pub upgrade_strategy: upgrade::UpgradeStrategy,
}

impl Component {
    pub fn chart_name(&self) -> &str {
        self.chart.name()
    }

    pub fn chart_version(&self) -> &str {
        &self.chart.metadata.version
    }

    /// The only allowed name of the component's cluster-scoped resource.
    pub fn singleton_name(&self) -> String {
        format!("default-{}", self.name)
    }
}

/// Every registered component, in the order of the umbrella chart's dependencies.
#[derive(Debug, Clone)]
pub struct Registry {
    pub root: PathBuf,
    pub components: Vec<Component>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Every component with what it depends on.
    pub fn edges(&self) -> graph::Edges {
        self.components
            .iter()
            .map(|c| (c.name.clone(), c.depends_on.clone()))
            .collect()
    }

    /// The components that depend on `name` directly.
    pub fn dependents(&self, name: &str) -> Vec<&Component> {
        self.components
            .iter()
            .filter(|c| c.depends_on.iter().any(|d| d == name))
            .collect()
    }

    /// One line per component: name, chart, version and kind, for `dsc-helm charts`.
    pub fn listing(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .components
            .iter()
            .map(|c| {
                [
                    c.name.clone(),
                    c.chart_name().to_string(),
                    c.chart_version().to_string(),
                    c.kind.clone(),
                ]
            })
            .collect();
        let header = [
            "COMPONENT".to_string(),
            "CHART".to_string(),
            "VERSION".to_string(),
            "KIND".to_string(),
        ];
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(line.join("   ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// One startup problem, naming the file at fault and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("{file}: cannot read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: cannot parse: {reason}")]
    Unparsable { file: String, reason: String },
    #[error("{file}: archive for dependency {dependency} {version} is missing")]
    MissingArchive {
        file: String,
        dependency: String,
        version: String,
    },
    #[error("{file}: corrupt chart archive: {reason}")]
    CorruptArchive { file: String, reason: String },
    #[error("{file}: holds chart {found}, but {required_by} requires {expected}")]
    Mismatch {
        file: String,
        found: String,
        expected: String,
        required_by: String,
    },
    #[error("{file}: component {name} is declared more than once (first in {first})")]
    DuplicateComponent {
        file: String,
        name: String,
        first: String,
    },
    #[error("{file}: kind {kind} is already used by component {other}")]
    DuplicateKind {
        file: String,
        kind: String,
        other: String,
    },
    #[error("{file}: dependency {dependency} is not listed in {umbrella}")]
    UnknownDependency {
        file: String,
        dependency: String,
        umbrella: String,
    },
    #[error("{file}: dependency {dependency} has no descriptor in {dir}")]
    MissingDescriptor {
        file: String,
        dependency: String,
        dir: String,
    },
    #[error(
        "{file}: feature {feature}: path {path} is neither in the values nor in the values.schema.json of chart {chart}"
    )]
    FeaturePathMissing {
        file: String,
        feature: String,
        path: String,
        chart: String,
    },
    /// `conflict` names the chart file and what it holds at the path.
    #[error("{file}: feature {feature}: {declared} contradicts {conflict}")]
    FeatureType {
        file: String,
        feature: String,
        declared: String,
        conflict: String,
    },
    #[error(
        "{file}: dependsOn: {dependency} is not a registered component; registered: {registered}"
    )]
    UnknownDependsOn {
        file: String,
        dependency: String,
        registered: String,
    },
    #[error("{file}: dependsOn: component {component} depends on itself")]
    SelfDependency { file: String, component: String },
    #[error("{file}: dependsOn: dependency cycle {cycle}")]
    DependencyCycle { file: String, cycle: String },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
}

/// Every problem found while loading the registry; shown one per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError(pub Vec<RegistryError>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

#[derive(Debug, Deserialize)]
struct Umbrella {
    #[serde(default)]
    dependencies: Vec<UmbrellaDependency>,
}

#[derive(Debug, Deserialize)]
struct UmbrellaDependency {
    name: String,
    version: String,
    #[serde(default)]
    alias: String,
}

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    dependencies: Vec<LockEntry>,
}

#[derive(Debug, Deserialize)]
struct LockEntry {
    name: String,
    version: String,
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|e| RegistryError::Unreadable {
        file: show(path),
        reason: e.to_string(),
    })?;
    let value = helm_render::yaml::parse_value(&text).map_err(|e| RegistryError::Unparsable {
        file: show(path),
        reason: e.to_string(),
    })?;
    serde_json::from_value(value.to_json()).map_err(|e| RegistryError::Unparsable {
        file: show(path),
        reason: e.to_string(),
    })
}

/// Loads the registry rooted at the umbrella chart directory (normally `charts/`).
pub fn load(root: &Path) -> Result<Registry, LoadError> {
    let mut errors = Vec::new();
    let umbrella_file = root.join("Chart.yaml");
    let umbrella: Umbrella = read_yaml(&umbrella_file).map_err(|e| LoadError(vec![e]))?;
    let lock_file = root.join("Chart.lock");
    let lock: Option<Lock> = if lock_file.exists() {
        match read_yaml(&lock_file) {
            Ok(l) => Some(l),
            Err(e) => return Err(LoadError(vec![e])),
        }
    } else {
        None
    };

    let descriptors = read_descriptors(root, &mut errors);

    let mut components: Vec<Component> = Vec::new();
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    for dep in &umbrella.dependencies {
        let name = if dep.alias.is_empty() {
            dep.name.clone()
        } else {
            dep.alias.clone()
        };
        if seen.insert(name.clone(), ()).is_some() {
            errors.push(RegistryError::DuplicateComponent {
                file: show(&umbrella_file),
                name,
                first: show(&umbrella_file),
            });
            continue;
        }
        let locked = lock
            .as_ref()
            .and_then(|l| l.dependencies.iter().find(|e| e.name == dep.name));
        let (chart, archive) = match load_dependency(root, &umbrella_file, &lock_file, dep, locked)
        {
            Ok(c) => c,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some((descriptor_file, desc)) = descriptors.get(&name) else {
            errors.push(RegistryError::MissingDescriptor {
                file: show(&umbrella_file),
                dependency: name,
                dir: show(&root.join(DESCRIPTOR_DIR)),
            });
            continue;
        };
        if let Some(other) = kinds.get(&desc.kind) {
            errors.push(RegistryError::DuplicateKind {
                file: show(descriptor_file),
                kind: desc.kind.clone(),
                other: other.clone(),
            });
            continue;
        }
        kinds.insert(desc.kind.clone(), name.clone());
        match build_component(name, chart, &archive, descriptor_file, desc) {
            Ok(c) => components.push(c),
            Err(mut e) => errors.append(&mut e),
        }
    }
    errors.extend(dependency_problems(&descriptors, &seen));
    for (name, (file, _)) in &descriptors {
        if !seen.contains_key(name) {
            errors.push(RegistryError::UnknownDependency {
                file: show(file),
                dependency: name.clone(),
                umbrella: show(&umbrella_file),
            });
        }
    }
    if errors.is_empty() {
        Ok(Registry {
            root: root.to_path_buf(),
            components,
        })
    } else {
        Err(LoadError(errors))
    }
}

/// The `dependsOn` problems of the descriptors of the umbrella chart's components (`seen`),
/// each reported against the descriptor that has it.
fn dependency_problems(
    descriptors: &BTreeMap<String, (PathBuf, Descriptor)>,
    seen: &BTreeMap<String, ()>,
) -> Vec<RegistryError> {
    let edges: graph::Edges = seen
        .keys()
        .map(|name| {
            let deps = descriptors
                .get(name)
                .map(|(_, d)| d.depends_on.clone())
                .unwrap_or_default();
            (name.clone(), deps)
        })
        .collect();
    let file_of = |component: &str| {
        descriptors
            .get(component)
            .map(|(f, _)| show(f))
            .unwrap_or_else(|| component.to_string())
    };
    let registered: Vec<&str> = seen.keys().map(String::as_str).collect();
    graph::problems(&edges)
        .into_iter()
        .map(|problem| {
            let file = file_of(problem.component());
            match problem {
                graph::GraphProblem::Unknown { dependency, .. } => {
                    RegistryError::UnknownDependsOn {
                        file,
                        dependency,
                        registered: registered.join(", "),
                    }
                }
                graph::GraphProblem::OnItself { component } => {
                    RegistryError::SelfDependency { file, component }
                }
                graph::GraphProblem::Cycle { cycle } => RegistryError::DependencyCycle {
                    file,
                    cycle: graph::show_cycle(&cycle),
                },
            }
        })
        .collect()
}

/// Descriptors by the dependency they describe; duplicates and unreadable files are reported.
fn read_descriptors(
    root: &Path,
    errors: &mut Vec<RegistryError>,
) -> BTreeMap<String, (PathBuf, Descriptor)> {
    let dir = root.join(DESCRIPTOR_DIR);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                (name.ends_with(".yaml") || name.ends_with(".yml"))
                    && !name.ends_with(PLATFORM_VALUES)
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            errors.push(RegistryError::Unreadable {
                file: show(&dir),
                reason: e.to_string(),
            });
            Vec::new()
        }
    };
    files.sort();
    let mut out: BTreeMap<String, (PathBuf, Descriptor)> = BTreeMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(RegistryError::Unreadable {
                    file: show(&file),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let desc = match descriptor::parse(&text) {
            Ok(d) => d,
            Err(reason) => {
                errors.push(RegistryError::Unparsable {
                    file: show(&file),
                    reason,
                });
                continue;
            }
        };
        if let Some((first, _)) = out.get(&desc.dependency) {
            errors.push(RegistryError::DuplicateComponent {
                file: show(&file),
                name: desc.dependency.clone(),
                first: show(first),
            });
            continue;
        }
        out.insert(desc.dependency.clone(), (file, desc));
    }
    out
}

/// The archive path of a dependency and the exact version it must hold, if one is known.
fn chart_archive(
    root: &Path,
    dep: &UmbrellaDependency,
    locked: Option<&LockEntry>,
) -> (Option<String>, PathBuf) {
    let dir = root.join("charts");
    let exact = match locked {
        Some(l) => Some(l.version.clone()),
        None => Version::parse(&dep.version).map(|_| dep.version.clone()),
    };
    if let Some(v) = &exact {
        return (exact.clone(), dir.join(format!("{}-{v}.tgz", dep.name)));
    }
    // A version range: the newest archive of that chart whose version satisfies it.
    let constraint = Constraint::parse(&dep.version);
    let prefix = format!("{}-", dep.name);
    let best = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().to_str()?.to_string();
            let v = file
                .strip_prefix(&prefix)?
                .strip_suffix(".tgz")?
                .to_string();
            let parsed = Version::parse(&v)?;
            constraint
                .as_ref()
                .is_some_and(|c| c.matches(&parsed))
                .then_some((parsed, e.path()))
        })
        .max_by_key(|(v, _)| (v.major, v.minor, v.patch, v.pre.is_empty()));
    match best {
        Some((_, path)) => (None, path),
        None => (None, dir.join(format!("{}-{}.tgz", dep.name, dep.version))),
    }
}

fn load_dependency(
    root: &Path,
    umbrella_file: &Path,
    lock_file: &Path,
    dep: &UmbrellaDependency,
    locked: Option<&LockEntry>,
) -> Result<(Chart, PathBuf), RegistryError> {
    let (exact, path) = chart_archive(root, dep, locked);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RegistryError::MissingArchive {
                file: show(&path),
                dependency: dep.name.clone(),
                version: dep.version.clone(),
            });
        }
        Err(e) => {
            return Err(RegistryError::Unreadable {
                file: show(&path),
                reason: e.to_string(),
            });
        }
    };
    let chart = helm_render::chart::load_archive(&show(&path), &bytes).map_err(|e| {
        // The chart loader already prefixes its message with the archive name.
        let message = e.to_string();
        let prefix = format!("{}: ", show(&path));
        RegistryError::CorruptArchive {
            file: show(&path),
            reason: message
                .strip_prefix(&prefix)
                .unwrap_or(&message)
                .to_string(),
        }
    })?;
    let found = format!("{} {}", chart.name(), chart.metadata.version);
    let version_ok = match &exact {
        Some(v) => &chart.metadata.version == v,
        None => match (
            Constraint::parse(&dep.version),
            Version::parse(&chart.metadata.version),
        ) {
            (Some(c), Some(v)) => c.matches(&v),
            _ => false,
        },
    };
    if chart.name() != dep.name || !version_ok {
        let (expected, required_by) = match (locked, &exact) {
            (Some(l), _) => (format!("{} {}", l.name, l.version), show(lock_file)),
            (None, _) => (format!("{} {}", dep.name, dep.version), show(umbrella_file)),
        };
        return Err(RegistryError::Mismatch {
            file: show(&path),
            found,
            expected,
            required_by,
        });
    }
    if let Some(l) = locked
        && Constraint::parse(&dep.version)
            .zip(Version::parse(&l.version))
            .is_some_and(|(c, v)| !c.matches(&v))
    {
        return Err(RegistryError::Mismatch {
            file: show(lock_file),
            found: format!("{} {}", l.name, l.version),
            expected: format!("{} {}", dep.name, dep.version),
            required_by: show(umbrella_file),
        });
    }
    Ok((chart, path))
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= 55
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_kind(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_field_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks a descriptor against its chart and reads the platform overrides.
fn build_component(
    name: String,
    chart: Chart,
    archive: &Path,
    descriptor_file: &Path,
    desc: &Descriptor,
) -> Result<Component, Vec<RegistryError>> {
    let file = show(descriptor_file);
    let mut errors = Vec::new();
    let invalid = |reason: String| RegistryError::Invalid {
        file: file.clone(),
        reason,
    };
    if !is_dns_label(&name) {
        errors.push(invalid(format!(
            "component name {name:?} must be a lowercase DNS label of at most 55 characters"
        )));
    }
    if !is_kind(&desc.kind) {
        errors.push(invalid(format!(
            "kind {:?} must start with an uppercase letter and contain only letters and digits",
            desc.kind
        )));
    }
    for (fname, feature) in &desc.features {
        if let Err(e) = check_feature(&file, &chart, fname, feature) {
            errors.push(e);
        }
    }
    for w in &desc.watches {
        if !is_kind(&w.kind) || w.version.is_empty() {
            errors.push(invalid(format!(
                "watch {}/{} {:?} needs a version and a kind",
                w.group, w.version, w.kind
            )));
        }
    }
    let health = match crate::health::Rules::compile(&desc.health) {
        Ok(rules) => rules,
        Err(problems) => {
            errors.extend(problems.iter().map(|p| invalid(p.to_string())));
            crate::health::Rules::default()
        }
    };
    let readiness_timeout = match desc.readiness_timeout.as_deref() {
        None => descriptor::DEFAULT_READINESS_TIMEOUT,
        Some(text) => descriptor::parse_duration(text).unwrap_or_else(|reason| {
            errors.push(invalid(format!("readinessTimeout: {reason}")));
            descriptor::DEFAULT_READINESS_TIMEOUT
        }),
    };
    let upgrade_strategy = upgrade::UpgradeStrategy::from_spec(desc.upgrade_strategy.as_ref())
        .unwrap_or_else(|reason| {
            errors.push(invalid(format!("upgradeStrategy: {reason}")));
            upgrade::UpgradeStrategy::default()
        });
    let platform_values = match platform_values(&chart, archive, descriptor_file) {
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            Value::map(Map::new())
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Component {
        name,
        kind: desc.kind.clone(),
        description: desc.description.clone(),
        chart,
        archive: archive.to_path_buf(),
        descriptor_file: descriptor_file.to_path_buf(),
        platform_values,
        features: desc.features.clone(),
        watches: desc.watches.clone(),
        health,
        depends_on: desc.depends_on.clone(),
        readiness_timeout,
        upgrade_strategy,
    })
}

fn check_feature(
    file: &str,
    chart: &Chart,
    name: &str,
    feature: &Feature,
) -> Result<(), RegistryError> {
    let invalid = |reason: String| RegistryError::Invalid {
        file: file.to_string(),
        reason: format!("feature {name}: {reason}"),
    };
    if !is_field_name(name) {
        return Err(invalid(
            "a feature name must start with a lowercase letter and contain only letters and digits"
                .to_string(),
        ));
    }
    if feature.path.is_empty() || feature.segments().any(str::is_empty) {
        return Err(invalid(format!("invalid value path {:?}", feature.path)));
    }
    let mut in_values = Some(chart.values.clone());
    for seg in feature.segments() {
        in_values = in_values.and_then(|v| v.get(seg));
    }
    let mut in_schema = chart.schema.as_ref().map(|s| &s.json);
    for seg in feature.segments() {
        in_schema = in_schema
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(seg));
    }
    if in_values.is_none() && in_schema.is_none() {
        return Err(RegistryError::FeaturePathMissing {
            file: file.to_string(),
            feature: name.to_string(),
            path: feature.path.clone(),
            chart: chart.name().to_string(),
        });
    }
    let conflict =
        |declared: String, source_file: &str, found: String| RegistryError::FeatureType {
            file: file.to_string(),
            feature: name.to_string(),
            declared,
            conflict: format!(
                "{}/{source_file}, which has {found} at {}",
                chart.name(),
                feature.path
            ),
        };
    let type_error = |source_file: &str, found: String| {
        conflict(
            format!("type {}", feature.json_type.as_str()),
            source_file,
            found,
        )
    };
    if let Some(schema_type) = in_schema.and_then(|s| s.get("type")) {
        let types: Vec<&str> = match schema_type {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|t| t.as_str()).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() && !types.iter().any(|t| feature.json_type.fits(t)) {
            return Err(type_error(
                "values.schema.json",
                format!("type {}", types.join(" or ")),
            ));
        }
    }
    if let Some(v) = in_values
        && !v.is_nil()
        && !feature.json_type.admits(&v.to_json())
    {
        return Err(type_error("values.yaml", format!("{}", v.to_json())));
    }
    if let Some(allowed) = in_schema
        .and_then(|s| s.get("enum"))
        .and_then(|e| e.as_array())
        && let Some(bad) = feature
            .enum_values
            .iter()
            .flatten()
            .chain(&feature.default)
            .find(|v| !allowed.iter().any(|a| json_equal(a, v)))
    {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Err(conflict(
            format!("enum value {bad}"),
            "values.schema.json",
            format!("enum [{}]", allowed.join(", ")),
        ));
    }
    if let Some(d) = &feature.default
        && !feature.json_type.admits(d)
    {
        return Err(invalid(format!(
            "default {d} is not of type {}",
            feature.json_type.as_str()
        )));
    }
    if let Some(bad) = feature
        .enum_values
        .iter()
        .flatten()
        .find(|v| !feature.json_type.admits(v))
    {
        return Err(invalid(format!(
            "enum value {bad} is not of type {}",
            feature.json_type.as_str()
        )));
    }
    if let Some(p) = &feature.pattern
        && let Err(e) = regex::Regex::new(p)
    {
        return Err(invalid(format!("invalid pattern: {e}")));
    }
    Ok(())
}

/// JSON equality where `1` and `1.0` are the same number, as in JSON Schema.
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The archive's `values.rhoai.yaml` overlaid by the one beside the descriptor
/// (`components/<name>.values.rhoai.yaml`), so a platform can adjust a chart it did not build.
fn platform_values(
    chart: &Chart,
    archive: &Path,
    descriptor_file: &Path,
) -> Result<Value, RegistryError> {
    let mut docs = Vec::new();
    if let Some(f) = chart.files.iter().find(|f| f.name == PLATFORM_VALUES) {
        let origin = format!("{}:{}/{PLATFORM_VALUES}", show(archive), chart.name());
        let text = std::str::from_utf8(&f.data).map_err(|_| RegistryError::Unparsable {
            file: origin.clone(),
            reason: "invalid UTF-8".to_string(),
        })?;
        docs.push(
            parse_values_text(text).map_err(|reason| RegistryError::Unparsable {
                file: origin,
                reason,
            })?,
        );
    }
    let stem = descriptor_file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let beside = descriptor_file.with_file_name(format!("{stem}.{PLATFORM_VALUES}"));
    if beside.exists() {
        let text = std::fs::read_to_string(&beside).map_err(|e| RegistryError::Unreadable {
            file: show(&beside),
            reason: e.to_string(),
        })?;
        docs.push(
            parse_values_text(&text).map_err(|reason| RegistryError::Unparsable {
                file: show(&beside),
                reason,
            })?,
        );
    }
    helm_render::values::merge_user_values(&docs, &[], &[]).map_err(|e| RegistryError::Invalid {
        file: show(descriptor_file),
        reason: format!("platform values: {e}"),
    })
}

#[cfg(test)]
pub(crate) mod tests;
