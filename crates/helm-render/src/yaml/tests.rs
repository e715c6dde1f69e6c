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
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/charts");
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

/// (name, YAML input, Helm's `fromYaml | toJson`, Helm's `fromYaml | toYaml`).
const EMIT_CASES: &[(&str, &str, &str, &str)] = &[
    (
        "scalars",
        "a: 1000000\nb: 1.5\nc: 1e21\nd: 1e-7\ne: 0.0001\nf: 0.00001\ng: 123456789.5\nh: -0\ni: 12345678901234567890\nj: true\nk: null\nl: \"\"\nm: \"1\"\nn: \"1.0\"\no: \"true\"\np: \"~\"\nq: \"null\"\nr: \"0x1F\"\ns: \"1e3\"\nt: \"on\"\nu: \"y\"\nv: \"2002-12-14\"\nw: \"1:30\"\nx: \"<<\"\ny: \"-\"\nz: \"- a\"\n",
        "{\"a\":1000000,\"b\":1.5,\"c\":1e+21,\"d\":1e-7,\"e\":0.0001,\"f\":0.00001,\"false\":\"1.0\",\"g\":123456789.5,\"h\":0,\"i\":12345678901234567000,\"j\":true,\"k\":null,\"l\":\"\",\"m\":\"1\",\"o\":\"true\",\"p\":\"~\",\"q\":\"null\",\"r\":\"0x1F\",\"s\":\"1e3\",\"t\":\"on\",\"true\":\"-\",\"u\":\"y\",\"v\":\"2002-12-14\",\"w\":\"1:30\",\"x\":\"\\u003c\\u003c\",\"z\":\"- a\"}",
        "a: 1000000\nb: 1.5\nc: 1e+21\nd: 1e-07\ne: 0.0001\nf: 1e-05\n\"false\": \"1.0\"\ng: 1.234567895e+08\nh: 0\ni: 12345678901234567000\nj: true\nk: null\nl: \"\"\nm: \"1\"\no: \"true\"\np: \"~\"\nq: \"null\"\nr: \"0x1F\"\ns: \"1e3\"\nt: \"on\"\n\"true\": '-'\nu: \"y\"\nv: \"2002-12-14\"\nw: \"1:30\"\nx: <<\nz: '- a'",
    ),
    (
        "quoting",
        "a: \"a: b\"\nb: \"#x\"\nc: \"x #y\"\nd: \"x#y\"\ne: \" lead\"\nf: \"trail \"\ng: \"it's\"\nh: \"tab\\there\"\ni: \"emoji 😀\"\nj: \"é ü 中\"\nk: \"*star\"\nl: \"&amp\"\nm: \"!bang\"\nn: \"|pipe\"\no: \">gt\"\np: \"%pc\"\nq: \"@at\"\nr: \"`bt\"\ns: \"[x\"\nt: \"{x\"\nu: \"x]\"\nv: \"x,y\"\nw: \"?x\"\nx: \"? x\"\ny: \":x\"\nz: \"---x\"\naa: \"...x\"\nab: \"x:\"\nac: \"x: \"\nad: \"\\u0085nel\"\nae: \"bell\\a\"\naf: \"nbsp\\u00a0x\"\nag: \"\\ufeffbom\"\nah: \"back\\\\slash\"\nai: \"dq\\\"x\"\naj: \"<>&\"\nak: \"x\\u2028y\"\nal: \"-1\"\nam: \".5\"\nan: \"+1\"\nao: \"1_000\"\nap: \"0o17\"\naq: \"08\"\nar: \".inf\"\nas: \"Yes\"\nat: \"NO\"\nau: \"oN\"\n",
        "{\"a\":\"a: b\",\"aa\":\"...x\",\"ab\":\"x:\",\"ac\":\"x: \",\"ad\":\"nel\",\"ae\":\"bell\\u0007\",\"af\":\"nbsp x\",\"ag\":\"﻿bom\",\"ah\":\"back\\\\slash\",\"ai\":\"dq\\\"x\",\"aj\":\"\\u003c\\u003e\\u0026\",\"ak\":\"x\\u2028y\",\"al\":\"-1\",\"am\":\".5\",\"an\":\"+1\",\"ao\":\"1_000\",\"ap\":\"0o17\",\"aq\":\"08\",\"ar\":\".inf\",\"as\":\"Yes\",\"at\":\"NO\",\"au\":\"oN\",\"b\":\"#x\",\"c\":\"x #y\",\"d\":\"x#y\",\"e\":\" lead\",\"f\":\"trail \",\"false\":\"|pipe\",\"g\":\"it's\",\"h\":\"tab\\there\",\"i\":\"emoji 😀\",\"j\":\"é ü 中\",\"k\":\"*star\",\"l\":\"\\u0026amp\",\"m\":\"!bang\",\"o\":\"\\u003egt\",\"p\":\"%pc\",\"q\":\"@at\",\"r\":\"`bt\",\"s\":\"[x\",\"t\":\"{x\",\"true\":\":x\",\"u\":\"x]\",\"v\":\"x,y\",\"w\":\"?x\",\"x\":\"? x\",\"z\":\"---x\"}",
        "a: 'a: b'\naa: '...x'\nab: 'x:'\nac: 'x: '\nad: ' nel'\nae: \"bell\\a\"\naf: nbsp x\nag: \"\\uFEFF\\x62\\x6F\\x6D\"\nah: back\\slash\nai: dq\"x\naj: <>&\nak: 'x   y'\nal: \"-1\"\nam: \".5\"\nan: \"+1\"\nao: \"1_000\"\nap: \"0o17\"\naq: \"08\"\nar: \".inf\"\nas: \"Yes\"\nat: \"NO\"\nau: oN\nb: '#x'\nc: 'x #y'\nd: x#y\ne: ' lead'\nf: 'trail '\n\"false\": '|pipe'\ng: it's\nh: \"tab\\there\"\ni: \"emoji \\U0001F600\"\nj: é ü 中\nk: '*star'\nl: '&amp'\nm: '!bang'\no: '>gt'\np: '%pc'\nq: '@at'\nr: '`bt'\ns: '[x'\nt: '{x'\n\"true\": :x\nu: x]\nv: x,y\nw: ?x\nx: '? x'\nz: '---x'",
    ),
    (
        "multiline",
        "a: \"l1\\nl2\"\nb: \"l1\\nl2\\n\"\nc: \"l1\\nl2\\n\\n\"\nd: \"\\nlead\"\ne: \" sp\\nx\"\nf: \"x \\ny\"\ng: \"x\\n y\"\nh: \"trail \\n\"\ni: \"\\n\"\nj: \"a\\n\\nb\"\nk: \"tab\\tx\\ny\"\nl: \"x\\r\\ny\"\n",
        "{\"a\":\"l1\\nl2\",\"b\":\"l1\\nl2\\n\",\"c\":\"l1\\nl2\\n\\n\",\"d\":\"\\nlead\",\"e\":\" sp\\nx\",\"f\":\"x \\ny\",\"g\":\"x\\n y\",\"h\":\"trail \\n\",\"i\":\"\\n\",\"j\":\"a\\n\\nb\",\"k\":\"tab\\tx\\ny\",\"l\":\"x\\r\\ny\"}",
        "a: |-\n  l1\n  l2\nb: |\n  l1\n  l2\nc: |+\n  l1\n  l2\n\nd: |2-\n\n  lead\ne: |2-\n   sp\n  x\nf: \"x \\ny\"\ng: |-\n  x\n   y\nh: \"trail \\n\"\ni: |2+\n\nj: |-\n  a\n\n  b\nk: \"tab\\tx\\ny\"\nl: \"x\\r\\ny\"",
    ),
    (
        "long",
        "{\"a\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\", \"b\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"c\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word: colon\", \"d\": \"tab\\tword word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\", \"e\": \"a  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b\", \"nested\": {\"deeper\": {\"x\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"}}, \"list\": [\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\", {\"k\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"}]}",
        "{\"a\":\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\",\"b\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"c\":\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word: colon\",\"d\":\"tab\\tword word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\",\"e\":\"a  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b\",\"list\":[\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\",{\"k\":\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"}],\"nested\":{\"deeper\":{\"x\":\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"}}}",
        "a: word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word\nb: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nc: 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word: colon'\nd: \"tab\\tword word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word word\"\ne: a  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b  b\nlist:\n- word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word\n- k: word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word\nnested:\n  deeper:\n    x: word word word word word word word word word word word word word word word\n      word word word word word word word word word word word word word word word",
    ),
    (
        "structure",
        "a:\n  - 1\n  - [2, 3]\n  - {x: 1, y: [a, b]}\n  - []\n  - {}\n  - - - deep\nb: {}\nc: []\nd:\n  e:\n    f: g\n",
        "{\"a\":[1,[2,3],{\"true\":[\"a\",\"b\"],\"x\":1},[],{},[[\"deep\"]]],\"b\":{},\"c\":[],\"d\":{\"e\":{\"f\":\"g\"}}}",
        "a:\n- 1\n- - 2\n  - 3\n- \"true\":\n  - a\n  - b\n  x: 1\n- []\n- {}\n- - - deep\nb: {}\nc: []\nd:\n  e:\n    f: g",
    ),
    (
        "keys",
        "{\"a10\": 1, \"a2\": 2, \"a1\": 3, \"B\": 4, \"b\": 5, \"_x\": 6, \"1\": 7, \"10\": 8, \"2\": 9, \"x y\": 10, \"true\": 11, \"null\": 12, \"\": 13, \"a:b\": 14, \"a: b\": 15, \"-x\": 16, \"k\\nl\": 17, \"KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK\": 18, \"\\u00e9\": 19, \"a01\": 20, \"a001\": 21, \"a0\": 22, \"Z\": 23, \"~\": 24}",
        "{\"\":13,\"-x\":16,\"1\":7,\"10\":8,\"2\":9,\"B\":4,\"KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK\":18,\"Z\":23,\"_x\":6,\"a0\":22,\"a001\":21,\"a01\":20,\"a1\":3,\"a10\":1,\"a2\":2,\"a: b\":15,\"a:b\":14,\"b\":5,\"k\\nl\":17,\"null\":12,\"true\":11,\"x y\":10,\"~\":24,\"é\":19}",
        "\"\": 13\n-x: 16\n_x: 6\n\"~\": 24\n\"1\": 7\n\"2\": 9\n\"10\": 8\nB: 4\n? KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK\n: 18\nZ: 23\n'a: b': 15\na:b: 14\na0: 22\na1: 3\na01: 20\na001: 21\na2: 2\na10: 1\nb: 5\n? |-\n  k\n  l\n: 17\n\"null\": 12\n\"true\": 11\nx y: 10\né: 19",
    ),
];

