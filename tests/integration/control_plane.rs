//! Proves the test control plane (tests/support) behaves like a real cluster for what the
//! operator relies on: CRDs, server-side apply, and admission webhooks reached over HTTPS.
//! All tests share one control plane and isolate themselves by unique names.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Json, Router, extract::State, routing::post};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

const FIELD_MANAGER: &str = "dsc-helm-test";

async fn create_namespace(client: &kube::Client, prefix: &str) -> String {
    let name = support::unique_name(prefix);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    name
}

/// Runs a kubectl command without blocking the test's runtime, which may be serving a webhook.
async fn kubectl(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = tokio::process::Command::from(support::shared().kubectl());
    cmd.args(args);
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    child.wait_with_output().await.unwrap()
}

#[tokio::test]
async fn crd_becomes_established_and_serves_custom_resources() {
    let plane = support::shared();
    let client = plane.client().await.unwrap();
    let ns = create_namespace(&client, "crd").await;
    // CRDs are cluster-scoped, so the group is unique per test run.
    let group = format!("{}.test.dsc-helm.io", support::unique_name("g"));
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer"},
                        "color": {"type": "string"}
                    }}
                }}}
            }]
        }
    }))
    .unwrap();
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = crds.get(&format!("widgets.{group}")).await.unwrap();
        if dsc_helm::api::is_established(&current) {
            break;
        }
        assert!(Instant::now() < deadline, "CRD never became Established");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Widget"),
        "widgets",
    );
    let widgets = Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &resource);
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"),
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": ns},
        "spec": {"size": 3, "color": "blue", "dropped": "pruned by the schema"}
    }))
    .unwrap();
    // A freshly Established CRD can take a moment to be served by the discovery handlers.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match widgets.create(&PostParams::default(), &widget).await {
            Ok(_) => break,
            Err(kube::Error::Api(e)) if e.code == 404 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("creating the custom resource: {e}"),
        }
    }
    let read = widgets.get("w1").await.unwrap();
    assert_eq!(read.data["spec"], json!({"size": 3, "color": "blue"}));
}

#[tokio::test]
async fn server_side_apply_twice_changes_nothing() {
    let plane = support::shared();
    let client = plane.client().await.unwrap();
    let ns = create_namespace(&client, "ssa").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let desired = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app.opendatahub.io/test": "true"}},
        "data": {"a": "1", "b": "two"}
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let first = cms
        .patch("settings", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    let second = cms
        .patch("settings", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    assert!(first.metadata.resource_version.is_some());
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );
    assert_eq!(second.data.unwrap()["b"], "two");

    let changed = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"a": "1"}
    });
    let third = cms
        .patch("settings", &params, &Patch::Apply(&changed))
        .await
        .unwrap();
    assert_ne!(
        second.metadata.resource_version,
        third.metadata.resource_version
    );
    // Fields the manager no longer applies are removed, which pruning-by-apply relies on.
    assert!(!third.data.unwrap().contains_key("b"));
}

/// What the test webhook saw: the `dryRun` flag of each AdmissionReview it answered.
type Seen = Arc<Mutex<Vec<bool>>>;

/// Denies ConfigMaps that carry a `forbidden` key, as the operator's webhook denies bad values.
async fn review(State(seen): State<Seen>, Json(body): Json<Value>) -> Json<Value> {
    let request = &body["request"];
    seen.lock()
        .unwrap()
        .push(request["dryRun"].as_bool().unwrap_or(false));
    let forbidden = request["object"]["data"].get("forbidden").is_some();
    let mut response = json!({"uid": request["uid"], "allowed": !forbidden});
    if forbidden {
        response["status"] = json!({
            "code": 422,
            "message": "data.forbidden: this key is refused by the test webhook"
        });
    }
    Json(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response
    }))
}

