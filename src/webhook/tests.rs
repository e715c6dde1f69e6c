use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::metrics::{Metrics, Outcome};
use super::review::{self, ReviewError, Verdict};
use super::tls::{self, CertFiles, TlsError};
use super::validate::{Checks, Validator};
use crate::registry::{self, DESCRIPTOR_DIR, Registry};
use helm_render::render::{KubeVersion, defaults};

/// A chart whose templates refuse values with `required` and `fail`, as real charts do.
const GUARDED: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: guarded\nversion: 1.0.0\n",
    ),
    ("values.yaml", "owner: \"\"\nmode: normal\nsize: 1\n"),
    (
        "values.schema.json",
        r#"{"type": "object", "properties": {"size": {"type": "integer", "maximum": 10}, "mode": {"type": "string"}}}"#,
    ),
    (
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  owner: {{ required \"guarded needs .Values.owner\" .Values.owner | quote }}\n{{- if eq .Values.mode \"forbidden\" }}{{ fail \"mode forbidden is not supported\" }}{{ end }}\n",
    ),
];

/// A chart that `tpl`s a user's value, as charts that let their users template a setting do:
/// the values decide how much rendering it takes.
const TEMPLATING: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: templating\nversion: 1.0.0\n",
    ),
    ("values.yaml", "greeting: hello\n"),
    (
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ tpl .Values.greeting . | quote }}\n",
    ),
];

/// The repository's components plus `guarded`, in a scratch directory.
fn scratch_registry() -> (tempfile::TempDir, Registry) {
    scratch_registry_with(&[])
}

/// [`scratch_registry`] plus `extra` charts, each `(name, files)`, registered with no
/// features.
fn scratch_registry_with(extra: &[(&str, &[(&str, &str)])]) -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("charts");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
    for sub in ["charts", DESCRIPTOR_DIR] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
        }
    }
    let mut umbrella = std::fs::read_to_string(src.join("Chart.yaml")).unwrap();
    umbrella.push_str("  - name: guarded\n    version: 1.0.0\n");
    for (name, files) in extra {
        umbrella.push_str(&format!("  - name: {name}\n    version: 1.0.0\n"));
        std::fs::write(
            root.join(format!("charts/{name}-1.0.0.tgz")),
            registry::tests::archive(name, files),
        )
        .unwrap();
        std::fs::write(
            root.join(DESCRIPTOR_DIR).join(format!("{name}.yaml")),
            format!("dependency: {name}\nkind: {}\n", kind_of(name)),
        )
        .unwrap();
    }
    std::fs::write(root.join("Chart.yaml"), umbrella).unwrap();
    std::fs::write(
        root.join("charts/guarded-1.0.0.tgz"),
        registry::tests::archive("guarded", GUARDED),
    )
    .unwrap();
    std::fs::write(
        root.join(DESCRIPTOR_DIR).join("guarded.yaml"),
        "dependency: guarded\nkind: Guarded\nfeatures:\n  size:\n    path: size\n    type: integer\n",
    )
    .unwrap();
    let reg = registry::load(&root).unwrap();
    (dir, reg)
}

/// `templating` → `Templating`.
fn kind_of(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn validator(checks: Checks) -> (tempfile::TempDir, Validator) {
    validator_of(scratch_registry(), checks)
}

fn validator_of(
    (dir, reg): (tempfile::TempDir, Registry),
    checks: Checks,
) -> (tempfile::TempDir, Validator) {
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap();
    let caps = Arc::new(defaults::capabilities(kube, &[]));
    (
        dir,
        Validator::new(Arc::new(reg), caps, "opendatahub", checks),
    )
}

fn dsc(components: Json) -> Json {
    json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": "default-dsc"},
        "spec": {"components": components},
    })
}

fn managed(values: Json) -> Json {
    json!({"managementState": "Managed", "values": values})
}

fn guarded_ok() -> Json {
    managed(json!({"owner": "team-a"}))
}

#[test]
fn a_valid_dsc_is_allowed() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({
        "webapp": {"managementState": "Managed", "features": {"replicas": 2, "logLevel": "info"},
                   "values": {"service": {"port": 8080}}},
        "model-registry": {"managementState": "Managed"},
        "guarded": guarded_ok(),
    })));
    assert_eq!(verdict.problems, Vec::<String>::new());
    assert!(verdict.allowed());
}

