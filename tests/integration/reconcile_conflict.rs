//! A status write that meets another writer. The component's status holds its inventory,
//! the record of every object it may have created; another writer (a second replica still
//! finishing the reconcile it started before losing the Lease, say) can record an object
//! there between our read and our write. Our write must then not erase that record (the
//! object would be an orphan: ours by its labels, in no inventory), and must still land.
//!
//! The other writer is made to strike at exactly that moment: the operator's client holds its
//! first status write of the component until the test has created a labelled ConfigMap and
//! added it to the inventory, so the held write carries a resourceVersion that is no longer
//! current and the real API server answers it 409.

use crate::reconcile_crash::{inventory_of, labelled};
use crate::reconcile_support;
use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use dsc_helm::reconcile::PART_OF;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use reconcile_support::*;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

const STATUS_PATH: &str = "/webapps/default-webapp/status";

/// A client connection that holds the first status write of the webapp resource until the
/// test says go (through the sender it hands the test), and counts the 409s status writes get.
struct HoldsFirstStatusWrite<S> {
    inner: S,
    hold: Arc<std::sync::Mutex<Option<mpsc::UnboundedSender<oneshot::Sender<()>>>>>,
    conflicts: Arc<AtomicUsize>,
}

impl<S, B, R> tower::Service<http::Request<B>> for HoldsFirstStatusWrite<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let status_write =
            request.method() == http::Method::PATCH && request.uri().path().ends_with(STATUS_PATH);
        let held = status_write
            .then(|| self.hold.lock().expect("not poisoned").take())
            .flatten();
        let conflicts = self.conflicts.clone();
        // The client sends when the future is first polled, so holding the future holds the
        // request, with the body (and resourceVersion) it was given.
        let response = self.inner.call(request);
        Box::pin(async move {
            if let Some(test) = held {
                let (go, wait) = oneshot::channel();
                if test.send(go).is_ok() {
                    let _ = wait.await;
                }
            }
            let response = response.await?;
            if status_write && response.status() == http::StatusCode::CONFLICT {
                conflicts.fetch_add(1, Ordering::SeqCst);
            }
            Ok(response)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_write_that_meets_another_writer_lands_without_erasing_it() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let options = options("conflict");
    let apps = options.applications_namespace.clone();
    dsc_helm::reconcile::ensure_namespace(&client, &apps)
        .await
        .expect("applications namespace");

    let (to_test, mut held) = mpsc::unbounded_channel();
    let conflicts = Arc::new(AtomicUsize::new(0));
    let operator = {
        let config = plane.config().await.expect("config");
        let hold = Arc::new(std::sync::Mutex::new(Some(to_test)));
        let conflicts = conflicts.clone();
        let layer = tower::layer::layer_fn(move |inner| HoldsFirstStatusWrite {
            inner,
            hold: hold.clone(),
            conflicts: conflicts.clone(),
        });
        kube::client::ClientBuilder::try_from(config)
            .expect("client builder")
            .with_layer(&layer)
            .build()
    };

    apply_dsc(
        &client,
        json!({"webapp": {"managementState": "Managed"}, "model-registry": {"managementState": "Removed"}}),
    )
    .await;
    let _running = start(operator, registry.clone(), options.clone());

    // The other writer: an object of the component's, recorded in its inventory, while the
    // operator's status write waits with what it read before.
    let go = held.recv().await.expect("the operator writes the status");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &apps);
    configmaps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("other-writer".into()),
                    labels: Some(BTreeMap::from([(
                        PART_OF.to_string(),
                        "webapp".to_string(),
                    )])),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("the other writer's ConfigMap");
    let cr = get(&client, &webapps(), None, "default-webapp")
        .await
        .expect("component resource");
    let mut inventory = cr
        .data
        .pointer("/status/inventory")
        .cloned()
        .unwrap_or_else(|| json!([]));
    if let Some(entries) = inventory.as_array_mut() {
        entries.push(json!({"version": "v1", "kind": "ConfigMap", "namespace": apps, "name": "other-writer"}));
    }
    let resources: Api<DynamicObject> = Api::all_with(client.clone(), &webapps());
    resources
        .patch_status(
            "default-webapp",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"inventory": inventory}})),
        )
        .await
        .expect("the other writer's status write");
    go.send(()).expect("the held write is still waiting");

    // Our status lands (Ready, for the current generation), and every object with our label
    // is in the inventory: the other writer's ConfigMap was kept in it (and then pruned, as
    // the chart does not render it), not forgotten.
    let cr = eventually("Ready, and no object outside the inventory", || async {
        let cr = get(&client, &webapps(), None, "default-webapp").await?;
        let done = cr.data.pointer("/status/observedGeneration")?.as_i64()
            == cr.metadata.generation
            && condition(&cr, "Ready").is_some_and(|c| c["status"] == "True");
        (done && labelled(&client, &apps).await == inventory_of(&cr)).then_some(cr)
    })
    .await;
    let conflicts = conflicts.load(Ordering::SeqCst);
    println!(
        "status writes answered 409: {conflicts}; the inventory ends with {} objects, none orphaned",
        inventory_of(&cr).len()
    );
    assert!(
        conflicts >= 1,
        "the held status write was not refused: the conflict was not forced"
    );
    assert!(
        configmaps
            .get_opt("other-writer")
            .await
            .expect("get")
            .is_none(),
        "the other writer's ConfigMap, kept in the inventory, is pruned as not rendered"
    );
}
