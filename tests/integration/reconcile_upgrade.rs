//! A chart version upgrade on the test cluster: the operator runs with a registry holding
//! version 0.1.0 of a chart of ours, stops, and starts again with 0.2.0, which renames one
//! object, drops one and adds one. The next reconcile applies the new rendering, prunes what it
//! no longer renders, moves the version annotation and the status to 0.2.0, and says so in an
//! event.

use crate::reconcile_support::*;
use crate::support;

use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::json;

/// The registry of one component, `upgrade-demo`, at `version`, rendering `names` as
/// ConfigMaps.
fn registry(root: &Path, version: &str, names: &[&str]) -> dsc_helm::registry::Registry {
    let mut templates = String::new();
    for name in names {
        templates.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\ndata:\n  chart: {{{{ .Chart.Version | quote }}}}\n"
        ));
    }
    let chart_yaml = format!("apiVersion: v2\nname: upgrade-demo\nversion: {version}\n");
    let files = [
        ("Chart.yaml", chart_yaml.as_str()),
        ("values.yaml", "{}\n"),
        ("templates/configmaps.yaml", templates.as_str()),
    ];
    let charts = root.join("charts");
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    std::fs::write(
        charts.join(format!("upgrade-demo-{version}.tgz")),
        support::chart_archive("upgrade-demo", &files),
    )
    .expect("archive");
    std::fs::write(
        root.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: upgrade-test\nversion: 0.0.1\ndependencies:\n  - name: upgrade-demo\n    version: {version}\n"
        ),
    )
    .expect("umbrella");
    std::fs::write(
        descriptors.join("upgrade-demo.yaml"),
        "dependency: upgrade-demo\nkind: UpgradeDemo\n",
    )
    .expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

async fn config_maps(client: &kube::Client, namespace: &str) -> Vec<(String, String)> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let mut found: Vec<(String, String)> = api
        .list(&ListParams::default().labels(dsc_helm::reconcile::PART_OF))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|cm| {
            let version = cm
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(dsc_helm::reconcile::VERSION))
                .cloned()
                .unwrap_or_default();
            (cm.metadata.name.unwrap_or_default(), version)
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chart_version_is_applied_pruned_and_announced() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let old = Arc::new(registry(&dir.path().join("v1"), "0.1.0", &["a", "b", "c"]));
    install_crds(&client, &old).await;
    let options = options("upgrade");
    let namespace = options.applications_namespace.clone();
    let ar = dsc_helm::api::component_api_resource(&old.components[0]);
    let running = start(client.clone(), old.clone(), options.clone());
    apply_dsc(
        &client,
        json!({"upgrade-demo": {"managementState": "Managed"}}),
    )
    .await;
    let version_of = |cr: &kube::api::DynamicObject| {
        cr.data["status"]["chart"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    eventually("0.1.0 Ready", || async {
        let cr = get(&client, &ar, None, "default-upgrade-demo").await?;
        (condition(&cr, "Ready")?["status"] == "True" && version_of(&cr) == "0.1.0").then_some(())
    })
    .await;
    let at = |version: &str, names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (format!("upgrade-demo-{n}"), version.to_string()))
            .collect()
    };
    assert_eq!(
        config_maps(&client, &namespace).await,
        at("0.1.0", &["a", "b", "c"])
    );
    drop(running);

    // A new build of the operator: the chart renames b to b2, drops c and adds d.
    let new = Arc::new(registry(&dir.path().join("v2"), "0.2.0", &["a", "b2", "d"]));
    install_crds(&client, &new).await;
    let _running = start(client.clone(), new, options);
    let cr = eventually("0.2.0 applied and Ready", || async {
        let cr = get(&client, &ar, None, "default-upgrade-demo").await?;
        (condition(&cr, "Ready")?["status"] == "True" && version_of(&cr) == "0.2.0").then_some(cr)
    })
    .await;
    assert_eq!(
        config_maps(&client, &namespace).await,
        at("0.2.0", &["a", "b2", "d"]),
        "the new rendering, the old names pruned"
    );
    let inventory: Vec<&str> = cr.data["status"]["inventory"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        inventory,
        ["upgrade-demo-a", "upgrade-demo-b2", "upgrade-demo-d"]
    );
    let uid = cr.metadata.uid.clone();
    let note = eventually("an Upgraded event", || async {
        Api::<Event>::all(client.clone())
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.uid.clone()) == uid)
            .find(|e| e.reason.as_deref() == Some("Upgraded"))
            .and_then(|e| e.note)
    })
    .await;
    assert_eq!(note, "Upgraded upgrade-demo 0.1.0 → 0.2.0");
}

