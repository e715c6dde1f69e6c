//! Fuzz targets for the AdmissionReview reader: the API server relays bodies built from what
//! any client with write access sent, and with `failurePolicy: Fail` a panic or a hang here
//! blocks every DataScienceCluster change. Bodies are real reviews with fields removed, given
//! the wrong type, nested deep, cut short, spliced with duplicate keys or invalid UTF-8.
//! `DSC_HELM_FUZZ_CASES` and `DSC_HELM_FUZZ_SEED` set the cases and seed, as for the
//! renderer's targets (crates/helm-render/tests/fuzz.rs); `tests/fuzz/campaign.sh` runs many.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Value as Json, json};

use super::review::{self, ReviewError, Verdict};

/// Longer than any bounded body takes to read in a debug build on a loaded machine.
const CASE_BUDGET: Duration = Duration::from_secs(20);

fn config() -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("DSC_HELM_FUZZ_CASES").map_or(64, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(env("DSC_HELM_FUZZ_SEED").unwrap_or(0x0d5c_4e1d)),
        failure_persistence: None,
        ..Config::default()
    }
}

fn base_review() -> Json {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "datasciencecluster.opendatahub.io", "version": "v1", "kind": "DataScienceCluster"},
            "resource": {"group": "datasciencecluster.opendatahub.io", "version": "v1", "resource": "datascienceclusters"},
            "operation": "CREATE",
            "name": "default-dsc",
            "dryRun": false,
            "userInfo": {"username": "admin", "groups": ["system:authenticated"]},
            "object": {
                "apiVersion": "datasciencecluster.opendatahub.io/v1",
                "kind": "DataScienceCluster",
                "metadata": {"name": "default-dsc"},
                "spec": {"components": {"webapp": {
                    "managementState": "Managed",
                    "values": {"replicas": 2, "image": {"tag": "1.0"}},
                }}},
            },
        },
    })
}

/// Where a mutation lands, as a JSON pointer into the review.
const POINTERS: &[&str] = &[
    "",
    "/apiVersion",
    "/kind",
    "/request",
    "/request/uid",
    "/request/kind",
    "/request/kind/kind",
    "/request/operation",
    "/request/name",
    "/request/dryRun",
    "/request/object",
    "/request/object/spec",
    "/request/object/spec/components/webapp/values",
];

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        ".{0,8}".prop_map(Json::from),
        Just(Json::from("admission.k8s.io/v1")),
        Just(Json::from("AdmissionReview")),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Change {
    Remove(&'static str),
    Replace(&'static str, Json),
    /// Nests `depth` objects (or arrays) at the pointer.
    Nest(&'static str, usize, bool),
}

fn change() -> impl Strategy<Value = Change> {
    let at = prop::sample::select(POINTERS);
    prop_oneof![
        at.clone().prop_map(Change::Remove),
        (at.clone(), json_value()).prop_map(|(p, v)| Change::Replace(p, v)),
        (at, 1..400usize, any::<bool>()).prop_map(|(p, d, arrays)| Change::Nest(p, d, arrays)),
    ]
}

fn apply(review: &mut Json, change: &Change) {
    let (pointer, new) = match change {
        Change::Remove(p) => (*p, None),
        Change::Replace(p, v) => (*p, Some(v.clone())),
        Change::Nest(p, depth, arrays) => {
            let mut v = json!(1);
            for _ in 0..*depth {
                v = if *arrays { json!([v]) } else { json!({"a": v}) };
            }
            (*p, Some(v))
        }
    };
    if pointer.is_empty() {
        *review = new.unwrap_or(Json::Null);
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(Json::Object(m)) = review.pointer_mut(parent) {
        match new {
            Some(v) => m.insert(key.to_string(), v),
            None => m.remove(key),
        };
    }
}

/// What is done to the serialized body.
#[derive(Debug, Clone)]
enum Splice {
    None,
    Truncate(usize),
    /// Bytes that are not UTF-8 (or not JSON) at a position.
    Insert(usize, Vec<u8>),
    /// The first `"uid"` member given twice, the first copy with another value.
    DuplicateUid(Json),
}

fn splice() -> impl Strategy<Value = Splice> {
    prop_oneof![
        3 => Just(Splice::None),
        1 => any::<usize>().prop_map(Splice::Truncate),
        1 => (any::<usize>(), prop::collection::vec(prop_oneof![Just(0xffu8), Just(0xc3), Just(0x80), Just(0), any::<u8>()], 1..4))
            .prop_map(|(at, b)| Splice::Insert(at, b)),
        1 => json_value().prop_map(Splice::DuplicateUid),
    ]
}

fn body(review: &Json, splice: &Splice) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(review).unwrap_or_default();
    match splice {
        Splice::None => {}
        Splice::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
        Splice::Insert(at, extra) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        Splice::DuplicateUid(first) => {
            let needle = b"\"uid\":";
            if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                let extra = format!("\"uid\":{first},");
                bytes.splice(at..at, extra.into_bytes());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    /// Any body: a request with a uid to answer, or an error that says what is wrong.
    #[test]
    fn reviews_parse_or_fail_cleanly(
        changes in prop::collection::vec(change(), 0..4),
        splice in splice(),
    ) {
        let mut review = base_review();
        for c in &changes {
            apply(&mut review, c);
        }
        let bytes = body(&review, &splice);
        let start = Instant::now();
        let parsed = review::parse(&bytes);
        prop_assert!(start.elapsed() < CASE_BUDGET, "parsing took {:?}", start.elapsed());
        match parsed {
            Ok(request) => {
                prop_assert!(!request.uid.is_empty());
                let as_json: Result<Json, _> = serde_json::from_slice(&bytes);
                prop_assert!(as_json.is_ok(), "a body that is not JSON was accepted");
            }
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                if changes.is_empty() && matches!(splice, Splice::None) {
                    prop_assert!(false, "the unchanged review was refused: {}", e);
                }
            }
        }
    }

    /// The answer is an AdmissionReview for the uid asked about, allowed exactly when
    /// there is no problem, whatever text the uid and the problems carry.
    #[test]
    fn responses_answer_the_uid_asked(
        uid in ".{1,40}",
        problems in prop::collection::vec(".{0,40}", 0..4),
        warnings in prop::collection::vec(".{0,40}", 0..3),
    ) {
        let verdict = Verdict { problems: problems.clone(), warnings, ..Verdict::default() };
        let text = review::response(&uid, &verdict).to_string();
        let back: Json = serde_json::from_str(&text).unwrap_or_default();
        prop_assert_eq!(back.pointer("/response/uid"), Some(&Json::from(uid)));
        prop_assert_eq!(back.pointer("/response/allowed"), Some(&Json::from(problems.is_empty())));
        prop_assert_eq!(back.pointer("/kind"), Some(&Json::from(review::KIND)));
    }
}

/// Duplicate keys are refused: a review that says two things about one field is not judged
/// by whichever came last.
#[test]
fn a_duplicate_uid_is_refused() {
    let bytes = body(&base_review(), &Splice::DuplicateUid(json!("first")));
    let e = review::parse(&bytes)
        .map(|r| r.uid)
        .unwrap_err()
        .to_string();
    assert!(e.contains("duplicate key \"uid\""), "{e}");
    let bytes = body(&base_review(), &Splice::Insert(10, vec![0xff]));
    assert!(matches!(
        review::parse(&bytes),
        Err(ReviewError::NotJson(_))
    ));
}
