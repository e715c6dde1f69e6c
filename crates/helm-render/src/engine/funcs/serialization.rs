//! Helm's and Sprig's YAML, JSON and TOML functions. Helm's own `toYaml`/`toJson` swallow
//! errors into an empty string; the `must` variants and Sprig's `toRawJson` fail the render;
//! the `from` functions report a parse error inside the result (an `Error` key, or a
//! one-element list) rather than failing.

use super::{CallContext, FuncError, FuncResult, Function, arity, string_arg};
use crate::value::{Map, Value};
use crate::yaml;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "toYaml" => to_yaml,
        "mustToYaml" => must_to_yaml,
        "toYamlPretty" => to_yaml_pretty,
        "fromYaml" => from_yaml,
        "fromYamlArray" => from_yaml_array,
        "toJson" => to_json,
        "mustToJson" => must_to_json,
        "toPrettyJson" => to_pretty_json,
        "mustToPrettyJson" => must_to_pretty_json,
        "toRawJson" => to_raw_json,
        "mustToRawJson" => must_to_raw_json,
        "fromJson" => from_json,
        "fromJsonArray" => from_json_array,
        "mustFromJson" => must_from_json,
        "toToml" => to_toml,
        "mustToToml" => must_to_toml,
        "fromToml" => from_toml,
        _ => return None,
    })
}

fn one<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FuncError> {
    arity(name, args, 1)?;
    args.first()
        .ok_or_else(|| FuncError::new(format!("wrong number of args for {name}: want 1 got 0")))
}

fn trimmed(text: String) -> Value {
    Value::from(text.strip_suffix('\n').unwrap_or(&text))
}

fn to_yaml(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(yaml::to_yaml(one("toYaml", args)?).map_or_else(|_| Value::str(""), trimmed))
}

fn must_to_yaml(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    yaml::to_yaml(one("mustToYaml", args)?)
        .map(trimmed)
        .map_err(|e| FuncError::new(e.to_string()))
}

fn to_yaml_pretty(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(yaml::to_yaml_pretty(one("toYamlPretty", args)?).map_or_else(|_| Value::str(""), trimmed))
}

fn from_yaml(ctx: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fromYaml", args, 1)?;
    let text = string_arg(args, 0)?;
    if let Some(value) = ctx.parsed_yaml.again(text) {
        return Ok(value);
    }
    let value = match yaml::parse_values(text) {
        Ok(v) => v,
        Err(e) => error_map(e.to_string()),
    };
    ctx.parsed_yaml.remember(text, &value);
    Ok(value)
}

/// Templates that read one large text twice (istio's CRDs are each read with `fromYaml` for
/// their name, then again to be changed) are given a copy of the first reading the second
/// time: copying the maps costs a fraction of reading the YAML again. A copy, because every
/// reading is a value of its own in Go: a `set` on one must not show in another.
#[derive(Default)]
pub(crate) struct LastParsed {
    last: Option<(Box<str>, Value)>,
}

/// Shorter texts are read again: remembering them would cost about as much as reading them.
const REMEMBERED_FROM_LEN: usize = 4096;

impl LastParsed {
    fn again(&self, text: &str) -> Option<Value> {
        let (seen, value) = self.last.as_ref()?;
        (**seen == *text).then(|| value.deep_copy()).flatten()
    }

    fn remember(&mut self, text: &str, value: &Value) {
        if text.len() >= REMEMBERED_FROM_LEN {
            self.last = value.deep_copy().map(|copy| (Box::from(text), copy));
        }
    }
}

fn from_yaml_array(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fromYamlArray", args, 1)?;
    Ok(match yaml::parse_list(string_arg(args, 0)?) {
        Ok(v) => v,
        Err(e) => Value::list(vec![Value::from(e.to_string())]),
    })
}

fn error_map(message: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".to_string(), Value::from(message));
    Value::map(m)
}

fn to_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(yaml::to_json(one("toJson", args)?).map_or_else(|_| Value::str(""), Value::from))
}

fn must_to_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    json_or_error(yaml::to_json(one("mustToJson", args)?))
}

