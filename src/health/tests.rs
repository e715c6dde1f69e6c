//! Each rule against objects as the API server returns them (`kubectl get -o json` lists in
//! `tests/fixtures/health/`, managedFields stripped).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::api::DynamicObject;
use serde_json::Value as Json;

use super::*;

fn list(file: &str) -> Vec<Json> {
    let text = match file {
        "deployments" => include_str!("../../tests/fixtures/health/deployments.json"),
        "statefulsets" => include_str!("../../tests/fixtures/health/statefulsets.json"),
        "daemonsets" => include_str!("../../tests/fixtures/health/daemonsets.json"),
        "jobs" => include_str!("../../tests/fixtures/health/jobs.json"),
        "claims" => include_str!("../../tests/fixtures/health/claims.json"),
        "pods" => include_str!("../../tests/fixtures/health/pods.json"),
        "other" => include_str!("../../tests/fixtures/health/other.json"),
        other => panic!("no fixture {other}"),
    };
    let list: Json = serde_json::from_str(text).expect("fixture is JSON");
    list["items"].as_array().expect("a List").clone()
}

fn find(file: &str, name: &str) -> Json {
    list(file)
        .into_iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {file}.json"))
}

fn object(file: &str, name: &str) -> DynamicObject {
    serde_json::from_value(find(file, name)).expect("an object")
}

fn pods(names: &[&str]) -> Vec<Pod> {
    names
        .iter()
        .map(|n| serde_json::from_value(find("pods", n)).expect("a pod"))
        .collect()
}

/// The verdict on a fixture, by the group and kind its apiVersion and kind name.
fn judge(file: &str, name: &str) -> Health {
    let o = object(file, name);
    let types = o.types.clone().expect("fixtures carry apiVersion and kind");
    let group = types.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    health(group, &types.kind, &o)
}

fn progressing(reason: &str, message: &str) -> Health {
    Health::Progressing {
        reason: reason.into(),
        message: message.into(),
    }
}

fn degraded(reason: &str, message: &str) -> Health {
    Health::Degraded {
        reason: reason.into(),
        message: message.into(),
    }
}

#[test]
fn an_available_deployment_is_healthy_and_one_without_pods_running_is_not() {
    assert_eq!(judge("deployments", "webapp"), Health::Healthy);
    assert_eq!(
        judge("deployments", "webapp-image-pull"),
        progressing(
            "AwaitingReadiness",
            "deployment webapp-image-pull: 0/2 available"
        )
    );
}

#[test]
fn a_deployment_past_its_progress_deadline_is_degraded() {
    assert_eq!(
        judge("deployments", "webapp-deadline"),
        degraded(
            "ProgressDeadlineExceeded",
            "deployment webapp-deadline: 0/2 available, \
             ReplicaSet \"webapp-7d9f8c6b5\" has timed out progressing."
        )
    );
}

#[test]
fn a_rolling_update_is_not_done_while_old_pods_still_serve() {
    assert_eq!(
        judge("deployments", "webapp-rolling"),
        progressing(
            "AwaitingReadiness",
            "deployment webapp-rolling: 1/2 updated, 2 old replicas remaining"
        )
    );
}

#[test]
fn a_deployment_scaled_to_zero_is_healthy() {
    assert_eq!(judge("deployments", "webapp-zero"), Health::Healthy);
}

#[test]
fn counts_of_an_older_generation_say_nothing_about_the_new_spec() {
    assert_eq!(
        judge("deployments", "webapp-new-spec"),
        progressing(
            "AwaitingReadiness",
            "deployment webapp-new-spec: generation 3 not yet observed (observed 2)"
        )
    );
}

#[test]
fn a_deployment_that_cannot_create_pods_says_why() {
    let h = judge("deployments", "webapp-quota");
    assert_eq!(h.reason(), Some("FailedCreate"));
    assert!(matches!(h, Health::Degraded { .. }));
    assert!(
        h.message()
            .is_some_and(|m| m.starts_with("deployment webapp-quota: pods ")
                && m.contains("exceeded quota: compute")),
        "{h}"
    );
}

