//! Applies the API server refuses for a reason that another apply will not fix: a change to an
//! immutable field, and a CRD that drops a version objects are still stored in. They are told
//! apart from other failures so that the component keeps its running objects and says why,
//! or, under `upgradeStrategy: recreate`, replaces the object ([`delete_and_wait`]).

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::Value as Json;

/// How long a recreate waits for the old object to be gone (its finalizers, and in the
/// foreground its dependents) before the reconcile reports it and tries again later.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// Words by which the API server refuses a change to a field that cannot change: the
/// generic `field is immutable`, and the kinds that say it their own way (a StatefulSet's
/// spec, a claim's spec, a binding's role, a Service's cluster IPs).
const IMMUTABLE_MARKERS: &[&str] = &[
    "field is immutable",
    "updates to statefulset spec for fields other than",
    "spec is immutable after creation",
    "cannot change roleRef",
    "may not change once set",
];

/// When the API server refused an apply because it changes an immutable field: the fields it
/// names (`spec.selector`), possibly none. `None` for any other failure. The causes the
/// server lists name the fields; without them, its message does.
pub fn immutable_refusal(error: &kube::Error) -> Option<Vec<String>> {
    let kube::Error::Api(status) = error else {
        return None;
    };
    if status.code != 422 {
        return None;
    }
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    let immutable: Vec<String> = causes
        .iter()
        .filter(|c| IMMUTABLE_MARKERS.iter().any(|m| c.message.contains(m)))
        .map(|c| c.field.clone())
        .filter(|f| !f.is_empty())
        .collect();
    if !immutable.is_empty() {
        return Some(immutable);
    }
    immutable_fields_named(&status.message)
}

/// The fields an "is invalid" message refuses as immutable. The message lists its causes as
/// `field: Invalid value: …: why` or `field: Forbidden: why`, several in brackets.
fn immutable_fields_named(message: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut found = false;
    for marker in IMMUTABLE_MARKERS {
        for (at, _) in message.match_indices(marker) {
            found = true;
            let before = &message[..at];
            let cause = [": Invalid value:", ": Forbidden:"]
                .iter()
                .filter_map(|m| before.rfind(m))
                .max();
            if let Some(end) = cause {
                let start = before[..end].rfind(' ').map_or(0, |i| i + 1);
                // A list of causes opens with `[`; an index (`clusterIPs[0]`) is the field's.
                let field = before[start..end].trim_start_matches('[');
                if !field.is_empty() && !fields.iter().any(|f| f == field) {
                    fields.push(field.to_string());
                }
            }
        }
    }
    found.then_some(fields)
}

/// The versions a CRD still stores objects in (`status.storedVersions` of the live CRD) that
/// the desired CRD no longer lists: the API server refuses such an update, and the objects
/// need migrating first.
pub fn dropped_stored_versions(live: &Json, desired: &Json) -> Vec<String> {
    let listed: Vec<&str> = desired
        .pointer("/spec/versions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Json::as_str))
        .collect();
    live.pointer("/status/storedVersions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .filter(|v| !listed.contains(v))
        .map(str::to_string)
        .collect()
}

/// Deletes `name` (the object with `uid`) and waits until it is gone. `orphan` leaves what it
/// owns in place; otherwise the deletion is in the foreground, so that the object is gone
/// only once its dependents are, and the new object never sees the old one's pods.
pub async fn delete_and_wait(
    api: &Api<DynamicObject>,
    name: &str,
    uid: &str,
    orphan: bool,
    timeout: Duration,
) -> Result<(), String> {
    let params = if orphan {
        DeleteParams::orphan()
    } else {
        DeleteParams::foreground()
    };
    match api.delete(name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(format!("deleting it to recreate it failed: {e}")),
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    loop {
        match api.get_metadata_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(meta)) if meta.metadata.uid.as_deref() != Some(uid) => return Ok(()),
            Ok(Some(_)) => {}
            Err(e) => return Err(format!("waiting for its deletion failed: {e}")),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "deleted to be recreated, but still there after {} s (finalizers or dependents \
                 hold it); trying again later",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, "Invalid")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn the_fields_of_each_kinds_refusal_are_named() {
        let cases = [
            (
                r#"Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}}: field is immutable"#,
                vec!["spec.selector"],
            ),
            (
                r#"Deployment.apps "web" is invalid: [spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"b", "tier":"x"}}: field is immutable, spec.template.metadata.labels: Invalid value: map[string]string{"app":"a"}: `selector` does not match template `labels`]"#,
                vec!["spec.selector"],
            ),
            (
                r#"StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"#,
                vec!["spec"],
            ),
            (
                r#"RoleBinding.rbac.authorization.k8s.io "read" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"view"}: cannot change roleRef"#,
                vec!["roleRef"],
            ),
            (
                r#"Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.9"}: may not change once set"#,
                vec!["spec.clusterIPs[0]"],
            ),
        ];
        for (message, fields) in cases {
            assert_eq!(
                immutable_refusal(&refusal(422, message)),
                Some(fields.iter().map(|s| s.to_string()).collect()),
                "{message}"
            );
        }
    }

    #[test]
    fn the_causes_name_the_fields_when_the_server_lists_them() {
        let message = r#"Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"#;
        let details = kube::core::response::StatusDetails {
            causes: vec![kube::core::response::StatusCause {
                reason: "FieldValueInvalid".to_string(),
                message: "Invalid value: core.PodTemplateSpec{...}: field is immutable".to_string(),
                field: "spec.template".to_string(),
            }],
            name: "migrate".to_string(),
            group: "batch".to_string(),
            kind: "jobs".to_string(),
            uid: String::new(),
            retry_after_seconds: 0,
        };
        let error = kube::Error::Api(
            kube::core::Status::failure(message, "Invalid")
                .with_code(422)
                .with_details(details)
                .boxed(),
        );
        assert_eq!(
            immutable_refusal(&error),
            Some(vec!["spec.template".to_string()])
        );
    }

    #[test]
    fn other_refusals_are_not_immutable_ones() {
        let invalid = r#"Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#;
        assert_eq!(immutable_refusal(&refusal(422, invalid)), None);
        let conflict = "Operation cannot be fulfilled: field is immutable";
        assert_eq!(immutable_refusal(&refusal(409, conflict)), None);
    }

    #[test]
    fn stored_versions_missing_from_the_new_crd_are_found() {
        let live = json!({"status": {"storedVersions": ["v1alpha1", "v1"]}});
        let keeps = json!({"spec": {"versions": [{"name": "v1alpha1"}, {"name": "v1"}]}});
        let drops = json!({"spec": {"versions": [{"name": "v1"}, {"name": "v2"}]}});
        assert!(dropped_stored_versions(&live, &keeps).is_empty());
        assert_eq!(dropped_stored_versions(&live, &drops), ["v1alpha1"]);
        assert!(dropped_stored_versions(&json!({}), &drops).is_empty());
    }
}
