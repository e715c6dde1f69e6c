//! The reconciler through an API server restart, as a control-plane upgrade or crash causes:
//! the operator keeps running while the API server is away, its watches and controllers
//! reconnect by themselves, and then a DSC change is applied and drift is repaired as before.
//! The test owns its control plane, because it stops the API server.

use crate::reconcile_support;
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject};
use reconcile_support::*;
use serde_json::json;

/// The webapp Deployment, or `None` while it is missing or the API server does not answer
/// (the caller's client may still hold connections to the old server).
async fn deployment(client: &kube::Client, namespace: &str) -> Option<DynamicObject> {
    let ar = resource("apps", "v1", "Deployment", "deployments");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    api.get_opt("webapp").await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_carries_on_after_the_api_server_restarts() {
    // RUST_LOG (e.g. `dsc_helm=debug,kube=debug`) shows the operator's view of the outage.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut plane = support::ControlPlane::start().expect("control plane starts");
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let options = options("restart");
    let apps = options.applications_namespace.clone();
    // The operator's client as `dsc-helm serve` builds it.
    let operator = {
        let config = plane.config().await.expect("config");
        dsc_helm::backoff::client(config).expect("operator client")
    };
    let _running = start(operator, registry, options);

    apply_dsc(
        &client,
        json!({"webapp": {"managementState": "Managed", "features": {"replicas": 2}}}),
    )
    .await;
    dsc_condition(&client, "Ready", "True").await;
    let before = deployment(&client, &apps).await.expect("webapp Deployment");
    assert_eq!(before.data["spec"]["replicas"], 2);

    // Away for a few seconds: long enough for every watch to fail and back off.
    let plane = tokio::task::spawn_blocking(move || {
        plane
            .restart_apiserver(Duration::from_secs(3))
            .map(|()| plane)
    })
    .await
    .expect("restart task")
    .expect("API server restarts");

    // The test's own client is new; the operator's is the one it had all along. "Back" is the
    // first /readyz that answered ok; the DSC is changed right after.
    let back = std::time::Instant::now();
    let client = plane.client().await.expect("client after the restart");
    apply_dsc(
        &client,
        json!({"webapp": {"managementState": "Managed", "features": {"replicas": 3}}}),
    )
    .await;
    let written = back.elapsed();
    eventually("the change made after the restart applied", || async {
        let d = deployment(&client, &apps).await?;
        (d.data["spec"]["replicas"] == 3).then_some(())
    })
    .await;
    let applied = back.elapsed();
    println!(
        "watch resume: a DSC change written {:.2} s after the API server was back (its own \
         write took that long) was applied {:.2} s after it was back, {:.2} s after the write",
        written.as_secs_f64(),
        applied.as_secs_f64(),
        (applied - written).as_secs_f64()
    );

    // Drift is still watched: a deleted Deployment comes back.
    let ar = resource("apps", "v1", "Deployment", "deployments");
    let deployments: Api<DynamicObject> = Api::namespaced_with(client.clone(), &apps, &ar);
    deployments
        .delete("webapp", &DeleteParams::default())
        .await
        .expect("Deployment deletes");
    let deleted = std::time::Instant::now();
    eventually("the deleted Deployment recreated", || async {
        let d = deployment(&client, &apps).await?;
        (d.metadata.uid != before.metadata.uid && d.data["spec"]["replicas"] == 3).then_some(())
    })
    .await;
    println!(
        "watch resume: a Deployment deleted after that was recreated {:.2} s later",
        deleted.elapsed().as_secs_f64()
    );
    dsc_condition(&client, "Ready", "True").await;
}
