//! From rendered template text to Kubernetes manifests: split YAML documents, drop what an
//! Argo CD style render never applies (hooks, tests, NOTES.txt, partials, empty documents),
//! and order the rest in Helm's install order.

mod edit;

pub use edit::only_scalar_words_changed;

use crate::render::Rendered;
use crate::value::Value;

/// Helm's install order by kind; unknown kinds go after every known one, ordered by kind name.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_ANNOTATION: &str = "helm.sh/hook";

/// One YAML document of a rendered template.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template it came from, e.g. `chart/templates/deployment.yaml`.
    pub source: String,
    /// The document text as rendered.
    pub text: String,
    /// The parsed object.
    pub object: Value,
}

impl Manifest {
    pub fn kind(&self) -> String {
        self.object
            .get("kind")
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    /// A Helm hook or test (`helm.sh/hook` annotation): never applied by dsc-helm.
    pub fn is_hook(&self) -> bool {
        self.object
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(HOOK_ANNOTATION))
            .is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{source_template}: document {index} is not valid YAML: {message}")]
    InvalidYaml {
        source_template: String,
        index: usize,
        message: String,
    },
    #[error("{source_template}: document {index} is not a Kubernetes object (no kind)")]
    NotAnObject {
        source_template: String,
        index: usize,
    },
    #[error("could not find template {0} in chart")]
    NoSuchTemplate(String),
}

/// Splits a rendered template into its non-empty YAML documents, as Helm's `SplitManifests`
/// does for charts of API v1 and v2: any line that starts with `---` ends a document, and text
/// glued to the marker (`---# comment`, or `---apiVersion: v1` where a `{{-` ate the newline)
/// starts the next one.
pub fn split_documents(text: &str) -> Vec<&str> {
    split(text.trim_start(), |line| {
        line.starts_with("---").then_some(3)
    })
}

/// Splits a file of `crds/` into its non-empty YAML documents. Helm hands these files to the
/// Kubernetes YAML reader, whose separator is a line of `---` with nothing after it but white
/// space or a comment after a space.
pub fn split_crd_documents(text: &str) -> Vec<&str> {
    split(text, |line| {
        line.strip_prefix("---")
            .is_some_and(|rest| rest.trim().is_empty() || rest.starts_with(' '))
            .then_some(line.len())
    })
}

/// Cuts `text` at the lines `separator` recognises; it answers how many bytes of the line
/// belong to the separator (the rest starts the next document).
fn split(text: &str, separator: impl Fn(&str) -> Option<usize>) -> Vec<&str> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(marker) = separator(line) {
            documents.push(&text[start..offset]);
            start = offset + marker;
        }
        offset += line.len();
    }
    documents.push(&text[start..]);
    documents
        .into_iter()
        .map(str::trim)
        .filter(|doc| !is_blank_document(doc))
        .collect()
}

/// A document with only comments and whitespace renders nothing.
fn is_blank_document(doc: &str) -> bool {
    doc.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

fn is_renderable_template(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    !base.starts_with('_') && base != "NOTES.txt"
}

/// Parses every manifest of a render, in template order, keeping hooks (callers decide).
pub fn parse(rendered: &Rendered) -> Result<Vec<Manifest>, ManifestError> {
    let mut manifests = Vec::new();
    for (source, text) in rendered {
        parse_template(source, text, &mut manifests)?;
    }
    Ok(manifests)
}

/// Parses the manifests of one rendered template into `out`; partials and NOTES.txt have none.
pub fn parse_template(
    source: &str,
    text: &str,
    out: &mut Vec<Manifest>,
) -> Result<(), ManifestError> {
    if !is_renderable_template(source) {
        return Ok(());
    }
    for (index, doc) in split_documents(text).into_iter().enumerate() {
        let object = crate::yaml::parse_value(doc).map_err(|e| ManifestError::InvalidYaml {
            source_template: source.to_string(),
            index,
            message: e.to_string(),
        })?;
        if object
            .get("kind")
            .as_ref()
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(ManifestError::NotAnObject {
                source_template: source.to_string(),
                index,
            });
        }
        out.push(Manifest {
            source: source.to_string(),
            text: doc.to_string(),
            object,
        });
    }
    Ok(())
}

