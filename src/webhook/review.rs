//! AdmissionReview v1: reading what the API server sends and writing the answer it expects.
//!
//! Only the fields the webhook acts on are read; everything else in the review is ignored, so
//! new API server fields never break parsing. Anything that prevents a meaningful answer (not
//! JSON, not an AdmissionReview, no `request` or `uid`) is a [`ReviewError`], which the server
//! turns into HTTP 400 with the reason: without a uid there is nothing to answer.

use serde::Deserialize;
use serde_json::{Value as Json, json};

pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

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
    #[error("the AdmissionReview request is malformed: {0}")]
    Malformed(String),
}

/// `request.kind` / `request.resource`: group, version and kind (or resource).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// The part of `request` the webhook needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub uid: String,
    #[serde(default)]
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub dry_run: bool,
    /// The object as it would be stored; absent on DELETE.
    #[serde(default)]
    pub object: Option<Json>,
}

/// Parses a request body. serde_json refuses documents nested deeper than 128 levels with a
/// clear error, so a hostile body cannot exhaust the stack here or in what follows.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    let review: Json =
        serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let Json::Object(mut review) = review else {
        return Err(ReviewError::NotJson(
            "expected an AdmissionReview object".to_string(),
        ));
    };
    let field = |review: &serde_json::Map<String, Json>, name: &str| match review.get(name) {
        Some(Json::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
        None => "nothing".to_string(),
    };
    if review.get("apiVersion").and_then(Json::as_str) != Some(API_VERSION) {
        return Err(ReviewError::ApiVersion(field(&review, "apiVersion")));
    }
    if review.get("kind").and_then(Json::as_str) != Some(KIND) {
        return Err(ReviewError::Kind(field(&review, "kind")));
    }
    let request = match review.remove("request") {
        None | Some(Json::Null) => return Err(ReviewError::MissingRequest),
        Some(r) => r,
    };
    match request.get("uid") {
        Some(Json::String(uid)) if !uid.is_empty() => {}
        _ => return Err(ReviewError::MissingUid),
    }
    serde_json::from_value(request).map_err(|e| ReviewError::Malformed(e.to_string()))
}

/// The webhook's answer for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Every reason to refuse, each `path: reason`; empty means allowed.
    pub problems: Vec<String>,
    /// Shown by kubectl as `Warning: ...`, allowed or not.
    pub warnings: Vec<String>,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn merge(&mut self, other: Verdict) {
        self.problems.extend(other.problems);
        self.warnings.extend(other.warnings);
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
        response["status"] = json!({
            "code": 422,
            "reason": "Invalid",
            "message": verdict.message(),
        });
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    json!({"apiVersion": API_VERSION, "kind": KIND, "response": response})
}
