//! Scale benchmark on a private test cluster with three kwok Nodes: `cargo bench --bench scale`.
//! It prints a table and never asserts. `dsc-helm serve` (this build, in release) runs as a
//! child process, so that its memory, CPU time and API requests are its own.
//!
//! - floor: `kubectl apply --server-side` of exactly what `dsc-helm template` renders for every
//!   component (hooks and tests left out, as the reconciler leaves them), timed in the same run,
//!   into a namespace of its own that is deleted (and gone) before the operator starts;
//! - A: 40 aliases of the fleet fixture chart (100 objects each) and 10 corpus charts, about
//!   4,070 objects, enabled in one DSC apply: time to every component applied and to every
//!   component Ready (its pods running on the kwok Nodes), peak and steady RSS, CPU seconds,
//!   API requests by verb;
//! - C: one component's values changed (a Deployment's replicas): the writes that took, then two
//!   idle minutes (ten compressed) and the writes during them;
//! - B: A again, by a fresh operator, with 20,000 objects it does not manage (ConfigMaps,
//!   Secrets, Services and Deployments of zero replicas) in ten other namespaces, once the
//!   controller manager has caught up with them; the floor is measured again beside them.

#[path = "../integration/corpus/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod corpus;
#[path = "../integration/reconcile_support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod reconcile_support;
#[path = "../integration/scale/mod.rs"]
mod scale;
#[path = "../integration/support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use reconcile_support::*;
use serde_json::json;

const FLEETS: usize = 40;
/// Corpus charts whose objects are named after the release (so that aliases never collide),
/// without CRDs, webhooks or aggregated APIs, and whose workloads run on a kwok Node.
const CORPUS: &[&str] = &[
    "grafana",
    "oauth2-proxy",
    "prometheus-blackbox-exporter",
    "bitnami-nginx",
    "kiali-operator",
    "traefik",
    "istio-gateway",
    "cluster-autoscaler",
    "vector",
    "alertmanager",
];
const APPS: &str = "scale-apps";
const OPERATOR_NS: &str = "scale-op";
const FLOOR_NS: &str = "floor-apps";
const FOREIGN: usize = 20_000;
const IDLE: Duration = Duration::from_secs(120);

