//! "Ready means running" on the test cluster: a component of our own chart
//! (`tests/fixtures/charts/workload`, whose values set the Deployment's replicas, the kwok
//! fault of its pods and an optional Job) is Ready only while its workloads run, says why not
//! in Open Data Hub's conditions on the component and the DSC, and follows its pods without
//! being re-applied.

use crate::reconcile_support;
use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsc_helm::reconcile::Metrics;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::ApiResource;
use reconcile_support::*;
use serde_json::{Value, json};

const NAME: &str = "default-workload";

/// The descriptor of the `workload` component without rules of its own.
const DESCRIPTOR: &str = "dependency: workload\nkind: Workload\n";

/// A registry of one component, `workload`, from the fixture chart and `descriptor`.
fn registry(root: &Path, descriptor: &str) -> dsc_helm::registry::Registry {
    let charts = root.join("charts");
    let components = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&components).expect("components dir");
    std::fs::write(
        charts.join("workload-0.1.0.tgz"),
        support::fixture_archive(
            "workload",
            &[
                "Chart.yaml",
                "values.yaml",
                "templates/deployment.yaml",
                "templates/job.yaml",
                "templates/gadget.yaml",
                "crds/gadgets.yaml",
            ],
        ),
    )
    .expect("archive");
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: health-test\nversion: 0.0.1\ndependencies:\n  - name: workload\n    version: 0.1.0\n",
    )
    .expect("umbrella");
    std::fs::write(components.join("workload.yaml"), descriptor).expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

/// The component's resource and the reconciler, running with `client`.
struct Setup {
    client: kube::Client,
    ar: ApiResource,
    metrics: Arc<Metrics>,
    namespace: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

async fn setup(prefix: &str, operator: Option<kube::Client>) -> Setup {
    setup_with(prefix, operator, DESCRIPTOR).await
}

async fn setup_with(prefix: &str, operator: Option<kube::Client>, descriptor: &str) -> Setup {
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(dir.path(), descriptor));
    install_crds(&client, &registry).await;
    let ar = dsc_helm::api::component_api_resource(&registry.components[0]);
    let options = options(prefix);
    let metrics = options.metrics.clone();
    let namespace = options.applications_namespace.clone();
    let running = start(operator.unwrap_or(client.clone()), registry, options);
    Setup {
        client,
        ar,
        metrics,
        namespace,
        _running: running,
        _dir: dir,
    }
}

async fn manage(client: &kube::Client, values: Value) {
    apply_dsc(
        client,
        json!({"workload": {"managementState": "Managed", "values": values}}),
    )
    .await;
}

/// Waits until the component's Ready condition, for its current generation, satisfies `want`.
async fn ready_when(
    s: &Setup,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> (DynamicObject, Value) {
    eventually(what, || async {
        let cr = get(&s.client, &s.ar, None, NAME).await?;
        let ready = condition(&cr, "Ready")?.clone();
        let current = ready["observedGeneration"].as_i64() == cr.metadata.generation;
        (current && want(&ready)).then_some((cr, ready))
    })
    .await
}

fn is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |c: &Value| c["status"] == status
}

