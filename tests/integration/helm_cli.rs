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

/// One command line run by both CLIs: exit status, stdout, and the last line of stderr (Helm
/// logs a line of its own before some errors).
fn run_template(binary: &Path, dir: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(binary)
        .arg("template")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    if let Some(mut input) = child.stdin.take() {
        // A CLI that fails before it reads stdin closes it: that is its answer, not ours.
        match input.write_all(stdin.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                panic!("writing stdin to {}: {e}", binary.display())
            }
            _ => {}
        }
    }
    let out = child.wait_with_output().expect("waiting for the CLI");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        last,
    )
}

/// `--set-json`, `--set-literal`, `--set-file` (files and stdin), their order against `--set`
/// and `--set-string`, and `--name-template`, on a chart of ours that prints the release name
/// and the values: both CLIs must print the same, or fail with the same message.
#[test]
fn values_flags_and_name_templates_do_what_helm_does() {
    let Some(helm) = helm_binary() else {
        eprintln!("no Helm CLI (run tests/helm-cli/build.sh): flag comparison skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("c");
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(
        chart.join("templates/v.yaml"),
        "name: {{ .Release.Name }}\nvalues: {{ toJson .Values }}\n",
    )
    .expect("template");
    std::fs::write(dir.path().join("f1.txt"), "hello\nworld\n").expect("f1.txt");
    std::fs::create_dir_all(dir.path().join("sub")).expect("sub");
    let cases: &[&[&str]] = &[
        &["--set-json", r#"a=1,b={"c":[1,2]}, d="s",e=,f=null"#],
        &["--set-json", r#"{"h":{"i":1},"j":[1,"x"]}"#],
        &["--set-json", r#"{"h":1"#],
        &["--set-json", r#"{"h":1}x"#],
        &["--set-json", "a=1x"],
        &["--set-json", "a=1e400"],
        &["--set-json", r#"a[0]=1,a[2]={"x":true}"#],
        &["--set-json", r#"a={"b":1}"#, "--set-json", r#"a={"c":2}"#],
        &[
            "--set-json",
            r#"{"a":{"b":1}}"#,
            "--set-json",
            r#"{"a":{"c":2}}"#,
        ],
        &["--set-literal", r"g=x,y=z\,{}"],
        &["--set-literal", "a.b[0]=1,2"],
        &["--set-literal", "a[x]=1"],
        &["--set-literal", "=v"],
        &["--set-file", "a=f1.txt,b={f1.txt,f1.txt}"],
        &["--set-file", "a=missing.txt"],
        &["--set-file", "a=sub"],
        &["--set-file", "a=-"],
        &[
            "--set",
            "a=x",
            "--set-file",
            "a=f1.txt",
            "--set-string",
            "a=y",
        ],
        &[
            "--set-literal",
            "a=3",
            "--set-string",
            "a=1",
            "--set-json",
            "a=2",
        ],
        &[
            "--name-template",
            r#"{{ "r" }}-{{ "x" | repeat 3 | lower }}"#,
        ],
        &["--name-template", "{{ toYaml 1 }}"],
        &["--name-template", r#"{{ fail "no" }}"#],
        &["--name-template", "{{ .Foo }}"],
        &["--name-template", ""],
    ];
    let mut differences = Vec::new();
    for case in cases {
        let args: Vec<&str> = case.iter().copied().chain(["c"]).collect();
        let theirs = run_template(&helm, dir.path(), &args, "from stdin\n");
        let ours = run_template(
            Path::new(env!("CARGO_BIN_EXE_dsc-helm")),
            dir.path(),
            &args,
            "from stdin\n",
        );
        if theirs != ours {
            differences.push(format!("{case:?}\n  helm: {theirs:?}\n  ours: {ours:?}"));
        }
    }
    let named = run_template(&helm, dir.path(), &["n", "c", "--name-template", "x"], "");
    assert!(
        !named.0,
        "NAME and --name-template together are an error in Helm"
    );
    assert_eq!(
        named,
        run_template(
            Path::new(env!("CARGO_BIN_EXE_dsc-helm")),
            dir.path(),
            &["n", "c", "--name-template", "x"],
            ""
        )
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