fn to_pretty_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(yaml::to_json_pretty(one("toPrettyJson", args)?)
        .map_or_else(|_| Value::str(""), Value::from))
}

fn must_to_pretty_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    json_or_error(yaml::to_json_pretty(one("mustToPrettyJson", args)?))
}

/// Sprig's `toRawJson` panics on a marshal error, which text/template turns into an error.
fn to_raw_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    json_or_error(yaml::to_json_raw(one("toRawJson", args)?))
}

fn must_to_raw_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    json_or_error(yaml::to_json_raw(one("mustToRawJson", args)?))
}

/// encoding/json's own message, without sigs.k8s.io/yaml's "error marshaling into JSON".
fn json_or_error(result: Result<String, yaml::YamlError>) -> FuncResult {
    match result {
        Ok(s) => Ok(Value::from(s)),
        Err(yaml::YamlError::Marshal(m)) => Err(FuncError::new(m)),
        Err(e) => Err(FuncError::new(e.to_string())),
    }
}

/// `json.Unmarshal` into a map: `null` leaves a nil map (printed as `null`).
fn from_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fromJson", args, 1)?;
    Ok(yaml::from_json(string_arg(args, 0)?, yaml::JsonTarget::Map).unwrap_or_else(error_map))
}

fn from_json_array(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fromJsonArray", args, 1)?;
    Ok(
        yaml::from_json(string_arg(args, 0)?, yaml::JsonTarget::List)
            .unwrap_or_else(|e| Value::list(vec![Value::from(e)])),
    )
}

fn must_from_json(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("mustFromJson", args, 1)?;
    yaml::from_json(string_arg(args, 0)?, yaml::JsonTarget::Any).map_err(FuncError::new)
}

fn from_toml(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fromToml", args, 1)?;
    Ok(yaml::from_toml(string_arg(args, 0)?).unwrap_or_else(error_map))
}

/// BurntSushi/toml panics on a nil value; text/template reports the panic as the error.
fn toml_of(name: &str, args: &[Value]) -> Result<Result<String, String>, FuncError> {
    match one(name, args)? {
        Value::Nil => Err(FuncError::new(
            "reflect: call of reflect.Value.Type on zero Value",
        )),
        v => Ok(yaml::to_toml(v)),
    }
}

/// Helm returns the encoder's error message as the text.
fn to_toml(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(Value::from(toml_of("toToml", args)?.unwrap_or_else(|e| e)))
}

