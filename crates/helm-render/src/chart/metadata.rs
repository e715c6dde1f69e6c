//! `Chart.yaml` (and the v1 `requirements.yaml`) as Helm decodes them.
//!
//! Helm unmarshals Chart.yaml with sigs.k8s.io/yaml into typed Go fields. A scalar given for a
//! string field is converted to its string form, so `appVersion: 1.10` becomes `"1.1"` and
//! `version: 2` becomes `"2"`; a list or map where a string belongs is an error.

use crate::value::Value;

use super::semver;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// One `import-values` entry of a dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportValue {
    /// `- data`: imports the child's `exports.data` table into the parent's root.
    Exports(String),
    /// `- child: a.b, parent: c`: imports the child's table `a.b` at the parent's path `c`.
    Map { child: String, parent: String },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<ImportValue>,
    pub alias: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: Vec<(String, String)>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    /// `application`, `library`, or empty (treated as application).
    pub chart_type: String,
}

fn parse_doc(data: &[u8], what: &str) -> Result<Value, String> {
    let text = std::str::from_utf8(data).map_err(|_| format!("{what} is not valid UTF-8"))?;
    let v = crate::yaml::parse_value(text).map_err(|e| e.to_string())?;
    match v {
        Value::Map(_) | Value::Nil => Ok(v),
        other => Err(format!(
            "error unmarshaling JSON: cannot unmarshal {} into Go value of type {what}",
            json_kind(&other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

/// A scalar converted as sigs.k8s.io/yaml does for a Go `string` field.
fn string_field(v: Option<&Value>, field: &str) -> Result<String, String> {
    match v {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Int(i)) => Ok(i.to_string()),
        Some(Value::Float(f)) => {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Ok(format!("{}", *f as i64))
            } else {
                // Go formats with 32-bit precision here: 1.10 → "1.1".
                Ok(format!("{}", *f as f32))
            }
        }
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field .{field} of type string",
            json_kind(other)
        )),
    }
}

fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(items)) => items.iter().map(|i| string_field(Some(i), field)).collect(),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field .{field} of type []string",
            json_kind(other)
        )),
    }
}

fn bool_field(v: Option<&Value>, field: &str) -> Result<bool, String> {
    match v {
        None | Some(Value::Nil) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field .{field} of type bool",
            json_kind(other)
        )),
    }
}

fn parse_dependency(v: &Value) -> Result<Dependency, String> {
    let Value::Map(m) = v else {
        return Err("dependencies must not contain empty or null nodes".to_string());
    };
    let m = m.read();
    let mut import_values = Vec::new();
    match m.get("import-values") {
        None | Some(Value::Nil) => {}
        Some(Value::List(items)) => {
            for item in items.iter() {
                match item {
                    Value::String(s) => import_values.push(ImportValue::Exports(s.to_string())),
                    Value::Map(iv) => {
                        let iv = iv.read();
                        import_values.push(ImportValue::Map {
                            child: crate::gofmt::format_value(
                                iv.get("child").unwrap_or(&Value::Nil),
                            ),
                            parent: crate::gofmt::format_value(
                                iv.get("parent").unwrap_or(&Value::Nil),
                            ),
                        })
                    }
                    // Helm silently skips entries of any other type.
                    _ => {}
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Dependency.dependencies.import-values of type []interface {{}}",
                json_kind(other)
            ));
        }
    }
    Ok(Dependency {
        name: string_field(m.get("name"), "dependencies.name")?,
        version: string_field(m.get("version"), "dependencies.version")?,
        repository: string_field(m.get("repository"), "dependencies.repository")?,
        condition: string_field(m.get("condition"), "dependencies.condition")?,
        tags: string_list(m.get("tags"), "dependencies.tags")?,
        enabled: bool_field(m.get("enabled"), "dependencies.enabled")?,
        import_values,
        alias: string_field(m.get("alias"), "dependencies.alias")?,
    })
}

fn parse_dependencies(v: Option<&Value>) -> Result<Vec<Dependency>, String> {
    match v {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(items)) => items.iter().map(parse_dependency).collect(),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field Metadata.dependencies of type []*v2.Dependency",
            json_kind(other)
        )),
    }
}

