//! Parser and writer cases. Every expectation was produced by Helm 4.2.3 itself (a probe
//! chart running `fromYaml` / `toJson` / `toYaml` through ../shared/tools/helm_oracle.py).

use super::*;
use crate::value::Value;

/// (name, YAML input, Helm's `fromYaml | toJson` output or Helm's error).
const PARSE_CASES: &[(&str, &str, Result<&str, &str>)] = &[
    (
        "bools",
        "a: on\nb: off\nc: yes\nd: no\ne: y\nf: n\ng: Y\nh: NO\ni: On\nj: oN\nk: TRUE\nl: tRUE\n",
        Ok(
            "{\"a\":true,\"b\":false,\"c\":true,\"d\":false,\"e\":true,\"f\":false,\"g\":true,\"h\":false,\"i\":true,\"j\":\"oN\",\"k\":true,\"l\":\"tRUE\"}",
        ),
    ),
    (
        "boolkeys",
        "on: 1\noff: 2\ny: 3\nyes: 4\n",
        Ok("{\"false\":2,\"true\":4}"),
    ),
    (
        "nums",
        "a: 0777\nb: 0x1F\nc: 1_000\nd: 12345678901234567890\ne: 1e3\nf: 1.5\ng: -0b101\nh: 0b11\ni: 0o17\nj: +12\nk: 1e400\nl: 123456789012345678901234567890\nm: 1000000\nn: 1.0\no: -0\np: 0.1\nq: 1_0.5\nr: .5\ns: 5.\nt: 1__2\nu: 08\nv: 0xFFFFFFFFFFFFFFFFF\n",
        Ok(
            "{\"a\":511,\"b\":31,\"c\":1000,\"d\":12345678901234567000,\"e\":1000,\"f\":1.5,\"false\":1,\"g\":-5,\"h\":3,\"i\":15,\"j\":12,\"k\":\"1e400\",\"l\":1.2345678901234568e+29,\"m\":1000000,\"o\":0,\"p\":0.1,\"q\":10.5,\"r\":0.5,\"s\":5,\"t\":12,\"u\":8,\"v\":\"0xFFFFFFFFFFFFFFFFF\"}",
        ),
    ),
    (
        "inf",
        "a: .inf\n",
        Err("error converting YAML to JSON: json: unsupported value: +Inf"),
    ),
    (
        "nan",
        "a: .nan\n",
        Err("error converting YAML to JSON: json: unsupported value: NaN"),
    ),
    (
        "nullkey",
        "~: a\nb: c\n",
        Err(
            "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: \"a\"",
        ),
    ),
    (
        "intkeys",
        "1: a\n2.5: b\n0.1: c\ntrue: d\n1e3: e\n0x10: f\n",
        Ok("{\"0.1\":\"c\",\"1\":\"a\",\"1000\":\"e\",\"16\":\"f\",\"2.5\":\"b\",\"true\":\"d\"}"),
    ),
    (
        "ts",
        "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\nc: 2001-12-14 21:59:43.10\nd: 2024-1-2\n",
        Ok(
            "{\"a\":\"2001-12-14t21:59:43.10-05:00\",\"b\":\"2002-12-14\",\"c\":\"2001-12-14 21:59:43.10\",\"d\":\"2024-1-2\"}",
        ),
    ),
    ("tskey", "2002-12-14: a\n", Ok("{\"2002-12-14\":\"a\"}")),
    ("dup", "a: 1\na: 2\n", Ok("{\"a\":2}")),
    ("multi", "a: 1\n---\nb: 2\n", Ok("{\"a\":1}")),
    ("empty", "", Ok("{}")),
    ("comment", "# just a comment\n", Ok("{}")),
    (
        "list",
        "- a\n- b\n",
        Err(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
    ),
    (
        "scalar",
        "hello\n",
        Err(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
    ),
    (
        "anchors",
        "base: &b\n  x: 1\n  y: 2\nd:\n  <<: *b\n  y: 3\ne:\n  <<: [*b, {z: 9}]\nf: *b\n",
        Ok(
            "{\"base\":{\"true\":2,\"x\":1},\"d\":{\"true\":3,\"x\":1},\"e\":{\"true\":2,\"x\":1,\"z\":9},\"f\":{\"true\":2,\"x\":1}}",
        ),
    ),
    (
        "tags",
        "a: !!str 123\nb: !!int \"42\"\nc: !!float 1\nd: !!binary aGVsbG8=\ne: !custom foo\nf: !!bool yes\ng: !!null ''\n",
        Ok("{\"a\":\"123\",\"b\":42,\"c\":1,\"d\":\"hello\",\"e\":\"foo\",\"f\":true,\"g\":null}"),
    ),
    (
        "blocks",
        "a: |\n  line1\n  line2\nb: |-\n  x\n  y\nc: |+\n  k\n\nd: >\n  folded\n  text\n\n  para\ne: >-\n  f\n  g\n",
        Ok(
            "{\"a\":\"line1\\nline2\\n\",\"b\":\"x\\ny\",\"c\":\"k\\n\\n\",\"d\":\"folded text\\npara\\n\",\"e\":\"f g\"}",
        ),
    ),
    (
        "flow",
        "a: {x: 1, y: [1, 2, {z: on}]}\nb: [a, 'b', \"c\\td\"]\n",
        Ok("{\"a\":{\"true\":[1,2,{\"z\":true}],\"x\":1},\"b\":[\"a\",\"b\",\"c\\td\"]}"),
    ),
    (
        "bad",
        "a: b: c\n",
        Err("error converting YAML to JSON: yaml: mapping values are not allowed in this context"),
    ),
    (
        "badindent",
        "a:\n  b: 1\n c: 2\n",
        Err("error converting YAML to JSON: yaml: line 2: did not find expected key"),
    ),
    (
        "tab",
        "a:\n\tb: 1\n",
        Err(
            "error converting YAML to JSON: yaml: line 2: found character that cannot start any token",
        ),
    ),
];

fn json_value(text: &str) -> Value {
    Value::from_json(&serde_json::from_str(text).expect("test expectation is JSON"))
}

#[test]
fn values_parse_like_helm() {
    for (name, input, expected) in PARSE_CASES {
        let got = parse_values(input);
        match (expected, got) {
            (Ok(json), Ok(v)) => assert_eq!(v, json_value(json), "case {name}"),
            (Err(msg), Err(e)) if msg.contains("yaml: line") || msg.contains("yaml: mapping") => {
                assert!(matches!(e, YamlError::Syntax { .. }), "case {name}: {e}")
            }
            (Err(msg), Err(e)) => assert_eq!(&e.to_string(), msg, "case {name}"),
            (expected, got) => panic!("case {name}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(
        matches!(parse_values(&deep), Err(YamlError::Syntax { line: 1, .. })),
        "flow nesting"
    );
    let block: String = (0..2000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    match parse_values(&block) {
        Err(YamlError::Syntax { message, line, .. }) => {
            assert_eq!(message, format!("exceeded max depth of {MAX_DEPTH}"));
            assert_eq!(line, MAX_DEPTH + 1);
        }
        other => panic!("expected a depth error, got {other:?}"),
    }
    let ok = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
    assert!(parse_values(&ok).is_ok());
    let deepest: String = (0..MAX_DEPTH - 1)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    assert!(parse_values(&deepest).is_ok(), "just under the limit");
}

#[test]
fn alias_bombs_are_rejected_like_go_yaml() {
    // Helm: "yaml: document contains excessive aliasing" for both of these.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2).take(8) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        bomb.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        let err = parse_values(&bomb);
        if w[1] >= "d" {
            assert_eq!(
                err.map(|_| ()).map_err(|e| e.to_string()),
                Err(
                    "error converting YAML to JSON: yaml: document contains excessive aliasing"
                        .to_string()
                ),
                "up to {}",
                w[1]
            );
        } else {
            assert!(err.is_ok(), "up to {} is small enough", w[1]);
        }
    }
}

/// Every values.yaml and Chart.yaml in the corpus charts (subcharts included) and every
/// case's user values must parse, as they all do in Helm.
#[test]
fn every_corpus_values_file_parses() {
    use std::io::Read;
    let root = std::path::Path::new("../shared/corpus/charts");
    let Ok(charts) = std::fs::read_dir(root) else {
        eprintln!("corpus not present; skipping");
        return;
    };
    let mut parsed = 0;
    let mut spent = std::time::Duration::ZERO;
    for chart in charts.flatten() {
        let dir = chart.path();
        let archive = std::fs::File::open(dir.join("chart.tgz")).expect("chart.tgz");
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        for entry in tar.entries().expect("tar entries") {
            let mut entry = entry.expect("tar entry");
            let path = entry
                .path()
                .expect("entry path")
                .to_string_lossy()
                .into_owned();
            if !(path.ends_with("/values.yaml") || path.ends_with("/Chart.yaml")) {
                continue;
            }
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("utf-8 file");
            let start = std::time::Instant::now();
            let result = parse_values(&text);
            spent += start.elapsed();
            if let Err(e) = result {
                panic!("{}: {path}: {e}", dir.display());
            }
            parsed += 1;
        }
        for case in std::fs::read_dir(dir.join("cases"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = case.path().join("values.yaml");
            let text = std::fs::read_to_string(&path).expect("case values");
            if let Err(e) = parse_values(&text) {
                panic!("{}: {e}", path.display());
            }
            parsed += 1;
        }
    }
    eprintln!("parsed {parsed} chart files in {spent:?}");
    assert!(parsed > 200, "only {parsed} files found");
}