/// The events about this incarnation of the component resource, as (type, reason).
async fn events(client: &kube::Client, cr: &DynamicObject) -> Vec<(String, String)> {
    let uid = cr.metadata.uid.clone();
    Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("events list")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.uid.clone()) == uid)
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pull_fault_is_named_with_deployment_and_pod_until_values_fix_it() {
    let _dsc = support::dsc_lock().await;
    let s = setup("pull", None).await;
    manage(&s.client, json!({"replicas": 2, "fault": "image-pull"})).await;

    let pulling = |c: &Value| {
        ["ImagePullBackOff", "ErrImagePull"].contains(&c["reason"].as_str().unwrap_or(""))
    };
    // Before the Deployment controller has written its status, the message says the
    // generation is not yet observed (the pods may already be there); then it counts.
    let pull = |c: &Value| {
        c["status"] == "False"
            && pulling(c)
            && c["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("deployment workload-web: 0/2 available"))
    };
    let (cr, ready) = ready_when(&s, "Ready=False for the image pull", pull).await;
    let message = ready["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("deployment workload-web: 0/2 available")
            && message.contains("; pod workload-web-")
            && message.contains("container web: "),
        "{message}"
    );
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], ready["reason"]);
    let provisioned = condition(&cr, "ProvisioningSucceeded").expect("ProvisioningSucceeded");
    assert_eq!(provisioned["status"], "True");
    let deployments = condition(&cr, "DeploymentsAvailable").expect("DeploymentsAvailable");
    assert_eq!(deployments["status"], "False");
    assert_eq!(deployments["message"], "0/1 deployments ready");
    let unhealthy = &cr.data["status"]["unhealthy"];
    assert_eq!(unhealthy[0]["kind"], "Deployment");
    assert_eq!(unhealthy[0]["name"], "workload-web");
    assert_eq!(unhealthy[0]["namespace"], s.namespace.as_str());

    // The DSC mirrors the component's reason and message.
    let dsc = eventually("the DSC mirrors the reason", || async {
        let dsc = get(&s.client, &dsc_resource(), None, DSC_NAME).await?;
        pull(condition(&dsc, "WorkloadReady")?).then_some(dsc)
    })
    .await;
    let mirrored = condition(&dsc, "WorkloadReady").expect("WorkloadReady");
    assert_eq!(mirrored["status"], "False");
    assert!(
        mirrored["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("deployment workload-web: 0/2 available"))
    );
    let components = condition(&dsc, "ComponentsReady").expect("ComponentsReady");
    assert_eq!(components["status"], "False");
    assert_eq!(
        components["message"],
        "Some components are not ready: workload"
    );
    assert_eq!(dsc.data["status"]["phase"], "Not Ready");
    let warned = eventually("a Warning event with the reason", || async {
        let seen = events(&s.client, &cr).await;
        seen.iter()
            .any(|(t, r)| t == "Warning" && pulling(&json!({"reason": r})))
            .then_some(seen)
    })
    .await;
    assert!(!warned.iter().any(|(_, r)| r == "Ready"), "{warned:?}");
    assert_eq!(s.metrics.is_ready("workload"), Some(false));

    // `kubectl wait` on the component returns once its pods run.
    let mut wait = support::shared().kubectl();
    wait.args([
        "wait",
        "--for=condition=Ready",
        &format!("{}.{}/{NAME}", s.ar.plural, s.ar.group),
        "--timeout=90s",
    ]);
    let waiting = tokio::task::spawn_blocking(move || wait.output());
    manage(&s.client, json!({"replicas": 2})).await;
    let output = waiting.await.expect("join").expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl wait: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (cr, ready) = ready_when(&s, "Ready after the fix", is("True")).await;
    assert_eq!(ready["reason"], "Ready");
    let deployments = condition(&cr, "DeploymentsAvailable").expect("DeploymentsAvailable");
    assert_eq!(deployments["status"], "True");
    assert_eq!(deployments["message"], "1/1 deployments ready");
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False"
    );
    assert!(cr.data["status"].get("unhealthy").is_none());
    dsc_condition(&s.client, "Ready", "True").await;
    eventually("a Normal Ready event", || async {
        let seen = events(&s.client, &cr).await;
        seen.iter()
            .any(|(t, r)| t == "Normal" && r == "Ready")
            .then_some(())
    })
    .await;
    assert_eq!(s.metrics.is_ready("workload"), Some(true));
    assert_eq!(s.metrics.ready_count("workload"), 1, "apply to Ready, once");
    let text = s.metrics.render();
    assert!(text.contains("dsc_helm_component_ready{component=\"workload\"} 1\n"));
    assert!(
        text.contains(
            "dsc_helm_component_apply_to_ready_seconds_count{component=\"workload\"} 1\n"
        )
    );
}

