//! The scale benchmark's scenario in small, as a test of correctness only (never of time): five
//! aliases of the fleet chart enabled at once under `dsc-helm serve`, every rendered object
//! applied and none missing, each in its component's inventory, every component Ready, the
//! drift watches seeing exactly those objects, and all of it gone with the DSC.

use crate::reconcile_support::*;
use crate::scale;
use crate::support;

use std::collections::HashMap;

use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_components_apply_every_object_and_nothing_else() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("charts");
    let registry = scale::registry(&root, &scale::fleets(5));
    install_crds(&client, &registry).await;
    let apps = support::unique_name("scale-apps");
    let bin = scale::operator_binary();
    let (_, rendered) = scale::rendered(&bin, &registry, &apps);
    let total: usize = rendered.iter().map(|(_, n)| n).sum();
    assert_eq!(
        total,
        5 * 100,
        "the fleet chart renders 100 objects a release"
    );

    let operator = scale::Operator::start(
        &bin,
        &root,
        plane.kubeconfig(),
        (&apps, &support::unique_name("scale-op")),
        dir.path(),
    );
    let (progress, watches) = scale::Progress::watch(&client, &registry);
    apply_dsc(&client, scale::stanzas(&registry, &HashMap::new())).await;
    let n = registry.components.len();
    assert!(
        progress.wait(n, true, support::DEADLINE).await.is_some(),
        "every component Ready: {:?}",
        progress.counts()
    );
    for (name, count) in &rendered {
        let component = registry.get(name).expect("registered");
        let ar = dsc_helm::api::component_api_resource(component);
        let cr = get(&client, &ar, None, &component.singleton_name())
            .await
            .expect("component resource");
        let inventory = cr.data["status"]["inventory"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(inventory, *count, "{name}'s inventory");
    }
    assert_eq!(
        scale::ours_in(&client, &apps).await,
        total,
        "every object, none missing"
    );
    let watched = eventually("the drift watches see every object", || async {
        let seen = operator.metric("dsc_helm_watched_objects") as usize;
        (seen == total).then_some(seen)
    })
    .await;
    assert_eq!(watched, total);
    assert!(
        operator.metric("dsc_helm_watches_open") >= 5.0,
        "one watch per kind"
    );
    assert!(
        operator.metric("dsc_helm_api_requests_total{verb=\"patch\"}") >= total as f64,
        "each object applied once at least"
    );

    // One value changed: only the object it changes is written again.
    let applied_before = operator.metric("dsc_helm_objects_applied_total");
    let fleet = registry.get("fleet-01").expect("registered");
    let ar = dsc_helm::api::component_api_resource(fleet);
    let generation = get(&client, &ar, None, &fleet.singleton_name())
        .await
        .and_then(|cr| cr.metadata.generation)
        .unwrap_or_default();
    let values = HashMap::from([("fleet-01".to_string(), json!({"replicas": 2}))]);
    apply_dsc(&client, scale::stanzas(&registry, &values)).await;
    eventually("fleet-01 Ready with two replicas", || async {
        let cr = get(&client, &ar, None, &fleet.singleton_name()).await?;
        let now = cr.metadata.generation?;
        (now > generation
            && cr.data.pointer("/status/observedGeneration")?.as_i64() == Some(now)
            && condition(&cr, "Ready")?["status"] == "True"
            && condition(&cr, "DeploymentsAvailable")?["status"] == "True")
            .then_some(())
    })
    .await;
    let _ = std::fs::copy(dir.path().join("operator.log"), "/tmp/scale-operator.log");
    assert_eq!(
        operator.metric("dsc_helm_objects_applied_total") - applied_before,
        1.0,
        "only the Deployment changed"
    );

    let dscs: Api<DynamicObject> = Api::all_with(client.clone(), &dsc_resource());
    dscs.delete(DSC_NAME, &DeleteParams::background())
        .await
        .expect("DSC deleted");
    eventually("everything removed with the DSC", || async {
        (scale::ours_in(&client, &apps).await == 0).then_some(())
    })
    .await;
    for task in watches {
        task.abort();
    }
    drop(operator);
}