#[test]
fn a_deployment_without_replicas_wants_one() {
    let mut o = find("deployments", "webapp-image-pull");
    o["spec"].as_object_mut().expect("spec").remove("replicas");
    let o: DynamicObject = serde_json::from_value(o).expect("an object");
    assert_eq!(
        health("apps", "Deployment", &o).message(),
        Some("deployment webapp-image-pull: 0/1 available, 1 replica being removed")
    );
}

#[test]
fn an_object_being_deleted_is_terminating_whatever_its_status() {
    let mut o = find("deployments", "webapp");
    o["metadata"]["deletionTimestamp"] = "2026-12-06T00:21:00Z".into();
    let o: DynamicObject = serde_json::from_value(o).expect("an object");
    assert_eq!(
        health("apps", "Deployment", &o),
        progressing("Terminating", "deployment webapp: being deleted")
    );
}

#[test]
fn the_group_decides_the_rules_not_the_kind_name_alone() {
    // A custom resource called Deployment is read by its conditions, not by replica counts.
    let o = object("deployments", "webapp-image-pull");
    assert_eq!(
        health("example.com", "Deployment", &o),
        progressing(
            "MinimumReplicasUnavailable",
            "deployment webapp-image-pull: Deployment does not have minimum availability."
        )
    );
}

#[test]
fn stateful_sets_need_every_replica_ready_on_the_update_revision() {
    assert_eq!(judge("statefulsets", "db"), Health::Healthy);
    assert_eq!(
        judge("statefulsets", "db-starting"),
        progressing(
            "AwaitingReadiness",
            "statefulset db-starting: 1/3 ready, 1/3 available, 2/3 updated"
        )
    );
    assert_eq!(
        judge("statefulsets", "db-rolling"),
        progressing("AwaitingReadiness", "statefulset db-rolling: 1/3 updated")
    );
    assert_eq!(
        judge("statefulsets", "db-rolled"),
        progressing(
            "AwaitingReadiness",
            "statefulset db-rolled: revision db-84c7d9b6f not yet rolled out"
        ),
        "every pod updated, but the controller has not yet made it the current revision"
    );
}

