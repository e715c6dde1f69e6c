//! What `helm template` prints for a render: the engine's files cut into documents, sorted
//! into install order, hooks after the rest, CRDs first with `--include-crds`, narrowed by
//! `--show-only` or written under `--output-dir`. Byte-exact output is the point (the
//! CLI-against-CLI comparison in tests/helm-cli checks it), so every whitespace rule here is
//! one Helm 4 applies.

use std::sync::LazyLock;

use regex::Regex;

use crate::manifest::INSTALL_ORDER;
use crate::render::Rendered;
use crate::value::Value;

/// Helm's document separator: `---` at the start of a line, swallowing the white space
/// around it (Go's `\s` is ASCII only, hence the explicit class).
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\t\n\x0C\r ]*\n)---[\t\n\x0C\r ]*").unwrap_or_else(|e| panic!("{e}"))
});

/// Hook events Helm knows; a hook naming any other event is left out of the output.
const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OutputError {
    /// Worded as Helm's manifest sorter reports a document it cannot read.
    #[error("YAML parse error on {path}: {message}")]
    Yaml { path: String, message: String },
    #[error("could not find template {0} in chart")]
    NoSuchTemplate(String),
}

/// The `helm template` flags that shape the output.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub include_crds: bool,
    pub no_hooks: bool,
    pub skip_tests: bool,
    pub show_only: Vec<String>,
}

/// A CRD file of the chart tree, named as Helm's `# Source:` line names it.
#[derive(Debug, Clone)]
pub struct CrdFile {
    pub filename: String,
    pub text: String,
}

/// One document of a template, with what the sorter reads from its head; its text stays
/// in the render's output, which the sorted output is then copied from once.
#[derive(Debug, Clone)]
struct Document<'r> {
    path: &'r str,
    content: &'r str,
    kind: String,
    /// The hook's events; `None` for an ordinary manifest.
    hook_events: Option<Vec<String>>,
}

impl Document<'_> {
    fn is_test(&self) -> bool {
        self.hook_events
            .as_ref()
            .is_some_and(|e| e.iter().any(|e| e == "test" || e == "test-success"))
    }
}

/// Splits text into documents as Helm's `SplitManifests` does: leading white space of each
/// document dropped, trailing white space kept only on the last one.
pub fn split_manifests(text: &str) -> Vec<&str> {
    SEPARATOR
        .split(text.trim_start())
        .filter(|d| !d.trim().is_empty())
        .map(str::trim_start)
        .collect()
}

/// The manifests and hooks of a render in Helm's order.
struct Sorted<'r> {
    manifests: Vec<Document<'r>>,
    hooks: Vec<Document<'r>>,
}

/// Each document's head is read on its own (reading them, whole YAML documents as Helm does,
/// is most of the output's cost), side by side; the first document in order that does not
/// read is the error, as when reading them in turn.
fn sort_documents(rendered: &Rendered) -> Result<Sorted<'_>, OutputError> {
    let mut contents = Vec::new();
    for (path, text) in rendered {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || base == "NOTES.txt" || text.trim().is_empty() {
            continue;
        }
        contents.extend(
            split_manifests(text)
                .into_iter()
                .map(|c| (path.as_str(), c)),
        );
    }
    let bytes = contents.iter().map(|(_, content)| content.len()).sum();
    let docs =
        crate::par::map_in_order(&contents, bytes, |(path, content)| read_head(path, content));
    let mut manifests = Vec::new();
    let mut hooks = Vec::new();
    for doc in docs {
        let doc = doc?;
        match &doc.hook_events {
            Some(events) if events.iter().all(|e| HOOK_EVENTS.contains(&e.as_str())) => {
                hooks.push(doc)
            }
            Some(_) => {}
            None => manifests.push(doc),
        }
    }
    manifests.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    hooks.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    Ok(Sorted { manifests, hooks })
}

