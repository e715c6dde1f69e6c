//! The built-in objects a template sees besides `.Values`: `.Files`, `.Capabilities` and
//! `.Chart`. Helm passes Go structs and typed maps here, so each keeps Go's field and method
//! names and Go's zero values (a missing `appVersion` prints as an empty string, not as
//! `<no value>`).

use std::sync::Arc;

use base64::Engine as _;

use super::glob::GlobPattern;
use crate::chart::{ChartFile, Metadata};
use crate::gofmt::format_value;
use crate::value::{Bytes, Map, Object, Value};

/// `.Files`: the chart's non-template files, keyed by their path inside the chart. It shares
/// the chart's file list rather than copying the data, so that building it per render costs
/// an index, not the size of the chart.
#[derive(Clone)]
pub struct Files {
    all: Arc<Vec<ChartFile>>,
    /// Indices into `all` sorted by name, one per name: the last file of a repeated name wins,
    /// as in Helm's map.
    shown: Arc<[usize]>,
}

impl Files {
    pub fn new(all: Arc<Vec<ChartFile>>) -> Self {
        let mut order: Vec<usize> = (0..all.len()).collect();
        // Stable, so the last of equal names stays last and the dedup below keeps it.
        order.sort_by(|&a, &b| all[a].name.cmp(&all[b].name));
        let mut shown: Vec<usize> = Vec::with_capacity(order.len());
        for i in order {
            match shown.last_mut() {
                Some(last) if all[*last].name == all[i].name => *last = i,
                _ => shown.push(i),
            }
        }
        Files {
            all,
            shown: shown.into(),
        }
    }

    fn entries(&self) -> impl Iterator<Item = &ChartFile> {
        self.shown.iter().filter_map(|&i| self.all.get(i))
    }

    fn data(&self, name: &str) -> Option<&[u8]> {
        let pos = self
            .shown
            .binary_search_by(|&i| self.all[i].name.as_str().cmp(name))
            .ok()?;
        Some(&self.all[self.shown[pos]].data)
    }

    /// The file as text, invalid UTF-8 replaced as Go's `string([]byte)` then printing does;
    /// borrowed when it is valid (nearly always), so that `Get` copies a large file once.
    fn text(&self, name: &str) -> std::borrow::Cow<'_, str> {
        self.data(name)
            .map(|data| {
                // The validation alone is several times faster than the replacing reader's.
                std::str::from_utf8(data).map_or_else(
                    |_| String::from_utf8_lossy(data),
                    std::borrow::Cow::Borrowed,
                )
            })
            .unwrap_or_default()
    }

    /// `Lines`: the file split on newlines, without the empty string a final newline leaves.
    fn lines(&self, name: &str) -> Value {
        let text = self.text(name);
        if text.is_empty() {
            return Value::list(Vec::new());
        }
        let body = text.strip_suffix('\n').unwrap_or(&text);
        Value::list(body.split('\n').map(Value::from).collect())
    }

    fn glob(&self, pattern: &str) -> Result<Value, String> {
        let glob = GlobPattern::new(pattern).map_err(|e| format!("bad glob {pattern:?}: {e}"))?;
        let shown: Vec<usize> = self
            .shown
            .iter()
            .copied()
            .filter(|&i| self.all.get(i).is_some_and(|f| glob.matches(&f.name)))
            .collect();
        Ok(Value::Object(Arc::new(Files {
            all: self.all.clone(),
            shown: shown.into(),
        })))
    }

    /// `AsConfig`/`AsSecrets`: a YAML map of base file names to contents (`{}` for none).
    fn as_yaml_map(&self, encode: impl Fn(&[u8]) -> String) -> Result<Value, String> {
        let map: Map = self
            .entries()
            .map(|f| {
                let base = f.name.rsplit('/').next().unwrap_or(&f.name).to_string();
                (base, Value::from(encode(&f.data)))
            })
            .collect();
        let yaml = crate::yaml::to_yaml(&Value::map(map)).map_err(|e| e.to_string())?;
        Ok(Value::from(yaml.trim_end_matches('\n').to_string()))
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => self.call(name, &[]).and_then(Result::ok),
            "AsSecrets" => self.call(name, &[]).and_then(Result::ok),
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let path = || match args {
            [Value::String(s)] => Ok(s.to_string()),
            _ => Err(format!("wrong arguments for Files.{name}: want one string")),
        };
        Some(match name {
            "Get" => path().map(|p| Value::str(&self.text(&p))),
            "GetBytes" => path().map(|p| {
                let data = self.data(&p).map_or_else(|| Arc::from(&[][..]), Arc::from);
                Value::Object(Arc::new(Bytes(data)))
            }),
            "Lines" => path().map(|p| self.lines(&p)),
            "Glob" => path().and_then(|p| self.glob(&p)),
            "AsConfig" => self.as_yaml_map(|data| String::from_utf8_lossy(data).into_owned()),
            "AsSecrets" => {
                self.as_yaml_map(|data| base64::engine::general_purpose::STANDARD.encode(data))
            }
            _ => return None,
        })
    }

    fn display(&self) -> String {
        crate::gofmt::format_value(&self.elements())
    }

    fn elements(&self) -> Value {
        Value::map(
            self.entries()
                .map(|f| {
                    let bytes = Bytes(Arc::from(&f.data[..]));
                    (f.name.clone(), Value::Object(Arc::new(bytes)))
                })
                .collect(),
        )
    }

    fn to_data(&self) -> Value {
        Value::map(
            self.entries()
                .map(|f| {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&f.data);
                    (f.name.clone(), Value::from(encoded))
                })
                .collect(),
        )
    }
}

