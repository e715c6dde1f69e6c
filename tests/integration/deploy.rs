//! deploy/ against a real API server: `kubectl apply -k deploy/` is accepted, and the
//! generated ClusterRole lets the operator's ServiceAccount do what the operator does, and no
//! more, as the API server's own RBAC authorizer decides (`kubectl auth can-i --as`).
//! These tests share a control plane of their own: deploy/ installs cluster-wide objects, among
//! them a webhook configuration that refuses every DSC write while no operator serves it.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

const OPERATOR: &str = "system:serviceaccount:dsc-helm-system:dsc-helm";

/// The plane deploy/ is applied to, shared by this module's tests only.
static PLANE: OnceLock<Result<support::ControlPlane, String>> = OnceLock::new();

fn kubectl(args: &[&str]) -> Output {
    support::shared_in(&PLANE)
        .kubectl()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running kubectl {args:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn can_i(verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", OPERATOR];
    if let Some(ns) = namespace {
        args.extend(["-n", ns]);
    }
    let out = kubectl(&args);
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => true,
        "no" => false,
        other => panic!(
            "kubectl auth can-i {verb} {resource}: {other} {}",
            text(&out)
        ),
    }
}

/// cert-manager's Issuer and Certificate CRDs, rendered from the corpus's cert-manager chart by
/// our own `dsc-helm template`, so that deploy/'s cert-manager webhook variant validates.
fn install_cert_manager_crds() {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/charts/cert-manager/chart.tgz");
    let rendered = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
        .arg("template")
        .arg(&chart)
        .args(["--set", "crds.enabled=true"])
        .args([
            "--show-only",
            "templates/crd-cert-manager.io_certificates.yaml",
        ])
        .args(["--show-only", "templates/crd-cert-manager.io_issuers.yaml"])
        .output()
        .unwrap_or_else(|e| panic!("running dsc-helm template: {e}"));
    assert!(rendered.status.success(), "{}", text(&rendered));
    let manifests = std::env::temp_dir().join(support::unique_name("cert-manager-crds"));
    std::fs::write(&manifests, &rendered.stdout).unwrap_or_else(|e| panic!("{e}"));
    let out = kubectl(&[
        "apply",
        "--server-side",
        "-f",
        &manifests.display().to_string(),
    ]);
    let _ = std::fs::remove_file(&manifests);
    assert!(out.status.success(), "{}", text(&out));
    let out = kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/certificates.cert-manager.io",
        "crd/issuers.cert-manager.io",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Applies deploy/ once per plane: two concurrent first applies would race to create the
/// same objects.
fn apply_deploy() {
    static APPLIED: OnceLock<Result<(), String>> = OnceLock::new();
    let applied = APPLIED.get_or_init(|| {
        install_cert_manager_crds();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
        let out = kubectl(&["apply", "-k", &dir.display().to_string()]);
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out))
        }
    });
    if let Err(e) = applied {
        panic!("kubectl apply -k deploy/ failed:\n{e}");
    }
}

#[test]
fn kustomization_applies_and_every_object_is_stored() {
    apply_deploy();
    for (kind, name, namespace) in [
        ("namespace", "dsc-helm-system", None),
        ("serviceaccount", "dsc-helm", Some("dsc-helm-system")),
        ("clusterrole", "dsc-helm", None),
        ("clusterrolebinding", "dsc-helm", None),
        ("deployment", "dsc-helm", Some("dsc-helm-system")),
        ("service", "dsc-helm-webhook", Some("dsc-helm-system")),
        ("poddisruptionbudget", "dsc-helm", Some("dsc-helm-system")),
        (
            "customresourcedefinition",
            "datascienceclusters.datasciencecluster.opendatahub.io",
            None,
        ),
        (
            "validatingwebhookconfiguration",
            "dsc-helm-validating-webhook",
            None,
        ),
        (
            "certificate.cert-manager.io",
            "dsc-helm-webhook-cert",
            Some("dsc-helm-system"),
        ),
    ] {
        let mut args = vec!["get", kind, name, "-o", "name"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        let out = kubectl(&args);
        assert!(
            out.status.success(),
            "{kind} {name} missing: {}",
            text(&out)
        );
    }
    let out = kubectl(&[
        "get",
        "deployment",
        "dsc-helm",
        "-n",
        "dsc-helm-system",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 true");
}

#[test]
fn operator_account_can_do_its_job_and_no_more() {
    apply_deploy();
    // kubectl resolves a custom resource through discovery, so the chart's CRD must be served.
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/src/model-registry/crds");
    let out = kubectl(&["apply", "-f", &crds.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/modelcatalogs.modelregistry.opendatahub.io",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let allowed = [
        (
            "patch",
            "datascienceclusters.datasciencecluster.opendatahub.io/status",
            None,
        ),
        (
            "update",
            "webapps.components.platform.opendatahub.io/finalizers",
            None,
        ),
        (
            "delete",
            "modelregistries.components.platform.opendatahub.io",
            None,
        ),
        (
            "create",
            "customresourcedefinitions.apiextensions.k8s.io",
            None,
        ),
        ("create", "namespaces", None),
        ("create", "events", Some("opendatahub")),
        (
            "update",
            "leases.coordination.k8s.io",
            Some("dsc-helm-system"),
        ),
        ("delete", "deployments.apps", Some("opendatahub")),
        (
            "watch",
            "horizontalpodautoscalers.autoscaling",
            Some("opendatahub"),
        ),
        ("patch", "ingresses.networking.k8s.io", Some("opendatahub")),
        (
            "create",
            "modelcatalogs.modelregistry.opendatahub.io",
            Some("opendatahub"),
        ),
        ("delete", "statefulsets.apps", Some("opendatahub")),
    ];
    for (verb, resource, ns) in allowed {
        assert!(
            can_i(verb, resource, ns),
            "the operator cannot {verb} {resource}"
        );
    }
    let refused = [
        (
            "delete",
            "customresourcedefinitions.apiextensions.k8s.io",
            None,
        ),
        (
            "delete",
            "datascienceclusters.datasciencecluster.opendatahub.io",
            None,
        ),
        ("create", "pods/exec", Some("opendatahub")),
        ("create", "daemonsets.apps", Some("opendatahub")),
        ("delete", "nodes", None),
        ("*", "*", None),
    ];
    for (verb, resource, ns) in refused {
        assert!(
            !can_i(verb, resource, ns),
            "the operator may {verb} {resource}"
        );
    }
}