/// The registry of `crd-demo` at `version`: its chart's CRD (`crds/`) serves `versions`, the
/// one marked `true` stored, and its template writes one Widget in `widget_version`.
fn crd_registry(
    root: &Path,
    version: &str,
    versions: &[(&str, bool)],
    widget_version: &str,
) -> dsc_helm::registry::Registry {
    let mut crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{CRD_GROUP}\nspec:\n  group: {CRD_GROUP}\n  scope: Namespaced\n  names:\n    plural: widgets\n    singular: widget\n    kind: Widget\n  versions:\n"
    );
    for (name, storage) in versions {
        crd.push_str(&format!(
            "    - name: {name}\n      served: true\n      storage: {storage}\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
        ));
    }
    let widget = format!(
        "apiVersion: {CRD_GROUP}/{widget_version}\nkind: Widget\nmetadata:\n  name: {{{{ .Release.Name }}}}\nspec:\n  chart: {{{{ .Chart.Version | quote }}}}\n"
    );
    let chart_yaml = format!("apiVersion: v2\nname: crd-demo\nversion: {version}\n");
    let files = [
        ("Chart.yaml", chart_yaml.as_str()),
        ("values.yaml", "{}\n"),
        ("crds/widgets.yaml", crd.as_str()),
        ("templates/widget.yaml", widget.as_str()),
    ];
    let charts = root.join("charts");
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    std::fs::write(
        charts.join(format!("crd-demo-{version}.tgz")),
        support::chart_archive("crd-demo", &files),
    )
    .expect("archive");
    std::fs::write(
        root.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: crd-upgrade-test\nversion: 0.0.1\ndependencies:\n  - name: crd-demo\n    version: {version}\n"
        ),
    )
    .expect("umbrella");
    std::fs::write(
        descriptors.join("crd-demo.yaml"),
        "dependency: crd-demo\nkind: CrdDemo\n",
    )
    .expect("descriptor");
    dsc_helm::registry::load(root).expect("registry loads")
}

const CRD_GROUP: &str = "crd-demo.dsc-helm.test";

/// A chart's CRD across versions: a new version (v1 beside v1alpha1) is applied in place; one
/// that drops v1alpha1 while objects are still stored in it is not applied and is reported as
/// `CRDStoredVersionRemoved`, naming the CRD and the version; Removed leaves the CRD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_are_upgraded_in_place_but_never_lose_a_stored_version() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd_name = format!("widgets.{CRD_GROUP}");
    let served = |crd: &CustomResourceDefinition| -> Vec<String> {
        crd.spec.versions.iter().map(|v| v.name.clone()).collect()
    };
    let stored = |crd: &CustomResourceDefinition| -> Vec<String> {
        crd.status
            .as_ref()
            .and_then(|s| s.stored_versions.clone())
            .unwrap_or_default()
    };
    let options = options("crd-upgrade");
    let ready_at = |version: &'static str, registry: &dsc_helm::registry::Registry| {
        let ar = dsc_helm::api::component_api_resource(&registry.components[0]);
        let client = client.clone();
        async move {
            eventually(&format!("crd-demo {version} Ready"), || async {
                let cr = get(&client, &ar, None, "default-crd-demo").await?;
                (condition(&cr, "Ready")?["status"] == "True"
                    && cr.data["status"]["chart"]["version"] == version)
                    .then_some(cr)
            })
            .await
        }
    };

    let first = Arc::new(crd_registry(
        &dir.path().join("v1"),
        "0.1.0",
        &[("v1alpha1", true)],
        "v1alpha1",
    ));
    install_crds(&client, &first).await;
    let running = start(client.clone(), first.clone(), options.clone());
    apply_dsc(&client, json!({"crd-demo": {"managementState": "Managed"}})).await;
    ready_at("0.1.0", &first).await;
    drop(running);

    // v1 beside v1alpha1, and stored: applied in place.
    let second = Arc::new(crd_registry(
        &dir.path().join("v2"),
        "0.2.0",
        &[("v1alpha1", false), ("v1", true)],
        "v1",
    ));
    let running = start(client.clone(), second.clone(), options.clone());
    ready_at("0.2.0", &second).await;
    let crd = crds.get(&crd_name).await.expect("crd");
    assert_eq!(served(&crd), ["v1alpha1", "v1"]);
    assert_eq!(stored(&crd), ["v1alpha1", "v1"]);
    drop(running);

    // v1alpha1 dropped while still stored: held back and reported, the CRD as it was.
    let third = Arc::new(crd_registry(
        &dir.path().join("v3"),
        "0.3.0",
        &[("v1", true)],
        "v1",
    ));
    let ar = dsc_helm::api::component_api_resource(&third.components[0]);
    let _running = start(client.clone(), third.clone(), options.clone());
    let cr = eventually("crd-demo reports the stored version", || async {
        let cr = get(&client, &ar, None, "default-crd-demo").await?;
        (condition(&cr, "Degraded")?["reason"] == "CRDStoredVersionRemoved").then_some(cr)
    })
    .await;
    let degraded = condition(&cr, "Degraded").expect("Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(
        degraded["message"],
        format!(
            "CustomResourceDefinition {crd_name}: not updated: the chart no longer lists version v1alpha1, which objects are still stored in (status.storedVersions); migrate them to a listed version and remove it from status.storedVersions first"
        )
    );
    let crd = crds.get(&crd_name).await.expect("crd");
    assert_eq!(served(&crd), ["v1alpha1", "v1"], "the CRD was not changed");
    let widget = get(
        &client,
        &resource(CRD_GROUP, "v1", "Widget", "widgets"),
        Some(&options.applications_namespace),
        "crd-demo",
    )
    .await
    .expect("the widget");
    assert_eq!(widget.data["spec"]["chart"], "0.3.0", "the rest is applied");

    // Removed: the widget goes, the CRD stays.
    apply_dsc(&client, json!({"crd-demo": {"managementState": "Removed"}})).await;
    eventually("the widget removed", || async {
        get(
            &client,
            &resource(CRD_GROUP, "v1", "Widget", "widgets"),
            Some(&options.applications_namespace),
            "crd-demo",
        )
        .await
        .is_none()
        .then_some(())
    })
    .await;
    assert!(crds.get_opt(&crd_name).await.expect("read").is_some());
}