/// Helm's kind order: known kinds by install order, unknown ones after them by name; a
/// stable sort keeps equal kinds in template order.
fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Reads `apiVersion`, `kind` and the hook annotations the way Helm decodes a document into
/// its `SimpleHead` struct: string fields take any scalar, a document of only comments is an
/// ordinary manifest without a kind, and anything that does not fit the struct is an error.
fn read_head<'r>(path: &'r str, content: &'r str) -> Result<Document<'r>, OutputError> {
    let yaml_error = |message: String| OutputError::Yaml {
        path: path.to_string(),
        message,
    };
    let value = crate::yaml::parse_manifest_head(content).map_err(|e| yaml_error(e.to_string()))?;
    let unmarshal = |what: &str, field: &str, want: &str| {
        yaml_error(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {what} into Go \
             struct field {field} of type {want}"
        ))
    };
    let string_field = |v: Option<&Value>, field: &str| match v {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(v) => crate::yaml::struct_string(v)
            .ok_or_else(|| unmarshal(crate::yaml::json_kind(v), field, "string")),
    };
    let mut doc = Document {
        path,
        content,
        kind: String::new(),
        hook_events: None,
    };
    let head = match &value {
        Value::Nil => return Ok(doc),
        Value::Map(m) => m.entries(),
        other => {
            return Err(yaml_error(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go \
                 value of type util.SimpleHead",
                crate::yaml::json_kind(other)
            )));
        }
    };
    string_field(head.get("apiVersion"), "SimpleHead.apiVersion")?;
    doc.kind = string_field(head.get("kind"), "SimpleHead.kind")?;
    let metadata = match head.get("metadata") {
        None | Some(Value::Nil) => return Ok(doc),
        Some(Value::Map(m)) => m.entries(),
        Some(other) => {
            return Err(unmarshal(
                crate::yaml::json_kind(other),
                "SimpleHead.metadata",
                "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
            ));
        }
    };
    string_field(metadata.get("name"), "SimpleHead.metadata.name")?;
    let annotations = match metadata.get("annotations") {
        None | Some(Value::Nil) => return Ok(doc),
        Some(Value::Map(m)) => m.entries(),
        Some(other) => {
            return Err(unmarshal(
                crate::yaml::json_kind(other),
                "SimpleHead.metadata.annotations",
                "map[string]string",
            ));
        }
    };
    let mut hook = None;
    for (key, value) in annotations.iter() {
        let text = string_field(Some(value), "SimpleHead.metadata.annotations")?;
        if key.as_str() == "helm.sh/hook" {
            hook = Some(text);
        }
    }
    doc.hook_events = hook.map(|h| {
        h.split(',')
            .map(|e| e.trim().to_lowercase())
            .collect::<Vec<_>>()
    });
    Ok(doc)
}