#[test]
fn to_yaml_and_to_json_match_helm_byte_for_byte() {
    for (name, input, json, yaml) in EMIT_CASES {
        let v = parse_values(input).expect("case parses");
        assert_eq!(to_json(&v).as_deref(), Ok(*json), "toJson {name}");
        let got = to_yaml(&v).expect("case writes");
        assert_eq!(got.strip_suffix('\n'), Some(*yaml), "toYaml {name}");
    }
}

/// 227 more documents (edge-case scalars, block scalars at end of input, merge order,
/// random strings full of indicators and long lines, unusual keys) with what Helm's
/// `fromYaml | toJson` and `fromYaml | toYaml` printed for each.
#[test]
fn recorded_helm_probes_match() {
    let probes: serde_json::Value =
        serde_json::from_str(include_str!("testdata/helm_probes.json")).expect("fixture");
    let probes = probes.as_object().expect("fixture is an object");
    assert!(probes.len() > 200);
    for (name, probe) in probes {
        let input = probe["input"].as_str().expect("input");
        let v = parse_values(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            to_json(&v).ok().as_deref(),
            probe["json"].as_str(),
            "toJson {name}"
        );
        let yaml = to_yaml(&v).expect("writes");
        assert_eq!(
            yaml.strip_suffix('\n'),
            probe["yaml"].as_str(),
            "toYaml {name}"
        );
    }
}