pub(super) fn parse_chart_yaml(data: &[u8]) -> Result<Metadata, String> {
    let doc = parse_doc(data, "v2.Metadata")?;
    let empty = crate::value::Map::new();
    let read = doc.as_map();
    let m = read.as_deref().unwrap_or(&empty);
    let maintainers = match m.get("maintainers") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::List(items)) => items
            .iter()
            .map(|i| match i {
                Value::Map(mm) => {
                    let mm = mm.read();
                    Ok(Maintainer {
                        name: string_field(mm.get("name"), "maintainers.name")?,
                        email: string_field(mm.get("email"), "maintainers.email")?,
                        url: string_field(mm.get("url"), "maintainers.url")?,
                    })
                }
                _ => Err("maintainers must not contain empty or null nodes".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Metadata.maintainers of type []*v2.Maintainer",
                json_kind(other)
            ));
        }
    };
    let annotations = match m.get("annotations") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Map(a)) => a
            .read()
            .iter()
            .map(|(k, v)| Ok((k.clone(), string_field(Some(v), "annotations")?)))
            .collect::<Result<_, String>>()?,
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Metadata.annotations of type map[string]string",
                json_kind(other)
            ));
        }
    };
    let mut md = Metadata {
        name: string_field(m.get("name"), "name")?,
        home: string_field(m.get("home"), "home")?,
        sources: string_list(m.get("sources"), "sources")?,
        version: string_field(m.get("version"), "version")?,
        description: string_field(m.get("description"), "description")?,
        keywords: string_list(m.get("keywords"), "keywords")?,
        maintainers,
        icon: string_field(m.get("icon"), "icon")?,
        api_version: string_field(m.get("apiVersion"), "apiVersion")?,
        condition: string_field(m.get("condition"), "condition")?,
        tags: string_field(m.get("tags"), "tags")?,
        app_version: string_field(m.get("appVersion"), "appVersion")?,
        deprecated: bool_field(m.get("deprecated"), "deprecated")?,
        annotations,
        kube_version: string_field(m.get("kubeVersion"), "kubeVersion")?,
        dependencies: parse_dependencies(m.get("dependencies"))?,
        chart_type: string_field(m.get("type"), "type")?,
    };
    // Helm 2 charts may omit apiVersion; Helm treats them as v1.
    if md.api_version.is_empty() {
        md.api_version = "v1".to_string();
    }
    Ok(md)
}

/// The `dependencies:` list of a v1 chart's `requirements.yaml`; `None` when the file has no
/// such key (Helm then keeps the Chart.yaml list, as decoding into the struct leaves it).
pub(super) fn parse_requirements(data: &[u8]) -> Result<Option<Vec<Dependency>>, String> {
    let doc = parse_doc(data, "v2.Metadata")?;
    match doc.get("dependencies") {
        None => Ok(None),
        some => parse_dependencies(some.as_ref()).map(Some),
    }
}

/// Go's `unicode.IsSpace` → ' ', non-printables dropped, as Helm sanitises metadata strings.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Go's `filepath.Base` on a Unix path; Helm requires a chart name to equal its base.
fn go_base(p: &str) -> &str {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

fn valid_alias(alias: &str) -> bool {
    alias
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Metadata {
    /// Helm's `Metadata.Validate`, with its messages.
    pub(super) fn validate(&mut self) -> Result<(), String> {
        self.name = sanitize(&self.name);
        self.description = sanitize(&self.description);
        self.home = sanitize(&self.home);
        self.icon = sanitize(&self.icon);
        self.condition = sanitize(&self.condition);
        self.tags = sanitize(&self.tags);
        self.app_version = sanitize(&self.app_version);
        self.kube_version = sanitize(&self.kube_version);
        if self.api_version.is_empty() {
            return Err("validation: chart.metadata.apiVersion is required".to_string());
        }
        if self.name.is_empty() {
            return Err("validation: chart.metadata.name is required".to_string());
        }
        if self.name != go_base(&self.name) {
            return Err(format!(
                "validation: chart.metadata.name {:?} is invalid",
                self.name
            ));
        }
        if self.version.is_empty() {
            return Err("validation: chart.metadata.version is required".to_string());
        }
        if semver::Version::parse(&self.version).is_none() {
            return Err(format!(
                "validation: chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err(
                "validation: chart.metadata.type must be application or library".to_string(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for dep in &mut self.dependencies {
            dep.name = sanitize(&dep.name);
            dep.version = sanitize(&dep.version);
            dep.repository = sanitize(&dep.repository);
            dep.condition = sanitize(&dep.condition);
            for tag in &mut dep.tags {
                *tag = sanitize(tag);
            }
            if !dep.alias.is_empty() && !valid_alias(&dep.alias) {
                return Err(format!(
                    "validation: dependency {:?} has disallowed characters in the alias",
                    dep.name
                ));
            }
            let key = if dep.alias.is_empty() {
                dep.name.clone()
            } else {
                dep.alias.clone()
            };
            if !seen.insert(key.clone()) {
                return Err(format!(
                    "validation: more than one dependency with name or alias {key:?}. Try using distinct aliases for dependencies with the same chart name."
                ));
            }
        }
        Ok(())
    }
}