#[test]
fn a_wrong_type_is_refused_with_its_field_path_and_the_schema_reason() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(
        json!({"webapp": managed(json!({"replicaCount": "three"}))}),
    ));
    assert_eq!(verdict.problems.len(), 1, "{:?}", verdict.problems);
    let p = &verdict.problems[0];
    assert!(
        p.starts_with("spec.components.webapp.values.replicaCount: "),
        "{p}"
    );
    assert!(p.contains("string") && p.contains("integer"), "{p}");
}

/// kubectl users wrote `70000`; a denial that says `70,000` (as Helm's CLI does) reads as a
/// different number, and the API server never groups digits.
#[test]
fn denials_keep_numbers_as_written() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(
        json!({"webapp": managed(json!({"service": {"port": 70000}}))}),
    ));
    assert_eq!(
        verdict.problems,
        vec!["spec.components.webapp.values.service.port: maximum: got 70000, want 65535"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({
        "webapp": {
            "managementState": "Managed",
            "features": {"logLevel": "loud", "colour": "red"},
            "values": {"replicaCount": "three", "service": {"port": 0}},
        },
        "nope": {"managementState": "Managed"},
        "model-registry": {"managementState": "Sometimes"},
    })));
    let all = verdict.problems.join("\n");
    for expected in [
        "spec.components.webapp.features.logLevel: unsupported value \"loud\"",
        "spec.components.webapp.features.colour: unknown feature",
        "spec.components.webapp.values.replicaCount: ",
        "spec.components.webapp.values.service.port: ",
        "spec.components.nope: unknown component; registered components: webapp, model-registry, dashboard, guarded",
        "spec.components.model-registry.managementState: unsupported value \"Sometimes\"",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
    assert_eq!(verdict.problems.len(), 6, "{all}");
}

#[test]
fn feature_constraints_are_checked_and_schema_violations_name_the_feature() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({
        "webapp": {"managementState": "Managed",
                   "features": {"replicas": 0, "hostname": "Not A Host", "ingress": "yes"}},
        "guarded": {"managementState": "Managed", "features": {"size": 11},
                    "values": {"owner": "x"}},
    })));
    let all = verdict.problems.join("\n");
    assert!(
        all.contains("spec.components.webapp.features.replicas: 0 is less than the minimum 1"),
        "{all}"
    );
    assert!(
        all.contains("spec.components.webapp.features.hostname: \"Not A Host\" does not match"),
        "{all}"
    );
    assert!(
        all.contains("spec.components.webapp.features.ingress: \"yes\" is not of type boolean"),
        "{all}"
    );
    // `size` has no bound in the descriptor; the chart's schema refuses it at the feature.
    assert!(
        all.contains("spec.components.guarded.features.size: "),
        "{all}"
    );
    assert_eq!(verdict.problems.len(), 4, "{all}");
}

#[test]
fn required_and_fail_refuse_with_the_charts_own_message() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({"guarded": managed(json!({}))})));
    assert_eq!(verdict.problems.len(), 1, "{:?}", verdict.problems);
    assert!(verdict.problems[0].starts_with("spec.components.guarded.values: "));
    assert!(
        verdict.problems[0].contains("guarded needs .Values.owner"),
        "{}",
        verdict.problems[0]
    );

    let verdict = v.validate_dsc(&dsc(
        json!({"guarded": managed(json!({"owner": "a", "mode": "forbidden"}))}),
    ));
    assert_eq!(verdict.problems.len(), 1, "{:?}", verdict.problems);
    assert!(
        verdict.problems[0].contains("mode forbidden is not supported"),
        "{}",
        verdict.problems[0]
    );
}

#[test]
fn schema_only_checks_skip_the_dry_render() {
    let (_d, v) = validator(Checks {
        dry_render: false,
        cache: false,
    });
    let verdict = v.validate_dsc(&dsc(json!({"guarded": managed(json!({}))})));
    assert!(verdict.allowed(), "{:?}", verdict.problems);
    let verdict = v.validate_dsc(&dsc(json!({"guarded": managed(json!({"size": "big"}))})));
    assert!(!verdict.allowed());
}

