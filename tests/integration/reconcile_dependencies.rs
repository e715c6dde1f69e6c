//! Components that depend on components, on the test cluster: five aliases of the fixture
//! `workload` chart, a chain `top → middle → base` and an independent pair `solo-b → solo-a`.
//! The webhook refuses a dependency that could never be Ready; the reconciler holds a first
//! apply until the dependencies are Ready, times the wait out, starts within moments of the
//! last dependency turning Ready, keeps a running component when a dependency degrades, and
//! removes dependents' objects before their dependencies'. Order is read from the etcd
//! revisions (resourceVersions) the API server stamps on what the watches saw, never from
//! sleeps.

use crate::reconcile_support;
use crate::support;
use crate::webhook_client::{dry_run, serve_webhook};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use reconcile_support::*;
use serde_json::{Value, json};

use dsc_helm::registry::Registry;

/// (alias, kind, descriptor lines after `kind`).
const COMPONENTS: &[(&str, &str, &str)] = &[
    ("base", "Base", ""),
    (
        "middle",
        "Middle",
        "dependsOn: [base]\nreadinessTimeout: 3s\n",
    ),
    ("top", "Top", "dependsOn: [middle]\n"),
    ("solo-a", "SoloA", ""),
    ("solo-b", "SoloB", "dependsOn: [solo-a]\n"),
];

/// The umbrella chart of `components`, each an alias of the fixture chart without its CRD
/// (one CRD cannot belong to five components).
fn write_registry(root: &Path, components: &[(&str, &str, &str)]) -> PathBuf {
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(root.join("charts")).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    std::fs::write(
        root.join("charts/workload-0.1.0.tgz"),
        support::fixture_archive(
            "workload",
            &["Chart.yaml", "values.yaml", "templates/deployment.yaml"],
        ),
    )
    .expect("archive");
    let mut umbrella =
        "apiVersion: v2\nname: dependency-test\nversion: 0.0.1\ndependencies:\n".to_string();
    for (alias, kind, extra) in components {
        umbrella.push_str(&format!(
            "  - name: workload\n    version: 0.1.0\n    alias: {alias}\n"
        ));
        std::fs::write(
            descriptors.join(format!("{alias}.yaml")),
            format!("dependency: {alias}\nkind: {kind}\n{extra}"),
        )
        .expect("descriptor");
    }
    std::fs::write(root.join("Chart.yaml"), umbrella).expect("umbrella");
    root.to_path_buf()
}

/// What the test's own watches saw: (when, what, etcd revision).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Instant, String, u64)>>>);

impl Seen {
    fn push(&self, what: String, revision: Option<&String>) {
        let revision = revision.and_then(|r| r.parse().ok()).unwrap_or_default();
        self.0
            .lock()
            .expect("not poisoned")
            .push((Instant::now(), what, revision));
    }

    /// The first record of `what`.
    fn first(&self, what: &str) -> Option<(Instant, u64)> {
        self.0
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|(_, w, _)| w == what)
            .map(|(t, _, r)| (*t, *r))
    }

    /// How many records there are so far.
    fn len(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }

    /// The revision of the first record of `what` from position `start` on.
    fn first_since(&self, start: usize, what: &str) -> Option<u64> {
        self.0
            .lock()
            .expect("not poisoned")
            .iter()
            .skip(start)
            .find(|(_, w, _)| w == what)
            .map(|(_, _, r)| *r)
    }
}

