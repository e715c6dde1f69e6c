//! The reconciler end to end with real third-party charts registered without code:
//! `linkerd-crds` (a chart of CRDs) and `langfuse` (a large chart with subcharts and `lookup`).
//! Langfuse's defaults fail to render (its secrets are required), which exercises the failure
//! path; the corpus' minimal-installation values then make it deploy.

use crate::corpus;
use crate::reconcile_support;
use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;

use dsc_helm::reconcile::PART_OF;
use kube::api::{Api, DynamicObject};
use kube::discovery::Discovery;
use reconcile_support::*;
use serde_json::{Value, json};

fn langfuse_values() -> Value {
    let path =
        corpus::corpus_dir().join("charts/langfuse/cases/example-minimal-installation/values.yaml");
    let text = std::fs::read_to_string(&path).expect("corpus values");
    helm_render::yaml::parse_value(&text)
        .expect("values parse")
        .to_json()
}

fn component(name: &str) -> kube::core::ApiResource {
    let kind = corpus::registry::kind_for(name);
    let plural = dsc_helm::api::plural(&kind);
    resource(
        "components.platform.opendatahub.io",
        "v1alpha1",
        &kind,
        &plural,
    )
}

/// Every inventory entry of a component resource, resolved through discovery.
async fn inventory_objects(
    client: &kube::Client,
    cr: &DynamicObject,
) -> Vec<(String, Option<DynamicObject>)> {
    let discovery = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("discovery");
    let mut out = Vec::new();
    for entry in cr.data["status"]["inventory"]
        .as_array()
        .expect("inventory")
    {
        let gvk = kube::core::GroupVersionKind::gvk(
            entry["group"].as_str().unwrap_or(""),
            entry["version"].as_str().unwrap_or(""),
            entry["kind"].as_str().unwrap_or(""),
        );
        let (ar, _) = discovery.resolve_gvk(&gvk).expect("kind served");
        let namespace = entry["namespace"].as_str().filter(|n| !n.is_empty());
        let name = entry["name"].as_str().unwrap_or("");
        let obj = get(client, &ar, namespace, name).await;
        out.push((format!("{} {name}", gvk.kind), obj));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_charts_deploy_fail_recover_and_go_away() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(
        corpus::registry::corpus_registry(dir.path(), &["linkerd-crds", "langfuse"])
            .expect("corpus registry"),
    );
    install_crds(&client, &registry).await;
    let options = options("corpus");
    let _running = start(client.clone(), registry.clone(), options.clone());

    // Langfuse with its defaults cannot render; linkerd-crds can.
    apply_dsc(
        &client,
        json!({
            "linkerd-crds": {"managementState": "Managed"},
            "langfuse": {"managementState": "Managed"},
        }),
    )
    .await;
    let degraded = eventually("langfuse Degraded", || async {
        let cr = get(&client, &component("langfuse"), None, "default-langfuse").await?;
        let c = condition(&cr, "Degraded")?.clone();
        (c["status"] == "True").then_some(c)
    })
    .await;
    assert_eq!(degraded["reason"], "ChartRenderError");
    // The failure is counted by component and kind, and the reconcile timed.
    eventually("the render error counted", || async {
        (options.metrics.errors("langfuse", "chart_render_error") > 0).then_some(())
    })
    .await;
    let exposed = options.metrics.render();
    assert!(
        exposed.contains(
            "dsc_helm_reconcile_errors_total{component=\"langfuse\",kind=\"chart_render_error\"}"
        ),
        "{exposed}"
    );
    assert!(
        exposed.contains("dsc_helm_reconcile_duration_seconds_count{component=\"langfuse\"}"),
        "{exposed}"
    );
    assert!(
        degraded["message"]
            .as_str()
            .is_some_and(|m| m.contains("langfuse.salt")),
        "the message names the missing value: {degraded}"
    );
    let crds_cr = eventually("linkerd-crds Ready", || async {
        let cr = get(
            &client,
            &component("linkerd-crds"),
            None,
            "default-linkerd-crds",
        )
        .await?;
        (condition(&cr, "Ready")?["status"] == "True").then_some(cr)
    })
    .await;
    let crd_objects = inventory_objects(&client, &crds_cr).await;
    assert!(!crd_objects.is_empty());
    let crd_names: Vec<String> = crd_objects.iter().map(|(n, _)| n.clone()).collect();
    for (what, obj) in &crd_objects {
        let obj = obj.as_ref().unwrap_or_else(|| panic!("{what} exists"));
        let labels = obj.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(PART_OF).map(String::as_str),
            Some("linkerd-crds")
        );
    }

    // The corpus' minimal installation values fix it.
    apply_dsc(
        &client,
        json!({
            "linkerd-crds": {"managementState": "Managed"},
            "langfuse": {"managementState": "Managed", "values": langfuse_values()},
        }),
    )
    .await;
    let dsc = dsc_condition(&client, "Ready", "True").await;
    assert_eq!(
        condition(&dsc, "LangfuseReady").expect("LangfuseReady")["reason"],
        "Ready"
    );
    let cr = get(&client, &component("langfuse"), None, "default-langfuse")
        .await
        .expect("langfuse resource");
    let objects = inventory_objects(&client, &cr).await;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (what, obj) in &objects {
        let obj = obj.as_ref().unwrap_or_else(|| panic!("{what} exists"));
        let labels = obj.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(PART_OF).map(String::as_str),
            Some("langfuse"),
            "{what} carries our label"
        );
        *kinds
            .entry(what.split(' ').next().unwrap_or("").to_string())
            .or_default() += 1;
    }
    for kind in [
        "Deployment",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "NetworkPolicy",
    ] {
        assert!(
            kinds.contains_key(kind),
            "langfuse renders a {kind}: {kinds:?}"
        );
    }

    // Removed: langfuse's objects go, linkerd's CRDs stay.
    apply_dsc(
        &client,
        json!({
            "linkerd-crds": {"managementState": "Removed"},
            "langfuse": {"managementState": "Removed"},
        }),
    )
    .await;
    dsc_condition(&client, "ComponentsReady", "True").await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), &options.applications_namespace);
    eventually("langfuse objects deleted", || async {
        let left = deployments.list(&Default::default()).await.ok()?.items;
        left.is_empty().then_some(())
    })
    .await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for name in crd_names {
        let name = name.trim_start_matches("CustomResourceDefinition ");
        assert!(
            crds.get_opt(name).await.expect("get").is_some(),
            "CRD {name} stays after Removed"
        );
    }
}