/// Position of a kind in Helm's install order (unknown kinds sort last, by name).
fn install_rank(kind: &str) -> (usize, &str) {
    match INSTALL_ORDER.iter().position(|k| *k == kind) {
        Some(i) => (i, ""),
        None => (INSTALL_ORDER.len(), kind),
    }
}

/// Sorts manifests into Helm's install order; equal kinds keep their template order.
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by_cached_key(|m| {
        let kind = m.kind();
        let (rank, by_name) = install_rank(&kind);
        (rank, by_name.to_string())
    });
}

/// Keeps only the templates named by `--show-only` (a chart-relative or full path).
pub fn show_only(rendered: Rendered, wanted: &[String]) -> Result<Rendered, ManifestError> {
    if wanted.is_empty() {
        return Ok(rendered);
    }
    let mut kept = Rendered::new();
    for want in wanted {
        let matches: Vec<(&String, &String)> = rendered
            .iter()
            .filter(|(name, _)| {
                *name == want
                    || name
                        .split_once('/')
                        .is_some_and(|(_, rest)| rest == want.as_str())
            })
            .collect();
        if matches.is_empty() {
            return Err(ManifestError::NoSuchTemplate(want.clone()));
        }
        for (name, text) in matches {
            kept.insert(name.clone(), text.clone());
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_document_markers_and_drops_blank_documents() {
        let text = "---\n# only a comment\n---\na: 1\n--- \nb: 2\n---\n\n";
        assert_eq!(split_documents(text), vec!["a: 1", "b: 2"]);
    }

    #[test]
    fn text_glued_to_a_marker_starts_the_next_document_as_in_helm() {
        let text = "a: 1\n---# a comment\nb: 2\n---c: 3\n----\nd: 4\n";
        assert_eq!(
            split_documents(text),
            vec!["a: 1", "# a comment\nb: 2", "c: 3", "-\nd: 4"]
        );
    }

    #[test]
    fn crd_files_split_only_on_a_bare_marker_as_the_kubernetes_reader_does() {
        let text = "---\na: 1\n--- # comment\nb: 2\n---x\nc: 3\n";
        assert_eq!(split_crd_documents(text), vec!["a: 1", "b: 2\n---x\nc: 3"]);
    }

    #[test]
    fn a_dashed_value_is_not_a_separator() {
        let text = "a: |\n  ---x\nb: 2\n";
        assert_eq!(split_documents(text).len(), 1);
    }

    #[test]
    fn install_order_puts_namespaces_first_and_unknown_kinds_last() {
        let mk = |kind: &str| Manifest {
            source: "c/templates/x.yaml".into(),
            text: String::new(),
            object: {
                let mut m = crate::value::Map::new();
                m.insert("kind".into(), Value::str(kind));
                Value::map(m)
            },
        };
        let mut manifests = vec![
            mk("Zebra"),
            mk("Deployment"),
            mk("Alpha"),
            mk("Namespace"),
            mk("ValidatingWebhookConfiguration"),
        ];
        sort_for_install(&mut manifests);
        let kinds: Vec<String> = manifests.iter().map(Manifest::kind).collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "Deployment",
                "ValidatingWebhookConfiguration",
                "Alpha",
                "Zebra"
            ]
        );
    }

    #[test]
    fn show_only_accepts_chart_relative_paths_and_rejects_unknown_ones() {
        let mut rendered = Rendered::new();
        rendered.insert("c/templates/a.yaml".into(), "a: 1".into());
        rendered.insert("c/templates/b.yaml".into(), "b: 1".into());
        let kept = show_only(rendered.clone(), &["templates/a.yaml".into()]).expect("known");
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["c/templates/a.yaml"]);
        assert!(show_only(rendered, &["templates/zzz.yaml".into()]).is_err());
    }
}
