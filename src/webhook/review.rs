//! AdmissionReview v1: reading what the API server sends and writing the answer it expects.
//!
//! Only the fields the webhook acts on are read; everything else in the review is ignored, so
//! new API server fields never break parsing. But the fields it reads are checked strictly:
//! the webhook sits on the write path with `failurePolicy: Fail`, so a review it cannot read
//! exactly (not JSON, invalid UTF-8, a duplicate key, not an AdmissionReview, no `request`,
//! `uid`, `kind` or `operation`, a field of the wrong type) must never be guessed at and
//! allowed. Each is a [`ReviewError`], which the server turns into HTTP 400 naming the field.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Value as Json, json};

pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// The operations an AdmissionReview can carry.
const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

/// Why a request body is not an AdmissionReview this webhook can answer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReviewError {
    #[error("request body is not JSON: {0}")]
    NotJson(String),
    #[error("expected apiVersion {API_VERSION}, got {0}")]
    ApiVersion(String),
    #[error("expected kind {KIND}, got {0}")]
    Kind(String),
    #[error("the AdmissionReview has no request")]
    MissingRequest,
    #[error("the AdmissionReview request has no uid")]
    MissingUid,
    #[error("the AdmissionReview request has no {0}")]
    Missing(&'static str),
    #[error("{field}: expected {want}, got {got}")]
    WrongType {
        field: String,
        want: &'static str,
        got: String,
    },
    #[error("request.operation: expected one of CREATE, UPDATE, DELETE or CONNECT, got {0}")]
    Operation(String),
}

/// The part of `request` the webhook needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub operation: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub dry_run: bool,
    /// The object as it would be stored; absent on DELETE.
    #[serde(default)]
    pub object: Option<Json>,
    /// The object as it is stored, on UPDATE.
    #[serde(default)]
    pub old_object: Option<Json>,
}

/// `request.kind`: group, version and kind.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
}

/// Parses a request body. serde_json refuses documents nested deeper than 128 levels with a
/// clear error, so a hostile body cannot exhaust the stack here or in what follows.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    let review = strict_json(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let Json::Object(mut review) = review else {
        return Err(ReviewError::NotJson(
            "expected an AdmissionReview object".to_string(),
        ));
    };
    if review.get("apiVersion").and_then(Json::as_str) != Some(API_VERSION) {
        return Err(ReviewError::ApiVersion(shown(review.get("apiVersion"))));
    }
    if review.get("kind").and_then(Json::as_str) != Some(KIND) {
        return Err(ReviewError::Kind(shown(review.get("kind"))));
    }
    let request = match review.remove("request") {
        None | Some(Json::Null) => return Err(ReviewError::MissingRequest),
        Some(Json::Object(r)) => r,
        Some(other) => return Err(wrong_type("request", "an object", &other)),
    };
    check_request(&request)?;
    // Every field the struct reads was checked above, so this cannot fail on their types;
    // should it, the message still names the problem.
    serde_json::from_value(Json::Object(request)).map_err(|e| ReviewError::WrongType {
        field: "request".to_string(),
        want: "an AdmissionReview request",
        got: e.to_string(),
    })
}

