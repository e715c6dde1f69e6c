//! Upgrades that change immutable fields, on the test cluster, with a chart of ours whose
//! Deployment selector follows a value (`track`) and whose StatefulSet's claim template
//! follows another (`storage`):
//! - under the default strategy the webhook warns through kubectl, the API server refuses the
//!   change, and the component reports `Degraded` (`ImmutableFieldChange`) while the old
//!   Deployment keeps serving;
//! - under `upgradeStrategy: recreate` the Deployment is deleted in the foreground and created
//!   again with the new selector, its pods replaced;
//! - a StatefulSet under `recreate` is deleted with its pods and claims orphaned, and the new
//!   one adopts them: same pod, same claim.

use crate::reconcile_support::*;
use crate::support;
use crate::webhook_client::{kubectl_apply, serve_webhook};

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {{ .Release.Name }}-web
      track: {{ .Values.track | quote }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}-web
        track: {{ .Values.track | quote }}
    spec:
      containers:
        - name: web
          image: registry.example/web:1
"#;

const STATEFUL_SET: &str = r#"{{- if .Values.statefulSet }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-db
spec:
  clusterIP: None
  selector:
    app: {{ .Release.Name }}-db
  ports:
    - port: 5432
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-db
spec:
  replicas: 1
  serviceName: {{ .Release.Name }}-db
  selector:
    matchLabels:
      app: {{ .Release.Name }}-db
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}-db
    spec:
      containers:
        - name: db
          image: registry.example/db:1
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: {{ .Values.storage }}
{{- end }}
"#;

/// A registry of one alias of the `immutable-demo` chart, `name` (kind `kind`), with
/// `descriptor` lines after the kind.
fn registry(root: &Path, name: &str, kind: &str, descriptor: &str) -> dsc_helm::registry::Registry {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: immutable-demo\nversion: 0.1.0\n",
        ),
        (
            "values.yaml",
            "track: a\nstatefulSet: false\nstorage: 1Gi\n",
        ),
        ("templates/deployment.yaml", DEPLOYMENT),
        ("templates/statefulset.yaml", STATEFUL_SET),
    ];
    let charts = root.join("charts");
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    std::fs::write(
        charts.join("immutable-demo-0.1.0.tgz"),
        support::chart_archive("immutable-demo", &files),
    )
    .expect("archive");
    std::fs::write(
        root.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: immutable-test\nversion: 0.0.1\ndependencies:\n  - name: immutable-demo\n    version: 0.1.0\n    alias: {name}\n"
        ),
    )
    .expect("umbrella");
    std::fs::write(
        descriptors.join(format!("{name}.yaml")),
        format!("dependency: {name}\nkind: {kind}\n{descriptor}"),
    )
    .expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

/// The DSC with `name` Managed with `values`.
fn dsc(name: &str, values: Value) -> Value {
    json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": DSC_NAME},
        "spec": {"components": {(name): {"managementState": "Managed", "values": values}}},
    })
}

/// The component resource once `check` holds for its Ready and Degraded conditions.
async fn component_when(
    client: &kube::Client,
    registry: &dsc_helm::registry::Registry,
    what: &str,
    check: impl Fn(&Value, &Value) -> bool,
) -> DynamicObject {
    let component = &registry.components[0];
    let ar = dsc_helm::api::component_api_resource(component);
    let name = component.singleton_name();
    eventually(what, || async {
        let cr = get(client, &ar, None, &name).await?;
        let ready = condition(&cr, "Ready")?.clone();
        let degraded = condition(&cr, "Degraded")?.clone();
        check(&ready, &degraded).then_some(cr)
    })
    .await
}

/// The note of the first event about `cr` with `reason`.
async fn event_note(client: &kube::Client, cr: &DynamicObject, reason: &str) -> String {
    let uid = cr.metadata.uid.clone();
    eventually(&format!("a {reason} event"), || async {
        Api::<Event>::all(client.clone())
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.uid.clone()) == uid)
            .find(|e| e.reason.as_deref() == Some(reason))
            .and_then(|e| e.note)
    })
    .await
}

fn available(d: &Deployment) -> bool {
    d.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True"))
        && d.status.as_ref().and_then(|s| s.available_replicas) == Some(1)
}

fn track_of(d: &Deployment) -> Option<String> {
    d.spec
        .selector
        .match_labels
        .as_ref()
        .and_then(|l| l.get("track"))
        .cloned()
}