/// go-yaml's key order is not transitive for keys like these; Helm's output then varies from
/// run to run (Go maps iterate randomly), so only a stable, panic-free order is required.
#[test]
fn intransitive_key_order_neither_panics_nor_varies() {
    let keys = [
        "ü00中",
        "é",
        "010x",
        "100Zé",
        "0z",
        "2中a01ü",
        "A_X100",
        "1",
        "Z",
        ".",
        "100XXb",
        "9",
        "10",
        "1A",
        "9b",
        "100b",
        "99ü_a1",
        "299",
        "2Aü.",
    ];
    let map: crate::value::Map = keys
        .iter()
        .map(|k| (k.to_string(), Value::Int(1)))
        .collect();
    let v = Value::map(map);
    let first = to_yaml(&v).expect("writes");
    assert_eq!(first.lines().count(), keys.len());
    assert_eq!(to_yaml(&v).expect("writes"), first);
}

#[test]
fn merge_of_a_scalar_fails_like_go_yaml() {
    let err = parse_values("m:\n  <<: 1\n").expect_err("not a map");
    assert!(
        err.to_string()
            .ends_with("map merge requires map or sequence of maps as the value"),
        "{err}"
    );
}

/// The same kind of documents through Helm's `toYamlPretty` (go-yaml v3) and `toToml`.
#[test]
fn recorded_pretty_and_toml_probes_match() {
    let probes: serde_json::Value =
        serde_json::from_str(include_str!("testdata/helm_pretty_toml.json")).expect("fixture");
    let probes = probes.as_object().expect("fixture is an object");
    assert!(probes.len() > 150);
    for (name, probe) in probes {
        let v = parse_values(probe["input"].as_str().expect("input")).expect("parses");
        let pretty = to_yaml_pretty(&v).expect("writes");
        assert_eq!(
            pretty.strip_suffix('\n'),
            probe["pretty"].as_str(),
            "toYamlPretty {name}"
        );
        assert_eq!(
            to_toml(&v).ok().as_deref(),
            probe["toml"].as_str(),
            "toToml {name}"
        );
    }
}

