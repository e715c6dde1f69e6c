//! The reconciler end to end on the test cluster with the example components (`webapp`,
//! `model-registry`): enable, change, prune, drift repair, no-op without writes, render
//! failure and recovery, workloads available, removal leaving no Pods or ReplicaSets. One
//! scenario, because the DSC is a cluster singleton on the shared control plane
//! ([`support::dsc_lock`]).

use crate::reconcile_support;
use crate::support;

use std::sync::Arc;

use dsc_helm::reconcile::Metrics;
use dsc_helm::reconcile::{INSTANCE_GENERATION, INSTANCE_NAME, INSTANCE_UID, PART_OF, VERSION};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use reconcile_support::*;
use serde_json::json;

fn deployments() -> kube::core::ApiResource {
    resource("apps", "v1", "Deployment", "deployments")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_components_follow_the_dsc() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let requests = Requests::default();
    let operator_client = counting_client(plane, requests.clone()).await;
    let options = options("ex");
    let apps = options.applications_namespace.clone();
    let metrics = options.metrics.clone();
    let running = start(operator_client, registry.clone(), options.clone());

    // Enable webapp with two replicas; model-registry stays off.
    apply_dsc(
        &client,
        json!({
            "webapp": {"managementState": "Managed", "features": {"replicas": 2}},
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    let dsc = dsc_condition(&client, "Ready", "True").await;
    assert_eq!(dsc.data["status"]["phase"], "Ready");
    let removed = condition(&dsc, "ModelRegistryReady").expect("ModelRegistryReady");
    assert_eq!(removed["reason"], "Removed");
    assert_eq!(removed["severity"], "Info");
    assert_eq!(
        dsc.data["status"]["components"]["webapp"]["managementState"],
        "Managed"
    );
    assert_eq!(
        condition(&dsc, "WebAppReady").expect("WebAppReady")["status"],
        "True"
    );

    let cr = get(&client, &webapps(), None, "default-webapp")
        .await
        .expect("component resource exists");
    assert_eq!(condition(&cr, "Ready").expect("Ready")["reason"], "Ready");
    assert_eq!(
        condition(&cr, "ProvisioningSucceeded").expect("ProvisioningSucceeded")["reason"],
        "ResourcesApplied"
    );
    assert_eq!(
        condition(&cr, "Degraded").expect("Degraded")["status"],
        "False"
    );
    assert_eq!(cr.data["status"]["chart"]["name"], "webapp");
    assert_eq!(
        cr.data["status"]["observedGeneration"].as_i64(),
        cr.metadata.generation
    );
    assert!(
        cr.data["status"]["renderDigest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let inventory = cr.data["status"]["inventory"]
        .as_array()
        .expect("inventory");
    let kinds: Vec<&str> = inventory
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "ConfigMap",
        "Deployment",
        "Secret",
        "Service",
        "ServiceAccount",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(!kinds.contains(&"Ingress"), "ingress is off by default");

    // Every object carries our labels and annotations and lives in the applications namespace.
    let deployment = get(&client, &deployments(), Some(&apps), "webapp")
        .await
        .expect("deployment exists");
    let labels = deployment.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get(PART_OF).map(String::as_str), Some("webapp"));
    assert_eq!(
        labels.get("app.opendatahub.io/webapp").map(String::as_str),
        Some("true")
    );
    let annotations = deployment.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations[INSTANCE_NAME], "default-webapp");
    assert_eq!(Some(&annotations[INSTANCE_UID]), cr.metadata.uid.as_ref());
    assert_eq!(
        annotations[INSTANCE_GENERATION],
        cr.metadata.generation.unwrap_or_default().to_string()
    );
    assert_eq!(annotations[VERSION], "0.1.0");
    assert_eq!(deployment.data["spec"]["replicas"], 2);
    let ours = deployment
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|f| f.manager.as_deref() == Some("dsc-helm"));
    assert!(ours, "applied by field manager dsc-helm");

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &apps);
    let password = secrets
        .get("webapp")
        .await
        .expect("secret")
        .data
        .and_then(|d| d.get("password").cloned())
        .expect("generated password");

    // A reconcile with unchanged inputs writes nothing. The cluster's deployment controller
    // annotates a new Deployment with its revision, which the drift watch sees as someone
    // else's edit and answers with one (harmless) re-apply; that reconcile may overlap a
    // touch's, so a touch whose window saw any other reconcile is tried again.
    let crs: Api<kube::api::DynamicObject> = Api::all_with(client.clone(), &webapps());
    let mut touches = 0;
    eventually("a no-op reconcile alone in its window", || {
        touches += 1;
        let touch = json!({"metadata": {"annotations": {"test/touch": touches.to_string()}}});
        let (crs, requests, metrics) = (&crs, &requests, &metrics);
        async move {
            requests.take();
            let unchanged = Metrics::get(&metrics.unchanged);
            let reconciles = Metrics::get(&metrics.reconciles);
            crs.patch(
                "default-webapp",
                &PatchParams::default(),
                &Patch::Merge(&touch),
            )
            .await
            .expect("touch");
            eventually("the touch's reconcile", || async {
                (Metrics::get(&metrics.reconciles) > reconciles).then_some(())
            })
            .await;
            let written = requests.take_writes();
            // A drift re-apply took the touch's place, or ran beside it: touch again.
            if Metrics::get(&metrics.unchanged) == unchanged
                || Metrics::get(&metrics.reconciles) > reconciles + 1
            {
                return None;
            }
            assert!(written.is_empty(), "a no-op reconcile wrote: {written:?}");
            Some(())
        }
    })
    .await;

    // Change values: the Deployment follows, an optional Ingress appears, the password stays.
    apply_dsc(
        &client,
        json!({
            "webapp": {
                "managementState": "Managed",
                "features": {"replicas": 3, "ingress": true},
            },
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    let ingresses = resource("networking.k8s.io", "v1", "Ingress", "ingresses");
    eventually("replicas 3 and an ingress", || async {
        let d = get(&client, &deployments(), Some(&apps), "webapp").await?;
        let i = get(&client, &ingresses, Some(&apps), "webapp").await;
        (d.data["spec"]["replicas"] == 3 && i.is_some()).then_some(())
    })
    .await;
    let again = secrets.get("webapp").await.expect("secret").data;
    assert_eq!(
        again.and_then(|d| d.get("password").cloned()),
        Some(password.clone()),
        "the seeded random password survives re-renders"
    );

    // Unset the value that enabled the Ingress: it is pruned.
    apply_dsc(
        &client,
        json!({
            "webapp": {"managementState": "Managed", "features": {"replicas": 3}},
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    eventually("the ingress pruned", || async {
        get(&client, &ingresses, Some(&apps), "webapp")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    dsc_condition(&client, "Ready", "True").await;

    // Drift: a deleted object comes back; an edited field is restored while another
    // manager's additions stay.
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &apps);
    configmaps
        .delete("webapp", &DeleteParams::default())
        .await
        .expect("delete configmap");
    eventually("the configmap restored", || async {
        configmaps.get_opt("webapp").await.ok().flatten()
    })
    .await;
    let level = configmaps
        .get("webapp")
        .await
        .expect("configmap")
        .data
        .and_then(|d| d.get("LOG_LEVEL").cloned())
        .expect("LOG_LEVEL");
    assert_eq!(
        level, "warn",
        "platform overrides (values.rhoai.yaml) apply"
    );
    let edit = json!({
        "metadata": {"labels": {"someone-else": "yes"}},
        "data": {"LOG_LEVEL": "tampered"},
    });
    configmaps
        .patch("webapp", &PatchParams::default(), &Patch::Merge(&edit))
        .await
        .expect("edit configmap");
    let repaired = eventually("the configmap repaired", || async {
        let cm = configmaps.get("webapp").await.ok()?;
        let now = cm.data.as_ref()?.get("LOG_LEVEL")?.clone();
        (now == level).then_some(cm)
    })
    .await;
    assert_eq!(
        repaired
            .metadata
            .labels
            .unwrap_or_default()
            .get("someone-else")
            .map(String::as_str),
        Some("yes"),
        "fields of other managers are left alone"
    );

    // Removing our label takes the object out of the drift watch's selector: still repaired.
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), &apps);
    let unlabel = json!({"metadata": {"labels": {PART_OF: null}}});
    services
        .patch("webapp", &PatchParams::default(), &Patch::Merge(&unlabel))
        .await
        .expect("remove our label");
    eventually("the label restored", || async {
        let svc = services.get("webapp").await.ok()?;
        svc.metadata.labels?.get(PART_OF).map(|_| ())
    })
    .await;

    // An object the API server refuses: ApplyFailed names it, the other objects still apply.
    apply_dsc(
        &client,
        json!({
            "webapp": {
                "managementState": "Managed",
                "features": {"replicas": 3},
                "values": {
                    "resources": {"limits": {"cpu": "not-a-quantity"}},
                    "config": {"logLevel": "debug"},
                },
            },
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    let failed = eventually("webapp ApplyFailed", || async {
        let cr = get(&client, &webapps(), None, "default-webapp").await?;
        let degraded = condition(&cr, "Degraded")?.clone();
        (degraded["status"] == "True").then_some(degraded)
    })
    .await;
    assert_eq!(failed["reason"], "ApplyFailed");
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("Deployment") && m.contains("webapp")),
        "the failing object is named: {failed}"
    );
    let cm = configmaps.get("webapp").await.expect("configmap");
    assert_eq!(
        cm.data.and_then(|d| d.get("LOG_LEVEL").cloned()).as_deref(),
        Some("debug"),
        "objects that the API server accepts are applied despite the failing one"
    );

    // A render failure: Degraded with ChartRenderError and a Warning event; fixing recovers.
    apply_dsc(
        &client,
        json!({
            "webapp": {
                "managementState": "Managed",
                "values": {"config": {"logLevel": "info", "greeting": "x\n  - broken"}},
            },
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    let failed = eventually("webapp Degraded by the render", || async {
        let cr = get(&client, &webapps(), None, "default-webapp").await?;
        let degraded = condition(&cr, "Degraded")?.clone();
        (degraded["status"] == "True" && degraded["reason"] == "ChartRenderError")
            .then_some(degraded)
    })
    .await;
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("configmap.yaml")),
        "the message names the template: {failed}"
    );
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(client.clone());
    eventually("a ProvisioningError event", || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("ProvisioningError")
                    && e.type_.as_deref() == Some("Warning")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref())
                        == Some("default-webapp")
            })
            .then_some(())
    })
    .await;
    let dsc = dsc_condition(&client, "Ready", "False").await;
    assert_eq!(dsc.data["status"]["phase"], "Not Ready");
    eventually("the DSC reports the render error", || async {
        let dsc = get(&client, &dsc_resource(), None, DSC_NAME).await?;
        (condition(&dsc, "WebAppReady")?["reason"] == "ChartRenderError").then_some(())
    })
    .await;
    apply_dsc(
        &client,
        json!({
            "webapp": {"managementState": "Managed"},
            "model-registry": {"managementState": "Managed"},
        }),
    )
    .await;
    dsc_condition(&client, "Ready", "True").await;

    // model-registry ships a CRD and a resource of it.
    let catalogs = resource(
        "modelregistry.opendatahub.io",
        "v1alpha1",
        "ModelCatalog",
        "modelcatalogs",
    );
    assert!(
        get(&client, &catalogs, Some(&apps), "default")
            .await
            .is_some(),
        "the ModelCatalog exists"
    );

    // An operator restart: changes made while it was down are applied, the generated
    // password survives (its seed lives in the operator's Secret), nothing is left behind.
    drop(running);
    apply_dsc(
        &client,
        json!({
            "webapp": {"managementState": "Managed", "features": {"replicas": 2}},
            "model-registry": {"managementState": "Managed"},
        }),
    )
    .await;
    let _restarted = start(client.clone(), registry.clone(), options.clone());
    eventually("replicas 2 after the restart", || async {
        let d = get(&client, &deployments(), Some(&apps), "webapp").await?;
        (d.data["spec"]["replicas"] == 2).then_some(())
    })
    .await;
    dsc_condition(&client, "Ready", "True").await;
    let after_restart = secrets.get("webapp").await.expect("secret").data;
    assert_eq!(
        after_restart.and_then(|d| d.get("password").cloned()),
        Some(password),
        "the generated password survives a restart"
    );

    // The workloads run on the cluster's kwok Node: every replica of every Deployment and
    // StatefulSet the charts render becomes available (the database's claim binds).
    let typed_deployments =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), &apps);
    let stateful_sets =
        Api::<k8s_openapi::api::apps::v1::StatefulSet>::namespaced(client.clone(), &apps);
    eventually("every workload available", || async {
        let ds = typed_deployments.list(&ListParams::default()).await.ok()?;
        let ss = stateful_sets.list(&ListParams::default()).await.ok()?;
        let ready = !ds.items.is_empty()
            && !ss.items.is_empty()
            && ds.items.iter().all(|d| {
                let want = d.spec.replicas.unwrap_or(1);
                d.status.as_ref().and_then(|s| s.available_replicas) == Some(want)
            })
            && ss.items.iter().all(|s| {
                let want = s.spec.replicas.unwrap_or(1);
                s.status.as_ref().and_then(|s| s.ready_replicas) == Some(want)
            });
        ready.then_some(())
    })
    .await;
    let pods = Api::<Pod>::namespaced(client.clone(), &apps);
    let replica_sets =
        Api::<k8s_openapi::api::apps::v1::ReplicaSet>::namespaced(client.clone(), &apps);
    assert!(
        !pods
            .list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .is_empty(),
        "the workloads have pods"
    );

    // Removed: every object is deleted, the CRD stays, the component resource goes away.
    apply_dsc(
        &client,
        json!({
            "webapp": {"managementState": "Removed"},
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    eventually("components removed", || async {
        let gone = get(&client, &webapps(), None, "default-webapp")
            .await
            .is_none()
            && get(&client, &deployments(), Some(&apps), "webapp")
                .await
                .is_none()
            && get(&client, &catalogs, Some(&apps), "default")
                .await
                .is_none()
            && configmaps.get_opt("webapp").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    // Nothing the workloads made is left either: the garbage collector and kwok take the
    // ReplicaSets and Pods (and the StatefulSet's pod) away with their owners.
    eventually("no Pods or ReplicaSets left", || async {
        let left = pods.list(&ListParams::default()).await.ok()?.items;
        let sets = replica_sets.list(&ListParams::default()).await.ok()?.items;
        (left.is_empty() && sets.is_empty()).then_some(())
    })
    .await;
    let crds = resource(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
    );
    assert!(
        get(
            &client,
            &crds,
            None,
            "modelcatalogs.modelregistry.opendatahub.io"
        )
        .await
        .is_some(),
        "CRDs are never pruned"
    );
    let dsc = dsc_condition(&client, "Ready", "True").await;
    assert_eq!(
        condition(&dsc, "WebAppReady").expect("WebAppReady")["reason"],
        "Removed"
    );

    // Deleting the DSC removes what it enabled (no garbage collector is relied upon).
    apply_dsc(&client, json!({"webapp": {"managementState": "Managed"}})).await;
    dsc_condition(&client, "Ready", "True").await;
    let dscs: Api<kube::api::DynamicObject> = Api::all_with(client.clone(), &dsc_resource());
    dscs.delete(DSC_NAME, &DeleteParams::default())
        .await
        .expect("delete the DSC");
    eventually("webapp removed with the DSC", || async {
        let gone = get(&client, &webapps(), None, "default-webapp")
            .await
            .is_none()
            && get(&client, &deployments(), Some(&apps), "webapp")
                .await
                .is_none();
        gone.then_some(())
    })
    .await;
}
