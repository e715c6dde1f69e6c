//! dsc-helm: Helm charts as components of an Open Data Hub DataScienceCluster.
//!
//! Data flows one way: the [`registry`] (charts and descriptors) and a DSC stanza → values →
//! render (the `helm-render` crate) → manifests → apply and prune ([`reconcile`]) → status.
//! The [`webhook`] runs the same path as a dry run at admission; [`api`] holds the CRD
//! types and [`rbac`] the permissions the charts need. Both the reconciler and the webhook see
//! the cluster through [`discovery`]: one cache, kept current by one CRD watch. [`health`]
//! judges, by kind, whether applied objects run, and names the cause from their pods when
//! they do not.
//!
//! Modules import only from modules below them: [`sync`] < [`backoff`] (the API client's
//! retries and pace), [`health`] (pure judgements of live objects, which the registry's
//! descriptor rules compile into) < [`registry`] < [`api`] < [`rbac`] < [`discovery`] < [`webhook`], [`reconcile`] (which do not
//! import each other) < the binary. A test below enforces it.

pub mod api;
pub mod backoff;
pub mod discovery;
pub mod health;
pub mod rbac;
pub mod reconcile;
pub mod registry;
pub mod sync;
pub mod webhook;

/// Declared here rather than in `main.rs` so that the benchmarks and tests, which link this
/// library, measure the allocator the product ships with (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in mimalloc's `mi_option_e` (the same in its
/// v2 and v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory may stay with the allocator before it goes back to the system.
/// mimalloc's default (a second, and ten times that for whole arenas) keeps each burst's
/// garbage (a reconcile, an admission request) resident long after it; immediate return
/// costs chart loading a fifth of its speed, because every large buffer is then faulted in
/// afresh. 50 ms keeps memory within a burst and returns it between bursts.
const PURGE_DELAY_MS: std::ffi::c_long = 50;

/// Makes the allocator give freed memory back to the system soon after a burst of work (see
/// [`PURGE_DELAY_MS`]). `serve` calls this first thing, and so do the benchmarks that
/// measure it.
pub fn return_freed_memory_promptly() {
    // SAFETY: sets one of mimalloc's integer options; any value is valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

/// For a command that exits right after its work (`template`, `validate`, …): freed memory
/// is never returned to the system, not during the work (where it would be faulted in again)
/// nor at exit, where mimalloc would otherwise return all of it, a page range at a time, just
/// before the kernel takes it back anyway.
pub fn keep_freed_memory() {
    // SAFETY: as in `return_freed_memory_promptly`; a negative delay means never.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod allocator_tests {
    /// The option number names the purge delay: its default (1000 ms in mimalloc v3) is
    /// distinctive, and setting it reads back. Nothing else in the test process sets it.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets one of mimalloc's integer options.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(default, 1000);
        }
        super::return_freed_memory_promptly();
        // SAFETY: as above.
        let now = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(now, super::PURGE_DELAY_MS);
        super::keep_freed_memory();
        // SAFETY: as above.
        let never = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(never, -1);
    }
}

#[cfg(test)]
mod layering_tests {
    //! Enforces the module order of the header: a module imports only from modules below it.

    use std::path::{Path, PathBuf};

    /// Each top module's layer; modules on one layer must not import each other. The binary
    /// (`main.rs`, `cli.rs`) is the top layer and may use everything.
    const LAYERS: &[(&str, u32)] = &[
        ("sync", 0),
        ("backoff", 1),
        ("health", 1),
        ("registry", 2),
        ("api", 3),
        ("rbac", 4),
        ("discovery", 5),
        ("webhook", 6),
        ("reconcile", 6),
        ("cli", 7),
        ("main", 7),
    ];

    fn layer(module: &str) -> Option<u32> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
    }

    /// The module path of a source file: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
    fn module_path(relative: &Path) -> Vec<String> {
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        parts
    }

    /// The identifiers right after `prefix` at each place it occurs (both `prefix x` and
    /// `prefix{x, y::z}`).
    fn names_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
        let ident = |s: &'a str| {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            &s[..end]
        };
        let mut out = Vec::new();
        for (at, _) in line.match_indices(prefix) {
            let preceded = line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if preceded {
                continue;
            }
            let rest = &line[at + prefix.len()..];
            match rest.strip_prefix('{') {
                Some(group) => {
                    let group = group.split('}').next().unwrap_or("");
                    out.extend(group.split(',').map(|s| ident(s.trim())));
                }
                None => out.push(ident(rest)),
            }
        }
        out
    }

    /// The top modules a file of module `path` refers to through `crate::` and through
    /// `super::` paths that reach the crate root.
    fn referenced_modules<'a>(path: &[String], text: &'a str) -> Vec<(usize, &'a str)> {
        let mut out = Vec::new();
        for (number, line) in text.lines().enumerate() {
            for name in names_after(line, "crate::") {
                out.push((number + 1, name));
            }
            let supers = path.len();
            if supers > 0 {
                let prefix = "super::".repeat(supers);
                for name in names_after(line, &prefix) {
                    out.push((number + 1, name));
                }
            }
        }
        out
    }

    /// Every import from a module on the same or a higher layer, as `file:line: a -> b`.
    fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
        let mut out = Vec::new();
        for (relative, text) in files {
            let path = module_path(relative);
            let Some(own) = path.first() else { continue };
            let Some(own_layer) = layer(own) else {
                continue;
            };
            for (line, name) in referenced_modules(&path, text) {
                let Some(their_layer) = layer(name) else {
                    continue;
                };
                if name != own && their_layer >= own_layer {
                    out.push(format!("{}:{line}: {own} -> {name}", relative.display()));
                }
            }
        }
        out
    }

    fn sources(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
        let entries = std::fs::read_dir(dir).expect("src is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let relative = path.strip_prefix(root).expect("under src").to_path_buf();
                out.push((relative, text));
            }
        }
    }

    #[test]
    fn no_module_imports_one_above_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &root, &mut files);
        assert!(files.len() > 20, "scanned only {} files", files.len());
        let imports: usize = files
            .iter()
            .map(|(p, text)| referenced_modules(&module_path(p), text).len())
            .sum();
        assert!(imports > 20, "found only {imports} imports");
        assert_eq!(violations(&files), Vec::<String>::new());
    }

    #[test]
    fn imports_upward_or_sideways_are_found() {
        let file = |path: &str, text: &str| (PathBuf::from(path), text.to_string());
        let files = [
            file(
                "webhook/cluster.rs",
                "use crate::reconcile::cluster::Cluster;\n",
            ),
            file("api/mod.rs", "use crate::{registry::Registry, rbac};\n"),
            file("reconcile/dsc.rs", "use super::super::webhook::Verdict;\n"),
            file("rbac.rs", "fn f() { super::discovery::follow(); }\n"),
            file(
                "reconcile/mod.rs",
                "use crate::discovery::Cluster;\nuse super::sync;\n",
            ),
            file("cli.rs", "use crate::reconcile;\n"),
        ];
        assert_eq!(
            violations(&files),
            [
                "webhook/cluster.rs:1: webhook -> reconcile",
                "api/mod.rs:1: api -> rbac",
                "reconcile/dsc.rs:1: reconcile -> webhook",
                "rbac.rs:1: rbac -> discovery",
            ]
        );
    }
}