/// Helm showed `.Chart.AppVersion` 12345678, `.Chart.Description` 1.1 and an annotation
/// "1.5" for `appVersion: 12345678`, `description: 1.10`, `a: 1.50`.
#[test]
fn struct_fields_get_numbers_as_go_yaml_typed_them() {
    let v = parse_value_typed("appVersion: 12345678\ndescription: 1.10\na: 1.50\nb: true\n")
        .expect("parses");
    let field = |k: &str| v.get(k).as_ref().and_then(struct_string);
    assert_eq!(field("appVersion").as_deref(), Some("12345678"));
    assert_eq!(field("description").as_deref(), Some("1.1"));
    assert_eq!(field("a").as_deref(), Some("1.5"));
    assert_eq!(field("b").as_deref(), Some("true"));
    assert_eq!(
        parse_value("num: 12345678\n").expect("parses").get("num"),
        Some(Value::Float(12345678.0))
    );
}
/// Block scalars at the very end of the input, with Helm's `fromYaml | toJson`.
#[test]
fn block_scalars_at_end_of_input_match_helm() {
    for (input, json) in [
        ("a: |\n  x\n  ", r#"{"a":"x\n"}"#),
        ("a: |\n  x\n\n  ", r#"{"a":"x\n"}"#),
        ("a: |+\n  x\n  ", r#"{"a":"x\n"}"#),
        ("a: >+\n  x\n  y", r#"{"a":"x y"}"#),
        ("a: |\n  x\nb: 1", r#"{"a":"x\n","b":1}"#),
        ("a: |\r\n  x\r\n  y", r#"{"a":"x\ny"}"#),
        ("a: |\n  x\n# c", r#"{"a":"x\n"}"#),
        ("a: |\n  x", r#"{"a":"x"}"#),
    ] {
        let v = parse_values(input).expect("parses");
        assert_eq!(to_json(&v).as_deref(), Ok(json), "{input:?}");
    }
}

/// Values built by templates are not bounded by the parser; every writer must refuse them
/// rather than overflow the stack.
#[test]
fn writers_refuse_values_nested_too_deep() {
    let mut v = Value::Int(1);
    for _ in 0..MAX_DEPTH + 5 {
        let mut m = crate::value::Map::new();
        m.insert("a".into(), v);
        v = Value::map(m);
    }
    assert!(to_yaml(&v).is_err());
    assert!(to_yaml_pretty(&v).is_err());
    assert!(to_json(&v).is_err());
    assert!(to_json_pretty(&v).is_err());
    assert!(to_toml(&v).is_err());
    let deep_json = format!("{}{}", "[".repeat(MAX_DEPTH * 3), "]".repeat(MAX_DEPTH * 3));
    assert!(from_json(&deep_json, JsonTarget::Any).is_err());

    let mut allowed = Value::Int(1);
    for _ in 0..MAX_DEPTH - 1 {
        allowed = Value::list(vec![allowed]);
    }
    let yaml = to_yaml(&allowed).expect("the deepest value the parser allows can be written");
    assert_eq!(yaml.lines().count(), 1);
    assert!(to_json(&allowed).is_ok());
    assert!(to_toml(&allowed).is_ok());
}

#[test]
fn anchors_do_not_reach_into_themselves_or_other_documents() {
    let own = parse_values("a: &x [*x]\n").expect_err("recursive");
    assert!(
        own.to_string().ends_with("anchor value contains itself"),
        "{own}"
    );
    let docs = parse_documents("a: &x 1\n---\nb: *x\n");
    assert!(docs.is_err(), "{docs:?}");
    let two = parse_documents("a: 1\n---\nb: [2]\n").expect("two documents");
    assert_eq!(two.len(), 2);
    assert_eq!(
        two.get(1).and_then(|d| d.get("b")),
        Some(Value::list(vec![Value::Float(2.0)]))
    );
}

/// go-yaml (and so Helm) reads flow collections whatever their lines' indentation; each of
/// these was accepted by `helm template` v4.2.3 (its YAML check parses every manifest). The
/// value is the one of the same text indented as the spec wants.
#[test]
fn flow_collections_ignore_indentation_as_go_yaml_does() {
    let cases = [
        (
            "c: [\n    \"x\",\n    \"y\"\n  ]\n  d: 1",
            "c: [\n    \"x\",\n    \"y\"\n   ]\n  d: 1",
        ),
        (
            "c: [\n  \"x\",\n  \"y\"\n  ]\n  d: 1",
            "c: [\"x\", \"y\"]\n  d: 1",
        ),
        ("c: [\n\"x\",\n\"y\"\n]", "c: [\"x\", \"y\"]"),
        ("c: {\n  a: 1,\n  b: 2\n  }", "c: {a: 1, b: 2}"),
        ("c: [ \"a\n  b\" ]", "c: [\"a b\"]"),
        ("- [\n  x\n  ]", "- [x]"),
        ("c: [\n ]", "c: []"),
        (
            "c: [ {a: [\n1, 2\n], b: \"x\ny\"}\n]",
            "c: [{a: [1, 2], b: \"x y\"}]",
        ),
        ("c: [ # comment {\n  1\n  ]", "c: [1]"),
        (
            "- name: m\n    command: [\n      \"x\"\n    ]\n    args: [\n    \"y\"]",
            "- name: m\n    command: [\"x\"]\n    args: [\"y\"]",
        ),
    ];
    for (loose, spec) in cases {
        let doc = |body: &str| format!("kind: A\nspec:\n  {body}\n");
        let loose_value = super::parse_value(&doc(loose));
        let spec_value = super::parse_value(&doc(spec));
        assert!(spec_value.is_ok(), "{spec:?}: {spec_value:?}");
        assert_eq!(
            loose_value.map(|v| v.to_json()).ok(),
            spec_value.map(|v| v.to_json()).ok(),
            "{loose:?}"
        );
    }
    // Block indentation is still checked, as go-yaml checks it.
    assert!(super::parse_value("kind: A\nspec:\n    b: 1\n  c: 2\n").is_err());
}

/// The manifest sorter's reading builds the head (`apiVersion`, `kind`, `metadata.name` and
/// `metadata.annotations`) and leaves the body out, yet checks the body as the full reading
/// does: the same errors, and the whole document where the head alone cannot be settled.
#[test]
fn manifest_heads_are_built_alone_and_checked_in_full() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n  labels: {a: b}\n  annotations:\n    helm.sh/hook: crd-install\nspec:\n  versions:\n  - name: v1\n    schema: {openAPIV3Schema: {type: object}}\n";
    let head = parse_manifest_head(crd).expect("head");
    let full = parse_value_typed(crd).expect("full");
    for key in ["apiVersion", "kind"] {
        assert_eq!(head.get(key), full.get(key), "{key}");
    }
    let metadata = |v: &Value, key: &str| v.get("metadata").and_then(|m| m.get(key));
    for key in ["name", "annotations"] {
        assert_eq!(metadata(&head, key), metadata(&full, key), "{key}");
        assert!(metadata(&head, key).is_some(), "{key}");
    }
    assert_eq!(head.get("spec"), None, "the body is not built");
    assert_eq!(metadata(&head, "labels"), None, "labels are not built");

    for broken in [
        "kind: A\nmetadata: {name: a}\nspec:\n  x: [1, .nan]\n",
        "kind: A\nspec:\n  x: !!int nope\n",
        "kind: A\nspec:\n  [a]: 1\n",
        "kind: A\nspec:\n  ~: 1\n",
        "kind: A\nspec:\n  b: 1\n c: 2\n",
    ] {
        let head = parse_manifest_head(broken)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let full = parse_value_typed(broken)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(full.is_err(), "{broken:?} should not parse");
        assert_eq!(head, full, "{broken:?}");
    }

    let anchored = "kind: A\nmetadata:\n  name: &n a\nspec:\n  copy: *n\n";
    assert_eq!(
        parse_manifest_head(anchored).map(|v| v.to_json()).ok(),
        parse_value_typed(anchored).map(|v| v.to_json()).ok(),
        "an anchor makes it a full reading"
    );
}

/// The sorter's line-at-a-time check settles the block YAML CRDs are written in (multi-line
/// plain and quoted scalars, block scalars with indentation indicators, one-line flow
/// sequences) with the full reading's head; and every near miss below, each one a way the
/// check once said "valid" too soon, is left to the full reading and refused as it refuses it.
#[test]
fn manifests_checked_by_lines_agree_with_the_full_reading() {
    let crd = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n  description: Operations can contain values [\"CREATE,\n    \"UPDATE\", `x`] - or none\n  quoted: 'Container name: required\n    over two lines'\n  mode:\n    description: |2-\n        indented more than the indicator says\n      at the indicator\n  folded: >-\n    text\n  required: [spec, 'b', \"c\"]\n  args:\n  - -ec\n  - |\n    echo\n  resources:\n    {}\n";
    assert!(manifest_head_checked_by_lines(crd), "settled by lines");
    let head = parse_manifest_head(crd).expect("head");
    let full = parse_value_typed(crd).expect("full");
    for key in ["apiVersion", "kind", "metadata"] {
        assert_eq!(head.get(key), full.get(key), "{key}");
    }

    for near_miss in [
        "kind: A\nspec:\n  a: 'open at the end\n",
        "kind: A\nspec:\n  a: 1\n  b: .nan # a comment\n",
        "kind: A\nspec:\n  a: [x, .inf]\n",
        "kind: A\nspec:\n  a: >--\n    text\n",
        "kind: A\nspec:\n  a: [x, [y]]\n",
    ] {
        assert!(!manifest_head_checked_by_lines(near_miss), "{near_miss:?}");
        let head = parse_manifest_head(near_miss)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let full = parse_value_typed(near_miss)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(head, full, "{near_miss:?}");
    }
}

/// The check leaves every character go-yaml reads as a line break, refuses, or reads
/// differently from YAML 1.2 to the full reading, and only those: each is tried beside its
/// neighbours in UTF-8 (one, two, three and four bytes long), and whatever the check does,
/// the head is the full reading's.
#[test]
fn characters_the_check_leaves_to_the_full_reading_are_exactly_the_refused_ones() {
    let refused = |c: char| {
        (c < ' ' && c != '\n')
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
    };
    let boundaries = [
        0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0x85, 0x9f, 0xa0, 0xff, 0x100,
        0x2027, 0x2028, 0x2029, 0x202a, 0x20ac, 0xfefe, 0xfeff, 0xff00, 0xfffd, 0xfffe, 0xffff,
        0x10000, 0x1f600, 0x10ffff,
    ];
    for c in boundaries.into_iter().filter_map(char::from_u32) {
        for doc in [
            format!("kind: A\nspec:\n  a: x{c}y\n"),
            format!("kind: A\nspec:\n  a: {c}\n"),
            format!("kind: A{c}"),
        ] {
            let checked = manifest_head_checked_by_lines(&doc);
            if refused(c) {
                assert!(
                    !checked,
                    "U+{:04X} in {doc:?} must be left to the full reading",
                    c as u32
                );
            }
            let head = parse_manifest_head(&doc).map_err(|e| e.to_string());
            let full = parse_value_typed(&doc).map_err(|e| e.to_string());
            match (head, full) {
                (Ok(head), Ok(full)) => assert_eq!(head.get("kind"), full.get("kind"), "{doc:?}"),
                (head, full) => assert_eq!(head.map(|_| ()), full.map(|_| ()), "{doc:?}"),
            }
        }
        if c == '\n' {
            continue;
        }
        let plain = format!("kind: A\nspec:\n  a: x{c}y\n");
        assert_eq!(
            manifest_head_checked_by_lines(&plain),
            !refused(c),
            "U+{:04X} in a plain scalar",
            c as u32
        );
    }
}