/// The Kubernetes version `.Capabilities.KubeVersion` reports. Helm's type prints as its
/// `Version` and also answers `GitVersion`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeVersion {
    pub version: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// Parses `v1.36.0` (or `1.36.0`, `v1.36.0+k3s1`) into Helm's shape.
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let trimmed = text.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let mut parts = bare.splitn(3, '.');
        let major = parts
            .next()
            .filter(|m| m.chars().all(|c| c.is_ascii_digit()))?;
        let minor_raw = parts.next()?;
        let minor: String = minor_raw.chars().take_while(char::is_ascii_digit).collect();
        if major.is_empty() || minor.is_empty() {
            return None;
        }
        Some(KubeVersion {
            version: format!("v{bare}"),
            major: major.to_string(),
            minor,
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "*common.KubeVersion"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" | "String" => Some(Value::str(&self.version)),
            "Major" => Some(Value::str(&self.major)),
            "Minor" => Some(Value::str(&self.minor)),
            _ => None,
        }
    }

    fn display(&self) -> String {
        self.version.clone()
    }

    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), Value::str(&self.version));
        m.insert("Major".into(), Value::str(&self.major));
        m.insert("Minor".into(), Value::str(&self.minor));
        Value::map(m)
    }
}

/// `.Capabilities.APIVersions`: a list of `group/version` and `group/version/Kind` strings
/// with a `Has` method.
#[derive(PartialEq, Eq)]
struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name != "Has" {
            return None;
        }
        Some(match args {
            [Value::String(s)] => Ok(Value::Bool(self.0.iter().any(|v| v == s.as_ref()))),
            _ => Err("wrong arguments for APIVersions.Has: want one string".to_string()),
        })
    }

    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }

    fn to_data(&self) -> Value {
        Value::list(self.0.iter().map(|s| Value::str(s)).collect())
    }
}

/// Helm's own build information, `.Capabilities.HelmVersion`.
#[derive(Clone, Debug)]
pub struct HelmVersion {
    pub version: String,
    pub go_version: String,
    pub kube_client_version: String,
}

