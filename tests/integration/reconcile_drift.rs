//! Drift on the test cluster, seen from outside: an object an admin takes over with
//! `opendatahub.io/managed: "false"` is left alone (also by a freshly started operator) but
//! created again when deleted and pruned when the chart drops it; a repair is announced in a
//! `DriftCorrected` event naming the fields put back and counted; a second field manager that
//! keeps changing an object makes the component `Degraded` with reason `DriftLoop`, naming it,
//! until a quiet window passes.

use crate::reconcile_support::*;
use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsc_helm::reconcile::HANDS_OFF_ANNOTATION;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

const COMPONENT: &str = "drift-demo";
const TAKEN: &str = "drift-demo-taken";
const OURS: &str = "drift-demo-ours";

/// One component, `drift-demo`, rendering two ConfigMaps with `data.color` from the values;
/// `taken` only while `.Values.taken` (default true).
fn registry(root: &Path) -> dsc_helm::registry::Registry {
    let templates = "\
{{- if .Values.taken }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-taken
data:
  color: {{ .Values.color | quote }}
{{- end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-ours
data:
  color: {{ .Values.color | quote }}
";
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: drift-demo\nversion: 0.1.0\n",
        ),
        ("values.yaml", "color: blue\ntaken: true\n"),
        ("templates/configmaps.yaml", templates),
    ];
    let charts = root.join("charts");
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    std::fs::write(
        charts.join("drift-demo-0.1.0.tgz"),
        support::chart_archive("drift-demo", &files),
    )
    .expect("archive");
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: drift-test\nversion: 0.0.1\ndependencies:\n  - name: drift-demo\n    version: 0.1.0\n",
    )
    .expect("umbrella");
    std::fs::write(
        descriptors.join("drift-demo.yaml"),
        "dependency: drift-demo\nkind: DriftDemo\n",
    )
    .expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

async fn managed(client: &kube::Client, values: serde_json::Value) {
    apply_dsc(
        client,
        json!({COMPONENT: {"managementState": "Managed", "values": values}}),
    )
    .await;
}

fn color(cm: &ConfigMap) -> Option<String> {
    cm.data.as_ref()?.get("color").cloned()
}

async fn color_of(cms: &Api<ConfigMap>, name: &str) -> Option<String> {
    color(&cms.get_opt(name).await.ok()??)
}

/// Waits until `name` has `color`.
async fn until_color(cms: &Api<ConfigMap>, name: &str, want: &str) {
    eventually(&format!("{name} {want}"), || async {
        (color_of(cms, name).await.as_deref() == Some(want)).then_some(())
    })
    .await;
}

/// An edit as `kubectl patch` makes it, under `manager`.
async fn edit(cms: &Api<ConfigMap>, name: &str, manager: &str, patch: serde_json::Value) {
    let params = PatchParams {
        field_manager: Some(manager.to_string()),
        ..PatchParams::default()
    };
    cms.patch(name, &params, &Patch::Merge(&patch))
        .await
        .expect("edit");
}

/// The notes of the events with `reason` about the component resource `uid`.
async fn notes(client: &kube::Client, uid: &Option<String>, reason: &str) -> Vec<String> {
    Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.uid.clone()) == *uid)
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.note)
        .collect()
}