/// Starts the webhook on 127.0.0.1 with a certificate from a fresh test CA; returns its port
/// and the CA's PEM for the caBundle.
async fn start_webhook(seen: Seen) -> (u16, String) {
    // Explicit, so the process never has to guess between providers if another one appears.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = support::TestCa::new().unwrap();
    let cert = ca.issue_localhost().unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.cert_pem.into_bytes(),
        cert.key_pem.into_bytes(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route("/validate", post(review))
        .with_state(seen);
    let server = axum_server::from_tcp_rustls(listener, tls).unwrap();
    tokio::spawn(server.serve(app.into_make_service()));
    (port, ca.cert_pem().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_webhook_denial_reaches_kubectl() {
    let plane = support::shared();
    let client = plane.client().await.unwrap();
    let ns = create_namespace(&client, "webhook").await;
    let seen: Seen = Arc::default();
    let (port, ca_pem) = start_webhook(seen.clone()).await;

    // Webhook configurations are cluster-wide: match only this test's namespace so that
    // concurrently running tests never reach this webhook.
    let name = support::unique_name("deny-forbidden");
    let config: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": name},
        "webhooks": [{
            "name": "deny-forbidden.test.dsc-helm.io",
            "clientConfig": {
                "url": format!("https://127.0.0.1:{port}/validate"),
                "caBundle": support::base64(ca_pem.as_bytes())
            },
            "rules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]
            }],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 10
        }]
    }))
    .unwrap();
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .create(&PostParams::default(), &config)
        .await
        .unwrap();

    let denied = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: {ns}\ndata:\n  forbidden: \"yes\"\n"
    );
    // The API server picks new webhook configurations up asynchronously; until it does, a
    // server dry run passes without side effects, so retrying it is safe.
    let deadline = Instant::now() + Duration::from_secs(60);
    let dry_run = loop {
        let out = kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&denied)).await;
        if !out.status.success() || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let stderr = String::from_utf8_lossy(&dry_run.stderr);
    assert!(!dry_run.status.success(), "dry run was never denied");
    assert!(
        stderr.contains("data.forbidden: this key is refused by the test webhook"),
        "{stderr}"
    );
    assert_eq!(seen.lock().unwrap().last(), Some(&true));

    let out = kubectl(&["apply", "-f", "-"], Some(&denied)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("deny-forbidden.test.dsc-helm.io"),
        "{stderr}"
    );
    assert!(
        stderr.contains("data.forbidden: this key is refused by the test webhook"),
        "{stderr}"
    );
    assert_eq!(seen.lock().unwrap().last(), Some(&false));
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    assert!(cms.get_opt("bad").await.unwrap().is_none());

    let allowed = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n  namespace: {ns}\ndata:\n  fine: \"yes\"\n"
    );
    let calls_before = seen.lock().unwrap().len();
    let out = kubectl(&["apply", "-f", "-"], Some(&allowed)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(seen.lock().unwrap().len(), calls_before + 1);
    assert!(cms.get_opt("good").await.unwrap().is_some());

    Api::<ValidatingWebhookConfiguration>::all(client)
        .delete(&name, &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn binaries_report_the_pinned_version() {
    let plane = support::shared();
    let version = support::k8s_version();

    let out = std::process::Command::new(plane.bin_dir().join("kube-apiserver"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Kubernetes {version}")
    );

    let out = plane
        .kubectl()
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["clientVersion"]["gitVersion"], version);

    let out = std::process::Command::new(plane.bin_dir().join("etcd"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "etcd Version: {}",
            support::etcd_version().trim_start_matches('v')
        )),
        "{text}"
    );

    let client = plane.client().await.unwrap();
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.git_version, version);

    // What the local demo's control plane (tests/demo) prints: where the API server listens,
    // as its kubeconfig says, and how long the start took.
    let out = plane
        .kubectl()
        .args(["config", "view", "--minify", "-o"])
        .arg("jsonpath={.clusters[0].cluster.server}")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), plane.server());
    assert!(plane.started_in() > Duration::ZERO);
}