impl HelmVersion {
    fn as_map(&self) -> Map {
        let mut m = Map::new();
        m.insert("Version".into(), Value::str(&self.version));
        m.insert("GitCommit".into(), Value::str(""));
        m.insert("GitTreeState".into(), Value::str(""));
        m.insert("GoVersion".into(), Value::str(&self.go_version));
        m.insert(
            "KubeClientVersion".into(),
            Value::str(&self.kube_client_version),
        );
        m
    }
}

/// `.Capabilities`: what the target cluster and Helm support.
pub struct Capabilities {
    kube_version: Arc<KubeVersion>,
    api_versions: Arc<ApiVersions>,
    helm_version: Value,
}

impl Capabilities {
    /// The cluster's Kubernetes version (`.Capabilities.KubeVersion`).
    pub fn kube_version(&self) -> &KubeVersion {
        &self.kube_version
    }

    /// Whether `other` describes the same cluster: Kubernetes version and served APIs.
    pub fn same_cluster(&self, other: &Capabilities) -> bool {
        self.kube_version == other.kube_version && self.api_versions == other.api_versions
    }

    pub fn new(kube: KubeVersion, api_versions: Vec<String>, helm: &HelmVersion) -> Self {
        Capabilities {
            kube_version: Arc::new(kube),
            api_versions: Arc::new(ApiVersions(api_versions)),
            helm_version: Value::map(helm.as_map()),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(self.kube_version.clone())),
            "APIVersions" => Some(Value::Object(self.api_versions.clone())),
            "HelmVersion" => Some(self.helm_version.clone()),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!(
            "&{{{} {} {}}}",
            self.kube_version.display(),
            self.api_versions.display(),
            format_value(&self.helm_version)
        )
    }

    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("KubeVersion".into(), self.kube_version.to_data());
        m.insert("APIVersions".into(), self.api_versions.to_data());
        m.insert("HelmVersion".into(), self.helm_version.clone());
        Value::map(m)
    }
}

/// `.Chart`: Chart.yaml's metadata under Go's field names plus `IsRoot`, with Chart.yaml's
/// own key names kept for `toYaml .Chart` (Go's JSON tags, empty fields omitted).
pub struct ChartMetadata {
    go_fields: Map,
    json: Value,
}

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s)).collect())
}