async fn component(client: &kube::Client, ar: &kube::core::ApiResource) -> DynamicObject {
    get(client, ar, None, &format!("default-{COMPONENT}"))
        .await
        .expect("component resource")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hands_off_object_is_created_then_left_alone_until_deleted_or_pruned() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(dir.path()));
    install_crds(&client, &registry).await;
    let options = options("handsoff");
    let metrics = options.metrics.clone();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &options.applications_namespace);
    let ar = dsc_helm::api::component_api_resource(&registry.components[0]);
    let running = start(client.clone(), registry.clone(), options.clone());
    managed(&client, json!({"color": "blue"})).await;
    until_color(&cms, TAKEN, "blue").await;
    until_color(&cms, OURS, "blue").await;
    let uid = component(&client, &ar).await.metadata.uid;

    // An admin takes one object over and edits it; someone tampers with the other. The
    // other is repaired (the operator is watching), the one taken over is not, and only the
    // repair is counted and announced.
    edit(
        &cms,
        TAKEN,
        "admin",
        json!({"metadata": {"annotations": {HANDS_OFF_ANNOTATION: "false"}},
               "data": {"color": "admin"}}),
    )
    .await;
    let edited = Instant::now();
    edit(
        &cms,
        OURS,
        "tamperer",
        json!({"data": {"color": "tampered"}}),
    )
    .await;
    let ns = &options.applications_namespace;
    let want = format!("Put back ConfigMap {ns}/{OURS}: data.color (changed by \"tamperer\")");
    eventually("a DriftCorrected event for the tampered object", || async {
        notes(&client, &uid, "DriftCorrected")
            .await
            .contains(&want)
            .then_some(())
    })
    .await;
    eprintln!(
        "foreign edit to DriftCorrected event seen: {} ms",
        edited.elapsed().as_millis()
    );
    until_color(&cms, OURS, "blue").await;
    assert_eq!(color_of(&cms, TAKEN).await.as_deref(), Some("admin"));
    assert_eq!(metrics.drift_corrections(COMPONENT, "ConfigMap"), 1);
    let corrected = notes(&client, &uid, "DriftCorrected").await;
    assert!(
        corrected.iter().all(|n| !n.contains(TAKEN)),
        "the admin's edit is no drift: {corrected:?}"
    );

    // A chart change is applied to the object still managed, not to the one taken over.
    managed(&client, json!({"color": "green"})).await;
    until_color(&cms, OURS, "green").await;
    assert_eq!(color_of(&cms, TAKEN).await.as_deref(), Some("admin"));

    // A freshly started operator applies everything it has not written itself, yet still
    // leaves the object taken over alone: it learns that from the cluster, not from memory.
    drop(running);
    managed(&client, json!({"color": "red"})).await;
    let running = start(client.clone(), registry.clone(), options.clone());
    until_color(&cms, OURS, "red").await;
    assert_eq!(color_of(&cms, TAKEN).await.as_deref(), Some("admin"));
    let cm = cms.get(TAKEN).await.expect("taken");
    let manager_of_color = cm.metadata.managed_fields.iter().flatten().find(|f| {
        f.fields_v1
            .as_ref()
            .and_then(|v| v.0.pointer("/f:data/f:color"))
            .is_some()
    });
    assert_eq!(
        manager_of_color.and_then(|f| f.manager.as_deref()),
        Some("admin"),
        "the operator never wrote the object again"
    );

    // Deleted, it is created again, as the chart renders it (without the annotation: ours
    // again).
    cms.delete(TAKEN, &DeleteParams::default())
        .await
        .expect("delete");
    until_color(&cms, TAKEN, "red").await;
    let recreated = format!("Recreated ConfigMap {ns}/{TAKEN} (deleted)");
    eventually(
        "a DriftCorrected event for the recreated object",
        || async {
            notes(&client, &uid, "DriftCorrected")
                .await
                .contains(&recreated)
                .then_some(())
        },
    )
    .await;

    // Taken over again and then dropped by the chart: pruned all the same.
    edit(
        &cms,
        TAKEN,
        "admin",
        json!({"metadata": {"annotations": {HANDS_OFF_ANNOTATION: "false"}}}),
    )
    .await;
    managed(&client, json!({"color": "red", "taken": false})).await;
    eventually("the object taken over pruned", || async {
        cms.get_opt(TAKEN).await.ok()?.is_none().then_some(())
    })
    .await;
    assert_eq!(color_of(&cms, OURS).await.as_deref(), Some("red"));
    drop(running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_field_manager_that_keeps_changing_an_object_is_a_drift_loop() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Arc::new(registry(dir.path()));
    install_crds(&client, &registry).await;
    let mut options = options("driftloop");
    options.drift_loop_limit = 2;
    options.drift_loop_window = Duration::from_secs(30);
    let metrics = options.metrics.clone();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &options.applications_namespace);
    let ar = dsc_helm::api::component_api_resource(&registry.components[0]);
    let _running = start(client.clone(), registry.clone(), options.clone());
    managed(&client, json!({"color": "blue"})).await;
    until_color(&cms, OURS, "blue").await;
    let degraded = |cr: &DynamicObject| condition(cr, "Degraded").cloned();
    eventually("Ready", || async {
        let cr = component(&client, &ar).await;
        (condition(&cr, "Ready")?["status"] == "True").then_some(())
    })
    .await;

    // Another controller that wants the object its own way: every repair is undone again.
    let mut rounds = 0;
    let fight = loop {
        rounds += 1;
        assert!(rounds <= 20, "no DriftLoop after {rounds} repairs");
        let theirs = format!("fighter-{rounds}");
        edit(&cms, OURS, "fighter", json!({"data": {"color": theirs}})).await;
        until_color(&cms, OURS, "blue").await;
        let cr = component(&client, &ar).await;
        if let Some(d) = degraded(&cr).filter(|d| d["reason"] == "DriftLoop") {
            break (d, cr);
        }
    };
    let (condition_shown, cr) = fight;
    assert!(
        rounds >= 3,
        "more than 2 repairs make a fight, not {rounds}"
    );
    assert_eq!(condition_shown["status"], "True");
    let message = condition_shown["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("field manager \"fighter\" keeps changing them"),
        "{message}"
    );
    assert!(message.contains("within 30s"), "{message}");
    assert_eq!(
        condition(&cr, "Ready").map(|r| r["status"].clone()),
        Some(json!("True")),
        "the objects are as the chart says after each repair"
    );
    assert!(metrics.drift_corrections(COMPONENT, "ConfigMap") >= 3);
    let uid = cr.metadata.uid.clone();
    let warned = eventually("a DriftLoop warning", || async {
        notes(&client, &uid, "DriftLoop").await.into_iter().next()
    })
    .await;
    assert!(warned.contains("\"fighter\""), "{warned}");
    let ns = &options.applications_namespace;
    let corrected = notes(&client, &uid, "DriftCorrected").await;
    let want = format!("Put back ConfigMap {ns}/{OURS}: data.color (changed by \"fighter\")");
    assert!(corrected.contains(&want), "{corrected:?}");
    let text = metrics.render();
    assert!(
        text.contains(&format!(
            "dsc_helm_drift_corrections_total{{component=\"{COMPONENT}\",kind=\"ConfigMap\"}}"
        )),
        "{text}"
    );

    // The fighter stops: a quiet window later the condition clears by itself.
    let cleared = eventually("Degraded cleared", || async {
        let cr = component(&client, &ar).await;
        degraded(&cr).filter(|d| d["status"] == "False")
    })
    .await;
    assert_eq!(cleared["reason"], "AsExpected");
    assert_eq!(color_of(&cms, OURS).await.as_deref(), Some("blue"));
}
