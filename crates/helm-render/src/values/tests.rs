use super::*;
use crate::chart;

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/charts")
}

fn corpus_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(corpus_dir())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn corpus_schema_cases_agree_with_helm() {
    let mut agree = 0;
    let mut total = 0;
    let mut disagreements = Vec::new();
    for id in corpus_ids() {
        let dir = corpus_dir().join(&id);
        let Ok(c) = chart::load(&dir.join("chart.tgz")) else {
            panic!("corpus chart {id} failed to load");
        };
        let Ok(rd) = std::fs::read_dir(dir.join("schema")) else {
            continue;
        };
        let mut cases: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        cases.sort();
        for case in cases {
            let text = std::fs::read_to_string(&case).unwrap_or_default();
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                panic!("bad case file {}", case.display());
            };
            let accepts = json["helm_render_accepts"].as_bool().unwrap_or(false);
            let err = json["helm_render_error"].as_str().unwrap_or("");
            // Rejections for template reasons are not schema verdicts.
            if !accepts && !err.starts_with("HelmValuesError") {
                continue;
            }
            total += 1;
            let user = Value::from_json(&json["values"]);
            let ours = match prepare(c.clone(), user) {
                Ok(p) => validate(&p).is_empty(),
                Err(_) => false,
            };
            if ours == accepts {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{} (helm accepts: {accepts}) {err}",
                    case.display()
                ));
            }
        }
    }
    println!("schema agreement: {agree}/{total}");
    for d in &disagreements {
        println!("  {d}");
    }
    assert!(total > 100);
    assert_eq!(agree, total, "disagreements: {disagreements:#?}");
}

fn fixture(name: &str) -> Chart {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/charts")
        .join(name);
    match chart::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("fixture {name}: {e}"),
    }
}

/// JSON with every number as f64, so YAML floats and --set ints compare like Helm's toJson.
fn norm(j: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::Number(n) => {
            serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0)).map_or(J::Null, J::Number)
        }
        J::Array(a) => J::Array(a.iter().map(norm).collect()),
        J::Object(o) => J::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

fn assert_json(actual: &Value, expected: &str) {
    let Ok(exp) = serde_json::from_str::<serde_json::Value>(expected) else {
        panic!("bad expected JSON");
    };
    assert_eq!(norm(&actual.to_json()), norm(&exp));
}

fn prepared(name: &str, user: &str) -> Prepared {
    let user = crate::chart::parse_values_text(user).unwrap_or_default();
    match prepare(fixture(name), user) {
        Ok(p) => p,
        Err(e) => panic!("prepare {name}: {e}"),
    }
}

// Expected JSON below is what Helm 4.2 renders for `{{ toJson .Values }}` (helm_oracle.py).
#[test]
fn deps_demo_defaults_match_helm() {
    let p = prepared("deps-demo", "{}");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":{"a":1}},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1}}"#,
    );
    let names: Vec<&str> = p.chart.dependencies.iter().map(Chart::name).collect();
    assert_eq!(names.len(), 4);
    for n in ["sub", "sub2", "lib", "other"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let lib = p.chart.dependencies.iter().find(|c| c.name() == "lib");
    assert!(lib.is_some_and(Chart::is_library));
}

/// The templates Helm outputs: every non-partial template of non-library charts, by full name.
fn rendered_templates(p: &Prepared) -> Vec<String> {
    let mut names: Vec<String> = p
        .chart
        .all_templates()
        .into_iter()
        .filter(|(name, _, chart)| {
            !chart.is_library() && !name.rsplit('/').next().is_some_and(|b| b.starts_with('_'))
        })
        .map(|(name, _, _)| name)
        .collect();
    names.sort();
    names
}