/// Runs kubectl with `args` (and `stdin_file` as its input); returns its stdout, panicking
/// with its stderr when it fails.
async fn kubectl(plane: &support::ControlPlane, args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::from(plane.kubectl());
    cmd.args(args);
    let out = cmd.output().await.expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl apply --server-side` of `file` into a namespace of its own, timed; the namespace is
/// deleted, and gone, before this returns.
async fn measure_floor(
    plane: &support::ControlPlane,
    client: &kube::Client,
    file: &Path,
) -> Duration {
    kubectl(plane, &["create", "namespace", FLOOR_NS]).await;
    let started = Instant::now();
    let file_arg = file.display().to_string();
    kubectl(
        plane,
        &["apply", "--server-side", "-n", FLOOR_NS, "-f", &file_arg],
    )
    .await;
    let floor = started.elapsed();
    kubectl(plane, &["delete", "namespace", FLOOR_NS, "--wait=false"]).await;
    namespace_gone(client, FLOOR_NS).await;
    floor
}

async fn namespace_gone(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(600);
    while api.get_opt(name).await.ok().flatten().is_some() {
        assert!(
            Instant::now() < deadline,
            "namespace {name} never went away"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One run of scenario A (or B): what the table shows.
struct Run {
    applied: Option<Duration>,
    ready: Option<Duration>,
    ready_count: usize,
    idle_mb: f64,
    peak_mb: f64,
    steady_mb: f64,
    cpu: f64,
    requests: Vec<(String, f64)>,
    objects: usize,
}

fn delta(after: &[(String, f64)], before: &[(String, f64)]) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(verb, n)| {
            let was = before
                .iter()
                .find(|(v, _)| v == verb)
                .map_or(0.0, |(_, n)| *n);
            (verb.clone(), n - was)
        })
        .filter(|(_, n)| *n > 0.0)
        .collect()
}

async fn run(
    plane: &support::ControlPlane,
    client: &kube::Client,
    root: &Path,
    registry: &dsc_helm::registry::Registry,
    dir: &Path,
) -> (Run, scale::Operator) {
    let operator = scale::Operator::start(
        &scale::operator_binary(),
        root,
        plane.kubeconfig(),
        (APPS, OPERATOR_NS),
        dir,
    );
    // Every controller has started and found nothing to do.
    let n = registry.components.len();
    let deadline = Instant::now() + Duration::from_secs(120);
    while operator.metric("dsc_helm_reconciles_total") < n as f64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle_mb = operator.rss_mb();
    let cpu_before = operator.cpu_seconds();
    let requests_before = operator.requests();
    let (progress, watches) = scale::Progress::watch(client, registry);
    let started = Instant::now();
    apply_dsc(client, scale::stanzas(registry, &HashMap::new())).await;
    let applied = progress.wait(n, false, Duration::from_secs(900)).await;
    let ready = progress.wait(n, true, Duration::from_secs(120)).await;
    let (_, ready_count, _, _) = progress.counts();
    let peak_mb = operator.peak_mb();
    let cpu = operator.cpu_seconds() - cpu_before;
    let requests = delta(&operator.requests(), &requests_before);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let steady_mb = operator.rss_mb();
    let objects = scale::ours_in(client, APPS).await;
    for task in watches {
        task.abort();
    }
    (
        Run {
            applied: applied.map(|t| t.duration_since(started)),
            ready: ready.map(|t| t.duration_since(started)),
            ready_count,
            idle_mb,
            peak_mb,
            steady_mb,
            cpu,
            requests,
            objects,
        },
        operator,
    )
}

/// Deletes the DSC and waits until the operator has removed every object it applied.
async fn tear_down(client: &kube::Client) {
    let dscs: Api<DynamicObject> = Api::all_with(client.clone(), &dsc_resource());
    let _ = dscs.delete(DSC_NAME, &DeleteParams::background()).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while scale::ours_in(client, APPS).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the operator never removed everything"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `FOREIGN` objects in ten namespaces of their own, none with our labels: 45% ConfigMaps,
/// 35% Secrets, 15% Services, 5% Deployments of zero replicas (each also makes the
/// controller manager create a ReplicaSet).
async fn create_foreign(client: &kube::Client) -> Duration {
    let started = Instant::now();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for i in 0..10 {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("foreign-{i}")}});
        let ns = serde_json::from_value(ns).expect("namespace");
        let _ = namespaces.create(&PostParams::default(), &ns).await;
    }
    let bodies = (0..FOREIGN).map(|i| {
        let ns = format!("foreign-{}", i % 10);
        let name = format!("other-{i}");
        let (ar, body) = match i * 20 / FOREIGN {
            0..=8 => (
                ("", "v1", "ConfigMap", "configmaps"),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"k": "v".repeat(200)}}),
            ),
            9..=15 => (
                ("", "v1", "Secret", "secrets"),
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                       "stringData": {"k": "v".repeat(200)}}),
            ),
            16..=18 => (
                ("", "v1", "Service", "services"),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                       "spec": {"ports": [{"port": 80}], "selector": {"app": name}}}),
            ),
            _ => (
                ("apps", "v1", "Deployment", "deployments"),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                       "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                                "template": {"metadata": {"labels": {"app": name}},
                                             "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
            ),
        };
        (ns, ar, body)
    });
    futures::stream::iter(bodies)
        .map(|(ns, (group, version, kind, plural), body)| {
            let client = client.clone();
            async move {
                let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
                let ar = kube::core::ApiResource::from_gvk_with_plural(&gvk, plural);
                let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &ar);
                let object: DynamicObject = serde_json::from_value(body).expect("object");
                let _ = api.create(&PostParams::default(), &object).await;
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

/// Waits until the Deployment controller has caught up with the foreign Deployments, so that
/// B measures the operator, not a controller manager still busy with 3,000 new objects.
async fn settle_foreign(client: &kube::Client) -> Duration {
    let started = Instant::now();
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let listed = deployments
            .list(&kube::api::ListParams::default())
            .await
            .expect("list deployments");
        let behind = listed
            .items
            .iter()
            .filter(|d| {
                d.status.as_ref().and_then(|s| s.observed_generation) != d.metadata.generation
            })
            .count();
        if behind == 0 || Instant::now() > deadline {
            if behind > 0 {
                println!("B: {behind} foreign Deployments still not observed by their controller");
            }
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("not reached".to_string(), |d| {
        format!("{:.1} s", d.as_secs_f64())
    })
}

fn requests_line(requests: &[(String, f64)]) -> String {
    requests
        .iter()
        .map(|(verb, n)| format!("{verb} {n:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let nodes: Vec<support::FakeNode> = (0..3)
        .map(|i| support::FakeNode::new(&format!("kwok-node-{i}")))
        .collect();
    let plane = support::ControlPlane::start_with(&nodes).expect("control plane");
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("charts");
    let mut members = scale::fleets(FLEETS);
    for id in CORPUS {
        let archive = corpus::corpus_dir()
            .join("charts")
            .join(id)
            .join("chart.tgz");
        members.push(scale::Member {
            name: (*id).to_string(),
            archive: std::fs::read(&archive).expect("corpus archive"),
            kind: corpus::registry::kind_for(id),
        });
    }
    let registry = scale::registry(&root, &members);
    install_crds(&client, &registry).await;
    let bin = scale::operator_binary();
    let (manifests, counts) = scale::rendered(&bin, &registry, FLOOR_NS);
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    println!(
        "{} components, {total} objects rendered ({FLEETS} fleet aliases of 100 objects, {} corpus charts)",
        registry.components.len(),
        CORPUS.len()
    );

    // The floor.
    let file = dir.path().join("floor.yaml");
    std::fs::write(&file, &manifests).expect("manifests");
    let floor = measure_floor(&plane, &client, &file).await;
    println!(
        "floor: kubectl apply --server-side of the same {total} objects: {:.1} s",
        floor.as_secs_f64()
    );

    // A.
    let (a, operator) = run(&plane, &client, &root, &registry, dir.path()).await;
    println!(
        "A: applied {} (ours/floor {:.2}), Ready {} ({} of {} components)",
        secs(a.applied),
        a.applied
            .map_or(f64::NAN, |d| d.as_secs_f64() / floor.as_secs_f64()),
        secs(a.ready),
        a.ready_count,
        registry.components.len()
    );

    // C.
    let writes_before = operator.writes();
    let applied_before = operator.metric("dsc_helm_objects_applied_total");
    let mut values = HashMap::new();
    values.insert("fleet-01".to_string(), json!({"replicas": 2}));
    let fleet = registry.get("fleet-01").expect("registered");
    let ar = dsc_helm::api::component_api_resource(fleet);
    let before = get(&client, &ar, None, &fleet.singleton_name())
        .await
        .and_then(|cr| cr.metadata.generation)
        .unwrap_or_default();
    apply_dsc(&client, scale::stanzas(&registry, &values)).await;
    eventually("fleet-01 reconciled with its new values", || async {
        let cr = get(&client, &ar, None, &fleet.singleton_name()).await?;
        let generation = cr.metadata.generation?;
        (generation > before
            && cr.data.pointer("/status/observedGeneration")?.as_i64() == Some(generation)
            && condition(&cr, "Ready")?["status"] == "True")
            .then_some(())
    })
    .await;
    let change_writes = operator.writes() - writes_before;
    let change_applied = operator.metric("dsc_helm_objects_applied_total") - applied_before;
    let idle_before = operator.writes();
    tokio::time::sleep(IDLE).await;
    let idle_writes = operator.writes() - idle_before;
    println!(
        "C: one component's replicas changed: {change_writes:.0} writes ({change_applied:.0} objects applied); {} s idle: {idle_writes:.0} writes",
        IDLE.as_secs()
    );
    tear_down(&client).await;
    drop(operator);

    // B.
    let created = create_foreign(&client).await;
    let settled = settle_foreign(&client).await;
    println!(
        "B: {FOREIGN} objects we do not manage created in {:.1} s; the controller manager caught up {:.1} s later",
        created.as_secs_f64(),
        settled.as_secs_f64()
    );
    // The floor again, on the cluster that now holds the foreign objects too.
    let floor_b = measure_floor(&plane, &client, &file).await;
    println!(
        "B: floor with the foreign objects: {:.1} s",
        floor_b.as_secs_f64()
    );
    let (b, operator) = run(&plane, &client, &root, &registry, dir.path()).await;
    tear_down(&client).await;
    drop(operator);

    println!();
    println!(
        "| scenario | objects | all applied | ours / floor | all Ready | idle RSS | peak RSS | steady RSS | CPU | API requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, r, floor) in [("A", &a, floor), ("B (+20,000 foreign)", &b, floor_b)] {
        println!(
            "| {name} | {} | {} | {:.2} | {} ({}/{}) | {:.0} MB | {:.0} MB | {:.0} MB | {:.1} s | {} |",
            r.objects,
            secs(r.applied),
            r.applied
                .map_or(f64::NAN, |d| d.as_secs_f64() / floor.as_secs_f64()),
            secs(r.ready),
            r.ready_count,
            registry.components.len(),
            r.idle_mb,
            r.peak_mb,
            r.steady_mb,
            r.cpu,
            requests_line(&r.requests)
        );
    }
    println!(
        "| floor: kubectl apply --server-side | {total} | {:.1} s (B: {:.1} s) | 1.00 | | | | | | |",
        floor.as_secs_f64(),
        floor_b.as_secs_f64()
    );
    println!(
        "B vs A: peak RSS {:+.1}%, time to all applied {:+.1}%, the floor's {:+.1}%",
        (b.peak_mb / a.peak_mb - 1.0) * 100.0,
        match (a.applied, b.applied) {
            (Some(x), Some(y)) => (y.as_secs_f64() / x.as_secs_f64() - 1.0) * 100.0,
            _ => f64::NAN,
        },
        (floor_b.as_secs_f64() / floor.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "C: {change_writes:.0} writes for the change ({change_applied:.0} objects applied), {idle_writes:.0} writes in {} s idle",
        IDLE.as_secs()
    );
}
