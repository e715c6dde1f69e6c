//! Helpers shared by the reconciler's end-to-end tests: CRDs installed from a registry, the
//! reconciler running in-process, a DSC written the way `kubectl apply --server-side` would,
//! polling with deadlines, a client that records every write it makes, and the webhook served
//! and registered for a test's registry, with kubectl to meet it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dsc_helm::reconcile::{self, Options};
use dsc_helm::registry::Registry;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::support;
use crate::webhook_client;
use dsc_helm::webhook::{Checks, dsc_names_from};

pub fn examples() -> Registry {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
    dsc_helm::registry::load(&root).expect("example registry loads")
}

pub use crate::support::{eventually, install_crds};

/// Options for one test: its own namespaces, no leader election unless asked.
pub fn options(prefix: &str) -> Options {
    Options {
        applications_namespace: support::unique_name(&format!("{prefix}-apps")),
        operator_namespace: support::unique_name(&format!("{prefix}-op")),
        identity: support::unique_name(prefix),
        leader_election: false,
        ..Options::default()
    }
}

/// The reconciler on its own task; aborted (and so stopped) when the guard drops.
pub struct Running(pub tokio::task::JoinHandle<Result<(), reconcile::ReconcileError>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn start(client: kube::Client, registry: Arc<Registry>, options: Options) -> Running {
    Running(tokio::spawn(reconcile::run(client, registry, options)))
}

pub const DSC_NAME: &str = "default-dsc";

/// Writes the DSC's spec.components as a user would (server-side apply, own manager).
pub async fn apply_dsc(client: &kube::Client, components: Value) {
    let dscs: Api<DynamicObject> = Api::all_with(client.clone(), &dsc_resource());
    let body = json!({
        "apiVersion": "datasciencecluster.opendatahub.io/v1",
        "kind": "DataScienceCluster",
        "metadata": {"name": DSC_NAME},
        "spec": {"components": components},
    });
    dscs.patch(
        DSC_NAME,
        &PatchParams::apply("test-user").force(),
        &Patch::Apply(&body),
    )
    .await
    .expect("DSC applies");
}

pub fn dsc_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "datasciencecluster.opendatahub.io",
            "v1",
            "DataScienceCluster",
        ),
        "datascienceclusters",
    )
}

pub async fn get(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Option<DynamicObject> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    api.get_opt(name).await.expect("get succeeds")
}

/// The example webapp's component resource.
pub fn webapps() -> ApiResource {
    resource(
        "components.platform.opendatahub.io",
        "v1alpha1",
        "WebApp",
        "webapps",
    )
}

pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn condition<'a>(obj: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    obj.data
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Waits until the DSC's status has `type_` with `status`, for its current generation.
pub async fn dsc_condition(client: &kube::Client, type_: &str, status: &str) -> DynamicObject {
    let ar = dsc_resource();
    eventually(&format!("DSC condition {type_}={status}"), || async {
        let dsc = get(client, &ar, None, DSC_NAME).await?;
        let observed = dsc.data.pointer("/status/observedGeneration")?.as_i64();
        (observed == dsc.metadata.generation && condition(&dsc, type_)?["status"] == status)
            .then_some(dsc)
    })
    .await
}

/// Every request a client makes: `METHOD path`.
#[derive(Clone, Default)]
pub struct Requests(pub Arc<Mutex<Vec<String>>>);

impl Requests {
    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }

    /// The writes (anything but GET, which covers list and watch) since the last call.
    pub fn take_writes(&self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect()
    }
}

/// A client like `plane.client()` that records its requests.
pub async fn counting_client(plane: &support::ControlPlane, requests: Requests) -> kube::Client {
    let config = plane.config().await.expect("config");
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        requests.0.lock().expect("not poisoned").push(format!(
            "{} {}",
            req.method(),
            req.uri().path()
        ));
        req
    });
    kube::client::ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&layer)
        .build()
}

/// `kubectl apply --dry-run=server` of a DSC; returns (accepted, stderr).
pub async fn dry_run(manifest: &Value) -> (bool, String) {
    kubectl_apply(manifest, &["--dry-run=server"]).await
}

/// `kubectl apply <flags> -f -` of `manifest`; returns (accepted, stderr), where kubectl prints
/// the webhook's warnings.
pub async fn kubectl_apply(manifest: &Value, flags: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::from(support::shared().kubectl());
    cmd.arg("apply")
        .args(flags)
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(mut pipe) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        pipe.write_all(manifest.to_string().as_bytes())
            .await
            .expect("stdin");
    }
    let out = child.wait_with_output().await.expect("kubectl ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Serves the webhook for `registry` and registers it, as webhook-config/dev does for a
/// developer. The API server picks a new registration up within moments, not at once.
pub async fn serve_webhook(
    client: &kube::Client,
    registry: Registry,
    dir: &Path,
    namespace: &str,
) -> webhook_client::Running {
    let ca = support::TestCa::new().expect("CA");
    let cert = ca.issue_localhost().expect("serving cert");
    let files = webhook_client::write_serving_cert(dir, &cert.cert_pem, &cert.key_pem);
    let server = webhook_client::start(
        webhook_client::validator_in(registry, Checks::default(), namespace),
        files,
        Some(dsc_names_from(client.clone())),
        |c| c.reload_interval = Duration::from_millis(200),
    );
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("webhook-config/dev/validatingwebhookconfiguration.yaml"),
    )
    .expect("dev webhook configuration")
    .replace(
        "127.0.0.1:9443",
        &format!("127.0.0.1:{}", server.addr.port()),
    )
    .replace("CA_BUNDLE", &support::base64(ca.cert_pem().as_bytes()));
    let mut apply = tokio::process::Command::from(support::shared().kubectl());
    apply
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = apply.spawn().expect("kubectl runs");
    if let Some(mut pipe) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        pipe.write_all(config.as_bytes()).await.expect("stdin");
    }
    assert!(child.wait().await.expect("kubectl ends").success());
    server
}