async fn pod_uids(client: &kube::Client, namespace: &str, app: &str) -> BTreeSet<String> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.uid)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_change_is_warned_about_then_kept_while_the_old_deployment_serves() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = registry(&dir.path().join("charts"), "keep-demo", "KeepDemo", "");
    install_crds(&client, &registry).await;
    let options = options("immutable-keep");
    let namespace = options.applications_namespace.clone();
    let _webhook = serve_webhook(&client, registry.clone(), dir.path(), &namespace).await;
    let registry = Arc::new(registry);
    let _running = start(client.clone(), registry.clone(), options);
    apply_dsc(
        &client,
        json!({"keep-demo": {"managementState": "Managed", "values": {"track": "a"}}}),
    )
    .await;
    component_when(&client, &registry, "keep-demo Ready", |r, _| {
        r["status"] == "True"
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let before = deployments.get("keep-demo-web").await.expect("deployment");

    // The webhook allows the change and warns, through kubectl, naming what will happen. The
    // API server takes a new webhook registration up within moments: the dry run is repeated
    // until the warning shows.
    let moved = dsc("keep-demo", json!({"track": "b"}));
    let server_side = [
        "--server-side",
        "--field-manager=test-user",
        "--force-conflicts",
    ];
    let dry_run_flags = [&server_side[..], &["--dry-run=server"]].concat();
    eventually("the webhook's warning", || async {
        let (accepted, stderr) = kubectl_apply(&moved, &dry_run_flags).await;
        (accepted && stderr.contains("Warning:")).then_some(())
    })
    .await;
    let (accepted, stderr) = kubectl_apply(&moved, &server_side).await;
    assert!(accepted, "{stderr}");
    let expected = format!(
        "Warning: spec.components.keep-demo.values: Deployment {namespace}/keep-demo-web: these values change spec.selector, which cannot change in place; the API server refuses the change: the running Deployment is kept as it is and the component reports Degraded (ImmutableFieldChange); a descriptor with upgradeStrategy: recreate replaces it instead"
    );
    assert!(
        stderr.lines().any(|l| l == expected),
        "kubectl printed:\n{stderr}\nexpected the line:\n{expected}"
    );

    // The reconciler meets the refusal: Degraded, naming the object and the field; Ready
    // still, since the old Deployment runs on.
    let cr = component_when(&client, &registry, "keep-demo Degraded", |_, d| {
        d["reason"] == "ImmutableFieldChange"
    })
    .await;
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    let message = degraded["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "Deployment {namespace}/keep-demo-web: spec.selector cannot change in place, so the running object is kept"
        )),
        "{message}"
    );
    assert_eq!(condition(&cr, "Ready").expect("Ready")["status"], "True");
    let after = deployments.get("keep-demo-web").await.expect("deployment");
    assert_eq!(
        after.metadata.uid, before.metadata.uid,
        "the same Deployment"
    );
    assert_eq!(track_of(&after).as_deref(), Some("a"));
    assert!(available(&after), "the old Deployment still serves");
    let note = event_note(&client, &cr, "ImmutableFieldChange").await;
    assert!(note.contains("keep-demo-web: spec.selector"), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_replaces_a_deployment_whose_selector_changed() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(
        &dir.path().join("charts"),
        "swap-demo",
        "SwapDemo",
        "upgradeStrategy: recreate\n",
    ));
    install_crds(&client, &registry).await;
    let options = options("immutable-swap");
    let namespace = options.applications_namespace.clone();
    let _running = start(client.clone(), registry.clone(), options);
    apply_dsc(
        &client,
        json!({"swap-demo": {"managementState": "Managed", "values": {"track": "a"}}}),
    )
    .await;
    component_when(&client, &registry, "swap-demo Ready", |r, _| {
        r["status"] == "True"
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let before = deployments.get("swap-demo-web").await.expect("deployment");
    let old_pods = pod_uids(&client, &namespace, "swap-demo-web").await;
    assert_eq!(old_pods.len(), 1);

    let changed = Instant::now();
    apply_dsc(
        &client,
        json!({"swap-demo": {"managementState": "Managed", "values": {"track": "b"}}}),
    )
    .await;
    let after = eventually(
        "a new Deployment with the new selector, available",
        || async {
            let d = deployments.get("swap-demo-web").await.ok()?;
            (d.metadata.uid != before.metadata.uid && available(&d)).then_some(d)
        },
    )
    .await;
    println!(
        "DSC change to the recreated Deployment available: {} ms",
        changed.elapsed().as_millis()
    );
    assert_eq!(track_of(&after).as_deref(), Some("b"));
    let new_pods = pod_uids(&client, &namespace, "swap-demo-web").await;
    assert!(
        new_pods.is_disjoint(&old_pods),
        "pods replaced: {old_pods:?} → {new_pods:?}"
    );
    let cr = component_when(&client, &registry, "swap-demo Ready again", |r, d| {
        r["status"] == "True" && d["status"] == "False"
    })
    .await;
    let note = event_note(&client, &cr, "Recreated").await;
    assert_eq!(
        note,
        format!(
            "Deployment {namespace}/swap-demo-web: recreated: spec.selector cannot change in place (upgradeStrategy recreate; deleted in the foreground)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_keeps_a_statefulsets_pods_and_claims() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(
        &dir.path().join("charts"),
        "db-demo",
        "DbDemo",
        "upgradeStrategy:\n  StatefulSet: recreate\n",
    ));
    install_crds(&client, &registry).await;
    let options = options("immutable-db");
    let namespace = options.applications_namespace.clone();
    let _running = start(client.clone(), registry.clone(), options);
    let values = |storage: &str| {
        json!({"db-demo": {"managementState": "Managed",
                           "values": {"statefulSet": true, "storage": storage}}})
    };
    apply_dsc(&client, values("1Gi")).await;
    component_when(&client, &registry, "db-demo Ready", |r, _| {
        r["status"] == "True"
    })
    .await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &namespace);
    let uid = |meta: &kube::api::ObjectMeta| meta.uid.clone().unwrap_or_default();
    let set_before = uid(&sets.get("db-demo-db").await.expect("statefulset").metadata);
    let pod_before = uid(&pods.get("db-demo-db-0").await.expect("pod").metadata);
    let claim_before = uid(&claims
        .get("data-db-demo-db-0")
        .await
        .expect("claim")
        .metadata);

    apply_dsc(&client, values("2Gi")).await;
    let set = eventually("a new StatefulSet asking 2Gi per claim", || async {
        let s = sets.get("db-demo-db").await.ok()?;
        let storage = s
            .spec
            .volume_claim_templates
            .as_ref()?
            .first()?
            .spec
            .as_ref()?
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("storage")?
            .0
            .clone();
        (uid(&s.metadata) != set_before && storage == "2Gi").then_some(s)
    })
    .await;
    let cr = component_when(&client, &registry, "db-demo Ready, not degraded", |r, d| {
        r["status"] == "True" && d["status"] == "False"
    })
    .await;
    // Adoption is the StatefulSet controller's work, done on its own schedule: the pod is
    // waited for until the new set owns it, and must be the pod from before.
    let pod = eventually("the new StatefulSet adopting the pod", || async {
        let pod = pods.get("db-demo-db-0").await.ok()?;
        let adopted = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.uid == uid(&set.metadata));
        adopted.then_some(pod)
    })
    .await;
    assert_eq!(
        uid(&pod.metadata),
        pod_before,
        "the pod survived the orphaning delete"
    );
    let claim = claims.get("data-db-demo-db-0").await.expect("claim");
    assert_eq!(uid(&claim.metadata), claim_before, "the claim survived");
    let note = event_note(&client, &cr, "Recreated").await;
    assert!(
        note.contains("spec.volumeClaimTemplates cannot change in place")
            && note.contains("its pods and claims were left running"),
        "{note}"
    );
}