/// One file `--output-dir` writes, in Helm's order.
#[derive(Debug, Clone, PartialEq)]
pub struct FileWrite {
    /// Relative to the output directory (the release name's directory for manifests and
    /// hooks with `--release-name`).
    pub name: String,
    pub text: String,
    /// Under the release name's directory rather than the output directory itself.
    pub in_release_dir: bool,
    /// How the file is opened: appended to when this run already wrote it (manifests and
    /// CRDs) or when it exists at all (hooks, as Helm checks the disk for them).
    pub append: Append,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Append {
    Yes,
    No,
    IfExists,
}

/// What `helm template` prints on stdout.
pub fn stdout(
    rendered: &Rendered,
    crds: &[CrdFile],
    options: &Options,
) -> Result<String, OutputError> {
    let sorted = sort_documents(rendered)?;
    let crds = if options.include_crds { crds } else { &[] };
    let hooks: Vec<&Document> = if options.no_hooks {
        Vec::new()
    } else {
        sorted
            .hooks
            .iter()
            .filter(|h| !(options.skip_tests && h.is_test()))
            .collect()
    };
    // The whole output is a few MB for a large chart: written once, at its final size.
    let size = crds
        .iter()
        .map(|c| source_size(&c.filename, &c.text))
        .chain(
            sorted
                .manifests
                .iter()
                .map(|m| source_size(m.path, m.content)),
        )
        .chain(hooks.iter().map(|h| source_size(h.path, h.content)))
        .sum::<usize>()
        + 1;
    let mut out = String::with_capacity(size);
    for crd in crds {
        push_source(&mut out, &crd.filename, &crd.text);
    }
    for m in &sorted.manifests {
        push_source(&mut out, m.path, m.content);
    }
    // The CRDs and manifests trimmed, as Helm trims them, in place.
    out.truncate(out.trim_end().len());
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out.push('\n');
    for h in hooks {
        push_source(&mut out, h.path, h.content);
    }
    if options.show_only.is_empty() {
        return Ok(out);
    }
    show_only(&out, &options.show_only)
}

/// What [`push_source`] writes.
fn source_size(path: &str, content: &str) -> usize {
    "---\n# Source: \n\n".len() + path.len() + content.len()
}

fn push_source(out: &mut String, path: &str, content: &str) {
    out.push_str("---\n# Source: ");
    out.push_str(path);
    out.push('\n');
    out.push_str(content);
    out.push('\n');
}

/// `--show-only`: re-splits the output and keeps, pattern by pattern, the documents whose
/// `# Source:` path below the chart's name matches (Go's `filepath.Match`).
fn show_only(out: &str, patterns: &[String]) -> Result<String, OutputError> {
    let documents = split_manifests(out);
    let mut kept = String::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &documents {
            let Some(name) = source_below_chart(doc) else {
                continue;
            };
            if path_match(pattern, name) {
                kept.push_str("---\n");
                kept.push_str(doc);
                kept.push('\n');
                missing = false;
            }
        }
        if missing {
            return Err(OutputError::NoSuchTemplate(pattern.clone()));
        }
    }
    Ok(kept)
}

/// The path after `# Source: <chart>/` at the first `# Source: ` of a document.
fn source_below_chart(doc: &str) -> Option<&str> {
    let mut rest = doc;
    while let Some(at) = rest.find("# Source: ") {
        let after = &rest[at + "# Source: ".len()..];
        if let Some(slash) = after.find('/')
            && slash > 0
        {
            let name = &after[slash + 1..];
            let name = name.split('\n').next().unwrap_or("");
            if !name.is_empty() {
                return Some(name);
            }
        }
        rest = after;
    }
    None
}

/// The files `--output-dir` writes, in order: CRDs (with `--include-crds`), manifests, hooks.
pub fn files(
    rendered: &Rendered,
    crds: &[CrdFile],
    options: &Options,
) -> Result<Vec<FileWrite>, OutputError> {
    let sorted = sort_documents(rendered)?;
    let mut writes = Vec::new();
    let mut written = std::collections::HashSet::new();
    let mut write = |name: &str, text: &str, in_release_dir: bool, writes: &mut Vec<FileWrite>| {
        let append = if written.insert((name.to_string(), in_release_dir)) {
            Append::No
        } else {
            Append::Yes
        };
        writes.push(FileWrite {
            name: name.to_string(),
            text: text.to_string(),
            in_release_dir,
            append,
        });
    };
    if options.include_crds {
        for crd in crds {
            write(&crd.filename, &crd.text, false, &mut writes);
        }
    }
    for m in &sorted.manifests {
        write(m.path, m.content, true, &mut writes);
    }
    if !options.no_hooks {
        for h in &sorted.hooks {
            if !(options.skip_tests && h.is_test()) {
                writes.push(FileWrite {
                    name: h.path.to_string(),
                    text: h.content.to_string(),
                    in_release_dir: true,
                    append: Append::IfExists,
                });
            }
        }
    }
    Ok(writes)
}

/// Go's `filepath.Match` on `/`-separated paths: `*` and `?` stop at `/`, `[...]` classes
/// with `^` negation and ranges, `\` escapes. A malformed pattern matches nothing, as Helm
/// ignores the error.
pub fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n).unwrap_or(false)
}

