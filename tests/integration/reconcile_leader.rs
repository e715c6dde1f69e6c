//! Leader election on a real API server: one Lease, two replicas, one reconciling; the standby
//! takes over when the leader stops renewing, or at once when the leader gives the Lease up.

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
    dsc_helm::reconcile::ensure_namespace(&client, &namespace)
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

    // The leader dies without a word (as after SIGKILL): the standby waits out the lease.
    drop(leader);
    let killed = std::time::Instant::now();
    eventually("the standby takes over", || async {
        (Metrics::get(&second_metrics.reconciles) >= registry.components.len() as u64).then_some(())
    })
    .await;
    println!(
        "failover after the leader stopped renewing: {:.1} s (lease duration {} s)",
        killed.elapsed().as_secs_f64(),
        dsc_helm::reconcile::leader::LEASE_DURATION.as_secs()
    );
    let lease = leases.get(LEASE_NAME).await.expect("lease");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity),
        Some(second.identity.clone())
    );
    drop(standby);
}

/// What `serve` does on SIGTERM: the reconciler stops, then the Lease is given up, so the
/// standby does not wait out the lease duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_is_taken_by_the_standby_at_its_next_poll() {
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let namespace = support::unique_name("release");
    dsc_helm::reconcile::ensure_namespace(&client, &namespace)
        .await
        .expect("namespace");
    let leader = Elector::new(client.clone(), &namespace, "leader-1a2b");
    let standby = Elector::new(client.clone(), &namespace, "standby-3c4d");
    assert!(leader.try_acquire().await.expect("leader acquires"));
    assert!(!standby.try_acquire().await.expect("standby asks"));
    // Only the holder can give the Lease up.
    assert!(!standby.release().await.expect("standby releases nothing"));
    let released = std::time::Instant::now();
    assert!(leader.release().await.expect("leader releases"));
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    let spec = leases
        .get(LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .expect("spec");
    assert_eq!(spec.holder_identity, None);
    assert!(standby.try_acquire().await.expect("standby takes over"));
    println!(
        "handover after a release: {:.3} s of API calls, plus at most a standby poll ({} s)",
        released.elapsed().as_secs_f64(),
        dsc_helm::reconcile::leader::STANDBY_POLL.as_secs()
    );
    assert!(
        !leader
            .release()
            .await
            .expect("the old leader holds nothing")
    );
    let spec = leases
        .get(LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("standby-3c4d"));
}

/// The real binary: `serve` holds the Lease under its name plus a random suffix, and on
/// SIGTERM stops reconciling and gives the Lease up before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_gives_its_lease_up_on_sigterm() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let replicas = Replicas::new(plane, dir.path(), "serve-lease");
    let mut serve = replicas.start("replica");
    let leases: Api<Lease> = Api::namespaced(client.clone(), &replicas.namespace);
    let holder = eventually("serve takes the lease", || holder(&leases, "")).await;
    let suffix = holder.strip_prefix("replica-").unwrap_or_default();
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "the holder {holder:?} is not the given name plus a random suffix"
    );
    let signalled = serve.signal(libc::SIGTERM);
    let (status, stderr) = serve.wait();
    assert!(status.success(), "{stderr}");
    let spec = leases
        .get(LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .expect("spec");
    assert_eq!(spec.holder_identity, None, "{stderr}");
    println!(
        "serve stopped and released its lease {:.2} s after SIGTERM",
        signalled.elapsed().as_secs_f64()
    );
}

