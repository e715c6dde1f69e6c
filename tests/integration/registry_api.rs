//! The CRDs generated from the registry, checked by a real kube-apiserver: they install, the API
//! server itself enforces the typed features, and `kubectl explain` documents them.
//! The CRD names are fixed, so every test installs the same CRDs (server-side apply is
//! idempotent) and only creates objects in dry-run mode, leaving nothing for other tests to see.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use dsc_helm::api::{self, DataScienceCluster};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

fn registry() -> dsc_helm::registry::Registry {
    dsc_helm::registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")).unwrap()
}

/// Applies every generated CRD and waits until each one is Established.
async fn install_crds(client: &kube::Client) -> Vec<String> {
    support::install_crds(client, &registry()).await
}

/// A dry-run create, retried while the freshly established resource is not served yet.
async fn dry_run_create(api: &Api<DynamicObject>, obj: Value) -> Result<(), kube::core::Status> {
    let obj: DynamicObject = serde_json::from_value(obj).unwrap();
    let params = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.create(&params, &obj).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(kube::Error::Api(e)) => return Err(*e),
            Err(e) => panic!("creating {obj:?}: {e}"),
        }
    }
}

fn dsc(components: Value) -> Value {
    json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": "default-dsc"},
        "spec": {"components": components},
    })
}

fn dsc_api(client: &kube::Client) -> Api<DynamicObject> {
    let resource = kube::core::ApiResource::erase::<DataScienceCluster>(&());
    Api::all_with(client.clone(), &resource)
}

#[tokio::test]
async fn generated_crds_install_and_become_established() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.unwrap();
    let names = install_crds(&client).await;
    assert_eq!(
        names,
        [
            "datascienceclusters.datasciencecluster.opendatahub.io",
            "webapps.components.platform.opendatahub.io",
            "modelregistries.components.platform.opendatahub.io",
            "dashboards.components.platform.opendatahub.io",
        ]
    );
    let accepted = dsc_run(
        &client,
        json!({
            "webapp": {"managementState": "Managed", "features": {"replicas": 2, "logLevel": "debug"},
                       "values": {"service": {"port": 8080}}},
            "model-registry": {"managementState": "Removed"},
        }),
    )
    .await;
    assert!(accepted.is_ok(), "{accepted:?}");
}

async fn dsc_run(client: &kube::Client, components: Value) -> Result<(), kube::core::Status> {
    dry_run_create(&dsc_api(client), dsc(components)).await
}

