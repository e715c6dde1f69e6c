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