/// Open Data Hub counts a Deployment of zero replicas as not available; nothing is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_scaled_to_zero_is_ready() {
    let _dsc = support::dsc_lock().await;
    let s = setup("zero", None).await;
    manage(&s.client, json!({"replicas": 0})).await;
    let (cr, _) = ready_when(&s, "Ready with zero replicas", is("True")).await;
    let deployments = condition(&cr, "DeploymentsAvailable").expect("DeploymentsAvailable");
    assert_eq!(deployments["status"], "True");
    assert_eq!(deployments["message"], "1/1 deployments ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_degraded() {
    let _dsc = support::dsc_lock().await;
    let s = setup("job", None).await;
    let job = json!({"enabled": true, "fault": "never-ready", "activeDeadlineSeconds": 2});
    manage(&s.client, json!({"replicas": 1, "job": job})).await;
    let failed = |c: &Value| c["status"] == "False" && c["reason"] == "JobFailed";
    let (cr, ready) = ready_when(&s, "Ready=False JobFailed", failed).await;
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("job workload-task: ")),
        "{ready}"
    );
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "JobFailed");
    let unhealthy = cr.data["status"]["unhealthy"]
        .as_array()
        .expect("unhealthy");
    let names: Vec<&str> = unhealthy
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names, ["workload-task"], "the Deployment runs");
}

/// Waits on `stream` for the component's Ready condition to have `status`.
async fn next_ready(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Unpin),
    status: &str,
    within: Duration,
) -> Value {
    tokio::time::timeout(within, async {
        while let Some(event) = stream.try_next().await.expect("watch") {
            if let WatchEvent::Modified(cr) = event
                && let Some(ready) = condition(&cr, "Ready")
                && ready["status"] == status
            {
                return ready.clone();
            }
        }
        panic!("the watch ended");
    })
    .await
    .unwrap_or_else(|_| panic!("Ready={status} not seen within {within:?}"))
}

/// Pods lost and not replaceable (a ResourceQuota of zero pods in the namespace): the
/// Deployment's status says so, the component follows within seconds, and recovers by itself
/// once pods can be created again; nothing is applied meanwhile: the reconciler writes only
/// statuses (and the events about them). The quota keeps the outage long enough to be seen:
/// on kwok replacement pods are Ready within a second, before the Deployment's status may even
/// show the loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_its_pods_makes_a_component_not_ready_until_they_are_back() {
    let _dsc = support::dsc_lock().await;
    let requests = Requests::default();
    let operator = counting_client(support::shared(), requests.clone()).await;
    let s = setup("lose", Some(operator)).await;
    manage(&s.client, json!({"replicas": 2})).await;
    let (cr, _) = ready_when(&s, "Ready", is("True")).await;
    // Let the first rollout's status writes settle before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let crs: Api<DynamicObject> = Api::all_with(s.client.clone(), &s.ar);
    let version = crs
        .get(NAME)
        .await
        .expect("component")
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut stream = crs
        .watch(
            &WatchParams::default().fields(&format!("metadata.name={NAME}")),
            &version,
        )
        .await
        .expect("watch")
        .boxed();
    requests.take();
    let applied = Metrics::get(&s.metrics.objects_applied);
    let reconciles = Metrics::get(&s.metrics.reconciles);

    let quotas: Api<ResourceQuota> = Api::namespaced(s.client.clone(), &s.namespace);
    let quota: ResourceQuota = serde_json::from_value(
        json!({"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}}),
    )
    .expect("quota");
    quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("quota created");
    let pods: Api<Pod> = Api::namespaced(s.client.clone(), &s.namespace);
    let started = Instant::now();
    pods.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=workload-web"),
    )
    .await
    .expect("pods deleted");
    let lost = next_ready(&mut stream, "False", Duration::from_secs(15)).await;
    let noticed = started.elapsed();
    assert!(
        lost["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("deployment workload-web: ")),
        "{lost}"
    );
    quotas
        .delete("no-pods", &DeleteParams::default())
        .await
        .expect("quota deleted");
    next_ready(&mut stream, "True", Duration::from_secs(80)).await;
    eprintln!(
        "pods lost: not Ready after {noticed:?} ({}), Ready again {:?} after the loss",
        lost["reason"],
        started.elapsed()
    );

    assert_eq!(
        Metrics::get(&s.metrics.objects_applied),
        applied,
        "nothing re-applied"
    );
    assert_eq!(
        Metrics::get(&s.metrics.reconciles),
        reconciles,
        "health checks are no reconciles"
    );
    let writes: Vec<String> = requests
        .take_writes()
        .into_iter()
        .filter(|w| !w.ends_with("/status") && !w.contains("/events"))
        .collect();
    assert!(writes.is_empty(), "writes beyond status: {writes:?}");
    let seen = events(&s.client, &cr).await;
    assert!(
        seen.iter().any(|(t, _)| t == "Warning"),
        "a Warning when it stopped being Ready: {seen:?}"
    );
}

/// A crash loop restarts its container every few seconds; the component says so once and then
/// writes nothing while only the restart count rises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_is_reported_once_not_at_every_restart() {
    let _dsc = support::dsc_lock().await;
    let requests = Requests::default();
    let operator = counting_client(support::shared(), requests.clone()).await;
    let s = setup("crash", Some(operator)).await;
    manage(&s.client, json!({"replicas": 1, "fault": "crash-loop"})).await;
    let looping = |c: &Value| c["status"] == "False" && c["reason"] == "CrashLoopBackOff";
    let (_, ready) = ready_when(&s, "Ready=False CrashLoopBackOff", looping).await;
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.contains("container web: crash loop back-off, restarted")),
        "{ready}"
    );
    let pods: Api<Pod> = Api::namespaced(s.client.clone(), &s.namespace);
    let restarts = || async {
        pods.list(&ListParams::default().labels("app=workload-web"))
            .await
            .expect("pods")
            .items
            .iter()
            .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref()?.first())
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0)
    };
    requests.take();
    let before = restarts().await;
    // Two rechecks, and more than one restart.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(restarts().await > before, "the container kept restarting");
    let reads = requests.take();
    assert!(
        reads
            .iter()
            .any(|r| r.starts_with("GET ") && r.ends_with("/pods")),
        "the pods were looked at again: {reads:?}"
    );
    let writes: Vec<&String> = reads.iter().filter(|r| !r.starts_with("GET ")).collect();
    assert!(
        writes.is_empty(),
        "writes while only restarts rose: {writes:?}"
    );

    // Another fault is another reason, shown at once.
    manage(&s.client, json!({"replicas": 1, "fault": "oom"})).await;
    let oom = |c: &Value| c["status"] == "False" && c["reason"] == "OOMKilled";
    ready_when(&s, "Ready=False OOMKilled", oom).await;
}