fn glob(p: &[char], n: &[char]) -> Option<bool> {
    let Some((&first, rest)) = p.split_first() else {
        return Some(n.is_empty());
    };
    match first {
        '*' => {
            // Go checks the whole pattern for errors even when the star matches early.
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if glob(rest, &n[i..])? {
                    return Some(true);
                }
            }
            check_pattern(rest)?;
            Some(false)
        }
        '?' => match n.split_first() {
            Some((&c, tail)) if c != '/' => glob(rest, tail),
            _ => check_pattern(rest).map(|()| false),
        },
        '[' => {
            let (matched, after) = class(rest, n.first().copied())?;
            match n.split_first() {
                Some((&c, tail)) if c != '/' && matched => glob(after, tail),
                _ => check_pattern(after).map(|()| false),
            }
        }
        '\\' => {
            let (&lit, after) = rest.split_first()?;
            match n.split_first() {
                Some((&c, tail)) if c == lit => glob(after, tail),
                _ => check_pattern(after).map(|()| false),
            }
        }
        c => match n.split_first() {
            Some((&d, tail)) if c == d => glob(rest, tail),
            _ => check_pattern(rest).map(|()| false),
        },
    }
}

/// Whether the rest of a pattern is well formed (`None` when not).
fn check_pattern(p: &[char]) -> Option<()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                p.get(i + 1)?;
                i += 2;
            }
            '[' => {
                let (_, after) = class(&p[i + 1..], None)?;
                i = p.len() - after.len();
            }
            _ => i += 1,
        }
    }
    Some(())
}

/// Reads a `[...]` class (after the `[`): whether `c` is in it, and the pattern after `]`.
fn class(p: &[char], c: Option<char>) -> Option<(bool, &[char])> {
    let (negated, mut p) = match p.split_first() {
        Some(('^', rest)) => (true, rest),
        _ => (false, p),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        match p.split_first() {
            Some((']', rest)) if !first => return Some((matched != negated, rest)),
            None => return None,
            _ => {}
        }
        let (lo, rest) = class_char(p)?;
        let (hi, rest) = match rest.split_first() {
            Some(('-', after)) => class_char(after)?,
            _ => (lo, rest),
        };
        if lo > hi {
            return None;
        }
        if c.is_some_and(|c| lo <= c && c <= hi) {
            matched = true;
        }
        p = rest;
        first = false;
    }
}

