//! The crate's modules form layers, and an import may only reach down: a module that needs a
//! higher one is a sign that code sits in the wrong place (as Go's value printing once sat in
//! the engine while the YAML writer and the chart loader used it).

use std::path::{Path, PathBuf};

/// Lowest first. A module may import only modules before it in this list.
const LAYERS: &[&str] = &[
    "par",
    "value",
    "gofmt",
    "yaml",
    "engine",
    "chart",
    "values",
    "render",
    "manifest",
    "template_output",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to: `yaml/parse.rs` and `yaml.rs` are `yaml`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?;
    Some(name.trim_end_matches(".rs").to_string())
}

/// Every `crate::<module>` a text names, wherever it appears (use lines and paths alike).
fn crate_modules_named(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .collect()
}

/// Finds every import that reaches up a layer, as `file: crate::module`.
fn upward_imports(src: &Path) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let Some(own) = rank(&module) else { continue };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for named in crate_modules_named(&text) {
            if rank(&named).is_some_and(|r| r > own) {
                found.push(format!("{}: crate::{named}", file.display()));
            }
        }
    }
    (files.len(), found)
}

#[test]
fn no_module_imports_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (scanned, upward) = upward_imports(&src);
    assert!(
        scanned > 50,
        "only {scanned} source files found under {}",
        src.display()
    );
    assert!(
        upward.is_empty(),
        "imports that reach up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(!declared.is_empty(), "no `pub mod` lines read from lib.rs");
    for module in declared {
        assert!(
            rank(module).is_some(),
            "module {module} is missing from LAYERS"
        );
    }
}

#[test]
fn an_upward_import_is_found() {
    let dir = std::env::temp_dir().join(format!("helm-render-layers-{}", std::process::id()));
    let yaml = dir.join("yaml");
    std::fs::create_dir_all(&yaml).expect("temporary directory");
    let text = "use crate::render::Rendered;\nuse crate::value::Value;\n";
    std::fs::write(yaml.join("emit.rs"), text).expect("temporary file");
    let (scanned, upward) = upward_imports(&dir);
    std::fs::remove_dir_all(&dir).expect("temporary directory removed");
    assert_eq!(scanned, 1);
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(
        upward[0].ends_with("yaml/emit.rs: crate::render"),
        "{upward:?}"
    );
}
