//! Engine tests. Every expected text below was produced by Helm 4.2's engine (through
//! `helm_oracle.py`) for the same template and values; error texts are Go's raw
//! `ExecError`/parse messages, which Helm then reformats.

use super::funcs::{CallContext, FuncError, OfflineLookup, RandomSource};
use super::{Templates, builtin_resolver};
use crate::value::{Map, Object, Value};
use std::sync::Arc;

struct FixedRandom;

impl RandomSource for FixedRandom {
    fn next_u64(&mut self) -> u64 {
        4
    }
}

const FILE: &str = "t/templates/a.yaml";

fn values() -> Value {
    let mut k3 = Map::new();
    k3.insert("q".into(), Value::Float(1.0));
    let mut m = Map::new();
    m.insert("k2".into(), Value::str("v2"));
    m.insert("k1".into(), Value::str("v1"));
    m.insert("k3".into(), Value::map(k3));
    let mut v = Map::new();
    v.insert("a".into(), Value::Float(1.0));
    v.insert("f".into(), Value::Float(1.5));
    v.insert("big".into(), Value::Float(1_000_000.0));
    v.insert("s".into(), Value::str("hello"));
    v.insert("b".into(), Value::Bool(true));
    v.insert(
        "l".into(),
        Value::list(vec![Value::str("x"), Value::Bool(true), Value::str("z")]),
    );
    v.insert("m".into(), Value::map(m));
    v.insert("nul".into(), Value::Nil);
    v.insert("empty".into(), Value::list(vec![]));
    v.insert("zero".into(), Value::Float(0.0));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(v));
    let mut t = Map::new();
    t.insert("Name".into(), Value::str(FILE));
    top.insert("Template".into(), Value::map(t));
    Value::map(top)
}

fn run_with(set: &Templates, data: &Value) -> Result<String, String> {
    let lookup = OfflineLookup;
    let mut rng = FixedRandom;
    let mut ctx = CallContext::new(&lookup, &mut rng);
    set.execute(FILE, data, &mut ctx).map_err(|e| e.to_string())
}

/// Renders `src` as Helm's file `t/templates/a.yaml` over [`values`], with `<no value>`
/// removed as Helm's render step does.
fn render(src: &str) -> Result<String, String> {
    let mut set = Templates::with_resolver(builtin_resolver);
    set.parse(FILE, src).map_err(|e| e.to_string())?;
    run_with(&set, &values()).map(super::strip_no_value)
}

fn ok(src: &str) -> String {
    match render(src) {
        Ok(s) => s,
        Err(e) => panic!("{src}: {e}"),
    }
}