/// The checks behind [`parse`], field by field, so that each refusal names its field.
fn check_request(request: &serde_json::Map<String, Json>) -> Result<(), ReviewError> {
    match request.get("uid") {
        Some(Json::String(uid)) if !uid.is_empty() => {}
        None | Some(Json::Null) | Some(Json::String(_)) => return Err(ReviewError::MissingUid),
        Some(other) => return Err(wrong_type("request.uid", "a string", other)),
    }
    let kind = match request.get("kind") {
        None | Some(Json::Null) => return Err(ReviewError::Missing("kind")),
        Some(Json::Object(kind)) => kind,
        Some(other) => return Err(wrong_type("request.kind", "an object", other)),
    };
    for field in ["group", "version", "kind"] {
        match kind.get(field) {
            None | Some(Json::Null) if field != "kind" => {}
            Some(Json::String(s)) if field != "kind" || !s.is_empty() => {}
            None | Some(Json::Null) | Some(Json::String(_)) => {
                return Err(ReviewError::Missing("kind.kind"));
            }
            Some(other) => {
                return Err(wrong_type(
                    &format!("request.kind.{field}"),
                    "a string",
                    other,
                ));
            }
        }
    }
    match request.get("operation") {
        None | Some(Json::Null) => return Err(ReviewError::Missing("operation")),
        Some(Json::String(op)) if OPERATIONS.contains(&op.as_str()) => {}
        Some(Json::String(op)) => return Err(ReviewError::Operation(format!("{op:?}"))),
        Some(other) => return Err(wrong_type("request.operation", "a string", other)),
    }
    match request.get("name") {
        None | Some(Json::Null | Json::String(_)) => {}
        Some(other) => return Err(wrong_type("request.name", "a string", other)),
    }
    match request.get("dryRun") {
        None | Some(Json::Null | Json::Bool(_)) => {}
        Some(other) => return Err(wrong_type("request.dryRun", "a boolean", other)),
    }
    for field in ["object", "oldObject"] {
        match request.get(field) {
            None | Some(Json::Null | Json::Object(_)) => {}
            Some(other) => {
                return Err(wrong_type(&format!("request.{field}"), "an object", other));
            }
        }
    }
    Ok(())
}

fn wrong_type(field: &str, want: &'static str, got: &Json) -> ReviewError {
    let got = match got {
        Json::Null => "null".to_string(),
        Json::Bool(_) => format!("a boolean ({got})"),
        Json::Number(_) => format!("a number ({got})"),
        Json::String(s) => format!("a string ({s:?})"),
        Json::Array(_) => "an array".to_string(),
        Json::Object(_) => "an object".to_string(),
    };
    ReviewError::WrongType {
        field: field.to_string(),
        want,
        got,
    }
}

fn shown(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
        None => "nothing".to_string(),
    }
}

/// JSON with duplicate object keys refused. serde_json keeps the last of two equal keys
/// silently; the API server never sends one, and a review that says two things about one
/// field must not be judged by whichever came last.
fn strict_json(body: &[u8]) -> Result<Json, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a [`Json`] as serde_json's own visitor does, but fails on a repeated key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Json;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a JSON number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue)?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

/// The webhook's answer for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Every reason to refuse, each `path: reason`; empty means allowed.
    pub problems: Vec<String>,
    /// Shown by kubectl as `Warning: ...`, allowed or not.
    pub warnings: Vec<String>,
    /// Some problem is the webhook's load, not the input (a render it had no room for):
    /// answered 429 TooManyRequests rather than 422 Invalid, as trying again may succeed.
    pub busy: bool,
    /// The immutable fields each component's dry render produced, with the component's name,
    /// by the stanza's path in the request: an UPDATE compares them with the stored object's.
    pub shapes: BTreeMap<String, (String, Arc<super::immutable::Shape>)>,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn merge(&mut self, other: Verdict) {
        self.problems.extend(other.problems);
        self.warnings.extend(other.warnings);
        self.busy |= other.busy;
        self.shapes.extend(other.shapes);
    }

    /// The denial message: one problem per line, so kubectl's stderr lists them all.
    pub fn message(&self) -> String {
        self.problems.join("\n")
    }
}

/// The AdmissionReview answering `uid`.
pub fn response(uid: &str, verdict: &Verdict) -> Json {
    let mut response = json!({"uid": uid, "allowed": verdict.allowed()});
    if !verdict.allowed() {
        let (code, reason) = if verdict.busy {
            (429, "TooManyRequests")
        } else {
            (422, "Invalid")
        };
        response["status"] = json!({
            "code": code,
            "reason": reason,
            "message": verdict.message(),
        });
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    json!({"apiVersion": API_VERSION, "kind": KIND, "response": response})
}
