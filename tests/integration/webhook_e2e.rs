//! End to end on a real kube-apiserver: the webhook runs in this process with a certificate
//! from a test CA and is registered from webhook-config/dev (its URL and caBundle filled in),
//! so the API server calls it over HTTPS exactly as a cluster does, and kubectl shows what a
//! user sees.
//!
//! DataScienceClusters and webhook configurations are cluster-wide, so the whole story runs as
//! one test, in order, holding [`support::dsc_lock`] so that no other test touches them.

use crate::support;
use crate::webhook_client;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::Api;
use serde_json::{Value as Json, json};

use dsc_helm::api::DataScienceCluster;
use dsc_helm::registry::{self, Registry};
use dsc_helm::webhook::{Checks, dsc_names_from};

/// A chart that refuses values from its templates with `required` and `fail`.
const GUARDED: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: guarded\nversion: 1.0.0\n",
    ),
    ("values.yaml", "owner: \"\"\nmode: normal\n"),
    (
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  owner: {{ required \"guarded needs .Values.owner\" .Values.owner | quote }}\n{{- if eq .Values.mode \"forbidden\" }}{{ fail \"mode forbidden is not supported\" }}{{ end }}\n",
    ),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's components plus `guarded`.
fn scratch_registry(dir: &Path) -> Registry {
    let root = support::charts_with_component(
        dir,
        "guarded",
        "1.0.0",
        "",
        &support::chart_archive("guarded", GUARDED),
        "dependency: guarded\nkind: Guarded\n",
    );
    registry::load(&root).unwrap()
}

/// webhook-config/dev with the test webhook's port and CA filled in, as its README says.
fn dev_config(port: u16, ca_pem: &str) -> String {
    std::fs::read_to_string(repo().join("webhook-config/dev/validatingwebhookconfiguration.yaml"))
        .unwrap()
        .replace("127.0.0.1:9443", &format!("127.0.0.1:{port}"))
        .replace("CA_BUNDLE", &support::base64(ca_pem.as_bytes()))
}

/// Runs kubectl without blocking the runtime that serves the webhook.
async fn kubectl(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::from(support::shared().kubectl());
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    child.wait_with_output().await.unwrap()
}

fn dsc(name: &str, components: Json) -> String {
    json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": name},
        "spec": {"components": components},
    })
    .to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `kubectl apply` that must be refused, with every `expected` text in its stderr.
async fn refused(args: &[&str], manifest: &str, expected: &[&str]) -> String {
    let out = kubectl(args, Some(manifest)).await;
    let err = stderr(&out);
    assert!(!out.status.success(), "accepted: {manifest}\n{err}");
    for e in expected {
        assert!(err.contains(e), "stderr lacks {e:?}:\n{err}");
    }
    err
}

async fn accepted(args: &[&str], manifest: &str) -> String {
    let out = kubectl(args, Some(manifest)).await;
    assert!(
        out.status.success(),
        "refused: {manifest}\n{}",
        stderr(&out)
    );
    stderr(&out)
}

const APPLY: &[&str] = &["apply", "-f", "-"];
const DRY_RUN: &[&str] = &["apply", "--dry-run=server", "-f", "-"];
const WEBHOOK: &str = "admission webhook \"vdatasciencecluster.opendatahub.io\" denied the request";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_is_validated_by_the_webhook() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registry = scratch_registry(dir.path());
    support::install_crds(&client, &registry).await;

    let ca = support::TestCa::new().unwrap();
    let cert = ca.issue_localhost().unwrap();
    let files = webhook_client::write_serving_cert(dir.path(), &cert.cert_pem, &cert.key_pem);
    let server = webhook_client::start(
        webhook_client::validator(registry, Checks::default()),
        files.clone(),
        Some(dsc_names_from(client.clone())),
        |c| c.reload_interval = Duration::from_millis(200),
    );
    accepted(APPLY, &dev_config(server.addr.port(), ca.cert_pem())).await;
    let configs = Api::<ValidatingWebhookConfiguration>::all(client.clone());

    // A wrong-typed value: refused with the field path and the schema's reason. The API server
    // picks the configuration up asynchronously; a server dry run has no side effects, so it
    // is retried until the webhook answers.
    let bad_type = dsc(
        "default-dsc",
        json!({"webapp": {"managementState": "Managed", "values": {"replicaCount": "three"}}}),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = kubectl(DRY_RUN, Some(&bad_type)).await;
        if !out.status.success() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let expected = [
        WEBHOOK,
        "spec.components.webapp.values.replicaCount: got string, want integer",
    ];
    refused(DRY_RUN, &bad_type, &expected).await;
    refused(APPLY, &bad_type, &expected).await;

    // Every problem at once, template refusals in the chart's own words.
    let err = refused(
        APPLY,
        &dsc(
            "default-dsc",
            json!({
                "webapp": {"managementState": "Managed", "values": {"replicaCount": "three", "service": {"port": 0}}},
                "guarded": {"managementState": "Managed"},
            }),
        ),
        &[
            "spec.components.webapp.values.replicaCount: got string, want integer",
            "spec.components.webapp.values.service.port: minimum: got 0, want 1",
            "spec.components.guarded.values: chart guarded refuses these values",
            "guarded needs .Values.owner",
        ],
    )
    .await;
    println!("what kubectl prints for a DSC with three problems:\n{err}");
    refused(
        APPLY,
        &dsc(
            "default-dsc",
            json!({"guarded": {"managementState": "Managed", "values": {"owner": "a", "mode": "forbidden"}}}),
        ),
        &["mode forbidden is not supported"],
    )
    .await;
    let dscs = Api::<DataScienceCluster>::all(client.clone());
    assert!(dscs.get_opt("default-dsc").await.unwrap().is_none());

    // A valid DSC: a server dry run creates nothing; the real apply succeeds, with a warning
    // for the values of a Removed component.
    let valid = dsc(
        "default-dsc",
        json!({
            "webapp": {"managementState": "Managed", "features": {"replicas": 2}, "values": {"service": {"port": 8080}}},
            "guarded": {"managementState": "Managed", "values": {"owner": "team-a"}},
            "model-registry": {"managementState": "Removed", "values": {"anything": "goes"}},
        }),
    );
    accepted(DRY_RUN, &valid).await;
    assert!(dscs.get_opt("default-dsc").await.unwrap().is_none());
    let err = accepted(APPLY, &valid).await;
    assert!(
        err.contains("Warning: spec.components.model-registry.values: ignored while model-registry is Removed"),
        "{err}"
    );
    let stored = dscs.get("default-dsc").await.unwrap();
    let generation = stored.metadata.generation;

    // A second DataScienceCluster is refused, in a dry run too.
    let second = dsc("second-dsc", json!({}));
    for args in [DRY_RUN, APPLY] {
        refused(
            args,
            &second,
            &[WEBHOOK, "DataScienceCluster default-dsc already exists; only one DataScienceCluster is allowed"],
        )
        .await;
    }
    assert!(dscs.get_opt("second-dsc").await.unwrap().is_none());

    // Updates are validated; the stored object stays as it was.
    refused(
        APPLY,
        &dsc(
            "default-dsc",
            json!({"webapp": {"managementState": "Managed", "values": {"replicaCount": -1}}}),
        ),
        &["spec.components.webapp.values.replicaCount: minimum: got -1, want 1"],
    )
    .await;
    assert_eq!(
        dscs.get("default-dsc").await.unwrap().metadata.generation,
        generation
    );

    // A component's own resource is validated the same way, under its spec.
    let webapp = json!({
        "apiVersion": "components.platform.opendatahub.io/v1alpha1",
        "kind": "WebApp",
        "metadata": {"name": "default-webapp"},
        "spec": {"managementState": "Managed", "values": {"replicaCount": "three"}},
    })
    .to_string();
    refused(
        DRY_RUN,
        &webapp,
        &[
            "admission webhook \"vcomponents.platform.opendatahub.io\" denied the request",
            "spec.values.replicaCount: got string, want integer",
        ],
    )
    .await;

    // Certificate rotation while requests flow: every request succeeds.
    let flowing = Arc::new(AtomicU32::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let flow = {
        let flowing = flowing.clone();
        let valid = valid.clone();
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while !*stop_rx.borrow() {
                let out = kubectl(DRY_RUN, Some(&valid)).await;
                if !out.status.success() {
                    failures.push(stderr(&out));
                }
                flowing.fetch_add(1, Ordering::SeqCst);
            }
            failures
        })
    };
    let wait_for = |n: u32| {
        let flowing = flowing.clone();
        async move {
            while flowing.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for(2).await;
    for round in 1..=2u64 {
        let next = ca.issue_localhost().unwrap();
        webhook_client::write_serving_cert(dir.path(), &next.cert_pem, &next.key_pem);
        while server.metrics.reloads() < round {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = flowing.load(Ordering::SeqCst);
        wait_for(seen + 3).await;
    }
    let _ = stop_tx.send(true);
    let failures = flow.await.unwrap();
    assert!(
        failures.is_empty(),
        "requests failed during rotation:\n{}",
        failures.join("\n")
    );
    assert_eq!(server.metrics.reloads(), 2);

    // With the webhook down, failurePolicy Fail refuses every CREATE and UPDATE (the API
    // server cannot call the webhook) while reads and deletes, which it does not intercept,
    // keep working.
    server.stop().await;
    refused(
        APPLY,
        &dsc(
            "default-dsc",
            json!({"webapp": {"managementState": "Managed", "features": {"replicas": 3}}}),
        ),
        &["failed calling webhook \"vdatasciencecluster.opendatahub.io\""],
    )
    .await;
    assert_eq!(
        dscs.get("default-dsc").await.unwrap().metadata.generation,
        generation
    );
    let out = kubectl(&["delete", "datasciencecluster", "default-dsc"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));

    configs
        .delete("dsc-helm-validating-webhook", &Default::default())
        .await
        .unwrap();
}

/// Every variant in webhook-config/ is a valid object for the API server, and all of them
/// send the same operations of the same resources to the paths the server serves, with the
/// same failure behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_configuration_variant_is_valid_and_consistent() {
    let mut settings = Vec::new();
    for variant in ["dev", "cert-manager", "openshift"] {
        let path = repo()
            .join("webhook-config")
            .join(variant)
            .join("validatingwebhookconfiguration.yaml");
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "CA_BUNDLE",
            &support::base64(support::TestCa::new().unwrap().cert_pem().as_bytes()),
        );
        let parsed = helm_render::yaml::parse_value(&text).unwrap().to_json();
        let webhooks = parsed["webhooks"].as_array().unwrap();
        let mut seen = Vec::new();
        for w in webhooks {
            let path = w["clientConfig"]["url"]
                .as_str()
                .map(|u| u.trim_start_matches("https://127.0.0.1:9443").to_string())
                .or_else(|| {
                    w["clientConfig"]["service"]["path"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap();
            assert!(
                [
                    dsc_helm::webhook::DSC_PATH,
                    dsc_helm::webhook::COMPONENT_PATH
                ]
                .contains(&path.as_str()),
                "{variant}: {path}"
            );
            assert_eq!(w["failurePolicy"], "Fail");
            assert_eq!(w["sideEffects"], "None");
            assert_eq!(w["matchPolicy"], "Equivalent");
            assert_eq!(w["admissionReviewVersions"], json!(["v1"]));
            let mut w = w.clone();
            w.as_object_mut().unwrap().remove("clientConfig");
            seen.push((path, w));
        }
        settings.push(seen);

        // The API server accepts it (a dry run under a name no other test uses).
        let renamed = text.replacen(
            "name: dsc-helm-validating-webhook",
            &format!("name: {}", support::unique_name("variant")),
            1,
        );
        let out = kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&renamed)).await;
        assert!(out.status.success(), "{variant}: {}", stderr(&out));
    }
    assert_eq!(settings[0], settings[1]);
    assert_eq!(settings[0], settings[2]);
}
