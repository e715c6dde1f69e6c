//! Crash consistency: a reconciler that dies after its k-th API write, for many k, leaves a
//! cluster that the next reconciler brings to exactly what the DSC asks for, with no object of
//! ours outside every inventory (an orphan) and no inventory entry without its object.
//!
//! The crash is a client that, once it has sent its k-th write, lets nothing more out and
//! never answers again (the k-th write lands, its sender never learns so), and then the
//! reconciler's task is dropped: what a SIGKILL right after a write leaves behind, without
//! the timing of a kill. The DSC then changes so that the next reconcile no longer renders
//! some objects the dead one may have written: those must be pruned, not forgotten.

use crate::reconcile_support;
use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use dsc_helm::api::InventoryEntry;
use dsc_helm::reconcile::PART_OF;
use futures::future::BoxFuture;
use kube::api::{Api, DynamicObject, ListParams};
use reconcile_support::*;
use serde_json::json;

/// A client connection that dies after `crash_after` writes.
#[derive(Clone)]
struct DiesAfter<S> {
    inner: S,
    writes: Arc<AtomicUsize>,
    crash_after: usize,
}

impl<S, B> tower::Service<http::Request<B>> for DiesAfter<S>
where
    S: tower::Service<http::Request<B>> + Send,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let write = !matches!(
            *request.method(),
            http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
        );
        let sent_before = if write {
            self.writes.fetch_add(1, Ordering::SeqCst)
        } else {
            self.writes.load(Ordering::SeqCst)
        };
        if sent_before >= self.crash_after {
            // Dead: nothing leaves any more.
            return Box::pin(futures::future::pending());
        }
        let last = write && sent_before + 1 == self.crash_after;
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            if last {
                // The write landed; its sender dies before it hears so.
                futures::future::pending::<()>().await;
            }
            response
        })
    }
}

async fn dying_client(
    plane: &support::ControlPlane,
    writes: Arc<AtomicUsize>,
    k: usize,
) -> kube::Client {
    let config = plane.config().await.expect("config");
    let layer = tower::layer::layer_fn(move |inner| DiesAfter {
        inner,
        writes: writes.clone(),
        crash_after: k,
    });
    kube::client::ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&layer)
        .build()
}

/// The kinds the webapp chart can render, as (group, version, kind, plural).
const WEBAPP_KINDS: [(&str, &str, &str, &str); 7] = [
    ("", "v1", "ServiceAccount", "serviceaccounts"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Service", "services"),
    ("apps", "v1", "Deployment", "deployments"),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses"),
];

/// Every object in `namespace` that carries our part-of label, as inventory entries.
pub(crate) async fn labelled(client: &kube::Client, namespace: &str) -> Vec<InventoryEntry> {
    let mut found = Vec::new();
    for (group, version, kind, plural) in WEBAPP_KINDS {
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            namespace,
            &resource(group, version, kind, plural),
        );
        let list = api
            .list(&ListParams::default().labels(PART_OF))
            .await
            .expect("list");
        for object in list {
            found.push(InventoryEntry {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                namespace: namespace.to_string(),
                name: object.metadata.name.unwrap_or_default(),
            });
        }
    }
    found.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    found
}