/// A rolling update whose new pods cannot start leaves the old ones serving (Kubernetes keeps
/// them while the new ones are unavailable), but the component is not Ready and says which new
/// pod fails; the same for pods too big for any node, with the scheduler's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_cannot_start_is_not_ready_while_the_old_pods_serve() {
    let _dsc = support::dsc_lock().await;
    let s = setup("rollout", None).await;
    manage(&s.client, json!({"replicas": 2})).await;
    ready_when(&s, "Ready", is("True")).await;

    manage(&s.client, json!({"replicas": 2, "fault": "image-pull"})).await;
    let pull = |c: &Value| {
        c["status"] == "False"
            && ["ImagePullBackOff", "ErrImagePull"].contains(&c["reason"].as_str().unwrap_or(""))
            && c["message"]
                .as_str()
                .is_some_and(|m| m.contains("old replica"))
    };
    let (_, ready) = ready_when(&s, "Ready=False for the new pods' image", pull).await;
    let message = ready["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("deployment workload-web: "),
        "{message}"
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(s.client.clone(), &s.namespace);
    let serving = deployments
        .get("workload-web")
        .await
        .expect("deployment")
        .status
        .and_then(|st| st.available_replicas)
        .unwrap_or(0);
    assert!(
        serving >= 1,
        "the old pods still serve: {serving} available"
    );

    manage(&s.client, json!({"replicas": 2, "cpu": "1000"})).await;
    let unschedulable = |c: &Value| c["status"] == "False" && c["reason"] == "Unschedulable";
    let (_, ready) = ready_when(&s, "Ready=False Unschedulable", unschedulable).await;
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.contains("Insufficient cpu")),
        "the scheduler's message: {ready}"
    );

    manage(&s.client, json!({"replicas": 2})).await;
    ready_when(&s, "Ready once the rollout can finish", is("True")).await;
}

