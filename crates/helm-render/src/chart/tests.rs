use super::*;

/// Builds a gzip'd tar in memory from (path, bytes) entries; `link` entries become symlinks.
fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..` and absolute paths, so write the raw name bytes.
        let name = header.as_old_mut().name.as_mut();
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        assert!(builder.append(&header, *data).is_ok());
    }
    let tar = builder.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    assert!(std::io::Write::write_all(&mut gz, &tar).is_ok());
    gz.finish().unwrap_or_default()
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";

fn err_of(entries: &[(&str, &[u8])]) -> String {
    match load_archive("demo.tgz", &tgz(entries)) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn loads_a_minimal_archive() {
    let bytes = tgz(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/values.yaml", b"a: 1\nb: {c: x}\n"),
        ("demo/templates/cm.yaml", b"kind: ConfigMap\n"),
        (
            "demo/templates/_helpers.tpl",
            b"{{ define \"x\" }}{{ end }}",
        ),
        ("demo/templates/NOTES.txt", b"notes"),
        ("demo/crds/crd.yaml", b"kind: CustomResourceDefinition\n"),
        ("demo/files/a.txt", b"\xEF\xBB\xBFhello"),
        ("demo/values.schema.json", b"{\"type\": \"object\"}"),
        (
            "demo/charts/sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        ("demo/charts/sub/templates/s.yaml", b"s"),
        ("demo/charts/_ignored/Chart.yaml", b"not: a chart"),
    ]);
    let c = load_archive("demo.tgz", &bytes);
    let Ok(c) = c else {
        panic!("{c:?}");
    };
    assert_eq!(c.name(), "demo");
    assert_eq!(c.values.get("a"), Some(Value::Float(1.0)));
    assert_eq!(c.templates.len(), 3);
    assert_eq!(c.crds().count(), 1);
    let file = c.files.iter().find(|f| f.name == "files/a.txt");
    assert_eq!(file.map(|f| f.data.as_slice()), Some(&b"hello"[..]));
    assert!(c.schema.is_some());
    assert_eq!(c.dependencies.len(), 1);
    let names: Vec<String> = c.all_templates().into_iter().map(|(n, _, _)| n).collect();
    assert!(names.contains(&"demo/templates/cm.yaml".to_string()));
    assert!(names.contains(&"demo/charts/sub/templates/s.yaml".to_string()));
}

#[test]
fn nested_subchart_archives_load() {
    let sub = tgz(&[(
        "sub/Chart.yaml",
        b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )]);
    let bytes = tgz(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/charts/sub-0.1.0.tgz", &sub),
    ]);
    let c = load_archive("demo.tgz", &bytes);
    assert_eq!(
        c.ok()
            .and_then(|c| c.dependencies.first().map(|d| d.name().to_string())),
        Some("sub".to_string())
    );
}

#[test]
fn bad_archives_are_errors_naming_archive_and_entry() {
    assert!(
        load_archive("x.tgz", b"not gzip at all")
            .err()
            .is_some_and(|e| e
                .to_string()
                .contains("x.tgz: does not appear to be a gzipped archive"))
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    assert!(std::io::Write::write_all(&mut gz, b"this is not a tar archive").is_ok());
    let not_tar = gz.finish().unwrap_or_default();
    assert!(load_archive("x.tgz", &not_tar).is_err());
    let mut corrupt = tgz(&[("demo/Chart.yaml", CHART_YAML)]);
    corrupt.truncate(corrupt.len() / 2);
    assert!(load_archive("x.tgz", &corrupt).is_err());

    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/../../etc/passwd", b"x"),
    ]);
    assert!(
        e.contains("demo.tgz: demo/../../etc/passwd: chart illegally references parent directory"),
        "{e}"
    );
    let e = err_of(&[("demo/Chart.yaml", CHART_YAML), ("demo//etc/passwd", b"x")]);
    assert!(e.contains("absolute paths"), "{e}");
    let e = err_of(&[("Chart.yaml", CHART_YAML)]);
    assert!(e.contains("chart yaml not in base directory"), "{e}");
    let e = err_of(&[("demo/values.yaml", b"a: 1")]);
    assert!(e.contains("Chart.yaml file is missing"), "{e}");
    let e = err_of(&[("demo/Chart.yaml", b"apiVersion: v2\nversion: 1.0.0\n")]);
    assert!(e.contains("chart.metadata.name is required"), "{e}");
    let e = err_of(&[("demo/Chart.yaml", b"apiVersion: v2\nname: demo\n")]);
    assert!(e.contains("chart.metadata.version is required"), "{e}");
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: demo\nversion: banana\n",
    )]);
    assert!(
        e.contains("chart.metadata.version \"banana\" is invalid"),
        "{e}"
    );
    // Helm 4.2 accepts any apiVersion (checked with the oracle: v3 and v9 both render).
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v9\nname: demo\nversion: 1.0.0\n",
    )]);
    assert_eq!(e, "");
    let e = err_of(&[("demo/Chart.yaml", b"name: [a]\n")]);
    assert!(e.contains("cannot load Chart.yaml"), "{e}");
    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/templates/bad.yaml", b"ok\xff\xfe"),
    ]);
    assert!(
        e.contains("demo.tgz: templates/bad.yaml: template is not valid UTF-8"),
        "{e}"
    );
    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/values.yaml", b"- a list\n"),
    ]);
    assert!(e.contains("cannot load values.yaml"), "{e}");
    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/charts/broken/values.yaml", b"a: 1"),
    ]);
    assert!(e.contains("error unpacking subchart broken in demo"), "{e}");
}

#[test]
fn link_entries_are_kept_empty_never_followed() {
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(CHART_YAML.len() as u64);
    h.set_mode(0o644);
    assert!(h.set_path("demo/Chart.yaml").is_ok());
    h.set_cksum();
    assert!(builder.append(&h, CHART_YAML).is_ok());
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    assert!(l.set_path("demo/secret").is_ok());
    assert!(l.set_link_name("/etc/passwd").is_ok());
    l.set_cksum();
    assert!(builder.append(&l, std::io::empty()).is_ok());
    let tar = builder.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    assert!(std::io::Write::write_all(&mut gz, &tar).is_ok());
    let c = load_archive("demo.tgz", &gz.finish().unwrap_or_default());
    let secret = c
        .ok()
        .and_then(|c| c.files.iter().find(|f| f.name == "secret").cloned());
    assert_eq!(secret.map(|f| f.data), Some(Vec::new()));
}

#[test]
fn oversized_archives_are_refused() {
    // A 101 MiB entry of zeros compresses to ~100 KiB: a decompression bomb.
    let big = vec![0u8; (MAX_DECOMPRESSED_CHART_SIZE + 1024) as usize];
    let e = err_of(&[("demo/Chart.yaml", CHART_YAML), ("demo/big.bin", &big)]);
    assert!(
        e.contains("decompressed chart is larger than the maximum size 104857600"),
        "{e}"
    );
}

#[test]
fn chart_yaml_scalars_convert_like_sigs_yaml() {
    let c = load_archive(
        "demo.tgz",
        &tgz(&[(
            "demo/Chart.yaml",
            b"apiVersion: v2\nname: demo\nversion: 2\nappVersion: 1.10\ntype: library\n",
        )]),
    );
    let Ok(c) = c else { panic!("{c:?}") };
    assert_eq!(c.metadata.version, "2");
    assert_eq!(c.metadata.app_version, "1.1");
    assert!(c.is_library());
}

#[test]
fn v1_charts_take_dependencies_from_requirements_yaml() {
    let c = load_archive(
        "demo.tgz",
        &tgz(&[
            ("demo/Chart.yaml", b"apiVersion: v1\nname: demo\nversion: 1.0.0\n"),
            (
                "demo/requirements.yaml",
                b"dependencies:\n- name: sub\n  version: 0.1.0\n  alias: other\n  condition: other.enabled\n  import-values: [data, {child: a, parent: b}]\n",
            ),
        ]),
    );
    let Ok(c) = c else { panic!("{c:?}") };
    let dep = c.metadata.dependencies.first();
    assert_eq!(dep.map(|d| d.alias.as_str()), Some("other"));
    assert_eq!(
        dep.map(|d| d.import_values.clone()),
        Some(vec![
            ImportValue::Exports("data".into()),
            ImportValue::Map {
                child: "a".into(),
                parent: "b".into()
            }
        ])
    );
    assert!(c.files.iter().any(|f| f.name == "requirements.yaml"));
}

#[test]
fn directories_honour_helmignore() {
    let dir = std::env::temp_dir().join(format!("dsc-helm-chart-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |p: &str, d: &[u8]| {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            assert!(std::fs::create_dir_all(parent).is_ok());
        }
        assert!(std::fs::write(path, d).is_ok());
    };
    write("Chart.yaml", CHART_YAML);
    write(".helmignore", b"*.md\nsecret/\n");
    write("README.md", b"x");
    write("secret/key", b"x");
    write("templates/a.yaml", b"a");
    write("templates/.hidden.yaml", b"h");
    write(
        "charts/sub/Chart.yaml",
        b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    let c = load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(c) = c else { panic!("{c:?}") };
    let files: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, vec![".helmignore"]);
    assert_eq!(c.templates.len(), 1);
    assert_eq!(c.dependencies.len(), 1);
}

#[test]
fn all_corpus_archives_load() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/charts");
    let entries: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the corpus is missing at {}: {e}", root.display()))
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert!(!entries.is_empty(), "no charts under {}", root.display());
    for entry in entries {
        let path = entry.path().join("chart.tgz");
        if let Err(e) = load(&path) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// Loading while parsing ahead loads the same chart, and everything parsed ahead is one of
/// the chart's templates under the name the render gives it, with its source: a render of the
/// chart's templates takes every parse made ahead, whatever share of them the other thread
/// got to before the chart was loaded.
#[test]
fn templates_parsed_ahead_are_the_charts_own() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/charts");
    let mut charts: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the corpus is missing at {}: {e}", root.display()))
        .flatten()
        .map(|e| e.path().join("chart.tgz"))
        .filter(|p| p.is_file())
        .collect();
    charts.sort();
    assert!(!charts.is_empty(), "no charts under {}", root.display());
    for path in charts {
        let ahead = crate::engine::ParsedAhead::new();
        let chart = load_parsing_ahead(&path, &ahead).unwrap_or_else(|e| panic!("{e}"));
        let plain = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chart.templates, plain.templates, "{}", path.display());
        assert_eq!(chart.files, plain.files, "{}", path.display());
        assert_eq!(chart.values, plain.values, "{}", path.display());
        let named: Vec<(String, &str)> = chart
            .templates
            .iter()
            .map(|t| (format!("{}/{}", chart.name(), t.name), t.source.as_str()))
            .collect();
        let texts: Vec<(&str, &str)> = named.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let mut templates = crate::engine::Templates::new();
        templates
            .parse_many_with(&texts, Some(&ahead))
            .unwrap_or_else(|(at, e)| panic!("{}: {}: {e}", path.display(), texts[at].0));
        assert!(
            ahead.is_empty(),
            "{}: {} parses left",
            path.display(),
            ahead.len()
        );
    }
}

/// The feed names a chart's own templates as the render does, from Chart.yaml's name, and
/// hands over nothing else: not what comes before Chart.yaml, not other files, not a
/// subchart's templates, not a template that is not UTF-8 (the loader refuses it).
#[test]
fn the_feed_hands_over_the_charts_own_templates_by_their_render_names() {
    let ahead = crate::engine::ParsedAhead::new();
    let never = AtomicBool::new(false);
    let file = |name: &str, data: &[u8]| ChartFile {
        name: name.to_string(),
        data: data.to_vec(),
    };
    std::thread::scope(|scope| {
        let Some(mut feed) = TemplateFeed::start(scope, &ahead, &never) else {
            panic!("no thread to parse on");
        };
        feed.offer(&file("templates/before.yaml", b"x: {{ 0 }}"));
        feed.offer(&file(
            "Chart.yaml",
            b"apiVersion: v2\nname: web\nversion: 1.0.0\n",
        ));
        feed.offer(&file("values.yaml", b"a: {{ 1 }}"));
        feed.offer(&file("templates/a.yaml", b"a: {{ 1 }}"));
        feed.offer(&file("charts/sub/templates/b.yaml", b"b: {{ 2 }}"));
        feed.offer(&file("templates/latin1.yaml", b"c: \xe9"));
    });
    assert_eq!(ahead.len(), 1, "one template handed over");
    let mut templates = crate::engine::Templates::new();
    templates
        .parse_many_with(&[("web/templates/a.yaml", "a: {{ 1 }}")], Some(&ahead))
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    assert!(ahead.is_empty(), "taken under the render's name");
}

#[test]
fn archive_in_archive_chains_are_bounded() {
    let mut inner = tgz(&[("c/Chart.yaml", b"apiVersion: v2\nname: c\nversion: 0.1.0\n")]);
    for _ in 0..(MAX_SUBCHART_DEPTH + 2) {
        inner = tgz(&[
            ("c/Chart.yaml", b"apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("c/charts/c.tgz", &inner),
        ]);
    }
    let e = load_archive("deep.tgz", &inner)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("subcharts nested more than 32 levels deep"),
        "{e}"
    );
}

#[test]
fn metadata_validation_follows_helm() {
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: a/b\nversion: 1.0.0\n",
    )]);
    assert!(e.contains(r#"chart.metadata.name "a/b" is invalid"#), "{e}");
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: demo\nversion: 1.0.0\ntype: plugin\n",
    )]);
    assert!(
        e.contains("chart.metadata.type must be application or library"),
        "{e}"
    );
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: x\n- name: y\n  alias: x\n",
    )]);
    assert!(
        e.contains(r#"more than one dependency with name or alias "x""#),
        "{e}"
    );
    let e = err_of(&[(
        "demo/Chart.yaml",
        b"apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: x\n  alias: bad.alias\n",
    )]);
    assert!(
        e.contains(r#"dependency "x" has disallowed characters in the alias"#),
        "{e}"
    );
    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/Chart.lock", b"a: ["),
    ]);
    assert!(e.contains("cannot load Chart.lock"), "{e}");
}

#[test]
fn values_documents_merge_like_helms_loader() {
    // Helm renders `a: 1, m: {x: 1}` --- `b: 2, m: {z: 2}` as {"a":1,"b":2,"m":{"x":1,"z":2}}.
    let first = parse_values_text("a: 1\nm: {x: 1}\nl: [1]\n").unwrap_or_default();
    let second = parse_values_text("b: 2\nm: {z: 2}\nl: [2]\n").unwrap_or_default();
    let mut merged = Map::new();
    for doc in &[first, second] {
        if let Value::Map(m) = doc {
            merge_documents(&mut merged, &m.read());
        }
    }
    assert_eq!(
        Value::map(merged).to_json(),
        serde_json::json!({"a": 1.0, "b": 2.0, "l": [2.0], "m": {"x": 1.0, "z": 2.0}})
    );
}

#[test]
fn values_parsed_ahead_land_in_their_own_chart() {
    let sub_chart: &[u8] = b"apiVersion: v2\nname: sub\nversion: 0.1.0\n";
    let deep_chart: &[u8] = b"apiVersion: v2\nname: deep\nversion: 0.1.0\n";
    let c = load_archive(
        "demo.tgz",
        &tgz(&[
            ("demo/Chart.yaml", CHART_YAML),
            ("demo/values.yaml", b"who: top\n"),
            ("demo/charts/sub/Chart.yaml", sub_chart),
            ("demo/charts/sub/values.yaml", b"who: sub\n"),
            ("demo/charts/sub/charts/deep/Chart.yaml", deep_chart),
            ("demo/charts/sub/charts/deep/values.yaml", b"who: deep\n"),
        ]),
    );
    let Ok(c) = c else {
        panic!("{c:?}");
    };
    let sub = c.dependencies.first();
    let deep = sub.and_then(|s| s.dependencies.first());
    let who = |c: Option<&Chart>| c.and_then(|c| c.values.get("who"));
    assert_eq!(who(Some(&c)), Some(Value::str("top")));
    assert_eq!(who(sub), Some(Value::str("sub")));
    assert_eq!(who(deep), Some(Value::str("deep")));

    // As deep as the YAML reader allows, parsed ahead on its own thread.
    let depth = crate::yaml::MAX_DEPTH - 1;
    let deep_values: String = (0..depth)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .chain(std::iter::once(format!("{}b: 1\n", " ".repeat(depth))))
        .collect();
    let c = load_archive(
        "demo.tgz",
        &tgz(&[
            ("demo/Chart.yaml", CHART_YAML),
            ("demo/values.yaml", deep_values.as_bytes()),
        ]),
    );
    assert!(c.is_ok(), "{:?}", c.err());

    // A repeated values.yaml: the first copy is still checked, the last one wins.
    let e = err_of(&[
        ("demo/Chart.yaml", CHART_YAML),
        ("demo/values.yaml", b"- not a map\n"),
        ("demo/values.yaml", b"who: second\n"),
    ]);
    assert!(e.contains("cannot load values.yaml"), "{e}");
    let c = load_archive(
        "demo.tgz",
        &tgz(&[
            ("demo/Chart.yaml", CHART_YAML),
            ("demo/values.yaml", b"who: first\n"),
            ("demo/values.yaml", b"who: second\n"),
        ]),
    );
    assert_eq!(
        c.ok().and_then(|c| c.values.get("who")),
        Some(Value::str("second"))
    );
}