fn fields(pairs: Vec<(&str, Value)>) -> Value {
    Value::map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

impl ChartMetadata {
    pub fn new(meta: &Metadata, is_root: bool) -> Self {
        let maintainers = Value::list(
            meta.maintainers
                .iter()
                .map(|m| {
                    fields(vec![
                        ("Name", Value::str(&m.name)),
                        ("Email", Value::str(&m.email)),
                        ("URL", Value::str(&m.url)),
                    ])
                })
                .collect(),
        );
        let dependencies = Value::list(
            meta.dependencies
                .iter()
                .map(|d| {
                    fields(vec![
                        ("Name", Value::str(&d.name)),
                        ("Version", Value::str(&d.version)),
                        ("Repository", Value::str(&d.repository)),
                        ("Condition", Value::str(&d.condition)),
                        ("Tags", strings(&d.tags)),
                        ("Enabled", Value::Bool(d.enabled)),
                        ("Alias", Value::str(&d.alias)),
                    ])
                })
                .collect(),
        );
        let annotations: Map = meta
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect();
        let go = vec![
            ("Name", Value::str(&meta.name)),
            ("Home", Value::str(&meta.home)),
            ("Sources", strings(&meta.sources)),
            ("Version", Value::str(&meta.version)),
            ("Description", Value::str(&meta.description)),
            ("Keywords", strings(&meta.keywords)),
            ("Maintainers", maintainers),
            ("Icon", Value::str(&meta.icon)),
            ("APIVersion", Value::str(&meta.api_version)),
            ("Condition", Value::str(&meta.condition)),
            ("Tags", Value::str(&meta.tags)),
            ("AppVersion", Value::str(&meta.app_version)),
            ("Deprecated", Value::Bool(meta.deprecated)),
            ("Annotations", Value::map(annotations)),
            ("KubeVersion", Value::str(&meta.kube_version)),
            ("Dependencies", dependencies),
            ("Type", Value::str(&meta.chart_type)),
            ("IsRoot", Value::Bool(is_root)),
        ];
        let json_names = [
            ("Name", "name"),
            ("Home", "home"),
            ("Sources", "sources"),
            ("Version", "version"),
            ("Description", "description"),
            ("Keywords", "keywords"),
            ("Icon", "icon"),
            ("APIVersion", "apiVersion"),
            ("Condition", "condition"),
            ("Tags", "tags"),
            ("AppVersion", "appVersion"),
            ("Deprecated", "deprecated"),
            ("Annotations", "annotations"),
            ("KubeVersion", "kubeVersion"),
            ("Type", "type"),
            ("IsRoot", "IsRoot"),
        ];
        let go_fields: Map = go.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let json: Map = json_names
            .iter()
            .filter_map(|(go_name, json_name)| {
                let v = go_fields.get(*go_name)?;
                let keep = *go_name == "IsRoot" || v.is_truthy();
                keep.then(|| (json_name.to_string(), v.clone()))
            })
            .collect();
        ChartMetadata {
            go_fields,
            json: Value::map(json),
        }
    }
}

impl Object for ChartMetadata {
    fn type_name(&self) -> &str {
        "struct { *chart.Metadata; IsRoot bool }"
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.go_fields.get(name).cloned()
    }

    fn display(&self) -> String {
        let shown: Vec<String> = self.go_fields.values().map(format_value).collect();
        format!("{{{}}}", shown.join(" "))
    }

    fn to_data(&self) -> Value {
        self.json.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        let file = |name: &str, data: &[u8]| ChartFile {
            name: name.to_string(),
            data: data.to_vec(),
        };
        Files::new(Arc::new(vec![
            file("other/c.yaml", b"k: v"),
            file("config/b.txt", b"stale"),
            file("config/a.txt", b"one\ntwo\n"),
            file("config/b.txt", b"three"),
        ]))
    }

    #[test]
    fn files_get_and_lines_follow_helm() {
        let f = files();
        assert_eq!(
            f.call("Get", &[Value::str("config/b.txt")])
                .and_then(Result::ok),
            Some(Value::str("three"))
        );
        assert_eq!(
            f.call("Get", &[Value::str("missing")]).and_then(Result::ok),
            Some(Value::str(""))
        );
        let lines = f.call("Lines", &[Value::str("config/a.txt")]);
        assert_eq!(
            lines.and_then(Result::ok),
            Some(Value::list(vec![Value::str("one"), Value::str("two")]))
        );
    }

    #[test]
    fn files_glob_keeps_only_matching_paths() {
        let f = files();
        let Some(Ok(Value::Object(ref matched))) = f.call("Glob", &[Value::str("config/*")]) else {
            panic!("Glob should return a Files object");
        };
        let data = matched.to_data();
        let keys: Vec<String> = data
            .as_map()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["config/a.txt", "config/b.txt"]);
    }

    #[test]
    fn kube_version_parses_helm_shapes() {
        let v = KubeVersion::parse("v1.36.0").expect("valid version");
        assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "36"));
        let k3s = KubeVersion::parse("1.30.2+k3s1").expect("valid version");
        assert_eq!(k3s.version, "v1.30.2+k3s1");
        assert!(KubeVersion::parse("banana").is_none());
    }

    #[test]
    fn chart_fields_default_to_go_zero_values() {
        let meta = Metadata {
            name: "demo".into(),
            ..Metadata::default()
        };
        let chart = ChartMetadata::new(&meta, true);
        assert_eq!(chart.field("Name"), Some(Value::str("demo")));
        assert_eq!(chart.field("AppVersion"), Some(Value::str("")));
        assert_eq!(chart.field("IsRoot"), Some(Value::Bool(true)));
        assert_eq!(chart.field("Nope"), None);
        assert_eq!(chart.to_data().get("appVersion"), None);
    }
}