/// Two `serve` processes on one Lease, as two replicas of the Deployment: the standby takes
/// the Lease once the leader gets SIGTERM (it gives the Lease up) and once the leader gets
/// SIGKILL (the standby waits out the lease). Both times are printed, from the signal to the
/// new holder in the Lease (`--nocapture`); none is asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_serve_takes_over_after_sigterm_and_after_sigkill() {
    let _dsc = support::dsc_lock().await;
    let plane = support::shared();
    let client = plane.client().await.expect("client");
    let registry = Arc::new(examples());
    install_crds(&client, &registry).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let replicas = Replicas::new(plane, dir.path(), "failover");
    let leases: Api<Lease> = Api::namespaced(client.clone(), &replicas.namespace);

    let mut first = replicas.start("first");
    eventually("the first replica takes the lease", || {
        holder(&leases, "first-")
    })
    .await;
    let mut second = replicas.start("second");
    second.listening().await;
    let signalled = first.signal(libc::SIGTERM);
    let taken = eventually("the second replica takes the released lease", || {
        holder(&leases, "second-")
    })
    .await;
    let handover = signalled.elapsed();
    let (status, stderr) = first.wait();
    assert!(status.success(), "{stderr}");

    let third = replicas.start("third");
    third.listening().await;
    let renewed = leases
        .get(LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.renew_time)
        .expect("the leader renews the lease");
    let killed = second.signal(libc::SIGKILL);
    let since_renewal = k8s_openapi::jiff::Timestamp::now().duration_since(renewed.0);
    eventually("the third replica takes the expired lease", || {
        holder(&leases, "third-")
    })
    .await;
    let takeover = killed.elapsed();
    let lease_age = since_renewal.as_secs_f64() + takeover.as_secs_f64();
    let (status, _) = second.wait();
    assert!(!status.success(), "{taken} was not killed");
    println!(
        "failover between serve processes: {:.2} s from SIGTERM to the standby holding the lease \
         (standby poll {} s); {:.2} s from SIGKILL, {lease_age:.2} s after the killed leader's \
         last renewal (lease duration {} s)",
        handover.as_secs_f64(),
        dsc_helm::reconcile::leader::STANDBY_POLL.as_secs(),
        takeover.as_secs_f64(),
        dsc_helm::reconcile::leader::LEASE_DURATION.as_secs(),
    );
    drop(third);
}

/// The Lease's holder, when it starts with `prefix`.
async fn holder(leases: &Api<Lease>, prefix: &str) -> Option<String> {
    leases
        .get_opt(LEASE_NAME)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| h.starts_with(prefix))
}

/// `dsc-helm serve` replicas of one operator namespace, with development certificates.
struct Replicas {
    plane: &'static support::ControlPlane,
    dir: std::path::PathBuf,
    certs: std::path::PathBuf,
    namespace: String,
    applications: String,
}

impl Replicas {
    fn new(plane: &'static support::ControlPlane, dir: &std::path::Path, name: &str) -> Self {
        let certs = dir.join("certs");
        let made = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
            .args(["certs", "--dns", "localhost", "--out"])
            .arg(&certs)
            .output()
            .expect("dsc-helm certs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        Replicas {
            plane,
            dir: dir.to_path_buf(),
            certs,
            namespace: support::unique_name(name),
            applications: support::unique_name(&format!("{name}-apps")),
        }
    }

    /// Starts a replica named `identity` (a random suffix is added) on a free port, logging
    /// to a file (a pipe nobody reads would fill and stall it).
    fn start(&self, identity: &str) -> Serve {
        let log = self.dir.join(format!("{identity}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let charts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_dsc-helm"))
            .arg("serve")
            .arg("--charts")
            .arg(&charts)
            .args(["--webhook-addr", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(self.certs.join("tls.crt"))
            .arg("--tls-key")
            .arg(self.certs.join("tls.key"))
            .args(["--operator-namespace", &self.namespace])
            .args(["--applications-namespace", &self.applications])
            .args(["--identity", identity])
            .env("KUBECONFIG", self.plane.kubeconfig())
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("dsc-helm serve");
        Serve {
            child: KilledOnDrop(child),
            port,
            log,
        }
    }
}

/// A running `serve`.
struct Serve {
    child: KilledOnDrop,
    port: u16,
    log: std::path::PathBuf,
}

impl Serve {
    /// Once its webhook port accepts connections: the reconciler (and so its election)
    /// starts with the webhook.
    async fn listening(&self) {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        eventually("serve listens", || async {
            tokio::net::TcpStream::connect(addr).await.ok().map(drop)
        })
        .await;
    }

    /// Sends `signal`; the time it was sent.
    fn signal(&mut self, signal: libc::c_int) -> std::time::Instant {
        let pid = libc::pid_t::try_from(self.child.0.id()).expect("pid");
        // SAFETY: signalling the child this test started, which has not been reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        std::time::Instant::now()
    }

    /// Its exit status and standard error.
    fn wait(&mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.0.wait().expect("serve exits");
        (
            status,
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

/// A child process that cannot outlive a failed test.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
