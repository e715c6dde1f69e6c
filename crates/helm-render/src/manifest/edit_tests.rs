//! The rule is checked against the parser it stands in for: every edit it accepts must leave
//! a manifest that the webhook's full check accepts too.

use super::only_scalar_words_changed;
use crate::manifest::parse_template;

fn parses(text: &str) -> bool {
    parse_template("chart/templates/t.yaml", text, &mut Vec::new()).is_ok()
}

/// Texts with the constructs an edit could break: quoting and escapes, block and flow
/// collections, block scalars, anchors and aliases, tags, explicit keys, comments, several
/// documents, JSON, numbers at the edges of what JSON holds.
const MANIFESTS: &[&str] = &[
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-1\n  labels:\n    app.kubernetes.io/name: web\n    bench: \"17\"\n    tier: backend-2\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: web\n          image: quay.io/org/web:v1.2.3\n          args: [\"--port\", \"8080\", --verbose]\n          env:\n            - {name: MODE, value: prod}\n            - name: GREETING\n              value: hello world 12 times # a comment\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n  script.sh: |\n    echo \"a b\" && exit 1\n    key: value\n  folded: >-\n    some folded\n    text 42\n  indented: |2\n     leading space 7\n  escaped: \"\\x41bc \\u00e9 tab\\tend 9\"\n  single: 'it''s 5'\n  multi: \"first line\n    second 8\"\n",
    "apiVersion: v1\nkind: List\nitems:\n  - &base\n    kind: Service\n    port: 80\n  - *base\n  - <<: *base\n    port: 81\n  - !!str 12\n  - !!int 13\n  - !!int\n    14\n  - a != b 15\n",
    "# leading comment 1\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: ns-2}\nstringData:\n  ? explicit key 3\n  : explicit value 4\n  plain: multi word\n    continued line 5\n---\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j6\"}, \"data\": {\"n\": \"7\"}}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nums\ndata:\n  big: 1e99\n  hex: 0x1F\n  float: 1.5\n  maybe: nul\n  dotted: x.inf\n  word: n\n  time: 2001-12-14\n  key1: a\n  12: twelve\n",
];

/// A small deterministic generator (xorshift), so a failure can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as usize
    }

    fn below(&mut self, n: usize) -> usize {
        self.next() % n.max(1)
    }
}

const INSERTIONS: &[&str] = &[
    "",
    "1",
    "9",
    "0",
    "x",
    "G",
    "e",
    "e999",
    "99999999999999999999",
    "null",
    "l",
    "nul",
    "inf",
    ".inf",
    ".",
    "-",
    "_",
    "n",
    "y",
    "Null",
    "0x",
    "kind",
    "a-b",
    "1.5",
    "~",
    ":",
    "#",
    " ",
    "\"",
    "\\",
    "*",
    "&",
    "!",
    "|",
    ",",
    "]",
    "\n",
    "\n  y: 1\n",
];

/// Random edits of one to three changes each (seeded, so a failure reproduces).
#[test]
fn every_accepted_edit_still_parses() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut accepted = 0;
    for &original in MANIFESTS {
        assert!(parses(original), "sample does not parse: {original}");
        for _ in 0..6000 {
            let mut edited = original.to_string();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(edited.len() + 1);
                let mut end = (at + rng.below(4)).min(edited.len());
                if !edited.is_char_boundary(at) {
                    continue;
                }
                while !edited.is_char_boundary(end) {
                    end += 1;
                }
                edited.replace_range(at..end, INSERTIONS[rng.below(INSERTIONS.len())]);
            }
            if edited == original || !only_scalar_words_changed(original, &edited) {
                continue;
            }
            accepted += 1;
            assert!(
                parses(&edited),
                "accepted an edit that breaks the manifest:\n--- original\n{original}\n--- edited\n{edited}"
            );
        }
    }
    // The rule must accept the everyday edits, or it saves nothing.
    assert!(accepted > 500, "only {accepted} edits accepted");
}

#[test]
fn everyday_edits_are_accepted() {
    let original = MANIFESTS[0];
    for (from, to) in [
        ("bench: \"17\"", "bench: \"18\""),
        ("bench: \"17\"", "bench: \"1700\""),
        ("web:v1.2.3", "web:v1.10.0"),
        ("replicas: 3", "replicas: 12"),
        ("hello world 12 times", "hello world 13 times"),
        ("tier: backend-2", "tier: frontend-2"),
    ] {
        let edited = original.replace(from, to);
        assert!(
            only_scalar_words_changed(original, &edited),
            "{from} -> {to}"
        );
        assert!(parses(&edited));
    }
}

/// Each refused class, with an edit of that class that really does break the manifest.
#[test]
fn edits_that_change_the_structure_are_refused() {
    for (what, original, edited) in [
        (
            "escape",
            "kind: A\nx: \"\\x41\"\n",
            "kind: A\nx: \"\\x4G\"\n",
        ),
        ("kind", "kind: Deployment\n", "kind: 12\n"),
        ("null key", "kind: A\nnul: a\n", "kind: A\nnull: a\n"),
        ("word made a key", "kind: A\nx: y1:z\n", "kind: A\nx: y1:\n"),
        ("tag", "kind: A\nx: !!int 12\n", "kind: A\nx: !!int 1a\n"),
        (
            "tag above",
            "kind: A\nx: !!int # c\n\n  12\n",
            "kind: A\nx: !!int # c\n\n  1a\n",
        ),
        (
            "alias",
            "kind: A\nx: &a1 b\ny: *a1\n",
            "kind: A\nx: &a1 b\ny: *a2\n",
        ),
        ("special float", "kind: A\nx: .inx\n", "kind: A\nx: .inf\n"),
        (
            "indentation indicator",
            "kind: A\nx: |1\n  b\n",
            "kind: A\nx: |9\n  b\n",
        ),
        ("line count", "kind: A\nx: b\n", "kind: A\nx: b\ny\n"),
        (
            "explicit key",
            "kind: A\n? nul\n: a\n",
            "kind: A\n? null\n: a\n",
        ),
    ] {
        assert!(parses(original), "{what}: original must parse");
        assert!(!parses(edited), "{what}: the edit must break the manifest");
        assert!(!only_scalar_words_changed(original, edited), "{what}");
    }
}