/// Records each Deployment's creation and deletion in `namespace`, and each component's
/// Ready condition turning True (`<alias> Ready`), with their revisions.
fn watch_everything(
    client: &kube::Client,
    namespace: &str,
    resources: Vec<(String, ApiResource)>,
    seen: Seen,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let record = seen.clone();
    tasks.push(tokio::spawn(async move {
        let stream = watcher(deployments, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        let mut known = std::collections::BTreeSet::new();
        // A failed watch is retried (and relists); only events count.
        while let Some(event) = stream.next().await {
            let Ok(event) = event else { continue };
            match event {
                watcher::Event::Apply(d) | watcher::Event::InitApply(d) => {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    if known.insert(name.clone()) {
                        record.push(
                            format!("{name} added"),
                            d.metadata.resource_version.as_ref(),
                        );
                    }
                }
                watcher::Event::Delete(d) => {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    known.remove(&name);
                    record.push(
                        format!("{name} deleted"),
                        d.metadata.resource_version.as_ref(),
                    );
                }
                _ => {}
            }
        }
    }));
    for (alias, ar) in resources {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let record = seen.clone();
        tasks.push(tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            futures::pin_mut!(stream);
            let mut was_ready = false;
            // A failed watch is retried (and relists); only events count.
            while let Some(event) = stream.next().await {
                let Ok(event) = event else { continue };
                if let watcher::Event::Apply(cr) | watcher::Event::InitApply(cr) = event {
                    let ready = condition(&cr, "Ready").is_some_and(|c| c["status"] == "True");
                    if ready && !was_ready {
                        record.push(
                            format!("{alias} Ready"),
                            cr.metadata.resource_version.as_ref(),
                        );
                    }
                    was_ready = ready;
                }
            }
        }));
    }
    tasks
}

struct Chain {
    client: kube::Client,
    registry: Arc<Registry>,
    namespace: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

impl Chain {
    fn resource(&self, alias: &str) -> ApiResource {
        let component = self.registry.get(alias).expect("registered");
        dsc_helm::api::component_api_resource(component)
    }

    /// Waits until `alias` reports, for its current generation, a Ready condition `want` holds.
    async fn ready_when(
        &self,
        alias: &str,
        what: &str,
        want: impl Fn(&Value) -> bool,
    ) -> DynamicObject {
        let ar = self.resource(alias);
        let name = format!("default-{alias}");
        eventually(&format!("{alias}: {what}"), || async {
            let cr = get(&self.client, &ar, None, &name).await?;
            let ready = condition(&cr, "Ready")?;
            let current = ready["observedGeneration"].as_i64() == cr.metadata.generation;
            (current && want(ready)).then_some(cr.clone())
        })
        .await
    }

    async fn deployments(&self) -> Vec<String> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut names: Vec<String> = api
            .list(&ListParams::default())
            .await
            .expect("list deployments")
            .items
            .into_iter()
            .filter_map(|d| d.metadata.name)
            .collect();
        names.sort();
        names
    }
}

fn reason_is(reason: &'static str) -> impl Fn(&Value) -> bool {
    move |c: &Value| c["status"] == "False" && c["reason"] == reason
}

fn pulling(c: &Value) -> bool {
    c["status"] == "False"
        && ["ImagePullBackOff", "ErrImagePull"].contains(&c["reason"].as_str().unwrap_or(""))
}