#[test]
fn a_partitioned_rollout_is_done_once_the_ordinals_above_the_partition_are_updated() {
    assert_eq!(judge("statefulsets", "db-partitioned"), Health::Healthy);
    let mut o = find("statefulsets", "db-partitioned");
    o["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1.into();
    let o: DynamicObject = serde_json::from_value(o).expect("an object");
    assert_eq!(
        health("apps", "StatefulSet", &o).message(),
        Some("statefulset db-partitioned: 1/2 updated (partition 1)")
    );
}

#[test]
fn an_on_delete_stateful_set_does_not_wait_for_a_rollout_nobody_starts() {
    assert_eq!(judge("statefulsets", "db-on-delete"), Health::Healthy);
}

#[test]
fn daemon_sets_need_every_node_scheduled_updated_and_available() {
    assert_eq!(judge("daemonsets", "agent"), Health::Healthy);
    assert_eq!(
        judge("daemonsets", "agent-unavailable"),
        progressing(
            "AwaitingReadiness",
            "daemonset agent-unavailable: 1/3 available, 2/3 updated"
        )
    );
    assert_eq!(judge("daemonsets", "agent-nowhere"), Health::Healthy);
}

#[test]
fn jobs_are_healthy_when_complete_degraded_when_failed_and_running_otherwise() {
    assert_eq!(judge("jobs", "migrate-done"), Health::Healthy);
    assert_eq!(
        judge("jobs", "migrate-db"),
        degraded(
            "JobFailed",
            "job migrate-db: Job has reached the specified backoff limit"
        )
    );
    assert_eq!(
        judge("jobs", "migrate-running"),
        progressing(
            "AwaitingCompletion",
            "job migrate-running: 0/3 succeeded, 1 active, 1 failed"
        )
    );
    assert_eq!(
        judge("jobs", "migrate-suspended"),
        progressing("Suspended", "job migrate-suspended: suspended")
    );
}

#[test]
fn claims_are_healthy_once_bound() {
    assert_eq!(judge("claims", "data-db-0"), Health::Healthy);
    assert_eq!(
        judge("claims", "data-waiting"),
        progressing(
            "AwaitingBinding",
            "persistentvolumeclaim data-waiting: Pending, not bound"
        )
    );
    assert_eq!(
        judge("claims", "data-lost"),
        degraded(
            "ClaimLost",
            "persistentvolumeclaim data-lost: its volume is lost"
        )
    );
}

#[test]
fn other_kinds_follow_their_ready_condition() {
    assert_eq!(judge("other", "webapp-tls"), Health::Healthy);
    assert_eq!(
        judge("other", "webapp-tls-issuing"),
        progressing(
            "DoesNotExist",
            "certificate webapp-tls-issuing: Issuing certificate as Secret does not exist"
        ),
        "not ready yet, by a reason that is no failure"
    );
    let failed = judge("other", "webapp-tls-failed");
    assert_eq!(failed.reason(), Some("Failed"));
    assert!(matches!(failed, Health::Degraded { .. }), "{failed}");
    assert_eq!(
        judge("other", "ready-unknown-no-reason"),
        progressing(
            "AwaitingReadiness",
            "widget ready-unknown-no-reason: Ready is Unknown"
        )
    );
}

#[test]
fn kstatus_conditions_come_before_ready() {
    assert_eq!(
        judge("other", "podinfo"),
        degraded(
            "InstallFailed",
            "helmrelease podinfo: Helm install failed for release podinfo/podinfo with chart \
             podinfo@6.7.0: context deadline exceeded"
        ),
        "Stalled"
    );
    assert_eq!(
        judge("other", "podinfo-upgrading"),
        progressing(
            "Progressing",
            "helmrelease podinfo-upgrading: Running 'upgrade' action with timeout of 5m0s"
        ),
        "Reconciling"
    );
    assert_eq!(
        judge("other", "podinfo-new-spec"),
        progressing(
            "LatestGenerationNotObserved",
            "helmrelease podinfo-new-spec: generation 4 not yet observed (observed 3)"
        ),
        "a Ready=True of an older generation"
    );
    assert_eq!(
        judge("other", "odh-degraded").reason(),
        Some("ComponentFailed"),
        "Degraded=True wins over Ready=True"
    );
}

#[test]
fn an_api_service_follows_its_available_condition() {
    let h = judge("other", "v1beta1.metrics.k8s.io");
    assert_eq!(h.reason(), Some("FailedDiscoveryCheck"));
    assert!(matches!(h, Health::Degraded { .. }), "{h}");
}

#[test]
fn objects_without_conditions_are_healthy_once_they_exist() {
    assert_eq!(judge("other", "plain"), Health::Healthy);
    assert_eq!(judge("other", "webapp-config"), Health::Healthy);
}

fn not_available() -> Health {
    judge("deployments", "webapp-image-pull")
}

#[test]
fn an_image_that_cannot_be_pulled_is_named_with_the_pod() {
    assert_eq!(
        explain(
            not_available(),
            &pods(&["webapp-7d9f8c6b5-r8m2q", "webapp-7d9f8c6b5-x2k4p"])
        ),
        degraded(
            "ImagePullBackOff",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-x2k4p: \
             container web: Back-off pulling image \"nginx:nope\""
        )
    );
}

#[test]
fn a_crash_loop_is_named_with_its_restart_count_in_back_off_and_while_running_again() {
    assert_eq!(
        explain(not_available(), &pods(&["webapp-7d9f8c6b5-c7rsh"])),
        degraded(
            "CrashLoopBackOff",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-c7rsh: \
             container web: crash loop back-off, restarted 3 times, last exit code 1 (Error)"
        )
    );
    assert_eq!(
        explain(not_available(), &pods(&["webapp-7d9f8c6b5-c9run"])).reason(),
        Some("CrashLoopBackOff"),
        "between two crashes the container runs, not ready"
    );
}

#[test]
fn an_oom_kill_is_named_from_the_last_termination() {
    assert_eq!(
        explain(not_available(), &pods(&["webapp-7d9f8c6b5-oom5z"])),
        degraded(
            "OOMKilled",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-oom5z: \
             container web: OOMKilled (exit code 137), restarted 2 times"
        )
    );
}

#[test]
fn an_unschedulable_pod_carries_the_schedulers_message() {
    let h = explain(not_available(), &pods(&["webapp-7d9f8c6b5-pend1"]));
    assert_eq!(h.reason(), Some("Unschedulable"));
    assert!(
        h.message().is_some_and(|m| m.starts_with(
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-pend1: \
             0/1 nodes are available: 1 Insufficient cpu."
        )),
        "{h}"
    );
}

#[test]
fn a_missing_secret_is_named() {
    assert_eq!(
        explain(not_available(), &pods(&["webapp-7d9f8c6b5-cfg9k"])),
        degraded(
            "CreateContainerConfigError",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-cfg9k: \
             container web: secret \"db-credentials\" not found"
        )
    );
}

#[test]
fn a_crashing_init_container_is_named_as_one() {
    let h = explain(not_available(), &pods(&["webapp-7d9f8c6b5-init1"]));
    assert_eq!(h.reason(), Some("CrashLoopBackOff"));
    assert!(
        h.message().is_some_and(|m| m.ends_with(
            "init container migrate: crash loop back-off, \
                restarted 5 times, last exit code 2 (Error)"
        )),
        "{h}"
    );
}

#[test]
fn a_pod_that_is_merely_not_ready_adds_detail_but_keeps_the_verdict() {
    assert_eq!(
        explain(not_available(), &pods(&["webapp-7d9f8c6b5-nr4dy"])),
        progressing(
            "AwaitingReadiness",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-nr4dy: \
             container web: running, not ready"
        )
    );
}

#[test]
fn pods_being_deleted_and_healthy_pods_explain_nothing() {
    assert_eq!(
        explain(
            not_available(),
            &pods(&["webapp-7d9f8c6b5-gone1", "webapp-7d9f8c6b5-r8m2q"])
        ),
        not_available()
    );
}

#[test]
fn a_healthy_verdict_is_not_spoiled_by_its_pods() {
    assert_eq!(
        explain(Health::Healthy, &pods(&["webapp-7d9f8c6b5-x2k4p"])),
        Health::Healthy
    );
}

#[test]
fn the_most_telling_pod_is_picked_whatever_the_order() {
    let names = [
        "webapp-7d9f8c6b5-nr4dy",
        "webapp-7d9f8c6b5-a1b2c",
        "webapp-7d9f8c6b5-x2k4p",
        "webapp-7d9f8c6b5-c7rsh",
        "webapp-7d9f8c6b5-evict",
    ];
    let forward = explain(not_available(), &pods(&names));
    let mut reversed = names;
    reversed.reverse();
    assert_eq!(explain(not_available(), &pods(&reversed)), forward);
    assert_eq!(
        forward.reason(),
        Some("CrashLoopBackOff"),
        "a crash loop over an image pull, both over a pod that is only not ready"
    );
    let pulls = ["webapp-7d9f8c6b5-x2k4p", "webapp-7d9f8c6b5-a1b2c"];
    assert_eq!(
        explain(not_available(), &pods(&pulls)).reason(),
        Some("ImagePullBackOff"),
        "the back-off, which lasts, over the pull error before it"
    );
}

#[test]
fn a_failed_job_keeps_its_verdict_and_names_the_failed_pod() {
    assert_eq!(
        explain(judge("jobs", "migrate-db"), &pods(&["migrate-db-9xk2p"])),
        degraded(
            "JobFailed",
            "job migrate-db: Job has reached the specified backoff limit; pod migrate-db-9xk2p: \
             container migrate: terminated with exit code 1 (Error): relation \"users\" already \
             exists"
        )
    );
}

#[test]
fn an_evicted_pod_says_so() {
    let h = explain(not_available(), &pods(&["webapp-7d9f8c6b5-evict"]));
    assert!(
        h.message().is_some_and(|m| m.ends_with(
            "pod webapp-7d9f8c6b5-evict: Evicted: The node was low on resource: memory."
        )),
        "the eviction is more telling than the exit of the container it stopped: {h}"
    );
}

#[test]
fn workload_selectors_become_label_selector_queries() {
    assert_eq!(
        pod_selector("apps", "Deployment", &object("deployments", "webapp")),
        Ok(Some("app.kubernetes.io/name=webapp".to_string()))
    );
    assert_eq!(
        pod_selector("apps", "DaemonSet", &object("daemonsets", "agent")),
        Ok(Some(
            "app.kubernetes.io/name=agent,tier in (node,edge),!legacy".to_string()
        ))
    );
    assert_eq!(
        pod_selector("batch", "Job", &object("jobs", "migrate-db")),
        Ok(Some(
            "batch.kubernetes.io/controller-uid=7a9c2d1e-3b4f-4e5a-8c6d-9e0f1a2b3c4d".to_string()
        ))
    );
    assert_eq!(
        pod_selector("", "PersistentVolumeClaim", &object("claims", "data-db-0")),
        Ok(None),
        "claims own no pods"
    );
}

#[test]
fn every_operator_is_written_and_nothing_that_would_select_too_much() {
    let req = |key: &str, operator: &str, values: &[&str]| LabelSelectorRequirement {
        key: key.into(),
        operator: operator.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    };
    let selector = |reqs: Vec<LabelSelectorRequirement>| LabelSelector {
        match_labels: Some([("b".to_string(), "2".to_string()), ("a".into(), "1".into())].into()),
        match_expressions: Some(reqs),
    };
    assert_eq!(
        label_selector(
            "x",
            &selector(vec![
                req("env", "NotIn", &["dev", "test"]),
                req("canary", "Exists", &[]),
                req("legacy", "DoesNotExist", &[]),
                req("tier", "In", &["web"]),
            ])
        ),
        Ok("a=1,b=2,env notin (dev,test),canary,!legacy,tier in (web)".to_string())
    );
    assert!(matches!(
        label_selector("x", &selector(vec![req("tier", "In", &[])])),
        Err(SelectorError::NoValues { .. })
    ));
    assert!(matches!(
        label_selector("x", &selector(vec![req("tier", "Gt", &["1"])])),
        Err(SelectorError::Operator { .. })
    ));
    assert!(matches!(
        label_selector("x", &selector(vec![req("tier", "In", &["a,b=c"])])),
        Err(SelectorError::Character { .. })
    ));
    assert_eq!(
        label_selector("deployment x", &LabelSelector::default()),
        Err(SelectorError::Empty("deployment x".into()))
    );
    let mut no_selector = find("deployments", "webapp");
    no_selector["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("selector");
    let o: DynamicObject = serde_json::from_value(no_selector).expect("an object");
    assert_eq!(
        pod_selector("apps", "Deployment", &o),
        Err(SelectorError::Missing("deployment webapp".into()))
    );
}

#[test]
fn a_container_that_succeeded_after_restarts_is_no_crash_loop() {
    let mut pod = find("pods", "webapp-7d9f8c6b5-c9run");
    pod["status"]["containerStatuses"][0]["state"] = serde_json::json!({
        "terminated": {"exitCode": 0, "reason": "Completed"}
    });
    let pod: Pod = serde_json::from_value(pod).expect("a pod");
    assert_eq!(explain(not_available(), &[pod]), not_available());
}