#[test]
fn cached_and_uncached_verdicts_agree() {
    let (_d, cached) = validator(Checks::default());
    let (_e, fresh) = validator(Checks {
        dry_render: true,
        cache: false,
    });
    let inputs = [
        dsc(json!({"guarded": managed(json!({}))})),
        dsc(json!({"guarded": guarded_ok()})),
        dsc(json!({"webapp": managed(json!({"replicaCount": "x"}))})),
    ];
    for _ in 0..2 {
        for input in &inputs {
            assert_eq!(cached.validate_dsc(input), fresh.validate_dsc(input));
        }
    }
}

#[test]
fn cached_verdicts_are_answered_only_once_computed() {
    let (_d, v) = validator(Checks::default());
    let inputs = [
        dsc(json!({"guarded": guarded_ok(), "webapp": managed(json!({}))})),
        dsc(json!({"guarded": managed(json!({"mode": "forbidden", "owner": "a"}))})),
        dsc(json!({"webapp": managed(json!({"replicaCount": "x"}))})),
    ];
    for input in &inputs {
        assert_eq!(v.cached_dsc(input), None, "{input}");
        let verdict = v.validate_dsc(input);
        assert_eq!(v.cached_dsc(input), Some(verdict), "{input}");
    }
    // One component changed is a miss, though the other's outcome is cached.
    let changed = dsc(json!({"guarded": guarded_ok(), "webapp": managed(json!({"x": 1}))}));
    assert_eq!(v.cached_dsc(&changed), None);

    let object = json!({"spec": guarded_ok()});
    assert_eq!(v.cached_component("Guarded", &object), None);
    let verdict = v.validate_component("Guarded", &object);
    assert!(verdict.is_some());
    assert_eq!(v.cached_component("Guarded", &object), verdict);

    let (_e, uncached) = validator(Checks {
        dry_render: true,
        cache: false,
    });
    uncached.validate_dsc(&inputs[0]);
    assert_eq!(uncached.cached_dsc(&inputs[0]), None);
}

#[test]
fn a_removed_component_is_not_validated_but_warned_about() {
    let (_d, v) = validator(Checks::default());
    for state in [json!("Removed"), Json::Null] {
        let verdict = v.validate_dsc(&dsc(json!({
            "webapp": {"managementState": state, "values": {"replicaCount": "three"}},
        })));
        assert!(verdict.allowed(), "{:?}", verdict.problems);
        assert_eq!(
            verdict.warnings,
            ["spec.components.webapp.values: ignored while webapp is Removed; not validated"]
        );
    }
}

#[test]
fn a_feature_overridden_by_values_is_a_warning() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({"webapp": {
        "managementState": "Managed",
        "features": {"replicas": 2, "logLevel": "info"},
        "values": {"replicaCount": 3},
    }})));
    assert!(verdict.allowed(), "{:?}", verdict.problems);
    assert_eq!(
        verdict.warnings,
        [
            "spec.components.webapp.features.replicas: overridden by spec.components.webapp.values.replicaCount"
        ]
    );
}

#[test]
fn unknown_fields_are_warnings() {
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&json!({"spec": {
        "components": {"webapp": {"managementState": "Managed", "replicas": 3}},
        "monitoring": {},
    }}));
    assert!(verdict.allowed(), "{:?}", verdict.problems);
    assert_eq!(
        verdict.warnings,
        [
            "spec.monitoring: unknown field, ignored",
            "spec.components.webapp.replicas: unknown field, ignored"
        ]
    );
}