pub(crate) fn inventory_of(cr: &DynamicObject) -> Vec<InventoryEntry> {
    let mut entries: Vec<InventoryEntry> = cr
        .data
        .pointer("/status/inventory")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    entries.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciler_killed_after_any_write_leaves_nothing_behind() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    // Everything the chart can render, then a DSC that drops the Ingress, the HPA and the
    // ServiceAccount (and the Deployment's replicas move to the HPA's absence).
    let everything = json!({
        "webapp": {"managementState": "Managed", "features": {"ingress": true},
                   "values": {"autoscaling": {"enabled": true}, "serviceAccount": {"create": true}}},
        "model-registry": {"managementState": "Removed"},
    });
    let fewer = json!({
        "webapp": {"managementState": "Managed", "features": {"ingress": false},
                   "values": {"autoscaling": {"enabled": false}, "serviceAccount": {"create": false}}},
        "model-registry": {"managementState": "Removed"},
    });
    let mut crashed_at = Vec::new();
    let mut finished_within = None;
    for k in 1..=MAX_CRASH_POINTS {
        let options = options(&format!("crash{k}"));
        let apps = options.applications_namespace.clone();
        let writes = Arc::new(AtomicUsize::new(0));
        apply_dsc(&client, everything.clone()).await;
        let doomed = start(
            dying_client(plane, writes.clone(), k).await,
            registry.clone(),
            options.clone(),
        );
        // Either the k-th write happens, or the reconcile finishes with fewer writes: then
        // every crash point has been tried.
        let finished_first = eventually(&format!("write {k} or a finished reconcile"), || async {
            if writes.load(Ordering::SeqCst) >= k {
                return Some(false);
            }
            let cr = get(&client, &webapps(), None, "default-webapp").await?;
            let ready = condition(&cr, "Ready").is_some_and(|c| c["status"] == "True");
            (ready && inventory_of(&cr).len() >= 6).then_some(true)
        })
        .await;
        // Give the dead client's last write a moment to land before the process "exits".
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(doomed);
        if finished_first {
            finished_within = Some(k - 1);
            remove_webapp(&client, &registry, &options).await;
            break;
        }
        crashed_at.push(k);

        // The next reconciler, and a DSC that renders less.
        apply_dsc(&client, fewer.clone()).await;
        let survivor = start(client.clone(), registry.clone(), options.clone());
        let cr = eventually(
            &format!("convergence after a crash at write {k}"),
            || async {
                let cr = get(&client, &webapps(), None, "default-webapp").await?;
                // The DSC controller has passed the smaller DSC on, and the component acted
                // on it.
                let current = cr.data.pointer("/spec/features/ingress") == Some(&json!(false));
                let done = current
                    && cr.data.pointer("/status/observedGeneration")?.as_i64()
                        == cr.metadata.generation
                    && condition(&cr, "Ready").is_some_and(|c| c["status"] == "True");
                (done && labelled(&client, &apps).await == inventory_of(&cr)).then_some(cr)
            },
        )
        .await;
        let inventory = inventory_of(&cr);
        let kinds: Vec<&str> = inventory.iter().map(|e| e.kind.as_str()).collect();
        for dropped in ["Ingress", "HorizontalPodAutoscaler", "ServiceAccount"] {
            assert!(
                !kinds.contains(&dropped),
                "crash at write {k}: {dropped} still listed: {kinds:?}"
            );
        }
        assert!(
            kinds.contains(&"Deployment"),
            "crash at write {k}: {kinds:?}"
        );
        let mut unique = inventory.clone();
        unique.dedup();
        assert_eq!(
            unique, inventory,
            "crash at write {k}: duplicate inventory entries"
        );

        drop(survivor);
        // Removed before the next round, so that it starts from nothing.
        remove_webapp(&client, &registry, &options).await;
        assert!(
            labelled(&client, &apps).await.is_empty(),
            "crash at write {k}: Removed left objects"
        );
    }
    println!(
        "crash consistency: killed after each of writes 1..={} of {}; every run converged",
        crashed_at.len(),
        finished_within.map_or_else(
            || format!("more than {MAX_CRASH_POINTS}"),
            |n| n.to_string()
        )
    );
    assert!(
        crashed_at.len() >= 5,
        "only {} crash points were reached",
        crashed_at.len()
    );
}

/// Crash points tried at most: a first install takes about this many writes.
const MAX_CRASH_POINTS: usize = 24;

/// Sets the webapp Removed and waits, with a reconciler of its own, until it is gone.
async fn remove_webapp(
    client: &kube::Client,
    registry: &Arc<dsc_helm::registry::Registry>,
    options: &dsc_helm::reconcile::Options,
) {
    let cleaner = start(client.clone(), registry.clone(), options.clone());
    apply_dsc(
        client,
        json!({"webapp": {"managementState": "Removed"}, "model-registry": {"managementState": "Removed"}}),
    )
    .await;
    eventually("the component resource removed", || async {
        get(client, &webapps(), None, "default-webapp")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    drop(cleaner);
}