fn err(src: &str) -> String {
    match render(src) {
        Ok(s) => panic!("{src}: expected an error, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn prints_values_like_go() {
    assert_eq!(
        ok(
            "{{ .Values.a }} {{ .Values.f }} {{ .Values.big }} {{ .Values.s }} {{ .Values.b }} {{ .Values.l }} {{ .Values.m }} [{{ .Values.nul }}] [{{ .Values.missing }}]"
        ),
        "1 1.5 1e+06 hello true [x true z] map[k1:v1 k2:v2 k3:map[q:1]] [] []"
    );
}

#[test]
fn missing_key_prints_no_value_before_helm_strips_it() {
    let mut set = Templates::with_resolver(builtin_resolver);
    set.parse(FILE, "[{{ .Values.missing }}]").unwrap();
    assert_eq!(run_with(&set, &values()), Ok("[<no value>]".into()));
}

#[test]
fn every_no_value_is_stripped_and_other_text_is_kept() {
    assert_eq!(
        super::strip_no_value("a: <no value>\nb: [<no value><no value>]".into()),
        "a: \nb: []"
    );
    assert_eq!(super::strip_no_value("<no valu".into()), "<no valu");
    assert_eq!(super::strip_no_value(String::new()), "");
}

#[test]
fn literals() {
    assert_eq!(
        ok(
            r#"{{ 1 }} {{ 1.0 }} {{ 1e3 }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 'a' }} {{ -5 }} {{ 1000000 }} {{ 1.5e7 }} {{ true }} {{ "a\tb" }} {{ `raw\n` }}"#
        ),
        "1 1 1000 31 15 15 5 1000 97 -5 1000000 1.5e+07 true a\tb raw\\n"
    );
}

#[test]
fn range_over_maps_is_sorted_by_key() {
    assert_eq!(
        ok("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}"),
        "k1=v1;k2=v2;k3=map[q:1];"
    );
    assert_eq!(
        ok("{{- range $k, $v := .Values.m }}\n{{ $k }}: {{ $v }}\n{{- end }}"),
        "\nk1: v1\nk2: v2\nk3: map[q:1]"
    );
}

#[test]
fn range_else_and_ints() {
    assert_eq!(
        ok(
            "{{ range .Values.l }}[{{ . }}]{{ else }}none{{ end }}|{{ range .Values.empty }}x{{ else }}none{{ end }}|{{ range .Values.nul }}x{{ else }}nil{{ end }}|{{ range .Values.missing }}x{{ else }}miss{{ end }}"
        ),
        "[x][true][z]|none|nil|miss"
    );
    assert_eq!(
        ok(
            "{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 2 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}zero{{ end }}"
        ),
        "012|01|zero"
    );
    assert_eq!(
        err("{{ range .Values.s }}{{ . }}{{ end }}"),
        "template: t/templates/a.yaml:1:16: executing \"t/templates/a.yaml\" at <.Values.s>: range can't iterate over hello"
    );
}

#[test]
fn break_and_continue() {
    assert_eq!(
        ok(
            r#"{{ range $i, $e := .Values.l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $e "z" }}{{ break }}{{ end }}{{ $i }}{{ $e }}{{ end }}"#
        ),
        "0x"
    );
}

#[test]
fn variable_declaration_assignment_and_scope() {
    assert_eq!(
        ok("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(
        ok("{{ $x := 1 }}{{ range .Values.l }}{{ $x = . }}{{ end }}{{ $x }}"),
        "z"
    );
    assert_eq!(
        ok("{{ with $x := .Values.s }}{{ $x }}{{ end }}{{ range $i, $v := .Values.l }}{{ end }}"),
        "hello"
    );
    assert_eq!(
        err("{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}"),
        "template: t/templates/a.yaml:1: undefined variable \"$y\""
    );
}

#[test]
fn trimming_and_comments() {
    assert_eq!(
        ok(
            "a  \n  {{- \"b\" -}}  \n  c {{- /* comment */}} d {{/* c2 */ -}}   e\n{{- /* c3 */ -}}\n f"
        ),
        "abc d ef"
    );
    assert_eq!(
        ok("{{ \"a\" }}{{/* x */}}{{ \"b\" }}\n{{- /* y */}}\n{{ \"c\" }}"),
        "ab\nc"
    );
}

#[test]
fn conditionals() {
    assert_eq!(
        ok(
            "{{ if .Values.zero }}t{{ else if .Values.s }}s{{ else }}e{{ end }}|{{ with .Values.m.k3 }}{{ .q }}{{ end }}|{{ with .Values.missing }}x{{ else with .Values.s }}{{ . }}{{ end }}"
        ),
        "s|1|hello"
    );
}

#[test]
fn and_or_short_circuit_and_return_operands() {
    assert_eq!(
        ok(
            r#"{{ and 1 0 2 }}|{{ or 0 "" "x" }}|{{ and 1 2 }}|{{ or 0 "" }}|{{ not 0 }}|{{ and .Values.missing .Values.missing.x }}|{{ or 1 .Values.missing.x }}"#
        ),
        "0|x|2||true||1"
    );
}

#[test]
fn comparisons() {
    assert_eq!(
        ok(
            r#"{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ ne "a" "b" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ eq .Values.nul nil }} {{ eq .Values.missing "x" }}"#
        ),
        "true true true true true true false true false"
    );
    assert_eq!(
        err("{{ eq .Values.a 1 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <eq .Values.a 1>: error calling eq: incompatible types for comparison: float64 and int"
    );
    assert_eq!(
        err("{{ lt .Values.a 1 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <lt .Values.a 1>: error calling lt: incompatible types for comparison: float64 and int"
    );
    assert_eq!(
        err("{{ eq .Values.l .Values.l }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <eq .Values.l .Values.l>: error calling eq: non-comparable type [x %!s(bool=true) z]: []interface {}"
    );
    assert_eq!(
        err("{{ eq 1 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <eq 1>: error calling eq: missing argument for comparison"
    );
}

#[test]
fn printf_verbs_and_mistakes() {
    assert_eq!(
        ok(
            r#"{{ printf "%s-%d-%v-%5.2f|%-4s|%04d|%x|%X|%o|%q|%t|%T|%T|%e|%g|%c|%U" "a" 3 1.5 3.14159 "ab" 42 255 255 8 "q\"" true .Values.l .Values.f 12345.678 0.000001 65 65 }}"#
        ),
        r#"a-3-1.5- 3.14|ab  |0042|ff|FF|10|"q\""|true|[]interface {}|float64|1.234568e+04|1e-06|A|U+0041"#
    );
    assert_eq!(
        ok(
            r#"{{ printf "%d %s" "x" 1.5 }}|{{ printf "%s %s" "a" }}|{{ printf "%s" "a" 1 "b" }}|{{ printf "%d" .Values.nul }}|{{ printf "%v %v" .Values.m .Values.l }}|{{ printf "%d" .Values.l }}|{{ printf "%5.1f|%-8.3e|%+d|% d|%#x|%#o|%08.3f|%x" 3.14159 1234.5 5 5 255 8 -3.14159 "hi" }}"#
        ),
        "%!d(string=x) %!s(float64=1.5)|a %!s(MISSING)|a%!(EXTRA int=1, string=b)|%!d(<nil>)|map[k1:v1 k2:v2 k3:map[q:1]] [x true z]|[%!d(string=x) %!d(bool=true) %!d(string=z)]|  3.1|1.234e+03|+5| 5|0xff|010|-003.142|6869"
    );
    assert_eq!(
        ok(
            r#"{{ printf "%v %s %d" .Values.a .Values.a .Values.a }}|{{ printf "%.0f %.1f %.2f %.3g %g %g %g" 2.5 0.25 1.005 1234.5678 100000.0 1000000.0 0.0001 }}|{{ printf "%6.2f%%" 12.345 }}"#
        ),
        "1 %!s(float64=1) %!d(float64=1)|2 0.2 1.00 1.23e+03 100000 1e+06 0.0001| 12.35%"
    );
    assert_eq!(
        ok(
            r#"{{ .Values.nul | printf "%v" }} {{ printf "%s" .Values.nul }} {{ printf "%5s|%-5s|%.2s" "ab" "cd" "efgh" }}"#
        ),
        "<nil> %!s(<nil>)    ab|cd   |ef"
    );
    assert_eq!(
        err("{{ printf 1 }}"),
        "template: t/templates/a.yaml:1:10: executing \"t/templates/a.yaml\" at <1>: expected string; found 1"
    );
    assert_eq!(
        err("{{ printf .Values.missing }}"),
        "template: t/templates/a.yaml:1:17: executing \"t/templates/a.yaml\" at <.Values.missing>: wrong type for value; expected string; got interface {}"
    );
    assert_eq!(
        err("{{ $x := .Values.missing }}{{ printf $x }}"),
        "template: t/templates/a.yaml:1:37: executing \"t/templates/a.yaml\" at <$x>: invalid value; expected string"
    );
}

#[test]
fn print_and_escapers() {
    assert_eq!(
        ok(
            r#"{{ print 1 2 "a" 3 nil }}|{{ println "a" 1 }}|{{ print .Values.missing }}|{{ html "<a&b>\"'" }}|{{ js "a'b<c>=&" }}|{{ urlquery "a b&c=d/é" }}"#
        ),
        "1 2a3 <nil>|a 1\n|<nil>|&lt;a&amp;b&gt;&#34;&#39;|a\\'b\\u003Cc\\u003E\\u003D\\u0026|a+b%26c%3Dd%2F%C3%A9"
    );
}

#[test]
fn nil_pointer_and_field_errors() {
    assert_eq!(
        err("{{ .Values.nul.x }}"),
        "template: t/templates/a.yaml:1:10: executing \"t/templates/a.yaml\" at <.Values.nul.x>: nil pointer evaluating interface {}.x"
    );
    assert_eq!(
        err("x\n  {{ .Values.missing.a.b }}"),
        "template: t/templates/a.yaml:2:12: executing \"t/templates/a.yaml\" at <.Values.missing.a.b>: nil pointer evaluating interface {}.a"
    );
    assert_eq!(
        err("{{ .Values.s.foo }}"),
        "template: t/templates/a.yaml:1:10: executing \"t/templates/a.yaml\" at <.Values.s.foo>: can't evaluate field foo in type interface {}"
    );
    assert_eq!(
        err("{{ range .Values.l }}{{ .foo }}{{ end }}"),
        "template: t/templates/a.yaml:1:24: executing \"t/templates/a.yaml\" at <.foo>: can't evaluate field foo in type interface {}"
    );
    assert_eq!(
        err("{{ with .Values.s }}{{ .foo }}{{ end }}"),
        "template: t/templates/a.yaml:1:23: executing \"t/templates/a.yaml\" at <.foo>: can't evaluate field foo in type string"
    );
    assert_eq!(
        err("{{ (1).x }}"),
        "template: t/templates/a.yaml:1:4: executing \"t/templates/a.yaml\" at <1>: can't evaluate field x in type int"
    );
    // A nil held by a variable is Go's invalid value: reading a field from it is no error.
    assert_eq!(
        ok("{{ $x := .Values.missing }}[{{ $x.y }}]|{{ (.Values.missing).y }}"),
        "[]|"
    );
    assert_eq!(
        err("{{ .Values.a 1 }}"),
        "template: t/templates/a.yaml:1:10: executing \"t/templates/a.yaml\" at <.Values.a>: a is not a method but has arguments"
    );
}

#[test]
fn len_and_index() {
    assert_eq!(
        ok(
            r#"{{ len .Values.l }} {{ len .Values.m }} {{ len .Values.s }} {{ index .Values.l 1 }} {{ index .Values.m "k3" "q" }} [{{ index .Values.m "nope" }}] {{ index "abc" 1 }}"#
        ),
        "3 3 5 true 1 [] 98"
    );
    assert_eq!(
        err("{{ len .Values.nul }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <len .Values.nul>: error calling len: len of nil pointer"
    );
    assert_eq!(
        err("{{ index .Values.l 5 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <index .Values.l 5>: error calling index: index out of range: 5"
    );
    assert_eq!(
        err("{{ index .Values.l 3 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <index .Values.l 3>: error calling index: reflect: slice index out of range"
    );
    assert_eq!(
        err("{{ index .Values.m.nope \"x\" }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <index .Values.m.nope \"x\">: error calling index: index of untyped nil"
    );
    assert_eq!(
        err("{{ .Values.l | len }} {{ .Values.l | index . 0 }}"),
        "template: t/templates/a.yaml:1:37: executing \"t/templates/a.yaml\" at <index . 0>: error calling index: value has type int; should be string"
    );
}

#[test]
fn arity_errors_point_at_the_function_name() {
    assert_eq!(
        err("{{ ge 1 2 3 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <ge>: wrong number of args for ge: want 2 got 3"
    );
}

#[test]
fn more_printf_and_escaping() {
    assert_eq!(
        ok(r#"{{ printf "%x|%X|%.2x|%b|%x|%x|%x" 3.5 -0.1 1.0 3.5 0.0 1e300 5e-324 }}"#),
        "0x1.cp+01|-0X1.999999999999AP-04|0x1.00p+00|7881299347898368p-51|0x0p+00|0x1.7e43c8800759cp+996|0x1p-1074"
    );
    assert_eq!(
        ok(r#"{{ js "\u2028é\x01\u00a0\u200b" }}|{{ printf "%q" "\u00a0\u200b\u2028é" }}"#),
        r#"\u2028é\u0001\u00A0\u200B|"\u00a0\u200b\u2028é""#
    );
    assert_eq!(
        ok(
            r#"{{ printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159 }}|{{ printf "%[3]s %[1]s %s" "a" "b" "c" }}|{{ printf "%[5]s" "a" }}"#
        ),
        "    1|2   |3.14|c a b|%!s(BADINDEX)"
    );
    assert_eq!(
        ok(r#"{{ printf "%U|%#U|%q|%+q|%#q" 0x1F600 0x41 0x263A "héllo" "back`q" }}"#),
        r#"U+1F600|U+0041 'A'|'☺'|"h\u00e9llo"|"back`q""#
    );
    assert_eq!(
        ok(
            r#"{{ printf "% x|%#x|% #x|%X" "hé" "ab" "ab" "ab" }}|{{ printf "%.2g|%.1g|%.10g|%g|%g|%G" 123.0 0.05 1.0 1e100 123456.0 1e-10 }}"#
        ),
        "68 c3 a9|0x6162|0x61 0x62|6162|1.2e+02|0.05|1|1e+100|123456|1E-10"
    );
}

#[test]
fn command_errors() {
    assert_eq!(
        err("{{ not }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <not>: wrong number of args for not: want 1 got 0"
    );
    assert_eq!(
        err("{{ 1 2 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <1>: can't give argument to non-function 1"
    );
    assert_eq!(
        err("{{ nil }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <nil>: nil is not a command"
    );
    assert_eq!(
        err("{{ 18446744073709551615 }}"),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <18446744073709551615>: 18446744073709551615 overflows int"
    );
}

#[test]
fn pipelines_pass_the_last_argument() {
    assert_eq!(
        ok(
            r#"{{ .Values.s | printf "%s!" }} {{ "x" | printf "%s%s" "y" }} {{ 3 | eq 3 }} {{ (.Values.m).k1 }} {{ $.Values.s }} {{ $m := .Values.m }}{{ $m.k3.q }}"#
        ),
        "hello! yx true v1 hello 1"
    );
}

#[test]
fn templates_include_and_blocks() {
    assert_eq!(
        ok(
            r#"{{ define "x" }}X{{ . }}{{ end }}{{ template "x" .Values.s }}|{{ template "x" }}|{{ include "x" 5 }}|{{ include "x" .Values.m.k3.q }}"#
        ),
        "Xhello|X|X5|X1"
    );
    assert_eq!(ok(r#"{{ block "bl" . }}default{{ end }}"#), "default");
    assert_eq!(
        err(r#"{{ define "bl" }}over{{ end }}{{ block "bl" . }}default{{ end }}"#),
        "template: t/templates/a.yaml:1: template: multiple definition of template \"bl\""
    );
    assert_eq!(
        err(r#"{{ template "x" }}"#),
        "template: t/templates/a.yaml:1:12: executing \"t/templates/a.yaml\" at <{{template \"x\"}}>: template \"x\" not defined"
    );
    assert_eq!(
        err(r#"{{ include "nope" . }}"#),
        "template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\""
    );
    assert_eq!(
        err(r#"{{ define "a" }}{{ .Values.nul.q }}{{ end }}{{ include "a" . }}"#),
        "template: t/templates/a.yaml:1:47: executing \"t/templates/a.yaml\" at <include \"a\" .>: error calling include: template: t/templates/a.yaml:1:26: executing \"a\" at <.Values.nul.q>: nil pointer evaluating interface {}.q"
    );
}

#[test]
fn later_definitions_replace_earlier_ones_but_empty_bodies_do_not() {
    let mut set = Templates::with_resolver(builtin_resolver);
    set.parse("t/templates/_a.tpl", r#"{{ define "n" }}first{{ end }}"#)
        .unwrap();
    set.parse("t/templates/_b.tpl", r#"{{ define "n" }}second{{ end }}"#)
        .unwrap();
    set.parse(
        "t/templates/_c.tpl",
        r#"{{ define "n" }} {{/* empty */}} {{ end }}"#,
    )
    .unwrap();
    set.parse(FILE, r#"{{ include "n" . }}"#).unwrap();
    assert_eq!(run_with(&set, &values()), Ok("second".into()));
    assert!(set.contains("n"));
    assert!(!set.contains("m"));
}

#[test]
fn tpl_sees_defines_and_reports_like_helm() {
    assert_eq!(
        ok(
            r#"{{ tpl "{{ .Values.s }}-{{ .Template.Name }}" . }}|{{ tpl "{{ define \"y\" }}Y{{ end }}{{ include \"y\" . }}" . }}|{{ tpl "plain" . }}|{{ tpl "{{ .Values.missing }}" . }}"#
        ),
        "hello-t/templates/a.yaml|Y|plain|"
    );
    assert_eq!(
        ok(r#"{{ define "x" }}X{{ end }}{{ tpl "{{ include \"x\" . }}" . }}"#),
        "X"
    );
    assert_eq!(
        err(r#"{{ tpl "{{ .Values.nul.y }}" . }}"#),
        r#"template: t/templates/a.yaml:1:3: executing "t/templates/a.yaml" at <tpl "{{ .Values.nul.y }}" .>: error calling tpl: error during tpl function execution for "{{ .Values.nul.y }}": template: gotpl:1:10: executing "gotpl" at <.Values.nul.y>: nil pointer evaluating interface {}.y"#
    );
    assert_eq!(
        err(r#"{{ tpl "{{ .x " . }}"#),
        r#"template: t/templates/a.yaml:1:3: executing "t/templates/a.yaml" at <tpl "{{ .x " .>: error calling tpl: cannot parse template "{{ .x ": template: gotpl:1: unclosed action"#
    );
    // Oracle-checked. Parsed texts are reused: a repeated text with a define still sees its
    // own define, and the defines of the set are not disturbed by it.
    assert_eq!(
        ok(
            r#"{{ define "z" }}Z{{ end }}{{ range .Values.l }}{{ tpl "{{ define \"z2\" }}{{ . }}{{ end }}{{ include \"z2\" . }}" . }}{{ end }}{{ include "z" . }}"#
        ),
        "xtruezZ"
    );
}

/// A text too long to be kept parsed (a chart's CRDs through `tpl`) is parsed each time,
/// with the same meaning: its defines, its dot, each time through a loop.
#[test]
fn tpl_of_a_long_text_means_what_a_short_one_does() {
    for pad in ["a".repeat(70_000), "a".repeat(3)] {
        let src = format!(
            r#"{{{{ $text := "{pad}{{{{ define \"w\" }}}}<{{{{ . }}}}>{{{{ end }}}}{{{{ include \"w\" . }}}}" }}}}{{{{ range .Values.l }}}}{{{{ tpl $text . }}}},{{{{ end }}}}"#
        );
        assert_eq!(
            ok(&src),
            format!("{pad}<x>,{pad}<true>,{pad}<z>,"),
            "{}",
            pad.len()
        );
    }
}

#[test]
fn recursive_template_ends_in_go_depth_error() {
    assert_eq!(
        err(r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#),
        "template: t/templates/a.yaml:1:28: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100000)"
    );
}

#[test]
fn recursive_include_ends_in_helm_nesting_error() {
    let e = err(r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#);
    assert!(
        e.starts_with("template: t/templates/a.yaml:1:47: executing \"t/templates/a.yaml\" at <include \"r\" .>: error calling include: template: t/templates/a.yaml:1:19: executing \"r\" at <include \"r\" .>: error calling include: "),
        "{}",
        &e[..300]
    );
    assert!(e.ends_with(
        "error calling include: rendering template has a nested reference name: r: unable to execute template"
    ));
    // Helm allows 1001 nested includes of one name and refuses the 1002nd.
    assert_eq!(e.matches("error calling include").count(), 1002);
}

#[test]
fn parse_errors() {
    assert_eq!(
        err("{{ if }}{{ end }}"),
        "template: t/templates/a.yaml:1: missing value for if"
    );
    assert_eq!(
        err("{{ range $a, $b, $c := .Values.l }}{{ end }}"),
        "template: t/templates/a.yaml:1: too many declarations in range"
    );
    assert_eq!(
        err("x {{ .Values.a }\ny"),
        "template: t/templates/a.yaml:1: unexpected \"}\" in operand"
    );
    assert_eq!(
        err(r#"{{ "unterminated }}"#),
        "template: t/templates/a.yaml:1: unterminated quoted string"
    );
    assert_eq!(
        err("{{ else }}"),
        "template: t/templates/a.yaml:1: unexpected {{else}}"
    );
    assert_eq!(
        err("{{ range .Values.l }}{{ else }}{{ break }}{{ end }}"),
        "template: t/templates/a.yaml:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        err(r#"{{ "\q" }}"#),
        "template: t/templates/a.yaml:1: invalid syntax"
    );
    assert_eq!(
        err("abc {{ .a "),
        "template: t/templates/a.yaml:1: unclosed action"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(20000), ")".repeat(20000));
    assert_eq!(
        err(&format!("{{{{ {deep} }}}}")),
        "template: t/templates/a.yaml:1: max expression depth exceeded"
    );
}

/// A stand-in for Helm's `.Capabilities`-like objects.
struct Caps;

impl Object for Caps {
    fn type_name(&self) -> &str {
        "*chartutil.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "Version").then(|| Value::str("v1.30.0"))
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| match args {
            [Value::String(s)] => Ok(Value::Bool(s.as_ref() == "apps/v1")),
            _ => Err(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            )),
        })
    }
    fn display(&self) -> String {
        "caps".into()
    }
}

#[test]
fn objects_expose_fields_and_methods() {
    let mut top = Map::new();
    top.insert("Caps".into(), Value::Object(Arc::new(Caps)));
    let data = Value::map(top);
    let mut set = Templates::with_resolver(builtin_resolver);
    set.parse(
        FILE,
        r#"{{ .Caps.Version }} {{ .Caps.Has "apps/v1" }} {{ .Caps.Has "x" }} {{ .Caps }}"#,
    )
    .unwrap();
    assert_eq!(run_with(&set, &data), Ok("v1.30.0 true false caps".into()));
    set.parse(FILE, "{{ .Caps.Nope }}").unwrap();
    assert_eq!(
        run_with(&set, &data),
        Err("template: t/templates/a.yaml:1:8: executing \"t/templates/a.yaml\" at <.Caps.Nope>: can't evaluate field Nope in type *chartutil.Capabilities".into())
    );
}

/// Like Helm's `.Capabilities.APIVersions`: a Go `[]string` type with a `Has` method.
struct VersionSet;

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn display(&self) -> String {
        "[v1 apps/v1]".into()
    }
    fn to_data(&self) -> Value {
        Value::list(vec![Value::str("v1"), Value::str("apps/v1")])
    }
}

#[test]
fn slice_typed_objects_range_and_index_like_their_elements() {
    let mut top = Map::new();
    top.insert("V".into(), Value::Object(Arc::new(VersionSet)));
    let mut set = Templates::with_resolver(builtin_resolver);
    set.parse(
        FILE,
        "{{ range .V }}{{ . }};{{ end }} {{ len .V }} {{ index .V 1 }} {{ .V }}",
    )
    .unwrap();
    assert_eq!(
        run_with(&set, &Value::map(top)),
        Ok("v1;apps/v1; 2 apps/v1 [v1 apps/v1]".into())
    );
}

fn shout(_: &mut CallContext<'_>, args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [Value::String(s)] => Ok(Value::from(s.to_uppercase())),
        _ => Err(FuncError::new("shout wants one string")),
    }
}

/// Shaped like Sprig's `trunc(c int, s string) string`, with the shared argument checks.
fn cut(_: &mut CallContext<'_>, args: &[Value]) -> Result<Value, FuncError> {
    super::funcs::arity("cut", args, 2)?;
    let n = super::funcs::int_arg(args, 0)?;
    let s = super::funcs::string_arg(args, 1)?;
    Ok(Value::from(
        s.chars().take(n.max(0) as usize).collect::<String>(),
    ))
}

fn with_shout(name: &str) -> Option<super::ast::Func> {
    match name {
        "shout" => Some(super::ast::Func::External(shout)),
        "cut" => Some(super::ast::Func::External(cut)),
        other => builtin_resolver(other),
    }
}

#[test]
fn library_functions_are_called_with_evaluated_arguments() {
    let mut set = Templates::with_resolver(with_shout);
    set.parse(
        FILE,
        r#"{{ .Values.s | shout }} {{ shout (print "a" "b") }}"#,
    )
    .unwrap();
    assert_eq!(run_with(&set, &values()), Ok("HELLO AB".into()));
    set.parse(FILE, r#"{{ shout 1 }}"#).unwrap();
    assert_eq!(
        run_with(&set, &values()),
        Err("template: t/templates/a.yaml:1:3: executing \"t/templates/a.yaml\" at <shout 1>: error calling shout: shout wants one string".into())
    );
}

#[test]
fn argument_conversion_errors_blame_the_argument_like_go() {
    let render = |src: &str| {
        let mut set = Templates::with_resolver(with_shout);
        set.parse(FILE, src).map_err(|e| e.to_string())?;
        run_with(&set, &values())
    };
    let prefix = "template: t/templates/a.yaml:1:";
    let cases = [
        (
            r#"{{ shout 1 }}"#,
            "3: executing \"t/templates/a.yaml\" at <shout 1>: error calling shout: shout wants one string",
        ),
        (
            r#"{{ cut "x" "y" }}"#,
            "7: executing \"t/templates/a.yaml\" at <\"x\">: expected integer; found \"x\"",
        ),
        (
            r#"{{ cut 2 3 }}"#,
            "9: executing \"t/templates/a.yaml\" at <3>: expected string; found 3",
        ),
        (
            r#"{{ cut 2 nil }}"#,
            "9: executing \"t/templates/a.yaml\" at <nil>: cannot assign nil to string",
        ),
        (
            r#"{{ cut 2 .Values.a }}"#,
            "16: executing \"t/templates/a.yaml\" at <.Values.a>: wrong type for value; expected string; got float64",
        ),
        (
            r#"{{ cut 2 .Values.missing }}"#,
            "16: executing \"t/templates/a.yaml\" at <.Values.missing>: wrong type for value; expected string; got interface {}",
        ),
        (
            r#"{{ cut 1 }}"#,
            "3: executing \"t/templates/a.yaml\" at <cut>: wrong number of args for cut: want 2 got 1",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(render(src), Err(format!("{prefix}{want}")), "{src}");
    }
    // Go converts the literal 2.0 to the int parameter.
    assert_eq!(render(r#"{{ cut 2.0 "abc" }}"#), Ok("ab".into()));
}

/// Oracle-checked: `{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }}` and friends.
#[test]
fn in_place_map_changes_are_seen_like_go_maps() {
    let render = |src: &str| {
        let mut set = Templates::new();
        set.parse(FILE, src).map_err(|e| e.to_string())?;
        run_with(&set, &values())
    };
    let cases = [
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }}"#,
            "map[a:1 b:2]",
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ with .Values.s }}{{ $_ := set $d "b" 2 }}{{ end }}{{ $d }}"#,
            "map[a:1 b:2]",
        ),
        (
            r#"{{ $d := dict "a" (dict "x" 1) }}{{ $_ := set $d.a "y" 2 }}{{ $d }}"#,
            "map[a:map[x:1 y:2]]",
        ),
        (
            r#"{{ $_ := set .Values "new" 5 }}{{ .Values.new }} {{ $.Values.new }}"#,
            "5 5",
        ),
        (
            r#"{{ define "f" }}{{ $_ := set . "x" "set" }}{{ .x }}{{ end }}{{ include "f" (dict "y" 1) }}"#,
            "set",
        ),
        (
            r#"{{ $d := dict }}{{ $e := $d }}{{ $_ := set $d "k" 1 }}{{ $e }}"#,
            "map[k:1]",
        ),
        (
            r#"{{ range list 1 2 }}{{ $_ := set $ "c" . }}{{ end }}{{ .c }}"#,
            "2",
        ),
        (
            r#"{{ define "f" }}{{ $_ := set . "x" "set" }}{{ end }}{{ $c := dict "y" 1 }}{{ include "f" $c }}{{ $c.x }}"#,
            "set",
        ),
        (
            r#"{{ $p := dict }}{{ mustMergeOverwrite (dict "a" 1) ($p.global) (dict "b" 2) }}"#,
            "map[a:1 b:2]",
        ),
        // A range element changed in place changes inside its container.
        (
            r#"{{ $m := dict "x" (dict "s" nil) }}{{ range $k, $v := $m }}{{ $_ := set $v "s" "R" }}{{ end }}{{ $m }}"#,
            "map[x:map[s:R]]",
        ),
        (
            r#"{{ define "f" }}{{ range $k, $v := .m }}{{ $_ := set $v "s" "Q" }}{{ end }}{{ end }}{{ $m := dict "x" (dict "s" 1) }}{{ include "f" (dict "m" $m) }}{{ $m }}"#,
            "map[x:map[s:Q]]",
        ),
        // A deep copy shares no map with its original, so changing it leaves that alone.
        (
            r#"{{ $c := deepCopy .Values.m }}{{ $_ := set $c.k3 "q" 2 }}{{ .Values.m.k3.q }} {{ $c.k3.q }}"#,
            "1 2",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(render(src), Ok(want.to_string()), "{src}");
    }
}

#[test]
fn templates_sharing_data_see_each_others_changes() {
    let mut set = Templates::new();
    set.parse(
        "t/templates/zzz.yaml",
        r#"{{ $_ := set $ "Values" (dict "x" "merged") }}"#,
    )
    .unwrap();
    set.parse(FILE, "{{ .Values.x }}").unwrap();
    let lookup = OfflineLookup;
    let mut rng = FixedRandom;
    let mut ctx = CallContext::new(&lookup, &mut rng);
    let data = values();
    assert_eq!(
        set.execute_shared("t/templates/zzz.yaml", &data, &mut ctx)
            .map_err(|e| e.to_string()),
        Ok(String::new())
    );
    assert_eq!(
        set.execute_shared(FILE, &data, &mut ctx)
            .map_err(|e| e.to_string()),
        Ok("merged".into())
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templates>();
}

#[test]
fn deepest_allowed_nesting_runs_and_drops_without_overflow() {
    let deep = format!("{}1{}", "(".repeat(9999), ")".repeat(9999));
    assert_eq!(ok(&format!("{{{{ {deep} }}}}")), "1");
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
    assert_eq!(ok(&ifs), "x");
}

/// Oracle-checked (`helm template` on a chart holding each line as `templates/r.yaml`): Helm
/// reports `required`/`fail` with the outermost template's location and the message alone,
/// other execution errors in Go's words, and parse errors by location and last message part.
#[test]
fn errors_are_reworded_as_helm_reports_them() {
    let exec = |src: &str| {
        let mut set = Templates::new();
        set.parse(FILE, src).map_err(|e| e.to_string())?;
        let lookup = OfflineLookup;
        let mut rng = FixedRandom;
        let mut ctx = CallContext::new(&lookup, &mut rng);
        match set.execute(FILE, &values(), &mut ctx) {
            Ok(out) => Err(format!("expected an error, got {out:?}")),
            Err(e) => Ok(super::helm_exec_message(&e)),
        }
    };
    let cases = [
        (
            r#"{{ define "h" }}{{ required "inner msg" .x }}{{ end }}x: {{ include "h" . }}"#,
            "execution error at (t/templates/a.yaml:1:60): inner msg",
        ),
        (
            r#"x: {{ tpl "{{ fail \"in tpl\" }}" . }}"#,
            "execution error at (t/templates/a.yaml:1:6): in tpl",
        ),
        (
            "x: 1\ny: {{ required \"need\\nfoo\" .Values.foo }}",
            "execution error at (t/templates/a.yaml:2:6): need\nfoo",
        ),
        (
            r#"x: {{ fail "a: b: c" }}"#,
            "execution error at (t/templates/a.yaml:1:6): a: b: c",
        ),
        (
            "x: {{ index 1 2 }}",
            "template: t/templates/a.yaml:1:6: executing \"t/templates/a.yaml\" at <index 1 2>: error calling index: can't index item of type int",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(exec(src), Ok(want.to_string()), "{src}");
    }
    let mut set = Templates::new();
    let parse_error = set.parse(FILE, "x: {{ .Values.a \n").err();
    assert_eq!(
        parse_error.map(|e| super::helm_parse_message(FILE, &e)),
        Some(
            "parse error at (t/templates/a.yaml:2): unclosed action started at t/templates/a.yaml:1"
                .to_string()
        )
    );
}

/// Go's `fmt` recurses forever on a map that holds itself (Helm dies of a stack overflow);
/// printing stops at a depth bound instead, and the template ends.
#[test]
fn a_map_that_holds_itself_prints_without_exhausting_the_stack() {
    let mut templates = Templates::new();
    let source = r#"{{ $m := dict "a" 1 }}{{ $_ := set $m "self" $m }}{{ len (printf "%v" $m) }} {{ len (toString $m) }}"#;
    templates
        .parse("t", source)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut random = crate::engine::funcs::SeededRandom::new(b"cycle");
    let mut ctx = CallContext::new(&crate::engine::funcs::OfflineLookup, &mut random);
    let out = templates.execute("t", &Value::Nil, &mut ctx);
    let lengths: Vec<usize> = match &out {
        Ok(out) => out.split(' ').filter_map(|n| n.parse().ok()).collect(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(lengths.len(), 2, "{out:?}");
    assert!(lengths.iter().all(|&n| n > 10_000), "{out:?}");
}

/// mergo would recurse into a map that holds itself for ever; the merge ends with an error.
#[test]
fn merging_a_map_that_holds_itself_ends_with_an_error() {
    let mut templates = Templates::new();
    let source =
        r#"{{ $m := dict "a" (dict "b" 1) }}{{ $_ := set $m "self" $m }}{{ $_ := merge $m $m }}"#;
    templates
        .parse("t", source)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut random = crate::engine::funcs::SeededRandom::new(b"cycle");
    let mut ctx = CallContext::new(&OfflineLookup, &mut random);
    let out = templates.execute("t", &Value::Nil, &mut ctx);
    let message = out.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("cannot be merged"), "{message}");
}

/// String functions refuse a `[]byte` as Go refuses it (`b64enc (.Files.GetBytes "f")`).
#[test]
fn string_functions_refuse_bytes_as_go_does() {
    let bytes = Value::Object(Arc::new(crate::value::Bytes(Arc::from(&b"hi"[..]))));
    let mut data = Map::new();
    data.insert("b".into(), bytes);
    let mut templates = Templates::new();
    templates
        .parse("t", "{{ b64enc .b }}")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut random = crate::engine::funcs::SeededRandom::new(b"bytes");
    let mut ctx = CallContext::new(&OfflineLookup, &mut random);
    let out = templates.execute("t", &Value::map(data), &mut ctx);
    let message = out.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("wrong type for value; expected string; got []uint8"),
        "{message}"
    );
}

/// Helm 4 lays out an execution error whose chain is all template errors as one block per
/// template (`reformatExecErrorMsg`). Expectations are `helm template` v4.2.3's, on a chart
/// `t` holding each source as `templates/a.yaml`, with empty values.
#[test]
fn template_error_chains_are_laid_out_as_helm_4_does() {
    let exec = |src: &str| {
        let mut set = Templates::new();
        set.parse(FILE, src).map_err(|e| e.to_string())?;
        let mut data = Map::new();
        data.insert("Values".into(), Value::map(Map::new()));
        let lookup = OfflineLookup;
        let mut rng = FixedRandom;
        let mut ctx = CallContext::new(&lookup, &mut rng);
        match set.execute(FILE, &Value::map(data), &mut ctx) {
            Ok(out) => Err(format!("expected an error, got {out:?}")),
            Err(e) => Ok(super::helm_exec_message(&e)),
        }
    };
    assert_eq!(
        exec(r#"{{ define "h" }}{{ .Values.a.b.c }}{{ end }}x: {{ include "h" . }}"#),
        Ok("t/templates/a.yaml:1:50\n  executing \"t/templates/a.yaml\" at <include \"h\" .>:\n    error calling include:\nt/templates/a.yaml:1:26\n  executing \"h\" at <.Values.a.b.c>:\n    nil pointer evaluating interface {}.b".to_string())
    );
    assert_eq!(
        exec("x: {{ .Values.a.b }}"),
        Ok("t/templates/a.yaml:1:13\n  executing \"t/templates/a.yaml\" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b".to_string())
    );
    // A function's own error ends the chain of template errors: Go's one line stays.
    assert_eq!(
        exec(r#"{{ define "h" }}{{ index 1 2 }}{{ end }}x: {{ include "h" . }}"#),
        Ok("template: t/templates/a.yaml:1:46: executing \"t/templates/a.yaml\" at <include \"h\" .>: error calling include: template: t/templates/a.yaml:1:19: executing \"h\" at <index 1 2>: error calling index: can't index item of type int".to_string())
    );
}

/// Runs `src` with the full function library (for `include`, `until`) within `budget`.
fn within(src: &str, budget: super::Budget) -> Result<String, String> {
    let mut set = Templates::new();
    set.parse(FILE, src).map_err(|e| e.to_string())?;
    let lookup = OfflineLookup;
    let mut rng = FixedRandom;
    let mut ctx = CallContext::new(&lookup, &mut rng);
    let mut out = String::new();
    set.session_within(&mut ctx, budget)
        .execute_shared(FILE, &values(), &mut out)
        .map(|()| out)
        .map_err(|e| e.to_string())
}

/// Includes that recurse wide (each calls itself twice, 2^40 calls in all) stay within
/// Helm's nesting limit and would run for ever; the step budget ends them, naming where.
#[test]
fn a_render_that_never_ends_stops_at_its_step_budget() {
    let wide = r#"{{- define "w" -}}{{- if lt (len .) 40 -}}{{ include "w" (append . 1) }}{{ include "w" (append . 1) }}{{- end -}}{{- end -}}{{ include "w" list }}"#;
    let budget = super::Budget {
        steps: 10_000,
        time: None,
    };
    let e = within(wide, budget).unwrap_err();
    assert!(
        e.starts_with("template: t/templates/a.yaml:1:"),
        "{}",
        &e[..200]
    );
    assert!(
        e.ends_with("rendering stopped after 10000 steps, the render's budget: a loop or recursion that does not end?"),
        "{}",
        &e[e.len().saturating_sub(300)..]
    );
    // The same input stops at the same place every time.
    assert_eq!(within(wide, budget).unwrap_err(), e);
    // A range with an empty body spends too.
    let e = within("{{ range until 100000 }}{{ end }}", budget).unwrap_err();
    assert!(
        e.contains("at <until 100000>: rendering stopped after 10000 steps"),
        "{e}"
    );
    // Within the default budget, ordinary templates are untouched.
    assert_eq!(
        within("{{ range until 3 }}x{{ end }}", super::Budget::default()),
        Ok("xxx".to_string())
    );
}

#[test]
fn a_render_past_its_deadline_stops() {
    let wide = r#"{{- define "w" -}}{{- if lt (len .) 40 -}}{{ include "w" (append . 1) }}{{ include "w" (append . 1) }}{{- end -}}{{- end -}}{{ include "w" list }}"#;
    let budget = super::Budget {
        steps: u64::MAX,
        time: Some(std::time::Duration::from_millis(50)),
    };
    let e = within(wide, budget).unwrap_err();
    assert!(
        e.ends_with("rendering stopped after 50 ms, the render's time limit"),
        "{}",
        &e[e.len().saturating_sub(300)..]
    );
}

/// Enough text to be parsed on several threads (see `crate::par`).
fn many_texts(last_define_body: &str) -> Vec<(String, String)> {
    let filler = "x".repeat(crate::par::MIN_PARALLEL_BYTES / 8);
    let mut texts: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("t/templates/f{i}.yaml"),
                format!("{filler}{{{{ include \"n\" . }}}}"),
            )
        })
        .collect();
    texts.push((
        "t/templates/_a.tpl".into(),
        r#"{{ define "n" }}first{{ end }}"#.into(),
    ));
    texts.push((
        "t/templates/_b.tpl".into(),
        format!(r#"{{{{ define "n" }}}}{last_define_body}{{{{ end }}}}"#),
    ));
    texts
}

fn parse_many(texts: &[(String, String)]) -> Result<Templates, (usize, String)> {
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let mut set = Templates::new();
    set.parse_many(&refs).map_err(|(i, e)| (i, e.to_string()))?;
    Ok(set)
}

#[test]
fn parsing_side_by_side_keeps_the_order_of_definitions() {
    let set = parse_many(&many_texts("second")).unwrap();
    let out = run_with_name(&set, "t/templates/f7.yaml");
    assert!(out.ends_with("second"), "{out}");
    // A body of only spaces never replaces the earlier definition.
    let set = parse_many(&many_texts(" ")).unwrap();
    let out = run_with_name(&set, "t/templates/f7.yaml");
    assert!(out.ends_with("first"), "{out}");
}

#[test]
fn parsing_side_by_side_fails_with_the_first_text_in_order_that_fails() {
    let mut texts = many_texts("second");
    texts[3].1.push_str("{{ end }}");
    texts[30].1.push_str("{{ .x");
    let Err((at, message)) = parse_many(&texts) else {
        panic!("parsed");
    };
    assert_eq!(at, 3);
    assert!(message.contains("f3.yaml"), "{message}");
}

fn run_with_name(set: &Templates, name: &str) -> String {
    let lookup = OfflineLookup;
    let mut random = FixedRandom;
    let mut ctx = CallContext::new(&lookup, &mut random);
    set.execute(name, &values(), &mut ctx)
        .unwrap_or_else(|e| panic!("{e}"))
}