const OTHER_KINDS: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example/migrate:{{ .Values.variant }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .Release.Name }}-data
spec:
  accessModes: [{{ .Values.accessMode }}]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .Release.Name }}-read
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .Values.role }}
subjects:
  - kind: ServiceAccount
    name: default
    namespace: {{ .Release.Namespace }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  clusterIP: {{ .Values.clusterIP }}
  ports:
    - port: 80
"#;

/// The other kinds with immutable fields, as the real API server refuses them: each refusal
/// is recognised, and the status names each object with its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_claims_bindings_and_service_ips_are_kept_and_named() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("charts");
    let registry = registry(&root, "kinds-demo", "KindsDemo", "");
    // The same registry with the chart's templates replaced by the other kinds.
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: immutable-demo\nversion: 0.1.0\n",
        ),
        (
            "values.yaml",
            "variant: a\naccessMode: ReadWriteOnce\nrole: view\nclusterIP: 10.0.201.7\n",
        ),
        ("templates/kinds.yaml", OTHER_KINDS),
    ];
    std::fs::write(
        root.join("charts/immutable-demo-0.1.0.tgz"),
        support::chart_archive("immutable-demo", &files),
    )
    .expect("archive");
    drop(registry);
    let registry = Arc::new(dsc_helm::registry::load(&root).expect("registry loads"));
    install_crds(&client, &registry).await;
    let options = options("immutable-kinds");
    let namespace = options.applications_namespace.clone();
    let _running = start(client.clone(), registry.clone(), options);
    apply_dsc(
        &client,
        json!({"kinds-demo": {"managementState": "Managed"}}),
    )
    .await;
    component_when(&client, &registry, "kinds-demo applied", |_, _| true).await;
    eventually("kinds-demo provisioned", || async {
        let ar = dsc_helm::api::component_api_resource(&registry.components[0]);
        let cr = get(&client, &ar, None, "default-kinds-demo").await?;
        (condition(&cr, "ProvisioningSucceeded")?["status"] == "True").then_some(())
    })
    .await;

    apply_dsc(
        &client,
        json!({"kinds-demo": {"managementState": "Managed", "values": {
            "variant": "b", "accessMode": "ReadWriteMany", "role": "edit",
            "clusterIP": "10.0.201.8",
        }}}),
    )
    .await;
    let cr = component_when(&client, &registry, "kinds-demo Degraded", |_, d| {
        d["reason"] == "ImmutableFieldChange"
    })
    .await;
    let message = condition(&cr, "Degraded").expect("Degraded")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (object, field) in [
        ("Job", "kinds-demo-migrate: spec.template"),
        ("PersistentVolumeClaim", "kinds-demo-data: spec.accessModes"),
        ("RoleBinding", "kinds-demo-read: roleRef"),
        ("Service", "kinds-demo-web: spec.clusterIP"),
    ] {
        let named = format!("{object} {namespace}/{field} cannot change in place");
        assert!(message.contains(&named), "{named} in: {message}");
    }
}
