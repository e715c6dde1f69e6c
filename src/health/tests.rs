//! Each rule against objects as the API server returns them. `tests/fixtures/health/recorded/`
//! holds workloads recorded from the kwok test cluster in each fault state, one `kubectl get
//! -o json` List per workload with its pods (managedFields, service-account volumes and
//! tolerations stripped). The other files under `tests/fixtures/health/` are written by hand
//! for what that cluster cannot produce: custom resources' controllers, a missing Secret, init
//! containers, evictions, a spec change the controller has not yet seen.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde_json::Value as Json;

use super::*;

fn items(path: &str) -> Vec<Json> {
    let file = format!(
        "{}/tests/fixtures/health/{path}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let list: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    list["items"].as_array().expect("a List").clone()
}

/// A hand-written object of `file` by name.
fn written(file: &str, name: &str) -> Json {
    items(file)
        .into_iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {file}.json"))
}

fn typed<T: serde::de::DeserializeOwned>(json: Json) -> T {
    serde_json::from_value(json).expect("a Kubernetes object")
}

/// A recorded workload and its pods.
fn recorded(name: &str) -> (Json, Vec<Pod>) {
    let mut items = items(&format!("recorded/{name}"));
    let object = items.remove(0);
    (object, items.into_iter().map(typed).collect())
}

/// The verdict on an object, by the group and kind its apiVersion and kind name.
fn judge(object: &Json) -> Health {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let kind = object["kind"].as_str().expect("a kind");
    health(group, kind, &typed(object.clone()))
}

/// The verdict on a recorded workload, and the same explained by its recorded pods.
fn judge_recorded(name: &str) -> (Health, Health) {
    let (object, pods) = recorded(name);
    let verdict = judge(&object);
    let explained = explain(verdict.clone(), &pods);
    (verdict, explained)
}

fn written_pods(names: &[&str]) -> Vec<Pod> {
    names.iter().map(|n| typed(written("pods", n))).collect()
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
fn an_available_deployment_is_healthy_and_so_are_its_pods() {
    assert_eq!(judge_recorded("webapp"), (Health::Healthy, Health::Healthy));
}

#[test]
fn an_image_that_cannot_be_pulled_is_named_with_the_pod() {
    assert_eq!(
        judge_recorded("webapp-image-pull"),
        (
            progressing(
                "AwaitingReadiness",
                "deployment webapp-image-pull: 0/2 available"
            ),
            degraded(
                "ImagePullBackOff",
                "deployment webapp-image-pull: 0/2 available; \
                 pod webapp-image-pull-5bdbd7685d-nvl2z: container web: \
                 Back-off pulling image \"nginx:nope\""
            )
        )
    );
}

#[test]
fn a_crash_loop_is_named_with_its_restart_count() {
    assert_eq!(
        judge_recorded("webapp-crash").1,
        degraded(
            "CrashLoopBackOff",
            "deployment webapp-crash: 0/2 available; pod webapp-crash-cbd4d7c67-9lzpr: \
             container web: crash loop back-off, restarted 10 times, last exit code 1 (Error)"
        )
    );
}

#[test]
fn a_crash_loop_is_named_as_such_also_while_the_container_runs_between_crashes() {
    let (verdict, _) = judge_recorded("webapp-crash");
    assert_eq!(
        explain(verdict, &written_pods(&["webapp-7d9f8c6b5-c9run"])).reason(),
        Some("CrashLoopBackOff")
    );
}

#[test]
fn an_oom_kill_is_named_from_the_last_termination() {
    assert_eq!(
        judge_recorded("webapp-oom").1,
        degraded(
            "OOMKilled",
            "deployment webapp-oom: 0/2 available; pod webapp-oom-6b7885f4b-b5cr7: \
             container web: OOMKilled (exit code 137), restarted 10 times"
        )
    );
}

#[test]
fn a_pod_that_is_merely_not_ready_adds_detail_but_keeps_the_verdict() {
    assert_eq!(
        judge_recorded("webapp-never-ready").1,
        progressing(
            "AwaitingReadiness",
            "deployment webapp-never-ready: 0/2 available; \
             pod webapp-never-ready-7f7b7d4978-27stj: container web: running, not ready"
        )
    );
}

#[test]
fn an_unschedulable_pod_carries_the_schedulers_message() {
    assert_eq!(
        judge_recorded("webapp-unschedulable").1,
        degraded(
            "Unschedulable",
            "deployment webapp-unschedulable: 0/1 available; \
             pod webapp-unschedulable-d6f49d4d5-mrppr: 0/1 nodes are available: \
             1 Insufficient cpu. preemption: 0/1 nodes are available: \
             1 Preemption is not helpful for scheduling."
        )
    );
}

#[test]
fn a_deployment_past_its_progress_deadline_is_degraded_and_its_pods_say_why() {
    let (verdict, explained) = judge_recorded("webapp-deadline");
    assert_eq!(
        verdict,
        degraded(
            "ProgressDeadlineExceeded",
            "deployment webapp-deadline: 0/2 available, \
             ReplicaSet \"webapp-deadline-7b6fb959c7\" has timed out progressing."
        )
    );
    assert_eq!(
        explained,
        degraded(
            "ImagePullBackOff",
            "deployment webapp-deadline: 0/2 available, \
             ReplicaSet \"webapp-deadline-7b6fb959c7\" has timed out progressing.; \
             pod webapp-deadline-7b6fb959c7-68m2m: container web: \
             Back-off pulling image \"nginx:nope\""
        )
    );
}

#[test]
fn a_rolling_update_whose_new_pods_crash_is_not_done_while_old_pods_still_serve() {
    assert_eq!(
        judge_recorded("webapp-rolling"),
        (
            progressing(
                "AwaitingReadiness",
                "deployment webapp-rolling: 1/2 updated, 2 old replicas remaining"
            ),
            degraded(
                "CrashLoopBackOff",
                "deployment webapp-rolling: 1/2 updated, 2 old replicas remaining; \
                 pod webapp-rolling-86744d6945-grldj: container web: crash loop back-off, \
                 restarted 5 times, last exit code 1 (Error)"
            )
        )
    );
}

#[test]
fn a_deployment_scaled_to_zero_is_healthy() {
    assert_eq!(judge_recorded("webapp-zero").0, Health::Healthy);
}

#[test]
fn a_deployment_that_cannot_create_pods_says_why() {
    assert_eq!(
        judge_recorded("webapp-quota").0,
        degraded(
            "FailedCreate",
            "deployment webapp-quota: pods \"webapp-quota-67fb96645d-9frqm\" is forbidden: \
             exceeded quota: compute, requested: requests.cpu=3, used: requests.cpu=66600m, \
             limited: requests.cpu=2"
        )
    );
}

#[test]
fn counts_of_an_older_generation_say_nothing_about_the_new_spec() {
    assert_eq!(
        judge(&written("deployments", "webapp-new-spec")),
        progressing(
            "AwaitingReadiness",
            "deployment webapp-new-spec: generation 3 not yet observed (observed 2)"
        )
    );
}

#[test]
fn a_deployment_without_replicas_wants_one() {
    let (mut o, _) = recorded("webapp-image-pull");
    o["spec"].as_object_mut().expect("spec").remove("replicas");
    assert_eq!(
        judge(&o).message(),
        Some("deployment webapp-image-pull: 0/1 available, 1 replica being removed")
    );
}

#[test]
fn an_object_being_deleted_is_terminating_whatever_its_status() {
    let (mut o, _) = recorded("webapp");
    o["metadata"]["deletionTimestamp"] = "2026-12-06T00:40:00Z".into();
    assert_eq!(
        judge(&o),
        progressing("Terminating", "deployment webapp: being deleted")
    );
}

#[test]
fn the_group_decides_the_rules_not_the_kind_name_alone() {
    // A custom resource called Deployment is read by its conditions, not by replica counts.
    let (o, _) = recorded("webapp-image-pull");
    assert_eq!(
        health("example.com", "Deployment", &typed(o)),
        progressing(
            "MinimumReplicasUnavailable",
            "deployment webapp-image-pull: Deployment does not have minimum availability."
        )
    );
}

#[test]
fn stateful_sets_need_every_replica_ready_on_the_update_revision() {
    assert_eq!(judge_recorded("db"), (Health::Healthy, Health::Healthy));
    assert_eq!(
        judge_recorded("db-rolling").1,
        progressing(
            "AwaitingReadiness",
            "statefulset db-rolling: 2/3 ready, 2/3 available, 1/3 updated; \
             pod db-rolling-2: container postgres: running, not ready"
        )
    );
    assert_eq!(
        judge(&written("statefulsets", "db-starting")),
        progressing(
            "AwaitingReadiness",
            "statefulset db-starting: 1/3 ready, 1/3 available, 2/3 updated"
        )
    );
    assert_eq!(
        judge(&written("statefulsets", "db-rolled")),
        progressing(
            "AwaitingReadiness",
            "statefulset db-rolled: revision db-84c7d9b6f not yet rolled out"
        ),
        "every pod updated, but the controller has not yet made it the current revision"
    );
}

#[test]
fn a_partitioned_rollout_is_done_once_the_ordinals_above_the_partition_are_updated() {
    let (mut o, _) = recorded("db-partitioned");
    assert_eq!(judge(&o), Health::Healthy);
    o["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1.into();
    assert_eq!(
        judge(&o).message(),
        Some("statefulset db-partitioned: 1/2 updated (partition 1)")
    );
}

#[test]
fn an_on_delete_stateful_set_does_not_wait_for_a_rollout_nobody_starts() {
    assert_eq!(
        judge(&written("statefulsets", "db-on-delete")),
        Health::Healthy
    );
}

#[test]
fn daemon_sets_need_every_node_scheduled_updated_and_available() {
    assert_eq!(judge_recorded("agent"), (Health::Healthy, Health::Healthy));
    assert_eq!(
        judge_recorded("agent-never-ready").1,
        progressing(
            "AwaitingReadiness",
            "daemonset agent-never-ready: 0/1 available; \
             pod agent-never-ready-sgj5k: container agent: running, not ready"
        )
    );
    assert_eq!(
        judge(&written("daemonsets", "agent-unavailable")),
        progressing(
            "AwaitingReadiness",
            "daemonset agent-unavailable: 1/3 available, 2/3 updated"
        )
    );
    assert_eq!(
        judge(&written("daemonsets", "agent-nowhere")),
        Health::Healthy
    );
}

#[test]
fn jobs_are_healthy_when_complete_degraded_when_failed_and_running_otherwise() {
    assert_eq!(
        judge_recorded("migrate-done"),
        (Health::Healthy, Health::Healthy)
    );
    assert_eq!(
        judge_recorded("migrate-db").1,
        degraded(
            "JobFailed",
            "job migrate-db: Job was active longer than specified deadline"
        ),
        "its pods were deleted at the deadline: nothing to add"
    );
    assert_eq!(
        judge_recorded("migrate-running"),
        (
            progressing(
                "AwaitingCompletion",
                "job migrate-running: 0/3 succeeded, 1 active"
            ),
            progressing(
                "AwaitingCompletion",
                "job migrate-running: 0/3 succeeded, 1 active; \
                 pod migrate-running-f8wnr: container migrate: running, not ready"
            )
        )
    );
    assert_eq!(
        judge(&written("jobs", "migrate-suspended")),
        progressing("Suspended", "job migrate-suspended: suspended")
    );
}

#[test]
fn a_failed_job_keeps_its_verdict_and_names_the_failed_pod() {
    assert_eq!(
        explain(
            judge(&written("jobs", "migrate-backoff")),
            &written_pods(&["migrate-backoff-9xk2p"])
        ),
        degraded(
            "JobFailed",
            "job migrate-backoff: Job has reached the specified backoff limit; \
             pod migrate-backoff-9xk2p: container migrate: terminated with exit code 1 \
             (Error): relation \"users\" already exists"
        )
    );
}

#[test]
fn claims_are_healthy_once_bound() {
    assert_eq!(judge_recorded("data-bound").0, Health::Healthy);
    assert_eq!(
        judge_recorded("data-waiting").0,
        progressing(
            "AwaitingBinding",
            "persistentvolumeclaim data-waiting: Pending, not bound"
        )
    );
    assert_eq!(
        judge(&written("claims", "data-lost")),
        degraded(
            "ClaimLost",
            "persistentvolumeclaim data-lost: its volume is lost"
        )
    );
}

#[test]
fn other_kinds_follow_their_ready_condition() {
    assert_eq!(judge(&written("other", "webapp-tls")), Health::Healthy);
    assert_eq!(
        judge(&written("other", "webapp-tls-issuing")),
        progressing(
            "DoesNotExist",
            "certificate webapp-tls-issuing: Issuing certificate as Secret does not exist"
        ),
        "not ready yet, by a reason that is no failure"
    );
    let failed = judge(&written("other", "webapp-tls-failed"));
    assert_eq!(failed.reason(), Some("Failed"));
    assert!(matches!(failed, Health::Degraded { .. }), "{failed}");
    assert_eq!(
        judge(&written("other", "ready-unknown-no-reason")),
        progressing(
            "AwaitingReadiness",
            "widget ready-unknown-no-reason: Ready is Unknown"
        )
    );
}

#[test]
fn kstatus_conditions_come_before_ready() {
    assert_eq!(
        judge(&written("other", "podinfo")),
        degraded(
            "InstallFailed",
            "helmrelease podinfo: Helm install failed for release podinfo/podinfo with chart \
             podinfo@6.7.0: context deadline exceeded"
        ),
        "Stalled"
    );
    assert_eq!(
        judge(&written("other", "podinfo-upgrading")),
        progressing(
            "Progressing",
            "helmrelease podinfo-upgrading: Running 'upgrade' action with timeout of 5m0s"
        ),
        "Reconciling"
    );
    assert_eq!(
        judge(&written("other", "podinfo-new-spec")),
        progressing(
            "LatestGenerationNotObserved",
            "helmrelease podinfo-new-spec: generation 4 not yet observed (observed 3)"
        ),
        "a Ready=True of an older generation"
    );
    assert_eq!(
        judge(&written("other", "odh-degraded")).reason(),
        Some("ComponentFailed"),
        "Degraded=True wins over Ready=True"
    );
}

#[test]
fn an_api_service_follows_its_available_condition() {
    assert_eq!(
        judge_recorded("v1beta1.metrics.k8s.io").0,
        progressing(
            "ServiceNotFound",
            "apiservice v1beta1.metrics.k8s.io: service/metrics-server in \"apps-test\" is not \
             present"
        ),
        "the Service may yet be created"
    );
    let h = judge(&written("other", "v1beta1.metrics.k8s.io"));
    assert_eq!(h.reason(), Some("FailedDiscoveryCheck"));
    assert!(matches!(h, Health::Degraded { .. }), "{h}");
}

#[test]
fn objects_without_conditions_are_healthy_once_they_exist() {
    assert_eq!(judge(&written("other", "plain")), Health::Healthy);
    assert_eq!(judge(&written("other", "webapp-config")), Health::Healthy);
}

fn not_available() -> Health {
    judge_recorded("webapp-image-pull").0
}

#[test]
fn a_missing_secret_is_named() {
    assert_eq!(
        explain(not_available(), &written_pods(&["webapp-7d9f8c6b5-cfg9k"])),
        degraded(
            "CreateContainerConfigError",
            "deployment webapp-image-pull: 0/2 available; pod webapp-7d9f8c6b5-cfg9k: \
             container web: secret \"db-credentials\" not found"
        )
    );
}

#[test]
fn a_crashing_init_container_is_named_as_one() {
    let h = explain(not_available(), &written_pods(&["webapp-7d9f8c6b5-init1"]));
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
fn pods_being_deleted_and_healthy_pods_explain_nothing() {
    let (_, running) = recorded("webapp");
    let mut pods = written_pods(&["webapp-7d9f8c6b5-gone1"]);
    pods.extend(running);
    assert_eq!(explain(not_available(), &pods), not_available());
}

#[test]
fn a_healthy_verdict_is_not_spoiled_by_its_pods() {
    let (_, pods) = recorded("webapp-image-pull");
    assert_eq!(explain(Health::Healthy, &pods), Health::Healthy);
}

#[test]
fn the_most_telling_pod_is_picked_whatever_the_order() {
    let mut pods = recorded("webapp-never-ready").1;
    pods.extend(recorded("webapp-image-pull").1);
    pods.extend(recorded("webapp-crash").1);
    pods.extend(written_pods(&["webapp-7d9f8c6b5-evict"]));
    let forward = explain(not_available(), &pods);
    pods.reverse();
    assert_eq!(explain(not_available(), &pods), forward);
    assert_eq!(
        forward.reason(),
        Some("CrashLoopBackOff"),
        "a crash loop over an image pull, both over a pod that is only not ready: {forward}"
    );
    let mut pulls = written_pods(&["webapp-7d9f8c6b5-a1b2c"]);
    pulls.extend(recorded("webapp-image-pull").1);
    assert_eq!(
        explain(not_available(), &pulls).reason(),
        Some("ImagePullBackOff"),
        "the back-off, which lasts, over the pull error before it"
    );
}

#[test]
fn an_evicted_pod_says_so() {
    let h = explain(not_available(), &written_pods(&["webapp-7d9f8c6b5-evict"]));
    assert!(
        h.message().is_some_and(|m| m.ends_with(
            "pod webapp-7d9f8c6b5-evict: Evicted: The node was low on resource: memory."
        )),
        "the eviction is more telling than the exit of the container it stopped: {h}"
    );
}

#[test]
fn a_container_that_succeeded_after_restarts_is_no_crash_loop() {
    let mut pod = written("pods", "webapp-7d9f8c6b5-c9run");
    pod["status"]["containerStatuses"][0]["state"] = serde_json::json!({
        "terminated": {"exitCode": 0, "reason": "Completed"}
    });
    assert_eq!(explain(not_available(), &[typed(pod)]), not_available());
}

fn selector_of(object: &Json) -> Result<Option<String>, SelectorError> {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let kind = object["kind"].as_str().expect("a kind");
    pod_selector(group, kind, &typed(object.clone()))
}

#[test]
fn workload_selectors_become_label_selector_queries() {
    assert_eq!(
        selector_of(&recorded("webapp").0),
        Ok(Some("app.kubernetes.io/name=webapp".to_string()))
    );
    assert_eq!(
        selector_of(&recorded("agent").0),
        Ok(Some("app.kubernetes.io/name=agent,!legacy".to_string()))
    );
    assert_eq!(
        selector_of(&written("daemonsets", "agent-tiers")),
        Ok(Some(
            "app.kubernetes.io/name=agent,tier in (node,edge),!legacy".to_string()
        ))
    );
    let (job, _) = recorded("migrate-done");
    assert_eq!(
        selector_of(&job),
        Ok(Some(format!(
            "batch.kubernetes.io/controller-uid={}",
            job["metadata"]["uid"].as_str().expect("a uid")
        )))
    );
    assert_eq!(
        selector_of(&recorded("db").0),
        Ok(Some("app.kubernetes.io/name=db".to_string()))
    );
    assert_eq!(
        selector_of(&recorded("data-bound").0),
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
    let (mut no_selector, _) = recorded("webapp");
    no_selector["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("selector");
    assert_eq!(
        selector_of(&no_selector),
        Err(SelectorError::Missing("deployment webapp".into()))
    );
}

/// Compiles one descriptor rule.
fn rule(api_version: &str, kind: &str, current: &str, failed: &str, in_progress: &str) -> Rules {
    let optional = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Rules::compile(&[HealthCheck {
        api_version: api_version.into(),
        kind: kind.into(),
        current: current.into(),
        failed: optional(failed),
        in_progress: optional(in_progress),
    }])
    .expect("the rule compiles")
}

/// The verdict on an object by `rules`, else by the built-in ones.
fn judge_by(rules: &Rules, object: &Json) -> Health {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let kind = object["kind"].as_str().expect("a kind");
    health_by(rules, group, kind, &typed(object.clone()))
}

const CERT_READY: &str = "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')";
const CERT_FAILED: &str =
    "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False' && c.reason == 'Failed')";
const CERT_ISSUING: &str = "status.conditions.exists(c, c.type == 'Issuing' && c.status == 'True')";

#[test]
fn a_descriptor_rule_judges_its_kind_in_flux_order_in_progress_failed_current() {
    let rules = rule(
        "cert-manager.io/v1",
        "Certificate",
        CERT_READY,
        CERT_FAILED,
        CERT_ISSUING,
    );
    assert_eq!(
        judge_by(&rules, &written("other", "webapp-tls")),
        Health::Healthy
    );
    assert_eq!(
        judge_by(&rules, &written("other", "webapp-tls-issuing")),
        progressing(
            AWAITING_READINESS,
            &format!("certificate webapp-tls-issuing: in progress ({CERT_ISSUING})")
        )
    );
    assert_eq!(
        judge_by(&rules, &written("other", "webapp-tls-failed")),
        degraded(
            HEALTH_CHECK_FAILED,
            &format!(
                "certificate webapp-tls-failed: failed ({CERT_FAILED}): The certificate request has failed to complete and will be retried: issuer \"letsencrypt\" not found"
            )
        )
    );
    // Another group's kind of the same name keeps the built-in rules.
    let mut other = written("other", "webapp-tls-issuing");
    other["apiVersion"] = serde_json::json!("example.com/v1");
    assert_eq!(
        judge_by(&rules, &other),
        judge(&other),
        "not the rule's kind"
    );
}

#[test]
fn a_descriptor_rule_replaces_the_built_in_rules_of_its_kind() {
    let plain = written("other", "plain");
    assert_eq!(
        judge(&plain),
        Health::Healthy,
        "nothing to wait for, built in"
    );
    let phase = "has(status.phase) && status.phase == 'Running'";
    let rules = rule("example.com/v1", "Widget", phase, "", "");
    assert_eq!(
        judge_by(&rules, &plain),
        progressing(
            AWAITING_READINESS,
            &format!("widget plain: not yet current ({phase})")
        ),
        "status is bound, empty, before a controller writes one"
    );
    let mut running = plain.clone();
    running["status"] = serde_json::json!({"phase": "Running"});
    assert_eq!(judge_by(&rules, &running), Health::Healthy);

    // Built-in workloads too; integers compare as CEL ints.
    let (webapp, _) = recorded("webapp");
    assert_eq!(judge(&webapp), Health::Healthy);
    let three = rule("apps/v1", "Deployment", "status.readyReplicas >= 3", "", "");
    assert_eq!(
        judge_by(&three, &webapp),
        progressing(
            AWAITING_READINESS,
            "deployment webapp: not yet current (status.readyReplicas >= 3)"
        )
    );
    let all = rule(
        "apps/v1",
        "Deployment",
        "status.readyReplicas == spec.replicas && metadata.name == 'webapp'",
        "",
        "",
    );
    assert_eq!(judge_by(&all, &webapp), Health::Healthy);
}

#[test]
fn a_rule_that_cannot_be_evaluated_is_a_reason_not_a_verdict() {
    let plain = written("other", "plain");
    let missing = rule(
        "example.com/v1",
        "Widget",
        "status.phase == 'Running'",
        "",
        "",
    );
    let Health::Progressing { reason, message } = judge_by(&missing, &plain) else {
        panic!("not progressing");
    };
    assert_eq!(reason, HEALTH_CHECK_ERROR);
    assert!(
        message.starts_with(
            "widget plain: health rule current \"status.phase == 'Running'\" cannot be evaluated: "
        ) && message.contains("phase"),
        "{message}"
    );
    let not_bool = rule("example.com/v1", "Widget", "status", "", "");
    assert_eq!(
        judge_by(&not_bool, &plain),
        progressing(
            HEALTH_CHECK_ERROR,
            "widget plain: health rule current \"status\" gave map, not a bool"
        )
    );
    // Comparing a number with a string is false (CEL's heterogeneous equality); calling a
    // string method on it is an error.
    let mut seven = plain.clone();
    seven["status"] = serde_json::json!({"phase": 7});
    let method = rule(
        "example.com/v1",
        "Widget",
        "status.phase.startsWith('Running')",
        "",
        "status.phase == 'Provisioning'",
    );
    let verdict = judge_by(&method, &seven);
    assert_eq!(verdict.reason(), Some(HEALTH_CHECK_ERROR), "{verdict}");
    assert!(
        verdict.message().is_some_and(|m| m.starts_with(
            "widget plain: health rule current \"status.phase.startsWith('Running')\" cannot be evaluated: "
        )),
        "{verdict}"
    );
    let failing = rule("example.com/v1", "Widget", "true", "1 / 0 == 1", "");
    assert_eq!(
        judge_by(&failing, &plain).reason(),
        Some(HEALTH_CHECK_ERROR),
        "a division by zero in failed stops before current"
    );
}

#[test]
fn a_rule_waits_for_the_latest_generation_like_the_built_in_ones() {
    let rules = rule("helm.toolkit.fluxcd.io/v2", "HelmRelease", "true", "", "");
    assert_eq!(
        judge_by(&rules, &written("other", "podinfo-new-spec")),
        progressing(
            "LatestGenerationNotObserved",
            "helmrelease podinfo-new-spec: generation 4 not yet observed (observed 3)"
        )
    );
    assert_eq!(
        judge_by(&rules, &written("other", "podinfo-upgrading")),
        Health::Healthy,
        "the rule, not the Reconciling condition, decides"
    );
}

#[test]
fn a_rule_that_does_not_compile_names_its_kind_field_and_expression() {
    let check = |current: &str, failed: Option<&str>| HealthCheck {
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        current: current.into(),
        failed: failed.map(str::to_string),
        in_progress: None,
    };
    let errors = Rules::compile(&[
        check("status.phase ==", Some("status.(")),
        check("true", None),
    ])
    .expect_err("does not compile");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(matches!(
        &errors[0],
        RuleError::Compile { field: "current", expression, .. } if expression == "status.phase =="
    ));
    assert!(matches!(
        &errors[1],
        RuleError::Compile { field: "failed", expression, .. } if expression == "status.("
    ));
    assert_eq!(
        errors[2].to_string(),
        "health rule for example.com/v1 Widget: declared twice"
    );
    assert!(
        errors[0].to_string().starts_with(
            "health rule for example.com/v1 Widget: current expression \"status.phase ==\": "
        ),
        "{}",
        errors[0]
    );
    assert!(matches!(
        Rules::compile(&[HealthCheck { kind: String::new(), ..check("true", None) }]),
        Err(e) if e == [RuleError::Incomplete { api_version: "example.com/v1".into(), kind: String::new() }]
    ));
}
