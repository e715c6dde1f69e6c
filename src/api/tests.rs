use std::path::Path;

use serde_json::json;

use super::*;

fn repo_registry() -> Registry {
    crate::registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")).unwrap()
}

fn to_json(crd: &CustomResourceDefinition) -> Json {
    serde_json::to_value(crd).unwrap()
}

/// `crds/crds.yaml` is generated from charts/: `cargo run -- crds > crds/crds.yaml`, or run
/// this test with `DSC_HELM_UPDATE_CRDS=1`.
#[test]
fn committed_crds_are_up_to_date() {
    let generated = crds_yaml(&repo_registry()).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/crds.yaml");
    if std::env::var_os("DSC_HELM_UPDATE_CRDS").is_some() {
        std::fs::write(&file, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "crds/crds.yaml is out of date: run `cargo run -- crds > crds/crds.yaml`"
    );
}

#[test]
fn dsc_crd_lists_every_component_with_typed_features() {
    let crd = to_json(&dsc_crd(&repo_registry()).unwrap());
    assert_eq!(
        crd["metadata"]["name"],
        "datascienceclusters.datasciencecluster.opendatahub.io"
    );
    assert_eq!(crd["spec"]["scope"], "Cluster");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["dsc"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Ready", "Reason", "Age"]);
    assert_eq!(version["subresources"]["status"], json!({}));

    let components =
        &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["components"];
    let names: Vec<&String> = components["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(names, ["dashboard", "model-registry", "webapp"]);
    let webapp = &components["properties"]["webapp"]["properties"];
    assert_eq!(
        webapp["managementState"]["enum"],
        json!(["Managed", "Removed"])
    );
    assert_eq!(
        webapp["values"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(
        webapp["features"]["properties"]["replicas"],
        json!({"type": "integer", "minimum": 1.0, "default": 1, "description": "Number of web server pods."})
    );
    assert_eq!(
        webapp["features"]["properties"]["logLevel"]["enum"],
        json!(["debug", "info", "warn", "error"])
    );
    let status = &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
    assert!(status["conditions"]["items"]["properties"]["severity"].is_object());
    assert!(status["components"]["additionalProperties"]["properties"]["chart"].is_object());
}

#[test]
fn component_crd_is_a_cluster_scoped_singleton() {
    let reg = repo_registry();
    let crd = to_json(&component_crd(reg.get("model-registry").unwrap()).unwrap());
    assert_eq!(
        crd["metadata"]["name"],
        "modelregistries.components.platform.opendatahub.io"
    );
    assert_eq!(crd["spec"]["scope"], "Cluster");
    assert_eq!(crd["spec"]["names"]["kind"], "ModelRegistry");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        schema["x-kubernetes-validations"][0]["rule"],
        "self.metadata.name == 'default-model-registry'"
    );
    assert_eq!(
        schema["properties"]["spec"]["properties"]["features"]["properties"]["retentionDays"]["maximum"],
        3650.0
    );
    let status = &schema["properties"]["status"]["properties"];
    assert!(status["inventory"]["items"]["properties"]["kind"].is_object());
    assert_eq!(status["renderDigest"]["type"], "string");
}

#[test]
fn plurals_follow_english() {
    assert_eq!(plural("WebApp"), "webapps");
    assert_eq!(plural("ModelRegistry"), "modelregistries");
    assert_eq!(plural("Gateway"), "gateways");
    assert_eq!(plural("Index"), "indexes");
}

#[test]
fn dsc_round_trips_through_its_rust_type() {
    let dsc: DataScienceCluster = serde_json::from_value(json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": "default-dsc"},
        "spec": {"components": {
            "webapp": {"managementState": "Managed", "features": {"replicas": 2}, "values": {"a": 1}},
            "model-registry": {}
        }},
    }))
    .unwrap();
    assert!(dsc.spec.components["webapp"].is_managed());
    assert!(!dsc.spec.components["model-registry"].is_managed());
    assert_eq!(dsc.spec.components["webapp"].features["replicas"], 2);
    let back = serde_json::to_value(&dsc).unwrap();
    assert_eq!(back["spec"]["components"]["model-registry"], json!({}));
}

#[test]
fn third_component_appears_in_the_crds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("charts");
    for sub in ["charts", "components"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
        for e in std::fs::read_dir(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("charts")
                .join(sub),
        )
        .unwrap()
        {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/Chart.yaml"),
        root.join("Chart.yaml"),
    )
    .unwrap();
    crate::registry::tests::add_third_component(&root);
    let reg = crate::registry::load(&root).unwrap();
    let crds = all_crds(&reg).unwrap();
    assert_eq!(
        crds.len(),
        reg.components.len() + 1,
        "the DSC and one per component"
    );
    assert_eq!(crds.len(), 5);
    let dsc = to_json(&crds[0]);
    assert_eq!(
        dsc.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/components/properties/workbench/properties/features/properties/idleMinutes/minimum"),
        Some(&json!(5.0))
    );
    assert_eq!(
        crds[4].metadata.name.as_deref(),
        Some("workbenches.components.platform.opendatahub.io")
    );
    assert!(crds_yaml(&reg).unwrap().contains("kind: Workbench\n"));
}

/// The CRD's enum, the serde names and the stanza type agree; `""` is no state.
#[test]
fn management_state_is_defined_once() {
    for state in ManagementState::ALL {
        assert_eq!(serde_json::to_value(state).unwrap(), json!(state.as_str()));
    }
    let registry = repo_registry();
    let component = registry.components.first().unwrap();
    assert_eq!(
        stanza_schema(component)["properties"]["managementState"]["enum"],
        json!(["Managed", "Removed"])
    );
    let empty = serde_json::from_value::<ComponentStanza>(json!({"managementState": ""}));
    assert!(empty.is_err());
    let none = serde_json::from_value::<ComponentStanza>(json!({})).unwrap();
    assert!(!none.is_managed());
}

/// `kubectl explain` shows a component's dependencies: they are in its stanza's description,
/// in the DSC's schema and its own resource's.
#[test]
fn a_components_description_names_its_dependencies() {
    let mut registry = repo_registry();
    let webapp = registry
        .components
        .iter_mut()
        .find(|c| c.name == "webapp")
        .unwrap();
    webapp.depends_on = vec!["model-registry".to_string()];
    let crd = to_json(&dsc_crd(&registry).unwrap());
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let described = schema["properties"]["spec"]["properties"]["components"]["properties"]
        ["webapp"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        described.ends_with(
            "Depends on model-registry: applied only once they are Ready, and Managed only with them."
        ),
        "{described}"
    );
    let other = schema["properties"]["spec"]["properties"]["components"]["properties"]
        ["model-registry"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(!other.contains("Depends on"), "{other}");
}