#[tokio::test]
async fn api_server_rejects_mistyped_features() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.unwrap();
    install_crds(&client).await;

    let wrong_type = dsc_run(
        &client,
        json!({"webapp": {"managementState": "Managed", "features": {"replicas": "three"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong_type.code, 422);
    assert!(
        wrong_type
            .message
            .contains("spec.components.webapp.features.replicas: Invalid value: \"string\": spec.components.webapp.features.replicas in body must be of type integer"),
        "{}",
        wrong_type.message
    );

    let bad_enum = dsc_run(
        &client,
        json!({"webapp": {"features": {"logLevel": "loud"}}}),
    )
    .await
    .unwrap_err();
    assert!(
        bad_enum.message.contains(
            "spec.components.webapp.features.logLevel: Unsupported value: \"loud\": supported values: \"debug\", \"info\", \"warn\", \"error\""
        ),
        "{}",
        bad_enum.message
    );

    let too_few = dsc_run(
        &client,
        json!({"model-registry": {"features": {"retentionDays": 0}}}),
    )
    .await
    .unwrap_err();
    assert!(
        too_few.message.contains("spec.components.model-registry.features.retentionDays: Invalid value: 0: spec.components.model-registry.features.retentionDays in body should be greater than or equal to 1"),
        "{}",
        too_few.message
    );

    let bad_state = dsc_run(&client, json!({"webapp": {"managementState": "Unmanaged"}}))
        .await
        .unwrap_err();
    assert!(
        bad_state
            .message
            .contains("spec.components.webapp.managementState: Unsupported value: \"Unmanaged\""),
        "{}",
        bad_state.message
    );
}

/// kubectl validates fields strictly: a component that is not registered is refused.
#[tokio::test]
async fn kubectl_refuses_an_unknown_component() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    install_crds(&plane.client().await.unwrap()).await;
    let manifest = dsc(json!({"langfuse": {"managementState": "Managed"}})).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stderr = loop {
        let mut child = tokio::process::Command::from(plane.kubectl())
            .args(["create", "--dry-run=server", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(manifest.as_bytes()).await.unwrap();
        }
        let out = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "an unknown component was accepted");
        if !stderr.contains("the server could not find the requested resource")
            || Instant::now() > deadline
        {
            break stderr;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        stderr.contains("unknown field \"spec.components.langfuse\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn component_kinds_are_named_singletons() {
    let _dsc = support::dsc_lock().await;
    let client = support::shared().client().await.unwrap();
    install_crds(&client).await;
    let reg = registry();
    let webapp = reg.get("webapp").unwrap();
    let resource = api::component_api_resource(webapp);
    let components = Api::<DynamicObject>::all_with(client.clone(), &resource);
    let object = |name: &str| {
        json!({
            "apiVersion": "components.platform.opendatahub.io/v1alpha1",
            "kind": "WebApp",
            "metadata": {"name": name},
            "spec": {"managementState": "Managed", "features": {"replicas": 1}},
        })
    };
    dry_run_create(&components, object("default-webapp"))
        .await
        .unwrap();
    let second = dry_run_create(&components, object("another-webapp"))
        .await
        .unwrap_err();
    assert!(
        second
            .message
            .contains("the only allowed name is default-webapp"),
        "{}",
        second.message
    );
}

#[tokio::test]
async fn kubectl_explain_shows_the_features() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.unwrap();
    install_crds(&client).await;
    // The OpenAPI document that `explain` reads is published shortly after the CRD is established.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let out = tokio::process::Command::from(plane.kubectl())
            .args([
                "explain",
                "datasciencecluster.spec.components.webapp.features",
            ])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.contains("replicas") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl explain never showed the features: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for expected in [
        "GROUP:      datasciencecluster.opendatahub.io",
        "Typed settings of webapp, each copied to a chart value.",
        "replicas\t<integer>",
        "Number of web server pods.",
        "logLevel\t<string>",
        "Verbosity of the application log.",
        "enum: debug, info, warn, error",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

/// Our example charts render byte for byte as Helm renders them. The expected outputs in
/// tests/fixtures/components were produced by Helm's engine (`helm_oracle.py template ARCHIVE -f
/// VALUES`, release `rel` in namespace `ns`); passwords are fixed so randAlphaNum stays out.
#[test]
fn example_charts_render_like_helm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        ("webapp-defaults", "webapp-0.1.0.tgz"),
        ("webapp-full", "webapp-0.1.0.tgz"),
        ("model-registry-defaults", "model-registry-0.2.0.tgz"),
        ("model-registry-nodb", "model-registry-0.2.0.tgz"),
    ];
    for (case, archive) in cases {
        let fixtures = root.join("tests/fixtures/components");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
            .arg("template")
            .arg(root.join("charts/charts").join(archive))
            .arg("-f")
            .arg(fixtures.join(format!("{case}.values.yaml")))
            .args([
                "--release-name",
                "rel",
                "--namespace",
                "ns",
                "--output",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered: Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join(format!("{case}.expected.json"))).unwrap(),
        )
        .unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&rendered), keys(&expected), "{case}");
        for (name, text) in expected.as_object().unwrap() {
            assert_eq!(
                rendered[name].as_str().unwrap(),
                text.as_str().unwrap(),
                "{case}: {name}"
            );
        }
    }
}

fn dsc_helm(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dsc-helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Acceptance: a third component needs an archive, a dependency line and a descriptor only.
#[test]
fn third_component_appears_in_the_cli_listing_and_crds() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::charts_with_component(
        dir.path(),
        "notebook",
        "1.2.3",
        "    repository: https://charts.example.com\n",
        &support::chart_archive(
            "notebook",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: notebook\nversion: 1.2.3\n",
                ),
                ("values.yaml", "idleMinutes: 60\n"),
            ],
        ),
        "dependency: notebook\nkind: Notebook\nfeatures:\n  idleMinutes:\n    path: idleMinutes\n    type: integer\n    description: Minutes before an idle notebook stops.\n",
    );

    let listing = dsc_helm(&["charts".as_ref(), "--charts".as_ref(), root.as_os_str()]);
    assert!(
        listing.ends_with("notebook         notebook         1.2.3     Notebook\n"),
        "{listing}"
    );
    let crds = dsc_helm(&["crds".as_ref(), "--charts".as_ref(), root.as_os_str()]);
    assert!(
        crds.contains("  name: notebooks.components.platform.opendatahub.io\n"),
        "{crds}"
    );
    assert!(
        crds.contains("Minutes before an idle notebook stops."),
        "{crds}"
    );
    assert_eq!(crds.matches("kind: CustomResourceDefinition\n").count(), 5);
}
