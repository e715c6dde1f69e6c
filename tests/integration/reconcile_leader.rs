//! Leader election on a real API server: one Lease, two replicas, one reconciling; the standby
//! takes over when the leader stops renewing.

use crate::reconcile_support;
use crate::support;

use std::sync::Arc;

use dsc_helm::reconcile::Metrics;
use dsc_helm::reconcile::leader::{Elector, LEASE_NAME};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use reconcile_support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn electors_respect_a_live_lease_and_take_an_expired_one() {
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let namespace = support::unique_name("lease");
    dsc_helm::reconcile::component::ensure_namespace(&client, &namespace)
        .await
        .expect("namespace");
    let a = Elector::new(client.clone(), &namespace, "replica-a");
    let b = Elector::new(client.clone(), &namespace, "replica-b");
    assert!(a.try_acquire().await.expect("a acquires"));
    assert!(!b.try_acquire().await.expect("b asks"), "b must wait");
    assert!(a.try_acquire().await.expect("a renews"));
    // Replica a dies: its last renewal is long past.
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    let stale = json!({"spec": {"renewTime": "2020-01-01T00:00:00.000000Z"}});
    leases
        .patch(LEASE_NAME, &PatchParams::default(), &Patch::Merge(&stale))
        .await
        .expect("age the lease");
    assert!(b.try_acquire().await.expect("b takes over"));
    assert!(!a.try_acquire().await.expect("a asks"), "a lost the lease");
    let lease = leases.get(LEASE_NAME).await.expect("lease");
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_the_standby_takes_over() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let mut first = options("leader");
    first.leader_election = true;
    let mut second = first.clone();
    second.identity = support::unique_name("standby");
    second.metrics = Default::default();
    let (first_metrics, second_metrics) = (first.metrics.clone(), second.metrics.clone());
    let leader = start(client.clone(), registry.clone(), first);
    eventually("the first replica reconciles", || async {
        (Metrics::get(&first_metrics.reconciles) >= registry.components.len() as u64).then_some(())
    })
    .await;
    let requests = Requests::default();
    let standby_client = counting_client(plane, requests.clone()).await;
    let standby = start(standby_client, registry.clone(), second.clone());
    // The standby asks for the lease, is refused and waits without reconciling.
    let lease_path = format!(
        "/apis/coordination.k8s.io/v1/namespaces/{}/leases/{LEASE_NAME}",
        second.operator_namespace
    );
    let seen = eventually("the standby asks for the lease", || async {
        let seen = requests.0.lock().ok()?.clone();
        seen.contains(&format!("GET {lease_path}")).then_some(seen)
    })
    .await;
    assert!(
        !seen.iter().any(|r| r.starts_with("PUT ")),
        "the standby wrote the lease: {seen:?}"
    );
    let leases: Api<Lease> = Api::namespaced(client.clone(), &second.operator_namespace);
    let lease = leases.get(LEASE_NAME).await.expect("lease");
    assert_ne!(
        lease.spec.and_then(|s| s.holder_identity),
        Some(second.identity.clone())
    );
    assert_eq!(Metrics::get(&second_metrics.reconciles), 0);

    drop(leader);
    eventually("the standby takes over", || async {
        (Metrics::get(&second_metrics.reconciles) >= registry.components.len() as u64).then_some(())
    })
    .await;
    let lease = leases.get(LEASE_NAME).await.expect("lease");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity),
        Some(second.identity.clone())
    );
    drop(standby);
}
