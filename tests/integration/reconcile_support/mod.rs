//! Helpers shared by the reconciler's end-to-end tests: CRDs installed from a registry, the
//! reconciler running in-process, a DSC written the way `kubectl apply --server-side` would,
//! polling with deadlines, and a client that records every write it makes.

use std::sync::{Arc, Mutex};

use dsc_helm::reconcile::{self, Options};
use dsc_helm::registry::Registry;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::support;

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
