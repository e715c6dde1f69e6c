//! The webhook's dry render follows the cluster, on a real API server: a chart that refuses to
//! render until an API exists is refused at admission, accepted once that API's CRD is
//! installed, and refused again after the CRD is deleted, all without restarting anything.
//! The verdict cache is on throughout, so this also shows that no verdict reached under the
//! old cluster is served under the new one.

use crate::support;

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use dsc_helm::discovery::{self, Cluster};
use dsc_helm::webhook::{Checks, ClusterView, Validator, follow_cluster};
use support::eventually;

const CRD_NAME: &str = "gadgets.gadgets.dsc-helm.test";
const REFUSAL: &str = "gadget-user needs the gadgets.dsc-helm.test/v1 API";

/// A chart of ours that only renders where Gadgets are served.
const GADGET_USER: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: gadget-user\nversion: 1.0.0\n",
    ),
    ("values.yaml", "{}\n"),
    (
        "templates/gadget.yaml",
        "{{- if not (.Capabilities.APIVersions.Has \"gadgets.dsc-helm.test/v1\") }}\
         {{ fail \"gadget-user needs the gadgets.dsc-helm.test/v1 API\" }}{{ end }}\n\
         apiVersion: gadgets.dsc-helm.test/v1\nkind: Gadget\nmetadata:\n  name: {{ .Release.Name }}\n",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_renders_follow_crds_as_they_come_and_go() {
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = support::charts_with_component(
        dir.path(),
        "gadget-user",
        "1.0.0",
        "",
        &support::chart_archive("gadget-user", GADGET_USER),
        "dependency: gadget-user\nkind: GadgetUser\n",
    );
    let registry = Arc::new(dsc_helm::registry::load(&root).expect("registry loads"));
    let cluster = Arc::new(Cluster::discover(client.clone()).await.expect("discovery"));
    let view = ClusterView::new(cluster.snapshot().capabilities.clone());
    let validator = Arc::new(Validator::with_cluster(
        registry,
        view.clone(),
        "opendatahub",
        Checks::default(),
    ));
    let follower = tokio::spawn(follow_cluster(cluster.subscribe(), view));
    let watch = {
        let cluster = cluster.clone();
        tokio::spawn(async move { discovery::follow(&cluster).await })
    };
    let dsc = json!({"spec": {"components": {"gadget-user": {"managementState": "Managed"}}}});
    let verdict = |validator: &Validator| {
        let v = validator.validate_dsc(&dsc);
        (v.allowed(), v.problems.join("\n"))
    };

    let (allowed, problems) = verdict(&validator);
    assert!(!allowed, "no Gadget API yet");
    assert!(problems.contains(REFUSAL), "{problems}");

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        CRD_NAME,
        &PatchParams::apply("test-user"),
        &Patch::Apply(&support::open_crd("gadgets.dsc-helm.test", "Gadget")),
    )
    .await
    .expect("CRD applies");
    eventually("the DSC accepted once Gadgets are served", || async {
        verdict(&validator).0.then_some(())
    })
    .await;

    crds.delete(CRD_NAME, &DeleteParams::default())
        .await
        .expect("CRD deletes");
    let problems = eventually("the DSC refused again after the CRD is gone", || async {
        let (allowed, problems) = verdict(&validator);
        (!allowed).then_some(problems)
    })
    .await;
    assert!(problems.contains(REFUSAL), "{problems}");
    follower.abort();
    watch.abort();
}