fn message(cr: &DynamicObject) -> String {
    condition(cr, "Ready")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn stanzas(state: &str, base_values: Value) -> Value {
    let mut all = serde_json::Map::new();
    for (alias, _, _) in COMPONENTS {
        all.insert((*alias).to_string(), json!({"managementState": state}));
    }
    all.insert(
        "base".to_string(),
        json!({"managementState": state, "values": base_values}),
    );
    Value::Object(all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_waits_for_its_first_link_starts_in_order_and_is_removed_in_reverse() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_registry(&dir.path().join("charts"), COMPONENTS);
    let registry = dsc_helm::registry::load(&root).expect("registry loads");
    install_crds(&client, &registry).await;
    let _webhook = serve_webhook(&client, registry.clone(), dir.path(), "opendatahub").await;

    // Admission: a Managed component whose dependency is Removed is refused, naming both. The
    // API server picks the webhook configuration up asynchronously, so the dry run is repeated
    // until the webhook answers.
    let lonely = json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": DSC_NAME},
        "spec": {"components": {
            "base": {"managementState": "Removed"},
            "middle": {"managementState": "Managed"},
        }},
    });
    let refusal = eventually("the webhook refuses the lonely dependent", || async {
        let (accepted, stderr) = dry_run(&lonely).await;
        (!accepted).then_some(stderr)
    })
    .await;
    assert!(
        refusal.contains("spec.components.middle: depends on base, which is Removed"),
        "{refusal}"
    );

    let registry = Arc::new(registry);
    let options = options("deps");
    let namespace = options.applications_namespace.clone();
    let seen = Seen::default();
    let resources = COMPONENTS
        .iter()
        .map(|(alias, _, _)| {
            let c = registry.get(alias).expect("registered");
            (
                (*alias).to_string(),
                dsc_helm::api::component_api_resource(c),
            )
        })
        .collect();
    let watches = watch_everything(&client, &namespace, resources, seen.clone());
    let chain = Chain {
        client: client.clone(),
        registry: registry.clone(),
        namespace,
        _running: start(client.clone(), registry, options),
        _dir: dir,
    };

    // The first link cannot pull its image: the chain waits and says for what, the middle
    // link times out after its 3 s, and the independent pair comes up meanwhile.
    apply_dsc(&client, stanzas("Managed", json!({"fault": "image-pull"}))).await;
    chain
        .ready_when("base", "cannot pull its image", pulling)
        .await;
    let middle = chain
        .ready_when(
            "middle",
            "times out waiting for base",
            reason_is("DependencyTimeout"),
        )
        .await;
    let said = message(&middle);
    assert!(
        said.starts_with("dependencies not Ready within 3s; waiting for base: ")
            && (said.ends_with("ImagePullBackOff") || said.ends_with("ErrImagePull")),
        "{said}"
    );
    let degraded = condition(&middle, "Degraded").expect("Degraded");
    assert_eq!(
        (degraded["status"].as_str(), degraded["reason"].as_str()),
        (Some("True"), Some("DependencyTimeout"))
    );
    // The end of the chain names its own dependency's reason, whatever that is by now.
    let waits = reason_is("AwaitingDependency");
    let top = chain
        .ready_when("top", "waits for the timed-out middle", |c| {
            waits(c) && c["message"] == "waiting for middle: DependencyTimeout"
        })
        .await;
    assert_eq!(
        condition(&top, "Degraded").expect("Degraded")["status"],
        "False"
    );
    chain
        .ready_when("solo-a", "Ready", |c| c["status"] == "True")
        .await;
    chain
        .ready_when("solo-b", "Ready after solo-a", |c| c["status"] == "True")
        .await;
    chain.ready_when("base", "still cannot pull", pulling).await;
    assert_eq!(
        chain.deployments().await,
        ["base-web", "solo-a-web", "solo-b-web"],
        "nothing of the waiting links is applied"
    );
    let (_, solo_a_ready) = seen.first("solo-a Ready").expect("solo-a turned Ready");
    let (_, solo_b_added) = seen.first("solo-b-web added").expect("solo-b applied");
    assert!(solo_a_ready < solo_b_added, "solo-b waited for solo-a");

    // Fixed: the chain comes up link by link, each right after the one before turned Ready.
    apply_dsc(&client, stanzas("Managed", json!({"fault": ""}))).await;
    for alias in ["base", "middle", "top"] {
        chain
            .ready_when(alias, "Ready after the fix", |c| c["status"] == "True")
            .await;
    }
    let mut gaps = Vec::new();
    for (dependency, dependent) in [("base", "middle"), ("middle", "top")] {
        let (ready_at, ready_revision) = seen
            .first(&format!("{dependency} Ready"))
            .expect("the dependency turned Ready");
        let (added_at, added_revision) = seen
            .first(&format!("{dependent}-web added"))
            .expect("the dependent was applied");
        assert!(
            ready_revision < added_revision,
            "{dependent} was applied (revision {added_revision}) before {dependency} was Ready (revision {ready_revision})"
        );
        gaps.push(format!(
            "{dependency} Ready → {dependent} applied: {} ms",
            added_at.saturating_duration_since(ready_at).as_millis()
        ));
    }
    println!(
        "dependency gate latency (test watches): {}",
        gaps.join(", ")
    );

    // The picture, coloured by the live components.
    let picture = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
        .arg("graph")
        .arg("--charts")
        .arg(&root)
        .arg("--kubeconfig")
        .arg(support::shared().kubeconfig())
        .output()
        .expect("dsc-helm graph runs");
    let dot = String::from_utf8_lossy(&picture.stdout);
    assert!(
        picture.status.success(),
        "{}",
        String::from_utf8_lossy(&picture.stderr)
    );
    assert!(
        dot.contains("\"top\" -> \"middle\";") && dot.contains("\"middle\" -> \"base\";"),
        "{dot}"
    );
    assert!(
        dot.contains("\"base\" [label=\"base\\nReady\", style=filled, fillcolor=palegreen];"),
        "{dot}"
    );

    // A running link is not torn down when its dependency degrades: it is told, as Info.
    let before = chain.deployments().await;
    let middle_web: Api<Deployment> = Api::namespaced(client.clone(), &chain.namespace);
    let uid = middle_web
        .get("middle-web")
        .await
        .expect("middle-web")
        .metadata
        .uid;
    apply_dsc(&client, stanzas("Managed", json!({"fault": "image-pull"}))).await;
    chain.ready_when("base", "cannot pull again", pulling).await;
    let ar = chain.resource("middle");
    let middle = eventually("middle reports its dependency as Info", || async {
        let cr = get(&client, &ar, None, "default-middle").await?;
        let degraded = condition(&cr, "Degraded")?;
        (degraded["reason"] == "DependencyNotReady").then_some(cr.clone())
    })
    .await;
    let degraded = condition(&middle, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["severity"], "Info");
    assert!(
        degraded["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("waiting for base: ")),
        "{degraded}"
    );
    assert_eq!(
        condition(&middle, "Ready").expect("Ready")["status"],
        "True"
    );
    assert_eq!(chain.deployments().await, before, "nothing was removed");
    assert_eq!(
        middle_web
            .get("middle-web")
            .await
            .expect("middle-web")
            .metadata
            .uid,
        uid,
        "middle-web is the same object"
    );

    // Removed together: dependents' objects go before their dependencies'.
    apply_dsc(&client, stanzas("Removed", json!({"fault": ""}))).await;
    eventually("every Deployment removed", || async {
        chain.deployments().await.is_empty().then_some(())
    })
    .await;
    let deleted = |name: &str| {
        seen.first(&format!("{name}-web deleted"))
            .map(|(_, revision)| revision)
            .unwrap_or_else(|| panic!("{name}-web deletion seen"))
    };
    let (top, middle, base) = (deleted("top"), deleted("middle"), deleted("base"));
    assert!(
        top < middle && middle < base,
        "deletion revisions: top {top}, middle {middle}, base {base}"
    );
    assert!(deleted("solo-b") < deleted("solo-a"));

    // The DSC deleted: the garbage collector deletes every component resource at once, and
    // still the dependents' objects go first.
    let removed_at = seen.len();
    apply_dsc(&client, stanzas("Managed", json!({"fault": ""}))).await;
    for (alias, _, _) in COMPONENTS {
        chain
            .ready_when(alias, "Ready again", |c| c["status"] == "True")
            .await;
    }
    let dscs: Api<DynamicObject> = Api::all_with(client.clone(), &dsc_resource());
    dscs.delete(DSC_NAME, &kube::api::DeleteParams::background())
        .await
        .expect("DSC deleted");
    eventually("every Deployment removed with the DSC", || async {
        chain.deployments().await.is_empty().then_some(())
    })
    .await;
    let deleted_again = |name: &str| {
        seen.first_since(removed_at, &format!("{name}-web deleted"))
            .unwrap_or_else(|| panic!("{name}-web deletion seen again"))
    };
    let (top, middle, base) = (
        deleted_again("top"),
        deleted_again("middle"),
        deleted_again("base"),
    );
    assert!(
        top < middle && middle < base,
        "deletion revisions after the DSC's deletion: top {top}, middle {middle}, base {base}"
    );
    assert!(deleted_again("solo-b") < deleted_again("solo-a"));
    for task in watches {
        task.abort();
    }
}

/// A cycle among descriptors stops the registry load, and with it every command that reads the
/// registry, naming the loop.
#[test]
fn a_dependency_cycle_stops_the_operator_before_it_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_registry(
        &dir.path().join("charts"),
        &[
            ("one", "One", "dependsOn: [three]\n"),
            ("two", "Two", "dependsOn: [one]\n"),
            ("three", "Three", "dependsOn: [two]\n"),
        ],
    );
    for command in ["graph", "charts"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
            .args([command, "--charts"])
            .arg(&root)
            .output()
            .expect("dsc-helm runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command} succeeded");
        assert!(
            stderr.contains("dependsOn: dependency cycle one → three → two → one"),
            "{command}: {stderr}"
        );
    }
}
