//! FR-002 on a real API server: a kind that a descriptor declares in `watches` but whose CRD
//! does not exist yet is watched as soon as the CRD is Established.

use crate::reconcile_support;
use crate::support;

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use reconcile_support::*;
use serde_json::json;

const WIDGETS: &str = "/apis/widgets.dsc-helm.test/v1/widgets";

/// The example webapp registered again with a descriptor that also watches Widgets.
fn registry(root: &std::path::Path) -> dsc_helm::registry::Registry {
    let charts = root.join("charts");
    let components = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&components).expect("components dir");
    let archive =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/charts/webapp-0.1.0.tgz");
    std::fs::copy(&archive, charts.join("webapp-0.1.0.tgz")).expect("copy archive");
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: watch-test\nversion: 0.0.1\ndependencies:\n  - name: webapp\n    version: 0.1.0\n",
    )
    .expect("umbrella");
    std::fs::write(
        components.join("webapp.yaml"),
        "dependency: webapp\nkind: WebApp\nwatches:\n  - group: widgets.dsc-helm.test\n    version: v1\n    kind: Widget\n",
    )
    .expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

fn watched(requests: &Requests, path: &str) -> bool {
    requests
        .0
        .lock()
        .map(|r| r.iter().any(|x| x == &format!("GET {path}")))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_kind_is_watched_once_its_crd_is_established() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(dir.path()));
    install_crds(&client, &registry).await;
    let requests = Requests::default();
    let operator = counting_client(plane, requests.clone()).await;
    let _running = start(operator, registry, options("watch"));

    apply_dsc(&client, json!({"webapp": {"managementState": "Managed"}})).await;
    dsc_condition(&client, "Ready", "True").await;
    // Rendered kinds are watched; the declared Widget cannot be yet.
    eventually("the Deployment watch", || async {
        watched(&requests, "/apis/apps/v1/deployments").then_some(())
    })
    .await;
    assert!(!watched(&requests, WIDGETS), "no Widget CRD yet");

    let crd = support::open_crd("widgets.dsc-helm.test", "Widget");
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            "widgets.widgets.dsc-helm.test",
            &PatchParams::apply("test-user"),
            &Patch::Apply(&crd),
        )
        .await
        .expect("CRD applies");
    eventually("the Widget watch", || async {
        watched(&requests, WIDGETS).then_some(())
    })
    .await;
}