/// A custom resource is judged by its own conditions (kstatus's rules): its controller's
/// `Ready=False` holds the component back with the controller's reason, a failure among them
/// degrades it, and `Ready=True` lets it go. Here the test writes the status a controller
/// would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_resource_is_ready_when_its_conditions_say_so() {
    let _dsc = support::dsc_lock().await;
    let s = setup("gadget", None).await;
    manage(&s.client, json!({"replicas": 1, "gadget": true})).await;
    ready_when(&s, "Ready", is("True")).await;
    let gadgets: Api<DynamicObject> = Api::namespaced_with(
        s.client.clone(),
        &s.namespace,
        &resource("health.dsc-helm.test", "v1", "Gadget", "gadgets"),
    );
    let report = |status: &'static str, reason: &'static str, message: &'static str| {
        let gadgets = gadgets.clone();
        async move {
            let body = json!({"status": {"conditions": [{
                "type": "Ready", "status": status, "reason": reason, "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }]}});
            gadgets
                .patch_status(
                    "workload-gadget",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(&body),
                )
                .await
                .expect("gadget status");
        }
    };

    report("False", "NoBackend", "waiting for a backend").await;
    let waiting = |c: &Value| c["status"] == "False" && c["reason"] == "NoBackend";
    let (cr, ready) = ready_when(&s, "Ready=False NoBackend", waiting).await;
    assert_eq!(
        ready["message"],
        "gadget workload-gadget: waiting for a backend"
    );
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False"
    );

    report("False", "ReconcileFailed", "backend refused").await;
    let failed = |c: &Value| c["status"] == "False" && c["reason"] == "ReconcileFailed";
    let (cr, _) = ready_when(&s, "Ready=False ReconcileFailed", failed).await;
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "True"
    );

    report("True", "Running", "").await;
    ready_when(&s, "Ready with the gadget Ready", is("True")).await;
}

/// Writes the Gadget's status as its controller would.
async fn gadget_status(s: &Setup, status: Value) {
    let gadgets: Api<DynamicObject> = Api::namespaced_with(
        s.client.clone(),
        &s.namespace,
        &resource("health.dsc-helm.test", "v1", "Gadget", "gadgets"),
    );
    gadgets
        .patch_status(
            "workload-gadget",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&json!({ "status": status })),
        )
        .await
        .expect("gadget status");
}

/// A descriptor's CEL rule (Flux's `healthCheckExprs` shape) judges the Gadget by its `phase`
/// in place of the built-in rules: no status is not "nothing to wait for", a `Ready=True`
/// condition does not make a broken Gadget healthy, nor `Ready=False` a running one, and an
/// expression that cannot be evaluated on what the controller wrote says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descriptor_rule_judges_a_custom_resource_by_its_own_fields() {
    let _dsc = support::dsc_lock().await;
    let descriptor = "dependency: workload
kind: Workload
health:
  - apiVersion: health.dsc-helm.test/v1
    kind: Gadget
    inProgress: \"has(status.phase) && status.phase == 'Provisioning'\"
    failed: \"has(status.phase) && status.phase == 'Broken'\"
    current: \"has(status.phase) && status.phase.startsWith('Running')\"
";
    let s = setup_with("cel", None, descriptor).await;
    // No pods: only the Gadget has anything to wait for.
    manage(&s.client, json!({"replicas": 0, "gadget": true})).await;
    let not_current = |c: &Value| {
        c["status"] == "False"
            && c["reason"] == "AwaitingReadiness"
            && c["message"].as_str().is_some_and(|m| {
                m.starts_with("gadget workload-gadget: not yet current (has(status.phase)")
            })
    };
    ready_when(&s, "Ready=False until the rule holds", not_current).await;

    let ready_condition = |status: &str| {
        json!([{"type": "Ready", "status": status, "reason": "Said",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}])
    };
    gadget_status(
        &s,
        json!({"phase": "Broken", "conditions": ready_condition("True")}),
    )
    .await;
    let failed = |c: &Value| c["status"] == "False" && c["reason"] == "HealthCheckFailed";
    let (cr, ready) = ready_when(&s, "Ready=False HealthCheckFailed", failed).await;
    assert_eq!(
        ready["message"],
        "gadget workload-gadget: failed (has(status.phase) && status.phase == 'Broken')"
    );
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "HealthCheckFailed");

    gadget_status(&s, json!({"phase": 7})).await;
    let error = |c: &Value| c["status"] == "False" && c["reason"] == "HealthCheckError";
    let (_, ready) = ready_when(&s, "Ready=False HealthCheckError", error).await;
    assert!(
        ready["message"].as_str().is_some_and(|m| m.starts_with(
            "gadget workload-gadget: health rule current \"has(status.phase) && status.phase.startsWith('Running')\" cannot be evaluated: "
        )),
        "{ready}"
    );

    gadget_status(
        &s,
        json!({"phase": "Running", "conditions": ready_condition("False")}),
    )
    .await;
    let (cr, _) = ready_when(&s, "Ready by the rule", is("True")).await;
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False"
    );
}