#[test]
fn objects_of_the_wrong_shape_are_refused() {
    let (_d, v) = validator(Checks::default());
    let cases = [
        (
            json!({"spec": "all"}),
            "spec: must be an object, not string",
        ),
        (
            json!({"spec": {"components": []}}),
            "spec.components: must be an object, not array",
        ),
        (
            dsc(json!({"webapp": "Managed"})),
            "spec.components.webapp: must be an object, not string",
        ),
        (
            dsc(json!({"webapp": {"managementState": "Managed", "values": [1]}})),
            "spec.components.webapp.values: must be an object, not array",
        ),
        (
            dsc(json!({"webapp": {"managementState": "Managed", "features": 3}})),
            "spec.components.webapp.features: must be an object, not number",
        ),
        (
            dsc(json!({"webapp": {"managementState": true}})),
            "spec.components.webapp.managementState: unsupported value true: must be Managed or Removed",
        ),
        // The CRD's enum refuses "", and so does the reconciler's stanza type.
        (
            dsc(json!({"webapp": {"managementState": ""}})),
            "spec.components.webapp.managementState: unsupported value \"\": must be Managed or Removed",
        ),
    ];
    for (object, expected) in cases {
        assert_eq!(v.validate_dsc(&object).problems, [expected], "{object}");
    }
    assert!(
        v.validate_dsc(&json!({"metadata": {"name": "x"}}))
            .allowed()
    );
}

#[test]
fn component_resources_are_validated_under_spec() {
    let (_d, v) = validator(Checks::default());
    let verdict = v
        .validate_component(
            "WebApp",
            &json!({"spec": {"managementState": "Managed", "values": {"replicaCount": "x"}}}),
        )
        .unwrap();
    assert_eq!(verdict.problems.len(), 1);
    assert!(
        verdict.problems[0].starts_with("spec.values.replicaCount: "),
        "{:?}",
        verdict.problems
    );
    let verdict = v
        .validate_component("Guarded", &json!({"spec": guarded_ok()}))
        .unwrap();
    assert!(verdict.allowed(), "{:?}", verdict.problems);
    assert!(v.validate_component("Unrelated", &json!({})).is_none());
}

#[test]
fn platform_values_apply_before_the_stanza() {
    // webapp's values.rhoai.yaml sets config.logLevel: warn; the schema requires config.logLevel.
    let (_d, v) = validator(Checks::default());
    let verdict = v.validate_dsc(&dsc(
        json!({"webapp": managed(json!({"config": {"logLevel": "verbose"}}))}),
    ));
    assert_eq!(verdict.problems.len(), 1, "{:?}", verdict.problems);
    assert!(verdict.problems[0].starts_with("spec.components.webapp.values.config.logLevel: "));
}

fn review_body(request: Json) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request,
    }))
    .unwrap()
}

#[test]
fn malformed_reviews_have_clear_errors() {
    let err = |body: &[u8]| review::parse(body).unwrap_err();
    assert!(matches!(err(b"{not json"), ReviewError::NotJson(_)));
    assert!(matches!(err(b"[]"), ReviewError::NotJson(_)));
    assert_eq!(
        err(br#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}"#)
            .to_string(),
        "expected apiVersion admission.k8s.io/v1, got \"admission.k8s.io/v1beta1\""
    );
    assert_eq!(
        err(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "ConfigMap"}"#).to_string(),
        "expected kind AdmissionReview, got \"ConfigMap\""
    );
    assert_eq!(
        err(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#),
        ReviewError::MissingRequest
    );
    assert_eq!(
        err(&review_body(json!({"operation": "CREATE"}))),
        ReviewError::MissingUid
    );
    assert_eq!(
        err(&review_body(json!({"uid": ""}))),
        ReviewError::MissingUid
    );
    let kind = json!({"group": "g", "version": "v1", "kind": "K"});
    let said = |request: serde_json::Value| err(&review_body(request)).to_string();
    assert_eq!(
        said(json!({"uid": "u", "operation": "CREATE"})),
        "the AdmissionReview request has no kind"
    );
    assert_eq!(
        said(json!({"uid": "u", "operation": "CREATE", "kind": {"group": "g"}})),
        "the AdmissionReview request has no kind.kind"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": kind})),
        "the AdmissionReview request has no operation"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": kind, "operation": 7})),
        "request.operation: expected a string, got a number (7)"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": kind, "operation": "PATCH"})),
        "request.operation: expected one of CREATE, UPDATE, DELETE or CONNECT, got \"PATCH\""
    );
    assert_eq!(
        said(json!({"uid": 5, "kind": kind, "operation": "CREATE"})),
        "request.uid: expected a string, got a number (5)"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": "K", "operation": "CREATE"})),
        "request.kind: expected an object, got a string (\"K\")"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": {"kind": "K", "group": []}, "operation": "CREATE"})),
        "request.kind.group: expected a string, got an array"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": kind, "operation": "CREATE", "dryRun": "yes"})),
        "request.dryRun: expected a boolean, got a string (\"yes\")"
    );
    assert_eq!(
        said(json!({"uid": "u", "kind": kind, "operation": "CREATE", "object": [1]})),
        "request.object: expected an object, got an array"
    );
    assert_eq!(
        said(
            json!({"uid": "u", "kind": kind, "operation": "UPDATE", "object": {}, "oldObject": "x"})
        ),
        "request.oldObject: expected an object, got a string (\"x\")"
    );
    assert_eq!(
        err(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}"#)
            .to_string(),
        "request: expected an object, got an array"
    );
}

#[test]
fn duplicate_keys_and_invalid_utf8_are_not_json_to_the_webhook() {
    let duplicate = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","operation":"DELETE","kind":{"kind":"K"}}}"#;
    let e = review::parse(duplicate).unwrap_err().to_string();
    assert!(
        e.starts_with("request body is not JSON: duplicate key \"operation\""),
        "{e}"
    );
    let nested = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"K"},"object":{"spec":{"a":1,"a":2}}}}"#;
    let e = review::parse(nested).unwrap_err().to_string();
    assert!(e.contains("duplicate key \"a\""), "{e}");
    let mut not_utf8 =
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"#
            .to_vec();
    not_utf8.extend_from_slice(&[0xff, 0xfe]);
    not_utf8.extend_from_slice(br#""}}"#);
    let e = review::parse(&not_utf8).unwrap_err().to_string();
    assert!(
        e.starts_with("request body is not JSON: invalid unicode"),
        "{e}"
    );
    let trailing = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"} {}"#;
    let e = review::parse(trailing).unwrap_err().to_string();
    assert!(e.contains("trailing characters"), "{e}");
}