fn prepare_err(name: &str, user: &str) -> String {
    let user = crate::chart::parse_values_text(user).unwrap_or_default();
    match prepare(fixture(name), user) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn non_table_subchart_values_are_a_type_mismatch() {
    assert_eq!(
        prepare_err("deps-demo", "sub: str\n"),
        "type mismatch on sub: %!t(string=str)"
    );
}

#[test]
fn list_over_map_default_is_kept_and_nested_conflicts_warn() {
    let p = prepared("nulls-demo", "b: [1, 2]\n");
    assert_json(&p.values.get("b").unwrap_or_default(), "[1, 2]");
    // Helm logs nothing for a top-level conflict, and this for a nested one.
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let p = prepared("deps-demo", "nested: {m: 5}\n");
    assert_eq!(
        p.values.get("nested").and_then(|n| n.get("m")),
        Some(Value::Float(5.0))
    );
    assert_eq!(
        p.warnings,
        vec!["warning: cannot overwrite table with non table for deps-demo.nested.m (map[x:1])"]
    );
}
// Generated from helm_oracle.py output for each (chart, values) pair.

#[test]
fn condition_path_deleted_by_user_null_keeps_subchart() {
    let p = prepared("deps-demo", "sub:\n  enabled: null\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":{"a":1}},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn tags_disable_but_conditions_win() {
    let p = prepared("deps-demo", "tags:\n  t2: false\n  t1: false\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":{"a":1}},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"tags":{"t1":false,"t2":false}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn second_condition_path_disables() {
    let p = prepared("deps-demo", "subOn: false\nsub:\n  enabled: null\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":{"a":1}},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"fromParent":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"subOn":false}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn non_table_global_is_skipped() {
    let p = prepared("deps-demo", "global: 5\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":5,"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn chart_nulls_are_removed() {
    let p = prepared("nulls-demo", "{}\n");
    assert_json(
        &p.values,
        r#"{"b":{"d":1},"l":[1,null],"s":{"global":{},"sb":{"d":2}}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nulls-demo/charts/s/templates/v.yaml",
            "nulls-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn user_nulls_delete_defaults_but_stay_elsewhere() {
    let p = prepared(
        "nulls-demo",
        "a: 5\nnew: null\nb: {newnested: null, d: null}\ns: {sa: 3, x: null}\n",
    );
    assert_json(
        &p.values,
        r#"{"a":5,"b":{"newnested":null},"l":[1,null],"new":null,"s":{"global":{},"sa":3,"sb":{"d":2},"x":null}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nulls-demo/charts/s/templates/v.yaml",
            "nulls-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

/// Violations as sorted `chart: at 'pointer': message` lines, the way Helm's error lists them.
fn violations(chart: &str, user: &str) -> Vec<String> {
    let mut v: Vec<String> = validate(&prepared(chart, user))
        .iter()
        .map(ToString::to_string)
        .collect();
    v.sort();
    v
}

// Expected lines are taken from Helm's render error for the same values (helm_oracle.py
// template); Helm rejects `global` under a subchart schema with additionalProperties: false.
const GLOBAL_REJECTED: &str = "frontend: at '': additional properties 'global' not allowed";

#[test]
fn schema_defaults_only_trip_the_strict_subchart() {
    assert_eq!(violations("schema-demo", "{}"), vec![GLOBAL_REJECTED]);
}

#[test]
fn schema_type_enum_pattern_minimum_messages() {
    assert_eq!(
        violations("schema-demo", "replicas: three\n"),
        vec![
            GLOBAL_REJECTED,
            "schema-demo: at '/replicas': got string, want integer"
        ]
    );
    assert_eq!(
        violations("schema-demo", "replicas: -1\nmode: c\nname: ABC\n"),
        vec![
            GLOBAL_REJECTED,
            "schema-demo: at '/mode': value must be one of 'a', 'b'",
            "schema-demo: at '/name': 'ABC' does not match pattern '^[a-z]+$'",
            "schema-demo: at '/replicas': minimum: got -1, want 0",
        ]
    );
    assert_eq!(
        violations("schema-demo", "replicas: 1.5\n"),
        vec![
            GLOBAL_REJECTED,
            "schema-demo: at '/replicas': got number, want integer"
        ]
    );
}

#[test]
fn user_null_removes_a_required_default() {
    assert_eq!(
        violations("schema-demo", "replicas: null\n"),
        vec![
            GLOBAL_REJECTED,
            "schema-demo: at '': missing property 'replicas'"
        ]
    );
}

#[test]
fn aliased_subchart_is_validated_under_its_alias() {
    assert_eq!(
        violations("schema-demo", "frontend:\n  port: 70000\n  extra: 1\n"),
        vec![
            "frontend: at '': additional properties 'extra', 'global' not allowed",
            "frontend: at '/port': maximum: got 70,000, want 65,535",
        ]
    );
    assert_eq!(
        violations("schema-demo", "frontend:\n  port: 1e7\n"),
        vec![
            GLOBAL_REJECTED,
            "frontend: at '/port': maximum: got 1×10⁰⁷, want 65,535"
        ]
    );
    let v = validate(&prepared("schema-demo", "frontend:\n  port: 70000\n"));
    assert!(
        v.iter()
            .any(|v| v.path == "frontend.port" && v.pointer == "/port")
    );
}

#[test]
fn numbers_can_be_spelled_as_written_instead_of_as_helm_prints_them() {
    let as_written = |values: &str| -> Vec<String> {
        super::validate_with(&prepared("schema-demo", values), super::Numbers::AsWritten)
            .iter()
            .map(|v| v.message.clone())
            .filter(|m| m.starts_with("maximum"))
            .collect()
    };
    assert_eq!(
        as_written("frontend:\n  port: 70000\n"),
        vec!["maximum: got 70000, want 65535"]
    );
    assert_eq!(
        as_written("frontend:\n  port: 1e7\n"),
        vec!["maximum: got 10000000, want 65535"]
    );
    assert_eq!(
        as_written("frontend:\n  port: 65535.5\n"),
        vec!["maximum: got 65535.5, want 65535"]
    );
}

#[test]
fn only_enabled_subcharts_are_validated() {
    assert_eq!(
        violations("schema-demo", "extra:\n  enabled: true\n"),
        vec!["extra: at '': missing property 'never'", GLOBAL_REJECTED]
    );
}

#[test]
fn imported_values_never_override_the_parent() {
    let p = prepared("import-demo", "{}");
    assert_json(
        &p.values,
        r#"{"child":{"exports":{"data":{"exported":"e","other":"o"}},"global":{},"inner":{"i":1,"j":2}},"exported":"parentwins","imported":{"deep":{"i":"parent","j":2}},"other":"o"}"#,
    );
    let p = prepared("import-demo", "imported:\n  deep:\n    j: user\n");
    assert_json(
        &p.values,
        r#"{"child":{"exports":{"data":{"exported":"e","other":"o"}},"global":{},"inner":{"i":1,"j":2}},"exported":"parentwins","imported":{"deep":{"i":"parent","j":"user"}},"other":"o"}"#,
    );
}

#[test]
fn dependencies_missing_from_charts_are_ignored() {
    assert_json(&prepared("missing-dep", "{}").values, "{}");
    assert_json(
        &prepared("missing-dep", "ghost:\n  enabled: false\n").values,
        r#"{"ghost":{"enabled":false}}"#,
    );
}

#[test]
fn user_values_merge_files_then_set_then_set_string() {
    let f1 =
        crate::chart::parse_values_text("a: {b: 1, c: 2}\nl: [1, 2]\nk: x\n").unwrap_or_default();
    let f2 =
        crate::chart::parse_values_text("a: {c: 3, d: 4}\nl: [9]\nk: null\n").unwrap_or_default();
    let merged = merge_user_values(
        &[f1, f2],
        &["a.b=10,n=007".to_string()],
        &["a.d=5".to_string()],
    );
    let Ok(merged) = merged else {
        panic!("{merged:?}")
    };
    assert_json(
        &merged,
        r#"{"a":{"b":10,"c":3,"d":"5"},"k":null,"l":[9],"n":"007"}"#,
    );
    assert_eq!(
        merged.get("a").and_then(|a| a.get("b")),
        Some(Value::Int(10))
    );
    let e = merge_user_values(&[], &["a[".to_string()], &[]);
    assert!(e.is_err());
}

fn nested(depth: usize) -> Value {
    let mut v = Value::Int(1);
    for _ in 0..depth {
        let mut m = Map::new();
        m.insert("a".to_string(), v);
        v = Value::map(m);
    }
    v
}

#[test]
fn very_deep_values_are_refused_not_overflowing() {
    let deep = nested(5000);
    let e = prepare(fixture("nulls-demo"), deep.clone());
    assert!(
        e.err()
            .is_some_and(|e| e.to_string().contains("nested more than 500 levels"))
    );
    let e = merge_user_values(std::slice::from_ref(&deep), &[], &[]);
    assert!(
        e.err()
            .is_some_and(|e| e.to_string().contains("nested more than 500 levels"))
    );
    // Within the limit everything works.
    assert!(prepare(fixture("nulls-demo"), nested(400)).is_ok());
}

// Generated from helm_oracle.py output for each (chart, values) pair.

#[test]
fn subchart_nulls_are_cleaned_without_user_values() {
    let p = prepared("subnull-demo", "{}\n");
    assert_json(
        &p.values,
        r#"{"sub":{"fromParent":1,"global":{},"k":{},"m":{"yy":1},"pnull":5},"top":1}"#,
    );
}

#[test]
fn subchart_nulls_leak_when_user_sets_the_subchart() {
    let p = prepared("subnull-demo", "sub: {other: 1}\n");
    assert_json(
        &p.values,
        r#"{"sub":{"fromParent":1,"global":{},"k":{"z":null},"m":{"x":null,"yy":1},"other":1},"top":1}"#,
    );
}

#[test]
fn user_values_replace_subchart_nulls() {
    let p = prepared("subnull-demo", "sub: {m: {x: 2}, nn: 3}\n");
    assert_json(
        &p.values,
        r#"{"sub":{"fromParent":1,"global":{},"k":{"z":null},"m":{"x":2,"yy":1},"nn":3},"top":1}"#,
    );
}

#[test]
fn user_null_deletes_subchart_table() {
    let p = prepared("subnull-demo", "sub: {k: null}\n");
    assert_json(
        &p.values,
        r#"{"sub":{"fromParent":1,"global":{},"m":{"x":null,"yy":1}},"top":1}"#,
    );
}

#[test]
fn import_values_share_tables_like_go_maps() {
    let p = prepared("alias-import-demo", "{}\n");
    assert_json(
        &p.values,
        r#"{"a":{"data":{"fromA":1,"fromB":2},"global":{}},"b":{"data":{"fromB":2},"global":{}},"both":{"fromA":1,"fromB":2},"first":{"fromA":1,"fromB":2}}"#,
    );
}

#[test]
fn schema_errors_read_like_helms() {
    let p = prepared("schema-demo", "replicas: three\n");
    assert_eq!(
        schema_error_message(&validate(&p)),
        "values don't meet the specifications of the schema(s) in the following chart(s):\nschema-demo:\n- at '/replicas': got string, want integer\nfrontend:\n- at '': additional properties 'global' not allowed\n"
    );
}

/// After dependency processing, the templates we would render are exactly the ones Helm
/// rendered for every corpus case (enabled subcharts under their aliases, no library output).
#[test]
fn corpus_rendered_template_sets_match_helm() {
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for id in corpus_ids() {
        let dir = corpus_dir().join(&id);
        let Ok(c) = chart::load(&dir.join("chart.tgz")) else {
            panic!("corpus chart {id} failed to load");
        };
        let Ok(rd) = std::fs::read_dir(dir.join("cases")) else {
            continue;
        };
        for case in rd.filter_map(Result::ok).map(|e| e.path()) {
            let Ok(expected) = std::fs::read_to_string(case.join("expected.json")) else {
                continue;
            };
            let Ok(expected) = serde_json::from_str::<serde_json::Value>(&expected) else {
                panic!("bad expected.json in {}", case.display());
            };
            let mut want: Vec<String> = expected
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            want.sort();
            let text = std::fs::read_to_string(case.join("values.yaml")).unwrap_or_default();
            let user = crate::chart::parse_values_text(&text).unwrap_or_default();
            let got = match prepare(c.clone(), user) {
                Ok(p) => rendered_templates(&p),
                Err(e) => vec![e.to_string()],
            };
            checked += 1;
            if got != want {
                mismatches.push(case.display().to_string());
            }
        }
    }
    println!(
        "template sets checked: {checked}, mismatches: {}",
        mismatches.len()
    );
    assert!(checked > 100);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn schema_keyword_messages_match_helm() {
    let user = "req: {}\nc: y\nml: ab\nmi: [1, 2]\nu: [1, 1]\nany: [1]\none: s\nfmt: notanemail\nmo: 4\nex: 5\ntn: 1\nmp: {a: 1}\nnt: s\nap: {zz: 1, bb: 2, k: 1}\n";
    // Helm's render error for these values, one line per violation (sorted).
    let mut helm = vec![
        "keywords-demo: at '/one': 'oneOf' failed, subschemas 0, 1 matched",
        "keywords-demo: at '/req': missing properties 'a', 'b'",
        "keywords-demo: at '/any': 'anyOf' failed",
        "keywords-demo: at '/ap': additional properties 'bb', 'zz' not allowed",
        "keywords-demo: at '/u': items at 0 and 1 are equal",
        "keywords-demo: at '/ex': exclusiveMinimum: got 5, want 5",
        "keywords-demo: at '/mi': maxItems: got 2, want 1",
        "keywords-demo: at '/ml': minLength: got 2, want 3",
        "keywords-demo: at '/mo': multipleOf: got 4, want 3",
        "keywords-demo: at '/tn': got number, want null or string",
        "keywords-demo: at '/c': value must be 'x'",
        "keywords-demo: at '/mp': minProperties: got 1, want 2",
        "keywords-demo: at '/nt': 'not' failed",
    ];
    helm.sort();
    assert_eq!(violations("keywords-demo", user), helm);
}

#[test]
fn set_errors_name_the_flag_like_helm() {
    let e = merge_user_values(&[], &[], &["a".to_string()]);
    assert_eq!(
        e.err().map(|e| e.to_string()),
        Some(r#"failed parsing --set-string data: key "a" has no value"#.to_string())
    );
    let file = crate::chart::parse_values_text("a: text\n").unwrap_or_default();
    let e = merge_user_values(&[file], &["a.b=1".to_string()], &[]);
    assert_eq!(
        e.err().map(|e| e.to_string()),
        Some("failed parsing --set data: unable to parse key: interface conversion: interface {} is string, not map[string]interface {}".to_string())
    );
}

/// The merged values of a command line of `--set`-family flags, as compact JSON, or the
/// error. `--set-file` paths read from a fake file system: `f1` holds "hello\nworld\n".
fn command_line(flags: &[(&str, &str)]) -> String {
    let args = |name: &str| -> Vec<String> {
        flags
            .iter()
            .filter(|(flag, _)| *flag == name)
            .map(|(_, arg)| arg.to_string())
            .collect()
    };
    let (set_json, set, set_string, set_file, set_literal) = (
        args("--set-json"),
        args("--set"),
        args("--set-string"),
        args("--set-file"),
        args("--set-literal"),
    );
    let given = CommandLineValues {
        files: &[],
        set_json: &set_json,
        set: &set,
        set_string: &set_string,
        set_file: &set_file,
        set_literal: &set_literal,
    };
    let mut read = |path: &str| match path {
        "f1" => Ok("hello\nworld\n".to_string()),
        other => Err(format!("open {other}: no such file or directory")),
    };
    match merge_command_line_values(&given, &mut read) {
        Ok(v) => crate::yaml::to_json(&v).unwrap_or_else(|e| e.to_string()),
        Err(e) => e.to_string(),
    }
}

// Expectations of the tests below are `helm template` v4.2.3's, with a chart printing
// `toJson .Values`.
#[test]
fn set_json_decodes_each_value_or_merges_a_whole_object() {
    let cases = [
        (
            r#"a=1,b={"c":[1,2]}, d="s",e=,f=null"#,
            r#"{" d":"s","a":1,"b":{"c":[1,2]},"e":null,"f":null}"#,
        ),
        (r#"a[0]=1,a[2]={"x":true}"#, r#"{"a":[1,null,{"x":true}]}"#),
        (r#"a=[1,2,3],b="q""#, r#"{"a":[1,2,3],"b":"q"}"#),
        ("a=,", r#"{"a":null}"#),
        (r#" {"h":1}"#, r#"{"h":1}"#),
        ("a=x", "failed parsing --set-json data a=x"),
        ("a=1x", "failed parsing --set-json data a=1x"),
        ("a=1e400", "failed parsing --set-json data a=1e400"),
        (
            r#"{"h":1"#,
            r#"failed parsing --set-json data JSON: {"h":1"#,
        ),
        (
            r#"{"h":1}x"#,
            r#"failed parsing --set-json data JSON: {"h":1}x"#,
        ),
    ];
    for (arg, helm) in cases {
        assert_eq!(
            command_line(&[("--set-json", arg)]),
            helm,
            "--set-json {arg}"
        );
    }
    assert_eq!(
        command_line(&[
            ("--set-json", r#"{"a":{"b":1}}"#),
            ("--set-json", r#"{"a":{"c":2}}"#)
        ]),
        r#"{"a":{"b":1,"c":2}}"#
    );
    assert_eq!(
        command_line(&[
            ("--set-json", r#"a={"b":1}"#),
            ("--set-json", r#"a={"c":2}"#)
        ]),
        r#"{"a":{"c":2}}"#
    );
}

#[test]
fn set_literal_takes_the_rest_verbatim() {
    let cases = [
        (r"g=x,y=z\,{}", r#"{"g":"x,y=z\\,{}"}"#),
        ("a.b[0]=1,2", r#"{"a":{"b":["1,2"]}}"#),
        (r"a\.b=c", r#"{"a\\":{"b":"c"}}"#),
        ("a=b=c", r#"{"a":"b=c"}"#),
        ("a[0][1]=q", r#"{"a":[[null,"q"]]}"#),
        ("a=", r#"{"a":""}"#),
        ("=v", "{}"),
        (
            "a",
            r#"failed parsing --set-literal data: key "a" has no value"#,
        ),
        (
            "a[x]=1",
            r#"failed parsing --set-literal data: error parsing index: strconv.Atoi: parsing "x": invalid syntax"#,
        ),
        (
            "a[0]xy=q",
            "failed parsing --set-literal data: unexpected data at end of array index: ['x' 'y']",
        ),
    ];
    for (arg, helm) in cases {
        assert_eq!(
            command_line(&[("--set-literal", arg)]),
            helm,
            "--set-literal {arg}"
        );
    }
}

#[test]
fn set_file_reads_every_value_as_a_path() {
    let cases = [
        (
            "a=f1,b=f1",
            r#"{"a":"hello\nworld\n","b":"hello\nworld\n"}"#,
        ),
        ("a={f1,f1}", r#"{"a":["hello\nworld\n","hello\nworld\n"]}"#),
        ("a[1]=f1", r#"{"a":[null,"hello\nworld\n"]}"#),
        ("a=", r#"{"a":""}"#),
        (
            "a=missing",
            "failed parsing --set-file data: open missing: no such file or directory",
        ),
    ];
    for (arg, helm) in cases {
        assert_eq!(
            command_line(&[("--set-file", arg)]),
            helm,
            "--set-file {arg}"
        );
    }
}

#[test]
fn set_flags_apply_in_helms_order_whatever_the_command_line_order() {
    // Helm applies --set-json, --set, --set-string, --set-file, --set-literal in that order.
    assert_eq!(
        command_line(&[("--set", "a=2"), ("--set-json", "a=1")]),
        r#"{"a":2}"#
    );
    assert_eq!(
        command_line(&[
            ("--set-literal", "a=3"),
            ("--set-file", "a=f1"),
            ("--set-string", "a=1")
        ]),
        r#"{"a":"3"}"#
    );
    assert_eq!(
        command_line(&[
            ("--set-file", "a=f1"),
            ("--set-string", "a=y"),
            ("--set", "a=x")
        ]),
        r#"{"a":"hello\nworld\n"}"#
    );
}

/// `a[0][0]…` nests without a dot, which Helm's name-level limit does not count; it must
/// end in an error, not a stack overflow.
#[test]
fn deeply_nested_list_indexes_are_refused() {
    let arg = format!("a{}=1", "[0]".repeat(100_000));
    assert_eq!(
        command_line(&[("--set", &arg)]),
        format!(
            "failed parsing --set data: values nested more than {MAX_VALUES_DEPTH} levels deep"
        )
    );
    let within = format!("a{}=1", "[0]".repeat(400));
    assert!(command_line(&[("--set", &within)]).starts_with(r#"{"a":[[[["#));
}

#[test]
fn draft4_schemas_validate_like_helm() {
    assert_eq!(
        violations("draft4-demo", "a: 5\np: 11\nd: {x: 1}\n"),
        vec![
            "draft4-demo: at '/a': exclusiveMinimum: got 5, want 5",
            "draft4-demo: at '/d': properties 'y' required, if 'x' exists",
            "draft4-demo: at '/p': maximum: got 11, want 10",
        ]
    );
}

#[test]
fn scopes_give_each_subchart_its_values() {
    let p = prepared("deps-demo", "{}");
    let scopes = p.scopes();
    let paths: Vec<&str> = scopes.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths.first(), Some(&"deps-demo"));
    assert!(paths.contains(&"deps-demo/charts/sub2"));
    let sub2 = scopes.iter().find(|s| s.path == "deps-demo/charts/sub2");
    assert_eq!(
        sub2.and_then(|s| s.values.get("enabled")),
        Some(Value::Bool(false))
    );
    assert_eq!(sub2.map(|s| s.chart.name()), Some("sub2"));
}

// Generated from helm_oracle.py output for each (chart, values) pair.

#[test]
fn nested_defaults_match_helm() {
    let p = prepared("nested-demo", "{}\n");
    assert_json(
        &p.values,
        r#"{"m2":{"global":{},"leaf":{"color":"blue","enabled":true,"global":{},"size":3},"midval":1},"mid":{"global":{},"leaf":{"color":"blue","enabled":true,"global":{},"size":3},"midval":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nested-demo/charts/m2/charts/leaf/templates/v.yaml",
            "nested-demo/charts/m2/templates/v.yaml",
            "nested-demo/charts/mid/charts/leaf/templates/v.yaml",
            "nested-demo/charts/mid/templates/v.yaml",
            "nested-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn nested_condition_resolves_under_the_parent_path() {
    let p = prepared("nested-demo", "mid: {leaf: {enabled: false}}\n");
    assert_json(
        &p.values,
        r#"{"m2":{"global":{},"leaf":{"color":"blue","enabled":true,"global":{},"size":3},"midval":1},"mid":{"global":{},"leaf":{"color":"blue","enabled":false},"midval":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nested-demo/charts/m2/charts/leaf/templates/v.yaml",
            "nested-demo/charts/m2/templates/v.yaml",
            "nested-demo/charts/mid/templates/v.yaml",
            "nested-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn tags_reach_nested_subcharts_and_conditions_win() {
    let p = prepared("nested-demo", "tags: {extra: false, leafy: false}\n");
    assert_json(
        &p.values,
        r#"{"mid":{"global":{},"leaf":{"color":"blue","enabled":true,"global":{},"size":3},"midval":1},"tags":{"extra":false,"leafy":false}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nested-demo/charts/mid/charts/leaf/templates/v.yaml",
            "nested-demo/charts/mid/templates/v.yaml",
            "nested-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn non_bool_condition_falls_through_to_the_next_path() {
    let p = prepared(
        "nested-demo",
        "m2: {leaf: {enabled: \"no\"}}\nglobal: {leafOn: false}\n",
    );
    assert_json(
        &p.values,
        r#"{"global":{"leafOn":false},"m2":{"global":{"leafOn":false},"leaf":{"color":"blue","enabled":"no"},"midval":1},"mid":{"global":{"leafOn":false},"leaf":{"color":"blue","enabled":true,"global":{"leafOn":false},"size":3},"midval":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nested-demo/charts/m2/templates/v.yaml",
            "nested-demo/charts/mid/charts/leaf/templates/v.yaml",
            "nested-demo/charts/mid/templates/v.yaml",
            "nested-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn deleted_condition_falls_through_to_globals() {
    let p = prepared(
        "nested-demo",
        "mid: {leaf: {enabled: null}}\nglobal: {leafOn: false}\n",
    );
    assert_json(
        &p.values,
        r#"{"global":{"leafOn":false},"m2":{"global":{"leafOn":false},"leaf":{"color":"blue","enabled":true,"global":{"leafOn":false},"size":3},"midval":1},"mid":{"global":{"leafOn":false},"leaf":{"color":"blue"},"midval":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "nested-demo/charts/m2/charts/leaf/templates/v.yaml",
            "nested-demo/charts/m2/templates/v.yaml",
            "nested-demo/charts/mid/templates/v.yaml",
            "nested-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn remote_schema_refs_are_never_fetched() {
    let v = validate(&prepared("remote-ref-demo", "{}"));
    assert_eq!(v.len(), 1);
    assert!(
        v.first().is_some_and(|v| v
            .message
            .starts_with("unable to compile values.schema.json")),
        "{v:?}"
    );
}

#[test]
fn broken_schema_json_only_fails_when_its_chart_is_enabled() {
    // Helm loads the chart and renders while the subchart is disabled; enabled, it fails.
    assert!(validate(&prepared("bad-schema-demo", "{}")).is_empty());
    let v = validate(&prepared("bad-schema-demo", "s: {enabled: true}\n"));
    assert_eq!(v.len(), 1);
    assert!(
        v.first()
            .is_some_and(|v| v.chart == "s" && v.message.contains("invalid JSON")),
        "{v:?}"
    );
}

// Generated from helm_oracle.py output for each (chart, values) pair.

#[test]
fn global_nulls_match_helm() {
    let p = prepared(
        "deps-demo",
        "global: {g: null, gm: {a: null, b: 2}, s: null}\n",
    );
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"gm":{"b":2},"s":null},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1,"b":2},"s":null}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1,"b":2},"s":null}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1,"b":2}},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1,"b":2}},"inner":{"i":1},"x":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn global_scalar_over_table_matches_helm() {
    let p = prepared("deps-demo", "global: {gm: 5}\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":5},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}

#[test]
fn parent_globals_win_over_subchart_scoped_globals() {
    let p = prepared("deps-demo", "sub: {global: {g: fromuser}}\n");
    assert_json(
        &p.values,
        r#"{"exported":"e","fromParent":"fromExport","global":{"g":"parent","gm":{"a":1}},"imported":{"fromParent":"p","i":1},"lib":{"global":{"g":"parent","gm":{"a":1}}},"nested":{"keep":"a","m":{"x":1}},"other":{"global":{"g":"parent","gm":{"a":1}}},"own":1,"sub":{"enabled":true,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"fromParent":1,"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1},"sub2":{"enabled":false,"exports":{"data":{"exported":"e","fromParent":"fromExport"}},"global":{"g":"parent","gm":{"a":1},"s":"subglobal"},"inner":{"i":1},"x":1}}"#,
    );
    assert_eq!(
        rendered_templates(&p),
        [
            "deps-demo/charts/other/templates/o.yaml",
            "deps-demo/charts/sub/templates/v.yaml",
            "deps-demo/charts/sub2/templates/v.yaml",
            "deps-demo/templates/v.yaml"
        ]
        .map(String::from)
        .to_vec()
    );
}