/// Pods that run but never pass their readiness probe: nothing has failed, so the component is
/// not Ready (and not Degraded) and names the Deployment and the pod, until a values change
/// rolls out pods that become ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_that_runs_but_never_becomes_ready_is_named_until_values_fix_it() {
    let _dsc = support::dsc_lock().await;
    let s = setup("unready", None).await;
    manage(&s.client, json!({"replicas": 1, "fault": "never-ready"})).await;
    // Until the Deployment controller has counted the pod as updated, the message also says
    // `0/1 updated`; the pod may already run by then.
    let unready = |c: &Value| {
        c["status"] == "False"
            && c["message"].as_str().is_some_and(|m| {
                m.starts_with("deployment workload-web: 0/1 available; pod workload-web-")
                    && m.contains("container web: running, not ready")
            })
    };
    let (cr, ready) = ready_when(&s, "Ready=False, running but not ready", unready).await;
    let message = ready["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("deployment workload-web: 0/1 available; pod workload-web-"),
        "{message}"
    );
    assert_eq!(ready["reason"], "DeploymentsNotReady");
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False",
        "waiting may still help"
    );
    assert_eq!(
        condition(&cr, "DeploymentsAvailable").expect("DeploymentsAvailable")["message"],
        "0/1 deployments ready"
    );

    manage(&s.client, json!({"replicas": 1})).await;
    ready_when(&s, "Ready once new pods are ready", is("True")).await;
}

/// A container whose env reads a Secret that does not exist (the kwok stage stands for the
/// kubelet's check, see `fault_missing_config_names_the_secret_the_container_reads`): Degraded
/// with `CreateContainerConfigError` and the Secret named, on the component and the DSC. On
/// this cluster creating the Secret cannot heal the pod (kwok does not look at Secrets), so
/// the fix here is a values change that rolls out pods without the fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_named_until_values_fix_it() {
    let _dsc = support::dsc_lock().await;
    let s = setup("secret", None).await;
    let values = json!({"replicas": 1, "fault": "missing-config", "secret": "db-credentials"});
    manage(&s.client, values).await;
    let config = |c: &Value| {
        c["status"] == "False"
            && c["reason"] == "CreateContainerConfigError"
            && c["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("deployment workload-web: 0/1 available"))
    };
    let (cr, ready) = ready_when(&s, "Ready=False CreateContainerConfigError", config).await;
    let message = ready["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("; pod workload-web-")
            && message.ends_with("container web: secret \"db-credentials\" not found"),
        "{message}"
    );
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "CreateContainerConfigError");
    eventually("the DSC mirrors the reason", || async {
        let dsc = get(&s.client, &dsc_resource(), None, DSC_NAME).await?;
        config(condition(&dsc, "WorkloadReady")?).then_some(())
    })
    .await;

    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(s.client.clone(), &s.namespace);
    let secret = serde_json::from_value(json!({
        "metadata": {"name": "db-credentials"},
        "stringData": {"password": "s3cret"},
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret created");
    manage(
        &s.client,
        json!({"replicas": 1, "secret": "db-credentials"}),
    )
    .await;
    let (cr, _) = ready_when(&s, "Ready once the pods can start", is("True")).await;
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False"
    );
    secrets
        .delete("db-credentials", &DeleteParams::default())
        .await
        .expect("secret deleted");
}