#[test]
fn values_nested_thousands_deep_are_refused_without_overflowing() {
    let depth = 20_000;
    let mut body = String::from(
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{"components":{"webapp":{"managementState":"Managed","values":"#,
    );
    body.push_str(&"{\"a\":".repeat(depth));
    body.push('1');
    body.push_str(&"}".repeat(depth));
    body.push_str("}}}}}}");
    let e = review::parse(body.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
}

#[test]
fn a_request_parses_with_its_fields() {
    let r = review::parse(&review_body(json!({
        "uid": "abc", "operation": "CREATE", "name": "d", "dryRun": true,
        "kind": {"group": "g", "version": "v1", "kind": "K"}, "object": {"a": 1},
        "userInfo": {"username": "ignored"},
    })))
    .unwrap();
    assert_eq!(r.uid, "abc");
    assert!(r.dry_run);
    assert_eq!(r.kind.kind, "K");
    assert_eq!(r.object, Some(json!({"a": 1})));
}

#[test]
fn responses_carry_the_denial_and_warnings() {
    let allowed = review::response("u1", &Verdict::default());
    assert_eq!(
        allowed,
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
               "response": {"uid": "u1", "allowed": true}})
    );
    let denied = review::response(
        "u2",
        &Verdict {
            problems: vec!["a: bad".into(), "b: worse".into()],
            warnings: vec!["c: ignored".into()],
            ..Verdict::default()
        },
    );
    assert_eq!(denied["response"]["allowed"], false);
    assert_eq!(denied["response"]["status"]["code"], 422);
    assert_eq!(denied["response"]["status"]["message"], "a: bad\nb: worse");
    assert_eq!(denied["response"]["warnings"], json!(["c: ignored"]));
    let busy = review::response(
        "u3",
        &Verdict {
            problems: vec!["a: not checked".into()],
            busy: true,
            ..Verdict::default()
        },
    );
    assert_eq!(busy["response"]["allowed"], false);
    assert_eq!(busy["response"]["status"]["code"], 429);
    assert_eq!(busy["response"]["status"]["reason"], "TooManyRequests");
}

/// Values whose render goes beyond the routine budget are rendered in full in the single
/// expensive slot; while another render holds it they are refused at once, as busy and
/// naming the template and the budget, and that refusal is not cached. Ordinary values get
/// their verdict meanwhile.
#[test]
fn renders_beyond_the_routine_budget_need_the_expensive_slot() {
    let (_d, v) = validator_of(
        scratch_registry_with(&[("templating", TEMPLATING)]),
        Checks::default(),
    );
    let greeting = |text: String| dsc(json!({"templating": managed(json!({"greeting": text}))}));
    let ordinary = greeting("hello {{ .Release.Name }}".into());
    // Two steps an iteration: twice the routine budget, under a tenth of the full one.
    let heavy = greeting(format!(
        "{{{{ range until {} }}}}x{{{{ end }}}}",
        helm_render::engine::ROUTINE_STEPS
    ));

    let slot = v.occupy_expensive_slot().expect("the slot is free");
    let verdict = v.validate_dsc(&ordinary);
    assert!(verdict.allowed(), "{:?}", verdict.problems);
    let refused = v.validate_dsc(&heavy);
    assert!(refused.busy, "{refused:?}");
    assert_eq!(refused.problems.len(), 1, "{:?}", refused.problems);
    let message = &refused.problems[0];
    assert!(
        message.starts_with("spec.components.templating.values: not checked, so refused: "),
        "{message}"
    );
    for named in [
        "chart templating",
        &format!(
            "more than {} template steps",
            helm_render::engine::ROUTINE_STEPS
        ),
        "templating/templates/cm.yaml",
        "try again",
    ] {
        assert!(message.contains(named), "{named:?} not in {message}");
    }
    assert_eq!(v.cached_dsc(&heavy), None, "a busy refusal was cached");
    assert!(
        v.cached_dsc(&ordinary)
            .is_some_and(|cached| cached == verdict),
        "the ordinary verdict was not cached"
    );

    drop(slot);
    let rendered = v.validate_dsc(&heavy);
    assert!(rendered.allowed(), "{:?}", rendered.problems);
    assert!(!rendered.busy);
    assert_eq!(v.cached_dsc(&heavy), Some(rendered));
    assert!(
        v.occupy_expensive_slot().is_some(),
        "the render kept the expensive slot"
    );
}

#[test]
fn metrics_expose_requests_latency_and_reloads() {
    let m = Metrics::default();
    m.observe("/p", Outcome::Denied, Duration::from_millis(3));
    m.observe("/p", Outcome::Denied, Duration::from_millis(30));
    m.observe("/p", Outcome::Allowed, Duration::from_micros(100));
    m.certificate_reloaded(true);
    let text = m.render();
    for line in [
        "dsc_helm_webhook_requests_total{path=\"/p\",verdict=\"denied\"} 2",
        "dsc_helm_webhook_requests_total{path=\"/p\",verdict=\"allowed\"} 1",
        "dsc_helm_webhook_request_duration_seconds_bucket{le=\"0.005\"} 2",
        "dsc_helm_webhook_request_duration_seconds_bucket{le=\"0.05\"} 3",
        "dsc_helm_webhook_request_duration_seconds_bucket{le=\"+Inf\"} 3",
        "dsc_helm_webhook_request_duration_seconds_count 3",
        "dsc_helm_webhook_certificate_reloads_total{result=\"success\"} 1",
        "dsc_helm_webhook_certificate_reloads_total{result=\"failure\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

fn write_pair(dir: &Path, cert: &str, key: &str) -> CertFiles {
    let files = CertFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    std::fs::write(&files.cert, cert).unwrap();
    std::fs::write(&files.key, key).unwrap();
    files
}

#[test]
fn development_certificates_load_and_serve_both_protocols() {
    let dir = tempfile::tempdir().unwrap();
    let certs =
        super::certs::generate(&["localhost".into()], &["127.0.0.1".parse().unwrap()]).unwrap();
    super::certs::write(dir.path(), &certs).unwrap();
    for f in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(dir.path().join(f).is_file());
    }
    let loaded = tls::load(&CertFiles {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    })
    .unwrap();
    assert_eq!(
        loaded.config.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    assert!(loaded.not_after > std::time::SystemTime::now() + Duration::from_secs(300 * 86_400));
    assert!(matches!(
        super::certs::generate(&[], &[]),
        Err(super::certs::CertsError::NoNames)
    ));
}

#[test]
fn missing_mismatched_and_expired_certificates_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = CertFiles {
        cert: dir.path().join("nope.crt"),
        key: dir.path().join("nope.key"),
    };
    let e = tls::load(&missing).err().unwrap();
    assert!(matches!(e, TlsError::Missing { .. }));
    assert!(
        e.to_string().starts_with(&format!(
            "{}: certificate file does not exist",
            missing.cert.display()
        )),
        "{e}"
    );

    let a = super::certs::generate(&["a".into()], &[]).unwrap();
    let b = super::certs::generate(&["b".into()], &[]).unwrap();
    let files = write_pair(dir.path(), &a.cert_pem, &b.key_pem);
    let e = tls::load(&files).err().unwrap();
    assert!(matches!(e, TlsError::Pair { .. }), "{e}");

    let files = write_pair(dir.path(), "not a certificate", &a.key_pem);
    assert!(matches!(
        tls::load(&files),
        Err(TlsError::NoCertificate { .. })
    ));

    let expired = expired_cert();
    let files = write_pair(dir.path(), &expired.0, &expired.1);
    let e = tls::load(&files).err().unwrap();
    assert!(matches!(e, TlsError::Expired { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("the certificate expired at 2001-01-01T00:00:00Z"),
        "{e}"
    );
}

fn expired_cert() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

#[test]
fn only_a_different_cluster_starts_a_new_generation() {
    use super::validate::ClusterView;
    let caps = |version: &str, extra: &[&str]| {
        let kube = KubeVersion::parse(version).expect("version");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Arc::new(defaults::capabilities(kube, &extra))
    };
    let view = ClusterView::new(caps("v1.37.0", &[]));
    assert_eq!(view.get().0, 0);
    assert!(!view.update(caps("v1.37.0", &[])), "the same cluster again");
    assert_eq!(view.get().0, 0);
    assert!(view.update(caps("v1.37.0", &["gadgets.example.com/v1"])));
    assert_eq!(view.get().0, 1);
    assert!(
        view.get()
            .1
            .same_cluster(&caps("v1.37.0", &["gadgets.example.com/v1"]))
    );
    assert!(
        view.update(caps("v1.38.0", &["gadgets.example.com/v1"])),
        "an upgrade"
    );
    assert_eq!(view.get().0, 2);
}

#[test]
fn values_that_break_the_rendered_yaml_are_refused_and_good_ones_pass() {
    let (_dir, v) = validator(Checks::default());
    // webapp writes the greeting into a block scalar: a newline with less indentation ends
    // the scalar and leaves a sequence item where a mapping key must be.
    let broken = v.validate_dsc(&dsc(json!({
        "webapp": managed(json!({"config": {"greeting": "x\n  - broken"}})),
    })));
    assert!(!broken.allowed());
    let problem = broken.problems.join("\n");
    assert!(
        problem.starts_with("spec.components.webapp.values: chart webapp renders these values into something that is not Kubernetes YAML: webapp/templates/configmap.yaml"),
        "{problem}"
    );
    let fine = v.validate_dsc(&dsc(json!({
        "webapp": managed(json!({"config": {"greeting": "x - fine"}})),
    })));
    assert!(fine.allowed(), "{:?}", fine.problems);
    // Output that differs from the last parsed one only by scalar words is not parsed again,
    // and a broken one is never taken for known, whichever was parsed before it.
    let (_dir, uncached) = validator(Checks {
        dry_render: true,
        cache: false,
    });
    for i in 0..3 {
        let edited = uncached.validate_dsc(&dsc(json!({
            "webapp": managed(json!({"config": {"greeting": format!("x - fine {i}")}})),
        })));
        assert!(edited.allowed(), "{:?}", edited.problems);
        let again = uncached.validate_dsc(&dsc(json!({
            "webapp": managed(json!({"config": {"greeting": "x\n  - broken"}})),
        })));
        assert!(!again.allowed());
        let fine = uncached.validate_dsc(&dsc(json!({
            "webapp": managed(json!({"config": {"greeting": "x - fine"}})),
        })));
        assert!(fine.allowed(), "{:?}", fine.problems);
    }
}

/// A Managed component whose dependency is Removed or absent could never become Ready: the
/// DSC is refused, naming both; with the dependency Managed it is allowed.
#[test]
fn a_managed_component_needs_its_dependencies_managed() {
    let (dir, _) = scratch_registry();
    let root = dir.path().join("charts");
    let descriptor = root.join(DESCRIPTOR_DIR).join("guarded.yaml");
    let text = std::fs::read_to_string(&descriptor).unwrap();
    std::fs::write(
        &descriptor,
        format!("{text}dependsOn: [model-registry, webapp]\n"),
    )
    .unwrap();
    let reg = registry::load(&root).unwrap();
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap();
    let caps = Arc::new(defaults::capabilities(kube, &[]));
    let v = Validator::new(Arc::new(reg), caps, "opendatahub", Checks::default());
    let verdict = v.validate_dsc(&dsc(json!({
        "model-registry": {"managementState": "Removed"},
        "guarded": guarded_ok(),
    })));
    assert_eq!(
        verdict.problems,
        [
            "spec.components.guarded: depends on model-registry, which is Removed",
            "spec.components.guarded: depends on webapp, which is absent from spec.components (so Removed)",
        ]
    );
    let verdict = v.validate_dsc(&dsc(json!({
        "model-registry": {"managementState": "Managed"},
        "webapp": {"managementState": "Managed"},
        "guarded": guarded_ok(),
    })));
    assert_eq!(verdict.problems, Vec::<String>::new());
    let verdict = v.validate_dsc(&dsc(json!({"guarded": {"managementState": "Removed"}})));
    assert!(verdict.allowed(), "a removed dependent needs nothing");
}

/// A chart whose selector follows a value: the webhook warns on an UPDATE that changes it,
/// naming the object and what the component's strategy does, and not on one that scales it.
#[test]
fn values_that_change_an_applied_selector_are_warned_about() {
    const TRACKED: &[(&str, &str)] = &[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: tracked\nversion: 1.0.0\n",
        ),
        ("values.yaml", "track: a\nreplicas: 1\n"),
        (
            "templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      track: {{ .Values.track }}\n  template:\n    metadata:\n      labels:\n        track: {{ .Values.track }}\n    spec:\n      containers:\n        - name: web\n          image: web:1\n",
        ),
    ];
    let (_dir, v) = validator_of(
        scratch_registry_with(&[("tracked", TRACKED)]),
        Checks::default(),
    );
    let with = |values: Json| dsc(json!({"tracked": managed(values)}));
    let old = v.validate_dsc(&with(json!({})));
    let scaled = v.validate_dsc(&with(json!({"replicas": 3})));
    let moved = v.validate_dsc(&with(json!({"track": "b"})));
    assert!(old.allowed() && scaled.allowed() && moved.allowed());
    assert!(v.immutable_warnings(&old, &scaled).is_empty());
    assert_eq!(
        v.immutable_warnings(&old, &moved),
        [format!(
            "spec.components.tracked.values: Deployment opendatahub/tracked-web: these values change spec.selector, which cannot change in place; {}",
            dsc_helm_consequence()
        )]
    );
    // The component's own resource, whose spec is the stanza.
    let resource = |values: Json| json!({"spec": managed(values)});
    let old = v.validate_component("Tracked", &resource(json!({})));
    let moved_resource = v.validate_component("Tracked", &resource(json!({"track": "b"})));
    let (Some(old_resource), Some(moved_resource)) = (old, moved_resource) else {
        panic!("Tracked is a component kind");
    };
    let shown = v.immutable_warnings(&old_resource, &moved_resource);
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].starts_with("spec.values: Deployment opendatahub/tracked-web"),
        "{shown:?}"
    );
    // The stored object had the component Removed: nothing of it is applied.
    let removed = v.validate_dsc(&dsc(json!({"tracked": {"managementState": "Removed"}})));
    assert!(v.immutable_warnings(&removed, &moved).is_empty());
}

fn dsc_helm_consequence() -> String {
    crate::registry::upgrade::consequence(
        crate::registry::upgrade::Strategy::Keep,
        "apps",
        "Deployment",
    )
}