fn must_to_toml(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    toml_of("mustToToml", args)?
        .map(Value::from)
        .map_err(FuncError::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::funcs::{OfflineLookup, RandomSource};

    struct Fixed;
    impl RandomSource for Fixed {
        fn next_u64(&mut self) -> u64 {
            4
        }
    }

    fn call(name: &str, args: &[Value]) -> FuncResult {
        let f = get(name).expect("function exists");
        let mut random = Fixed;
        let mut ctx = CallContext::new(&OfflineLookup, &mut random);
        f(&mut ctx, args)
    }

    /// A large text read twice is read once, yet each `fromYaml` is a value of its own, as in
    /// Go: a change made through one reading (or to the first, before the second) is not seen
    /// in another, at the top or deep inside.
    #[test]
    fn readings_of_one_text_are_independent_values() {
        let padding = "x".repeat(REMEMBERED_FROM_LEN);
        let text = Value::from(format!(
            "metadata:\n  name: a\n  labels: {{k: v}}\npad: {padding}\n"
        ));
        let mut random = Fixed;
        let mut ctx = CallContext::new(&OfflineLookup, &mut random);
        let read = |ctx: &mut CallContext<'_>| from_yaml(ctx, std::slice::from_ref(&text));
        let labels = |v: &Value| v.get("metadata").and_then(|m| m.get("labels"));
        let set = |v: &Value, key: &str| {
            if let Some(Value::Map(m)) = &v.get("metadata") {
                m.update(|m| m.insert(key.to_string(), Value::from("changed")));
            }
            if let Some(Value::Map(m)) = &labels(v) {
                m.update(|m| m.insert("k".to_string(), Value::from("changed")));
            }
        };
        let first = read(&mut ctx).expect("first reading");
        set(&first, "name");
        let second = read(&mut ctx).expect("second reading");
        assert!(ctx.parsed_yaml.last.is_some(), "the text was remembered");
        assert_eq!(
            second.get("metadata").and_then(|m| m.get("name")),
            Some(Value::from("a"))
        );
        assert_eq!(
            labels(&second).and_then(|l| l.get("k")),
            Some(Value::from("v"))
        );
        set(&second, "name");
        let third = read(&mut ctx).expect("third reading");
        assert_eq!(
            labels(&third).and_then(|l| l.get("k")),
            Some(Value::from("v"))
        );
        assert_eq!(
            labels(&first).and_then(|l| l.get("k")),
            Some(Value::from("changed"))
        );
    }

    /// Values and outputs of a probe chart rendered by Helm 4.2.3 (without its `n: null`,
    /// which Helm's coalescing removes before templates see it).
    const VALUES: &str = "a: 1\nb: 1.5\ns: \"he said \\\"hi\\\"\\ttab <&>\"\nt: true\nlist: [1, \"two\", 3.5]\nempty: {}\nelist: []\nsub:\n  x: 1\n  \"key with space\": 2\n  deeper:\n    y: z\n  z: last\ntables:\n  - name: a\n    v: 1\n  - name: b\nz: 1000000\nbig: 1e21\nmixed: [1, {a: 1}]\nnested:\n  - - a\n    - b\n  - k: [1]\nml: \"a\\nb\\n\"\n";

    #[test]
    fn writers_match_helm() {
        let values = yaml::parse_values(VALUES).expect("values parse");
        for (name, expected) in [
            (
                "toToml",
                "a = 1.0\nb = 1.5\nbig = 1e+21\nelist = []\nlist = [1.0, \"two\", 3.5]\nmixed = [1.0, {a = 1.0}]\nml = \"a\\nb\\n\"\nnested = [[\"a\", \"b\"], {k = [1.0]}]\ns = \"he said \\\"hi\\\"\\ttab <&>\"\nt = true\nz = 1e+06\n\n[empty]\n\n[sub]\n  \"key with space\" = 2.0\n  x = 1.0\n  z = \"last\"\n  [sub.deeper]\n    true = \"z\"\n\n[[tables]]\n  name = \"a\"\n  v = 1.0\n\n[[tables]]\n  name = \"b\"\n",
            ),
            (
                "toYamlPretty",
                "a: 1\nb: 1.5\nbig: 1e+21\nelist: []\nempty: {}\nlist:\n  - 1\n  - two\n  - 3.5\nmixed:\n  - 1\n  - a: 1\nml: |\n  a\n  b\nnested:\n  - - a\n    - b\n  - k:\n      - 1\ns: \"he said \\\"hi\\\"\\ttab <&>\"\nsub:\n  deeper:\n    \"true\": z\n  key with space: 2\n  x: 1\n  z: last\nt: true\ntables:\n  - name: a\n    v: 1\n  - name: b\nz: 1e+06",
            ),
            (
                "toPrettyJson",
                "{\n  \"a\": 1,\n  \"b\": 1.5,\n  \"big\": 1e+21,\n  \"elist\": [],\n  \"empty\": {},\n  \"list\": [\n    1,\n    \"two\",\n    3.5\n  ],\n  \"mixed\": [\n    1,\n    {\n      \"a\": 1\n    }\n  ],\n  \"ml\": \"a\\nb\\n\",\n  \"nested\": [\n    [\n      \"a\",\n      \"b\"\n    ],\n    {\n      \"k\": [\n        1\n      ]\n    }\n  ],\n  \"s\": \"he said \\\"hi\\\"\\ttab \\u003c\\u0026\\u003e\",\n  \"sub\": {\n    \"deeper\": {\n      \"true\": \"z\"\n    },\n    \"key with space\": 2,\n    \"x\": 1,\n    \"z\": \"last\"\n  },\n  \"t\": true,\n  \"tables\": [\n    {\n      \"name\": \"a\",\n      \"v\": 1\n    },\n    {\n      \"name\": \"b\"\n    }\n  ],\n  \"z\": 1000000\n}",
            ),
            (
                "toRawJson",
                "{\"a\":1,\"b\":1.5,\"big\":1e+21,\"elist\":[],\"empty\":{},\"list\":[1,\"two\",3.5],\"mixed\":[1,{\"a\":1}],\"ml\":\"a\\nb\\n\",\"nested\":[[\"a\",\"b\"],{\"k\":[1]}],\"s\":\"he said \\\"hi\\\"\\ttab <&>\",\"sub\":{\"deeper\":{\"true\":\"z\"},\"key with space\":2,\"x\":1,\"z\":\"last\"},\"t\":true,\"tables\":[{\"name\":\"a\",\"v\":1},{\"name\":\"b\"}],\"z\":1000000}",
            ),
        ] {
            assert_eq!(
                call(name, std::slice::from_ref(&values)),
                Ok(Value::str(expected)),
                "{name}"
            );
        }
    }

    fn json_of(name: &str, arg: &str) -> String {
        let v = call(name, &[Value::str(arg)]).expect("no error");
        yaml::to_json(&v).expect("serialisable")
    }

    #[test]
    fn readers_report_errors_inside_the_result_like_helm() {
        assert_eq!(
            json_of("fromJson", "[1,2]"),
            r#"{"Error":"json: cannot unmarshal array into Go value of type map[string]interface {}"}"#
        );
        assert_eq!(json_of("fromJson", r#"{"a": 1e3}"#), r#"{"a":1000}"#);
        assert_eq!(
            json_of("fromJsonArray", "{}"),
            r#"["json: cannot unmarshal object into Go value of type []interface {}"]"#
        );
        assert_eq!(
            json_of("fromYamlArray", "a: 1"),
            r#"["error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}"]"#
        );
        assert_eq!(json_of("fromYamlArray", "- 1\n- x"), r#"[1,"x"]"#);
        assert_eq!(json_of("fromJson", "null"), "null");
        assert_eq!(json_of("mustFromJson", "[1]"), "[1]");
        assert!(
            json_of("fromYaml", "a: [1")
                .starts_with(r#"{"Error":"error converting YAML to JSON: yaml: line "#)
        );
        assert_eq!(
            call(
                "toYaml",
                &[Value::list(vec![Value::Int(1), Value::str("a")])]
            ),
            Ok(Value::str("- 1\n- a"))
        );
        assert_eq!(
            call("toJson", &[Value::str("<x>")]),
            Ok(Value::str(r#""\u003cx\u003e""#))
        );
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn toml_matches_helm_on_edge_cases() {
        let table = |a: Value| map(&[("a", a)]);
        let cases = [
            (
                Value::list(vec![table(Value::Int(1))]),
                "toml: top-level values must be Go maps or structs",
            ),
            (
                map(&[(
                    "a",
                    Value::list(vec![
                        Value::Int(1),
                        Value::list(vec![Value::Int(2), Value::str("x")]),
                    ]),
                )]),
                "a = [1, [2, \"x\"]]\n",
            ),
            (map(&[("a", Value::Nil), ("b", Value::Int(1))]), "b = 1\n"),
            (
                map(&[(
                    "x",
                    map(&[(
                        "y",
                        Value::list(vec![
                            map(&[("z", Value::Int(1))]),
                            map(&[("w", map(&[("q", Value::Int(2))]))]),
                        ]),
                    )]),
                )]),
                "[x]\n\n  [[x.y]]\n    z = 1\n\n  [[x.y]]\n    [x.y.w]\n      q = 2\n",
            ),
            (
                map(&[
                    ("", Value::Int(1)),
                    ("a.b", Value::Int(2)),
                    ("ü", Value::Int(3)),
                ]),
                "\"\" = 1\n\"a.b\" = 2\n\"ü\" = 3\n",
            ),
            (
                map(&[("l", Value::list(vec![Value::Nil, Value::Int(1)]))]),
                "toml: cannot encode array with nil element",
            ),
            (Value::Float(1.5), "1.5\n"),
            (
                map(&[(
                    "t",
                    Value::list(vec![map(&[]), map(&[("a", Value::Int(1))])]),
                )]),
                "[[t]]\n\n[[t]]\n  a = 1\n",
            ),
            (
                map(&[
                    ("a", Value::Float(1.0)),
                    ("b", Value::Float(1e21)),
                    ("c", Value::Float(0.000001)),
                    ("d", Value::Float(100.0)),
                ]),
                "a = 1.0\nb = 1e+21\nc = 1e-06\nd = 100.0\n",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(call("toToml", &[value]), Ok(Value::str(expected)));
        }
        assert_eq!(
            call("toToml", &[Value::Nil]),
            Err(FuncError::new(
                "reflect: call of reflect.Value.Type on zero Value"
            ))
        );
        assert!(call("mustToToml", &[Value::list(vec![map(&[])])]).is_err());
    }

    /// (input, Helm's `fromJson | toJson`, Helm's `fromJsonArray | toJson`).
    const JSON_READS: &[(&str, &str, &str)] = &[
        (
            "",
            "{\"Error\":\"unexpected end of JSON input\"}",
            "[\"unexpected end of JSON input\"]",
        ),
        (
            " ",
            "{\"Error\":\"unexpected end of JSON input\"}",
            "[\"unexpected end of JSON input\"]",
        ),
        (
            "nope",
            "{\"Error\":\"invalid character 'o' in literal null (expecting 'u')\"}",
            "[\"invalid character 'o' in literal null (expecting 'u')\"]",
        ),
        (
            "tru",
            "{\"Error\":\"invalid character ' ' in literal true (expecting 'e')\"}",
            "[\"invalid character ' ' in literal true (expecting 'e')\"]",
        ),
        (
            "{",
            "{\"Error\":\"unexpected end of JSON input\"}",
            "[\"unexpected end of JSON input\"]",
        ),
        (
            "[1,]",
            "{\"Error\":\"invalid character ']' looking for beginning of value\"}",
            "[\"invalid character ']' looking for beginning of value\"]",
        ),
        (
            "[1 2]",
            "{\"Error\":\"invalid character '2' after array element\"}",
            "[\"invalid character '2' after array element\"]",
        ),
        (
            "{\"a\" 1}",
            "{\"Error\":\"invalid character '1' after object key\"}",
            "[\"invalid character '1' after object key\"]",
        ),
        (
            "{\"a\":1,}",
            "{\"Error\":\"invalid character '}' looking for beginning of object key string\"}",
            "[\"invalid character '}' looking for beginning of object key string\"]",
        ),
        (
            "{a:1}",
            "{\"Error\":\"invalid character 'a' looking for beginning of object key string\"}",
            "[\"invalid character 'a' looking for beginning of object key string\"]",
        ),
        (
            "\"x",
            "{\"Error\":\"unexpected end of JSON input\"}",
            "[\"unexpected end of JSON input\"]",
        ),
        (
            "\"\\q\"",
            "{\"Error\":\"invalid character 'q' in string escape code\"}",
            "[\"invalid character 'q' in string escape code\"]",
        ),
        (
            "\"\\u12G4\"",
            "{\"Error\":\"invalid character 'G' in \\\\u hexadecimal character escape\"}",
            "[\"invalid character 'G' in \\\\u hexadecimal character escape\"]",
        ),
        (
            "1.",
            "{\"Error\":\"invalid character ' ' after decimal point in numeric literal\"}",
            "[\"invalid character ' ' after decimal point in numeric literal\"]",
        ),
        (
            "1e",
            "{\"Error\":\"invalid character ' ' in exponent of numeric literal\"}",
            "[\"invalid character ' ' in exponent of numeric literal\"]",
        ),
        (
            "-",
            "{\"Error\":\"invalid character ' ' in numeric literal\"}",
            "[\"invalid character ' ' in numeric literal\"]",
        ),
        (
            "01",
            "{\"Error\":\"invalid character '1' after top-level value\"}",
            "[\"invalid character '1' after top-level value\"]",
        ),
        (
            "1 2",
            "{\"Error\":\"invalid character '2' after top-level value\"}",
            "[\"invalid character '2' after top-level value\"]",
        ),
        (
            "\"a\tb\"",
            "{\"Error\":\"invalid character '\\\\t' in string literal\"}",
            "[\"invalid character '\\\\t' in string literal\"]",
        ),
        (
            "{\"a\":1}x",
            "{\"Error\":\"invalid character 'x' after top-level value\"}",
            "[\"invalid character 'x' after top-level value\"]",
        ),
        (
            "[",
            "{\"Error\":\"unexpected end of JSON input\"}",
            "[\"unexpected end of JSON input\"]",
        ),
        (
            "1e400",
            "{\"Error\":\"json: cannot unmarshal number into Go value of type map[string]interface {}\"}",
            "[\"json: cannot unmarshal number into Go value of type []interface {}\"]",
        ),
        (
            "[1e400, }",
            "{\"Error\":\"invalid character '}' looking for beginning of value\"}",
            "[\"invalid character '}' looking for beginning of value\"]",
        ),
        (
            "\"\\ud83d\\ude00\"",
            "{\"Error\":\"json: cannot unmarshal string into Go value of type map[string]interface {}\"}",
            "[\"json: cannot unmarshal string into Go value of type []interface {}\"]",
        ),
        (
            "\"\\ud83d\"",
            "{\"Error\":\"json: cannot unmarshal string into Go value of type map[string]interface {}\"}",
            "[\"json: cannot unmarshal string into Go value of type []interface {}\"]",
        ),
        (
            "{\"a\":1,\"a\":2}",
            "{\"a\":2}",
            "[\"json: cannot unmarshal object into Go value of type []interface {}\"]",
        ),
        (
            "  [ 1 , 2 ]  ",
            "{\"Error\":\"json: cannot unmarshal array into Go value of type map[string]interface {}\"}",
            "[1,2]",
        ),
        (
            "'x'",
            "{\"Error\":\"invalid character '\\\\'' looking for beginning of value\"}",
            "[\"invalid character '\\\\'' looking for beginning of value\"]",
        ),
        (
            "é",
            "{\"Error\":\"invalid character 'Ã' looking for beginning of value\"}",
            "[\"invalid character 'Ã' looking for beginning of value\"]",
        ),
        (
            "[1e400]",
            "{\"Error\":\"json: cannot unmarshal array into Go value of type map[string]interface {}\"}",
            "[\"json: cannot unmarshal number 1e400 into Go value of type float64\"]",
        ),
        (
            "{\"a\": [1, {\"b\": null}], \"c\": -0.0}",
            "{\"a\":[1,{\"b\":null}],\"c\":-0}",
            "[\"json: cannot unmarshal object into Go value of type []interface {}\"]",
        ),
        (
            "123456789012345678901234567890",
            "{\"Error\":\"json: cannot unmarshal number into Go value of type map[string]interface {}\"}",
            "[\"json: cannot unmarshal number into Go value of type []interface {}\"]",
        ),
    ];

    #[test]
    fn json_readers_word_errors_like_encoding_json() {
        for (input, as_map, as_list) in JSON_READS {
            assert_eq!(json_of("fromJson", input), *as_map, "fromJson {input:?}");
            assert_eq!(
                json_of("fromJsonArray", input),
                *as_list,
                "fromJsonArray {input:?}"
            );
        }
    }

    #[test]
    fn from_toml_keeps_ints_and_reports_errors_in_the_map() {
        // Helm: {"a":1,"b":1.5,"c":"2024-01-01T00:00:00Z","d":{"e":[1,"x"]}}
        let v = call(
            "fromToml",
            &[Value::str(
                "a = 1\nb = 1.5\nc = 2024-01-01T00:00:00Z\n[d]\ne = [1, 'x']\n",
            )],
        )
        .expect("no error");
        assert_eq!(v.get("a"), Some(Value::Int(1)));
        assert_eq!(
            yaml::to_json(&v).as_deref(),
            Ok(r#"{"a":1,"b":1.5,"c":"2024-01-01T00:00:00Z","d":{"e":[1,"x"]}}"#)
        );
        let bad = call("fromToml", &[Value::str("a = = 1")]).expect("no error");
        assert!(
            bad.str_at(&["Error"])
                .as_deref()
                .is_some_and(|e| e.starts_with("toml: ")),
            "{bad:?}"
        );
    }

    #[test]
    fn top_level_values_write_like_helm() {
        let s = Value::str;
        let list = Value::list;
        let word20 = vec!["word"; 20].join(" ");
        let cases: Vec<(&str, Value, &str)> = vec![
            ("toYaml", s("x"), "x"),
            ("toYaml", s("a\nb"), "|-\n  a\n  b"),
            ("toYaml", Value::Int(1), "1"),
            ("toYaml", Value::Float(1.5), "1.5"),
            ("toYaml", Value::Nil, "null"),
            ("toYaml", s(""), "\"\""),
            ("toYaml", list(vec![]), "[]"),
            ("toYaml", map(&[]), "{}"),
            ("toYaml", Value::Bool(true), "true"),
            ("toYaml", s("true"), "\"true\""),
            (
                "toYaml",
                list(vec![s("a\nb"), s("c")]),
                "- |-\n  a\n  b\n- c",
            ),
            ("toYaml", s(" x"), "' x'"),
            (
                "toYaml",
                s(&word20),
                "word word word word word word word word word word word word word word word word word\n  word word word",
            ),
            ("toYaml", s("a: b"), "'a: b'"),
            ("toYaml", list(vec![list(vec![])]), "- []"),
            ("toYaml", Value::Float(1e6), "1000000"),
            (
                "toYaml",
                map(&[("a", list(vec![map(&[("b", s("x\ny"))])]))]),
                "a:\n- b: |-\n    x\n    y",
            ),
            ("toYaml", s("a\n"), "|\n  a"),
            ("toYaml", Value::Float(1e23), "1e+23"),
            ("toYamlPretty", s("a\nb"), "|-\n  a\n  b"),
            (
                "toYamlPretty",
                list(vec![s("a"), list(vec![s("b")])]),
                "- a\n- - b",
            ),
            ("toYamlPretty", Value::Float(1e6), "1e+06"),
            ("toYamlPretty", s(""), "\"\""),
            ("toYamlPretty", map(&[("k", s("y"))]), "k: \"y\""),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                call(name, std::slice::from_ref(&value)),
                Ok(s(expected)),
                "{name} {value:?}"
            );
        }
    }

    struct Release;
    impl crate::value::Object for Release {
        fn type_name(&self) -> &str {
            "chart.Release"
        }
        fn field(&self, _: &str) -> Option<Value> {
            None
        }
        fn display(&self) -> String {
            "{rel}".into()
        }
        fn to_data(&self) -> Value {
            map(&[("Name", Value::str("rel")), ("Revision", Value::Int(1))])
        }
    }

    #[test]
    fn objects_serialise_through_their_data() {
        let obj = Value::Object(std::sync::Arc::new(Release));
        let nested = map(&[("r", obj.clone())]);
        assert_eq!(
            call("toJson", std::slice::from_ref(&nested)),
            Ok(Value::str(r#"{"r":{"Name":"rel","Revision":1}}"#))
        );
        assert_eq!(
            call("toYaml", &[nested]),
            Ok(Value::str("r:\n  Name: rel\n  Revision: 1"))
        );
        assert_eq!(
            call("toToml", &[obj]),
            Ok(Value::str("Name = \"rel\"\nRevision = 1\n"))
        );
    }

    #[test]
    fn marshal_errors_are_swallowed_or_raised_per_function() {
        let nan = [Value::Float(f64::NAN)];
        assert_eq!(call("toYaml", &nan), Ok(Value::str("")));
        assert_eq!(call("toJson", &nan), Ok(Value::str("")));
        assert_eq!(
            call("mustToJson", &nan),
            Err(FuncError::new("json: unsupported value: NaN"))
        );
        assert!(call("toRawJson", &nan).is_err());
        assert!(call("mustToYaml", &nan).is_err());
    }
}
