//! Reconciler benchmark on the local test control plane: `cargo bench --bench reconcile`.
//! It prints and never asserts:
//! - RSS of this process (which runs the reconciler) with every corpus chart plus 20 aliases
//!   of the example `webapp` registered, idle and after the runs below;
//! - langfuse (about 40 objects) from DSC change to every object applied: first install,
//!   then a value change that touches every object;
//! - API requests of a no-op reconcile (reads and writes);
//! - 20 components enabled at once until the DSC is Ready;
//! - a second corpus chart (argo-rollouts) from DSC change until the DSC is Ready, which
//!   means its workloads run on the kwok Node;
//! - writes per minute of the steady components afterwards (status writes among them; the
//!   goal is zero).

#[path = "../integration/corpus/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod corpus;
#[path = "../integration/reconcile_support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod reconcile_support;
#[path = "../integration/support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dsc_helm::reconcile::Metrics;
use dsc_helm::registry::{self, Registry};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use reconcile_support::*;
use serde_json::{Map, Value, json};

const WEBAPPS: usize = 20;

/// Resident memory, after handing freed heap pages back to the kernel so that the figure shows
/// what is in use rather than what the allocator keeps from the benchmark's own set-up.
fn rss_mb() -> f64 {
    // SAFETY: malloc_trim only releases free memory of glibc's heap; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Every corpus chart as a component named by its corpus id, plus `WEBAPPS` aliases of the
/// example webapp (`web-01`…), registered the way a platform team would, without code.
fn build_registry(root: &Path) -> Registry {
    let charts = root.join("charts");
    let components = root.join(registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&components).expect("components dir");
    let mut umbrella =
        String::from("apiVersion: v2\nname: bench-components\nversion: 0.0.1\ndependencies:\n");
    let mut add = |id: &str, archive: &Path| {
        let bytes = std::fs::read(archive).expect("archive");
        let chart = helm_render::chart::load_archive(&archive.display().to_string(), &bytes)
            .expect("chart loads");
        let (name, version) = (chart.name().to_string(), chart.metadata.version.clone());
        std::fs::write(charts.join(format!("{name}-{version}.tgz")), &bytes).expect("copy");
        let _ = write!(
            umbrella,
            "  - name: {name}\n    version: \"{version}\"\n    alias: {id}\n"
        );
        let descriptor = format!(
            "dependency: {id}\nkind: {}\n",
            corpus::registry::kind_for(id)
        );
        std::fs::write(components.join(format!("{id}.yaml")), descriptor).expect("descriptor");
    };
    let mut ids: Vec<String> = std::fs::read_dir(corpus::corpus_dir().join("charts"))
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    for id in &ids {
        add(
            id,
            &corpus::corpus_dir()
                .join("charts")
                .join(id)
                .join("chart.tgz"),
        );
    }
    let webapp = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/charts/webapp-0.1.0.tgz");
    for i in 1..=WEBAPPS {
        add(&format!("web-{i:02}"), &webapp);
    }
    std::fs::write(root.join("Chart.yaml"), umbrella).expect("umbrella");
    registry::load(root).unwrap_or_else(|e| panic!("registry: {e}"))
}

fn langfuse_values(web_replicas: u32) -> Value {
    let path =
        corpus::corpus_dir().join("charts/langfuse/cases/example-minimal-installation/values.yaml");
    let text = std::fs::read_to_string(&path).expect("corpus values");
    let mut values = helm_render::yaml::parse_value(&text)
        .expect("values")
        .to_json();
    values["langfuse"]["web"] = json!({"replicas": web_replicas});
    values
}

fn components(langfuse: Option<Value>, webapps: bool) -> Value {
    let mut m = Map::new();
    if let Some(values) = langfuse {
        m.insert(
            "langfuse".into(),
            json!({"managementState": "Managed", "values": values}),
        );
    }
    if webapps {
        for i in 1..=WEBAPPS {
            m.insert(format!("web-{i:02}"), json!({"managementState": "Managed"}));
        }
    }
    Value::Object(m)
}

async fn langfuse_applied(client: &kube::Client, generation_after: i64) -> i64 {
    let ar = resource(
        "components.platform.opendatahub.io",
        "v1alpha1",
        "Langfuse",
        "langfuses",
    );
    eventually("langfuse applied", || async {
        let cr = get(client, &ar, None, "default-langfuse").await?;
        let generation = cr.metadata.generation?;
        let observed = cr.data.pointer("/status/observedGeneration")?.as_i64()?;
        (generation > generation_after
            && observed == generation
            && condition(&cr, "Ready")?["status"] == "True")
            .then_some(generation)
    })
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    dsc_helm::return_freed_memory_promptly();
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let registry = Arc::new(build_registry(dir.path()));
    println!(
        "registry: {} components loaded in {:.2}s",
        registry.components.len(),
        started.elapsed().as_secs_f64()
    );
    println!("RSS after loading the registry: {:.1} MB", rss_mb());
    install_crds(&client, &registry).await;
    let requests = Requests::default();
    let operator_client = counting_client(plane, requests.clone()).await;
    let options = options("bench");
    let metrics = options.metrics.clone();
    let _running = start(operator_client, registry.clone(), options);
    // Let every controller start and settle (nothing is enabled yet).
    eventually("controllers idle", || async {
        (Metrics::get(&metrics.reconciles) >= registry.components.len() as u64).then_some(())
    })
    .await;
    println!(
        "RSS, {} components registered, idle: {:.1} MB",
        registry.components.len(),
        rss_mb()
    );

    let t = Instant::now();
    apply_dsc(&client, components(Some(langfuse_values(1)), false)).await;
    let generation = langfuse_applied(&client, 0).await;
    let objects = Metrics::get(&metrics.objects_applied);
    println!(
        "langfuse first install: {:.3}s ({objects} objects applied)",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let before = Metrics::get(&metrics.objects_applied);
    apply_dsc(&client, components(Some(langfuse_values(2)), false)).await;
    langfuse_applied(&client, generation).await;
    println!(
        "langfuse DSC change to all objects applied: {:.3}s ({} objects applied)",
        t.elapsed().as_secs_f64(),
        Metrics::get(&metrics.objects_applied) - before
    );

    // A no-op reconcile: the component resource is touched without changing its spec.
    let ar = resource(
        "components.platform.opendatahub.io",
        "v1alpha1",
        "Langfuse",
        "langfuses",
    );
    let crs: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    eventually("quiet", || async {
        let seen = requests.take();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        (seen.is_empty() && requests.0.lock().ok()?.is_empty()).then_some(())
    })
    .await;
    let unchanged = Metrics::get(&metrics.unchanged);
    let dsc_reconciles = Metrics::get(&metrics.dsc_reconciles);
    let t = Instant::now();
    crs.patch(
        "default-langfuse",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"annotations": {"bench/touch": "1"}}})),
    )
    .await
    .expect("touch");
    eventually("no-op reconcile", || async {
        (Metrics::get(&metrics.unchanged) > unchanged
            && Metrics::get(&metrics.dsc_reconciles) > dsc_reconciles)
            .then_some(())
    })
    .await;
    let elapsed = t.elapsed().as_secs_f64();
    let seen = requests.take();
    let writes: Vec<&String> = seen.iter().filter(|r| !r.starts_with("GET ")).collect();
    println!(
        "no-op reconcile (component + DSC controller): {} requests, {} writes, {:.3}s",
        seen.len(),
        writes.len(),
        elapsed
    );
    for r in &seen {
        println!("    {r}");
    }

    let t = Instant::now();
    apply_dsc(&client, components(Some(langfuse_values(2)), true)).await;
    dsc_condition(&client, "Ready", "True").await;
    println!(
        "{WEBAPPS} components enabled at once until DSC Ready: {:.3}s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut with_rollouts = components(Some(langfuse_values(2)), true);
    with_rollouts["argo-rollouts"] = json!({"managementState": "Managed"});
    apply_dsc(&client, with_rollouts).await;
    dsc_condition(&client, "Ready", "True").await;
    println!(
        "argo-rollouts enabled until DSC Ready (its controller running): {:.3}s",
        t.elapsed().as_secs_f64()
    );

    // Steady state: every component Ready, nothing changing. Ready is re-judged from watch
    // events, so a component that rewrote its status on every event would show here.
    const STEADY: std::time::Duration = std::time::Duration::from_secs(30);
    requests.take();
    tokio::time::sleep(STEADY).await;
    let seen = requests.take();
    let writes: Vec<&String> = seen.iter().filter(|r| !r.starts_with("GET ")).collect();
    let status_writes = writes.iter().filter(|r| r.ends_with("/status")).count();
    let per_minute = 60.0 / STEADY.as_secs_f64();
    println!(
        "steady, {} components Ready: {:.0} writes/min ({:.0} of them status), {:.0} reads/min",
        WEBAPPS + 2,
        writes.len() as f64 * per_minute,
        status_writes as f64 * per_minute,
        (seen.len() - writes.len()) as f64 * per_minute
    );
    for r in writes.iter().take(10) {
        println!("    {r}");
    }
    println!(
        "RSS after the runs: {:.1} MB; reconciles {}, failures {}",
        rss_mb(),
        Metrics::get(&metrics.reconciles),
        Metrics::get(&metrics.failures)
    );
    // What the operator keeps once the burst is over (the allocator returns freed memory
    // after a short delay).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    println!("RSS 2 s later, idle again: {:.1} MB", rss_mb());
}
