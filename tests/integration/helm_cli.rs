//! CLI against CLI: `dsc-helm template` prints what `helm template` prints, byte for byte, over
//! every case of ../shared/corpus (tests/helm-cli/compare.py does the work), except the cases
//! of tests/helm-cli/known-differences.txt, where the renderer itself still differs. Runs where the
//! Helm CLI is built (tests/helm-cli/build.sh, which tests/run-all.sh runs first); elsewhere it
//! says so and passes, because the Helm CLI is a build of minutes that a plain `cargo test`
//! should not start.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where tests/helm-cli/build.sh puts Helm: $DSC_HELM_HELM_BIN, else the cache.
fn helm_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DSC_HELM_HELM_BIN") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".cache/dsc-helm/helm/v4.2.3/helm");
    path.exists().then_some(path)
}

#[test]
fn template_prints_what_helm_template_prints_over_the_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus");
    let Some(helm) = helm_binary() else {
        eprintln!("no Helm CLI (run tests/helm-cli/build.sh): CLI-against-CLI comparison skipped");
        return;
    };
    assert!(corpus.is_dir(), "no corpus at {}", corpus.display());
    let out = Command::new("python3")
        .arg(root.join("tests/helm-cli/compare.py"))
        .arg("--corpus")
        .arg(&corpus)
        .arg("--helm")
        .arg(&helm)
        .arg("--dsc-helm")
        .arg(env!("CARGO_BIN_EXE_dsc-helm"))
        .arg("--known")
        .arg(root.join("tests/helm-cli/known-differences.txt"))
        .output()
        .unwrap_or_else(|e| panic!("running compare.py: {e}"));
    let report = String::from_utf8_lossy(&out.stdout);
    let summary = root.join("target/tmp/helm-cli-summary.txt");
    if let Some(dir) = summary.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&summary, report.as_bytes());
    assert!(
        out.status.success(),
        "dsc-helm template differs from helm template:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