fn class_char(p: &[char]) -> Option<(char, &[char])> {
    match p.split_first()? {
        ('-' | ']', _) => None,
        ('\\', rest) => rest.split_first().map(|(&c, r)| (c, r)),
        (&c, rest) => Some((c, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(entries: &[(&str, &str)]) -> Rendered {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_last_document_of_a_template_keeps_its_line_end_and_kindless_documents_go_last() {
        let r = rendered(&[
            ("c/templates/a.yaml", "kind: Service\n---\nkind: Pod\n"),
            ("c/templates/b.yaml", "\n# only a comment\n"),
        ]);
        let out = stdout(&r, &[], &Options::default()).expect("renders");
        assert_eq!(
            out,
            "---\n# Source: c/templates/a.yaml\nkind: Service\n\
             ---\n# Source: c/templates/a.yaml\nkind: Pod\n\n\
             ---\n# Source: c/templates/b.yaml\n# only a comment\n"
        );
    }

    #[test]
    fn hooks_follow_the_manifests_and_unknown_hooks_are_dropped() {
        let hook = |event: &str| {
            format!("kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: {event}\n")
        };
        let r = rendered(&[
            ("c/templates/a.yaml", &hook("pre-install")),
            ("c/templates/b.yaml", &hook("whenever")),
            ("c/templates/c.yaml", &hook("test")),
            ("c/templates/d.yaml", "kind: ConfigMap"),
        ]);
        let out = stdout(&r, &[], &Options::default()).expect("renders");
        let sources: Vec<&str> = out.lines().filter(|l| l.starts_with("# Source")).collect();
        assert_eq!(
            sources,
            [
                "# Source: c/templates/d.yaml",
                "# Source: c/templates/a.yaml",
                "# Source: c/templates/c.yaml"
            ]
        );
        let skip = Options {
            skip_tests: true,
            ..Options::default()
        };
        assert!(!stdout(&r, &[], &skip).expect("renders").contains("c.yaml"));
        let none = Options {
            no_hooks: true,
            ..Options::default()
        };
        assert_eq!(
            stdout(&r, &[], &none).expect("renders"),
            "---\n# Source: c/templates/d.yaml\nkind: ConfigMap\n"
        );
    }

    #[test]
    fn only_hooks_start_with_an_empty_line() {
        let r = rendered(&[(
            "c/templates/a.yaml",
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n",
        )]);
        let out = stdout(&r, &[], &Options::default()).expect("renders");
        assert!(out.starts_with("\n---\n# Source: c/templates/a.yaml\n"));
    }

    #[test]
    fn a_document_that_is_not_an_object_is_a_parse_error() {
        let r = rendered(&[("c/templates/a.yaml", "just text")]);
        let err = stdout(&r, &[], &Options::default()).expect_err("fails");
        assert!(
            err.to_string()
                .starts_with("YAML parse error on c/templates/a.yaml")
        );
    }

    #[test]
    fn documents_read_side_by_side_keep_their_order_and_the_first_error() {
        let padding = format!("data: {}\n", "y".repeat(crate::par::MIN_PARALLEL_BYTES / 8));
        let texts: Vec<(String, String)> = (0..40)
            .map(|i| {
                let kind = if i % 2 == 0 { "Service" } else { "Secret" };
                let name = format!("c/templates/f{i:02}.yaml");
                (
                    name,
                    format!("kind: {kind}\nmetadata:\n  name: n{i}\n{padding}"),
                )
            })
            .collect();
        let entries: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let out = stdout(&rendered(&entries), &[], &Options::default()).expect("renders");
        let names: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("  name: "))
            .collect();
        let secrets = (1..40).step_by(2).map(|i| format!("n{i}"));
        let services = (0..40).step_by(2).map(|i| format!("n{i}"));
        assert_eq!(names, secrets.chain(services).collect::<Vec<_>>());

        let mut broken = entries.clone();
        broken[5].1 = "just text";
        broken[33].1 = "[also not an object]";
        let err = stdout(&rendered(&broken), &[], &Options::default()).expect_err("fails");
        assert!(
            err.to_string()
                .starts_with("YAML parse error on c/templates/f05.yaml")
        );
    }

    #[test]
    fn show_only_matches_paths_below_the_chart_with_globs() {
        let r = rendered(&[
            ("c/templates/a.yaml", "kind: Pod"),
            ("c/charts/s/templates/b.yaml", "kind: Service"),
        ]);
        let only = |p: &[&str]| Options {
            show_only: p.iter().map(|s| s.to_string()).collect(),
            ..Options::default()
        };
        let out = stdout(&r, &[], &only(&["templates/*.yaml"])).expect("matches");
        // Helm re-splits its output, and the last document keeps its line end.
        assert_eq!(out, "---\n# Source: c/templates/a.yaml\nkind: Pod\n\n");
        let out = stdout(&r, &[], &only(&["charts/s/templates/b.yaml"])).expect("matches");
        assert!(out.contains("kind: Service"));
        assert_eq!(
            stdout(&r, &[], &only(&["templates/zzz.yaml"])),
            Err(OutputError::NoSuchTemplate("templates/zzz.yaml".into()))
        );
    }

    #[test]
    fn path_match_follows_go_filepath_match() {
        assert!(path_match("templates/*", "templates/a.yaml"));
        assert!(!path_match("*", "templates/a.yaml"));
        assert!(path_match("templates/[a-c].yaml", "templates/b.yaml"));
        assert!(!path_match("templates/[^a-c].yaml", "templates/b.yaml"));
        assert!(path_match("templates/?.yaml", "templates/b.yaml"));
        assert!(path_match("templates/\\*.yaml", "templates/*.yaml"));
        assert!(!path_match("templates/[", "templates/["));
    }

    #[test]
    fn output_dir_appends_to_files_written_before() {
        let r = rendered(&[("c/templates/a.yaml", "kind: Pod\n---\nkind: Pod")]);
        let writes = files(&r, &[], &Options::default()).expect("renders");
        let appends: Vec<Append> = writes.iter().map(|w| w.append).collect();
        assert_eq!(appends, [Append::No, Append::Yes]);
    }
}
