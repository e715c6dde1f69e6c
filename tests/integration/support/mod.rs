//! A real Kubernetes cluster for integration tests, built by `tests/k8s-bin/build.sh`: etcd,
//! kube-apiserver, kube-controller-manager and kube-scheduler, with kwok playing the kubelet of
//! fake Nodes, so that workloads get ReplicaSets and Pods that run, namespaces finish deleting
//! and owner references collect garbage, all without a container runtime.
//!
//! One control plane is shared by all tests of the integration binary: it is started lazily by
//! the first [`shared`] call and stopped when the binary exits. Starting one costs several
//! seconds of CPU on a loaded 2-core machine, so per-test planes would dominate the suite; tests
//! isolate themselves instead with [`unique_name`] namespaces, name prefixes and, for
//! cluster-scoped objects such as webhook configurations, selectors that only match their own
//! namespace; what a cluster has only one of (the DSC and its CRD) is taken in turns through
//! [`dsc_lock`]. [`shared_in`] keeps a plane for a group of tests that changes the cluster for
//! everyone, and [`ControlPlane::start`] gives a private plane to a test that truly needs one.
//!
//! Nothing may outlive the test binary, also when it panics or is killed:
//! - every server runs in its own process group with `PR_SET_PDEATHSIG=SIGKILL`, spawned from a
//!   thread that lives as long as the process (the signal fires when the *spawning thread* ends);
//! - an owned [`ControlPlane`] stops its processes and removes its directory on drop, the shared
//!   one from an `atexit` hook, since statics are never dropped;
//! - directories left by a killed binary (named after its pid) are removed by the next start.

use std::fs;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The pinned release, read from the file that build.sh also reads.
const VERSIONS_ENV: &str = include_str!("../../k8s-bin/versions.env");
/// Where build.sh puts the binaries when this variable is set.
pub const BIN_ENV: &str = "DSC_HELM_K8S_BIN";
const DIR_PREFIX: &str = "dsc-helm-k8s-";
/// Startup on a busy 2-core CI machine can be slow; this only bounds a hung start.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// Every binary the harness runs, all from build.sh's output directory.
const BINARIES: [&str; 6] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
];
/// The annotation that marks a Node as kwok's to play (kwok runs with this selector), so that a
/// Node a test registers for another purpose is left alone.
const KWOK_NODE_ANNOTATION: &str = "kwok.x-k8s.io/node";
/// Set on a pod (template) to make it fail the way its value says; see
/// `tests/k8s-bin/kwok/stages/faults.yaml` for what each value does.
pub const FAULT_ANNOTATION: &str = "dsc-helm.test/fault";
/// The default StorageClass, whose claims bind to the harness's pre-created volumes.
pub const STORAGE_CLASS: &str = "standard";
/// How many PersistentVolumes are pre-created. No provisioner exists, and a released volume is
/// not reused (its reclaim policy is Retain: there is no kubelet to scrub it), so this bounds
/// the claims one cluster can bind in its life; all the suites together make a handful.
const VOLUME_POOL: usize = 40;
/// The size of each pre-created volume; every claim asking for at most this binds.
pub const VOLUME_SIZE: &str = "10Gi";

/// The Kubernetes version the binaries are built at, e.g. `v1.37.2`.
pub fn k8s_version() -> &'static str {
    pinned("K8S_VERSION")
}

/// The etcd version the binaries are built at, e.g. `v3.7.0`.
pub fn etcd_version() -> &'static str {
    pinned("ETCD_VERSION")
}

fn pinned(key: &str) -> &'static str {
    VERSIONS_ENV
        .lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
        .unwrap_or_else(|| panic!("tests/k8s-bin/versions.env has no {key}="))
}

/// The directory holding the cluster's binaries ([`BINARIES`]). Fails (never skips) when any is
/// missing, because a silently skipped integration suite looks exactly like a passing one.
pub fn bin_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os(BIN_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let home = std::env::var_os("HOME").context("neither DSC_HELM_K8S_BIN nor HOME set")?;
            PathBuf::from(home)
                .join(".cache/dsc-helm/k8s-bin")
                .join(k8s_version())
        }
    };
    let missing: Vec<_> = BINARIES
        .into_iter()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the test control plane binaries {missing:?} are missing from {}: build them with \
             `bash tests/k8s-bin/build.sh` (it prints the directory; export {BIN_ENV}=<that dir> \
             if you built them elsewhere)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A name no other test in any concurrently running test binary uses; valid as a namespace,
/// object name or DNS label.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test certificate authority: the API server's serving certificate and any HTTPS server a
/// test starts (webhooks) are issued by one of these, and its PEM goes into kubeconfigs and
/// caBundles, the way a real cluster trusts them.
pub struct TestCa {
    key: KeyPair,
    params: CertificateParams,
    pem: String,
}

/// A serving certificate and its key, both PEM.
pub struct ServingCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new() -> Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "dsc-helm test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key)?.pem();
        Ok(Self { key, params, pem })
    }

    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// A certificate for `localhost` and 127.0.0.1, the only addresses test servers bind.
    pub fn issue_localhost(&self) -> Result<ServingCert> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ServingCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Standard base64 for kubeconfig `*-data` fields; written here rather than pulling a crate in.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A free loopback port. The listener is closed before the server binds it, so another process
/// could take it in between; envtest accepts the same small race.
/// `N` distinct loopback ports that were free a moment ago. The listeners are held until all
/// are chosen, so the system cannot hand out one port twice (etcd's client and peer ports
/// must differ).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let mut held = Vec::with_capacity(N);
    let mut ports = [0u16; N];
    for port in &mut ports {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        *port = listener.local_addr()?.port();
        held.push(listener);
    }
    Ok(ports)
}

/// Proxy variables would send the API server's webhook calls, and kubectl, to a proxy that
/// cannot reach this machine's loopback servers.
pub fn without_proxy(cmd: &mut Command) -> &mut Command {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from a thread that never ends, so `PR_SET_PDEATHSIG` fires only when the
/// whole test binary dies, not when the test thread that asked for the server finishes.
fn spawn_guarded(mut cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("k8s-process-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    // The receiver may have given up; nothing to do about it then.
                    let _ = reply.send(cmd.spawn());
                }
                // All senders are gone only at process exit; stay alive until then anyway.
                loop {
                    std::thread::park();
                }
            })
            .map(|_| ())
            .ok();
        Mutex::new(tx)
    });
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the hook runs between fork and exec and only calls async-signal-safe functions.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(io::Error::other("test binary exited during spawn"));
            }
            Ok(())
        });
    }
    cmd.process_group(0);
    let (tx, rx) = mpsc::channel();
    keeper
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("process keeper thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("process keeper thread is gone"))?
}

/// A server process; dropping it stops its whole process group.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(name: &'static str, mut cmd: Command, dir: &Path) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log)?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        without_proxy(&mut cmd);
        let child = spawn_guarded(cmd).with_context(|| format!("starting {name}"))?;
        Ok(Self { name, child, log })
    }

    /// Fails with the end of the server's log if it has exited.
    fn check_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited early ({status}); end of its log:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }

    /// The server's error lines (klog `E`/`F` lines, etcd's `"level":"error"`) and its last
    /// lines, which is where the reason for a failed start is.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with('E') || l.starts_with('F') || l.contains("\"level\":\"error\"")
            })
            .collect();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(15)..)
            .unwrap_or_default();
        let errors = errors
            .get(errors.len().saturating_sub(15)..)
            .unwrap_or_default();
        format!(
            "errors:\n{}\nlast lines:\n{}",
            errors.join("\n"),
            tail.join("\n")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Ok(pgid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: plain signal calls on the group this harness created for the child.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // SAFETY: as above; reaps any helper the server left in its group.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// What must be stopped and removed; field order is drop order (the API server's clients first,
/// then the API server, then etcd, all before their data directory).
struct Running {
    kwok: Server,
    scheduler: Server,
    controller_manager: Server,
    /// `None` only while a test restarts it.
    apiserver: Option<Server>,
    etcd: Server,
    dir: tempfile::TempDir,
    /// How the API server was started, so that it can be started again the same way.
    apiserver_args: Vec<std::ffi::OsString>,
}

/// A fake Node for kwok to play: it becomes Ready, takes pods up to its capacity and runs them
/// through the stages in `tests/k8s-bin/kwok/stages`.
#[derive(Clone, Debug)]
pub struct FakeNode {
    pub name: String,
    /// CPU capacity, a Kubernetes quantity (`"32"`, `"500m"`).
    pub cpu: String,
    /// Memory capacity, a Kubernetes quantity (`"256Gi"`).
    pub memory: String,
    /// How many pods fit.
    pub pods: u32,
    /// Ephemeral-storage capacity, a Kubernetes quantity: charts that request some (the
    /// corpus' databases do) are unschedulable on a node that reports none.
    pub ephemeral_storage: String,
}

impl FakeNode {
    /// A roomy node, like a real worker, so that capacity only matters to a test that asks for
    /// less: 32 CPU, 256 GiB, 110 pods (the kubelet's default pod limit), 1 TiB of ephemeral
    /// storage.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            cpu: "32".into(),
            memory: "256Gi".into(),
            pods: 110,
            ephemeral_storage: "1Ti".into(),
        }
    }

    pub fn cpu(mut self, cpu: &str) -> Self {
        self.cpu = cpu.to_owned();
        self
    }

    pub fn memory(mut self, memory: &str) -> Self {
        self.memory = memory.to_owned();
        self
    }

    pub fn pods(mut self, pods: u32) -> Self {
        self.pods = pods;
        self
    }

    fn manifest(&self) -> serde_json::Value {
        let capacity = serde_json::json!({
            "cpu": self.cpu, "memory": self.memory, "pods": self.pods.to_string(),
            "ephemeral-storage": self.ephemeral_storage,
        });
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            // A kubelet registers its capacity on creation; kwok's node stage keeps it.
            "status": {"capacity": capacity, "allocatable": capacity},
        })
    }
}

/// The node every cluster starts with unless told otherwise.
pub const DEFAULT_NODE: &str = "kwok-node-0";

/// The default StorageClass and the pool of volumes its claims bind to, through the
/// controller manager's own PersistentVolume binder (`Immediate` binding: no scheduler or
/// provisioner takes part).
fn storage_manifests(dir: &Path) -> Vec<serde_json::Value> {
    let mut objects = vec![serde_json::json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    })];
    for i in 0..VOLUME_POOL {
        objects.push(serde_json::json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": format!("pool-{i:02}")},
            "spec": {
                "capacity": {"storage": VOLUME_SIZE},
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": STORAGE_CLASS,
                // Never mounted (no kubelet); the path only has to be valid.
                "hostPath": {"path": dir.join(format!("volumes/pool-{i:02}")).display().to_string()},
            },
        }));
    }
    objects
}

/// A running control plane and how to reach it.
pub struct ControlPlane {
    bin: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    /// `None` for a shared plane, which the `atexit` hook stops instead.
    running: Option<Running>,
    /// How long [`ControlPlane::start`] took, until the cluster was ready for workloads.
    started_in: Duration,
}

/// The control plane shared by every test of the binary, started on first use. A failed
/// start fails every test that asks, with the same message.
pub fn shared() -> &'static ControlPlane {
    static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
    shared_in(&SHARED)
}

/// The control plane kept in `slot`, started on first use and shared by every test that passes
/// the same slot: a group of tests that changes the cluster in ways others must not see gets a
/// plane of its own without starting one per test. Stopped when the binary exits.
pub fn shared_in(slot: &'static OnceLock<Result<ControlPlane, String>>) -> &'static ControlPlane {
    let plane = slot.get_or_init(|| {
        let mut plane = ControlPlane::start().map_err(|e| format!("{e:#}"))?;
        let mut kept = SHARED_RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        if kept.is_empty() {
            // SAFETY: registering a plain extern "C" function without arguments.
            unsafe { libc::atexit(stop_shared) };
        }
        kept.extend(plane.running.take());
        Ok(plane)
    });
    match plane {
        Ok(p) => p,
        Err(e) => panic!("test control plane failed to start: {e}"),
    }
}

/// The servers of every plane [`shared_in`] started, which statics never drop.
static SHARED_RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

extern "C" fn stop_shared() {
    let running = std::mem::take(&mut *SHARED_RUNNING.lock().unwrap_or_else(|p| p.into_inner()));
    drop(running);
}

/// Held by a test for as long as it uses what a cluster has only one of: the
/// DataScienceCluster CRD (each registry generates its own schema, [`install_crds`]), the
/// singleton DSC (`default-dsc`), the component resources (`default-<name>`) and webhook
/// configurations that see every DSC write. Tests on the shared plane that touch any of them
/// take it first, so that they run one at a time while the rest of the binary runs beside them.
///
/// Taking it also removes what an earlier holder left, finished or failed: the webhook
/// configuration, the DSC and every component resource, finalizers and all (the reconciler
/// that set them is gone), so that no test sees another's status or names. A tokio mutex,
/// because it is held across awaits and every `#[tokio::test]` has its own runtime; a failing
/// holder does not poison it.
pub async fn dsc_lock() -> tokio::sync::MutexGuard<'static, ()> {
    let guard = DSC_LOCK.lock().await;
    let client = shared()
        .client()
        .await
        .unwrap_or_else(|e| panic!("client: {e}"));
    remove_singletons(&client).await;
    guard
}

/// The webhook configuration of webhook-config/, the DSC and every component resource gone.
async fn remove_singletons(client: &kube::Client) {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
    use kube::core::{ApiResource, GroupVersionKind};

    let configs = Api::<ValidatingWebhookConfiguration>::all(client.clone());
    if let Err(e) = configs
        .delete("dsc-helm-validating-webhook", &DeleteParams::default())
        .await
    {
        assert!(is_not_found(&e), "deleting the webhook configuration: {e}");
    }
    let crds = Api::<CustomResourceDefinition>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("listing CRDs: {e}"));
    let singletons = crds.items.into_iter().filter(|crd| {
        [dsc_helm::api::DSC_GROUP, dsc_helm::api::COMPONENT_GROUP]
            .contains(&crd.spec.group.as_str())
    });
    let no_finalizers = serde_json::json!({"metadata": {"finalizers": null}});
    for crd in singletons {
        let Some(version) = crd.spec.versions.iter().find(|v| v.served) else {
            continue;
        };
        let gvk = GroupVersionKind::gvk(&crd.spec.group, &version.name, &crd.spec.names.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, &crd.spec.names.plural);
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
        let names = |list: kube::core::ObjectList<DynamicObject>| -> Vec<String> {
            list.items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect()
        };
        let list = api.list(&ListParams::default()).await;
        let left = names(list.unwrap_or_else(|e| panic!("listing {}: {e}", gvk.kind)));
        for name in &left {
            for result in [
                api.patch(name, &PatchParams::default(), &Patch::Merge(&no_finalizers))
                    .await
                    .map(drop),
                api.delete(name, &DeleteParams::default()).await.map(drop),
            ] {
                if let Err(e) = result {
                    assert!(is_not_found(&e), "removing {} {name}: {e}", gvk.kind);
                }
            }
        }
        eventually(&format!("every {} gone", gvk.kind), || async {
            let list = api.list(&ListParams::default()).await.ok()?;
            names(list).is_empty().then_some(())
        })
        .await;
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

static DSC_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Removes directories of earlier test binaries that were killed before they could clean up.
fn remove_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl ControlPlane {
    /// Starts a private cluster with one [`FakeNode::new`] node named [`DEFAULT_NODE`];
    /// everything stops, and its data is removed, when the value is dropped.
    pub fn start() -> Result<Self> {
        Self::start_with(&[FakeNode::new(DEFAULT_NODE)])
    }

    /// Starts a private cluster with these fake nodes (none is allowed: then nothing runs). It
    /// is ready when every node is Ready and schedulable and the `default` ServiceAccount
    /// exists (pods cannot be created in a namespace before its ServiceAccount).
    pub fn start_with(nodes: &[FakeNode]) -> Result<Self> {
        let started = Instant::now();
        let bin = bin_dir()?;
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()?;
        let d = dir.path();

        let [client_port, peer_port, port] = free_ports()?;
        let etcd_client = format!("http://127.0.0.1:{client_port}");
        let etcd_peer = format!("http://127.0.0.1:{peer_port}");
        let mut cmd = Command::new(bin.join("etcd"));
        cmd.arg("--name=test")
            .arg(format!("--data-dir={}", d.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_client}"))
            .arg(format!("--advertise-client-urls={etcd_client}"))
            .arg(format!("--listen-peer-urls={etcd_peer}"))
            .arg(format!("--initial-advertise-peer-urls={etcd_peer}"))
            .arg(format!("--initial-cluster=test={etcd_peer}"))
            // Test data is thrown away, so durability only costs time.
            .arg("--unsafe-no-fsync=true")
            .arg("--log-level=warn");
        let etcd = Server::start("etcd", cmd, d)?;

        let ca = TestCa::new()?;
        let serving = ca.issue_localhost()?;
        let sa_key = KeyPair::generate()?;
        let token = format!(
            "dsc-helm-admin-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|t| t.as_nanos())
                .unwrap_or(0)
        );
        let files = [
            ("ca.crt", ca.cert_pem().to_owned()),
            ("ca.key", ca.key.serialize_pem()),
            ("apiserver.crt", serving.cert_pem.clone()),
            ("apiserver.key", serving.key_pem.clone()),
            ("sa.key", sa_key.serialize_pem()),
            ("sa.pub", sa_key.public_key_pem()),
            (
                "tokens.csv",
                format!("{token},dsc-helm-admin,dsc-helm-admin,\"system:masters\"\n"),
            ),
        ];
        for (name, content) in &files {
            fs::write(d.join(name), content)?;
        }

        let server = format!("https://127.0.0.1:{port}");
        let mut cmd = Command::new(bin.join("kube-apiserver"));
        cmd.arg(format!("--etcd-servers={etcd_client}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            // The `kubernetes` Service endpoint reconciler refuses a loopback address; nothing
            // here routes to that Service anyway.
            .arg("--endpoint-reconciler-type=none")
            .arg(format!("--secure-port={port}"))
            .arg(format!("--cert-dir={}", d.join("certs").display()))
            .arg(format!(
                "--tls-cert-file={}",
                d.join("apiserver.crt").display()
            ))
            .arg(format!(
                "--tls-private-key-file={}",
                d.join("apiserver.key").display()
            ))
            .arg(format!(
                "--token-auth-file={}",
                d.join("tokens.csv").display()
            ))
            .arg("--authorization-mode=RBAC")
            .arg(format!(
                "--service-account-key-file={}",
                d.join("sa.pub").display()
            ))
            .arg(format!(
                "--service-account-signing-key-file={}",
                d.join("sa.key").display()
            ))
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            // Room for the scale benchmark's thousands of Services.
            .arg("--service-cluster-ip-range=10.0.0.0/16");
        let apiserver_args: Vec<std::ffi::OsString> =
            cmd.get_args().map(ToOwned::to_owned).collect();
        let apiserver = Server::start("kube-apiserver", cmd, d)?;

        let kubeconfig = d.join("kubeconfig");
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": {
                "server": server,
                "certificate-authority-data": base64(ca.cert_pem().as_bytes()),
            }}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
            "current-context": "test",
        });
        fs::write(&kubeconfig, serde_json::to_vec_pretty(&config)?)?;

        let mut etcd = etcd;
        let mut apiserver = apiserver;
        wait_apiserver(&bin, &kubeconfig, &mut [&mut etcd, &mut apiserver])?;

        // The controller manager gives up if the API server is not healthy within seconds of
        // its start, so these three start only now.
        let controller_manager = Server::start(
            "kube-controller-manager",
            controller_manager_command(&bin, d),
            d,
        )?;
        let scheduler = Server::start("kube-scheduler", scheduler_command(&bin, d), d)?;
        let kwok = Server::start("kwok", kwok_command(&bin, d), d)?;
        let mut objects = storage_manifests(d);
        let mut plane = Self {
            bin,
            kubeconfig,
            server,
            running: Some(Running {
                kwok,
                scheduler,
                controller_manager,
                apiserver: Some(apiserver),
                etcd,
                dir,
                apiserver_args,
            }),
            started_in: Duration::ZERO,
        };
        objects.extend(nodes.iter().map(FakeNode::manifest));
        plane.apply(&objects)?;
        plane.wait_cluster_ready(nodes)?;
        plane.started_in = started.elapsed();
        Ok(plane)
    }

    /// How long the start took, until the cluster was ready for workloads.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Registers more fake nodes and waits until they are Ready and schedulable. Only for a
    /// cluster a test owns: on the shared one, other tests' pods would land on them.
    pub fn add_nodes(&mut self, nodes: &[FakeNode]) -> Result<()> {
        if self.running.is_none() {
            bail!("the shared cluster's nodes are not changed");
        }
        let objects: Vec<_> = nodes.iter().map(FakeNode::manifest).collect();
        self.apply(&objects)?;
        self.wait_cluster_ready(nodes)
    }

    /// `kubectl apply` of these objects as one List.
    fn apply(&self, objects: &[serde_json::Value]) -> Result<()> {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
        let mut child = self
            .kubectl()
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .context("kubectl's stdin")?
            .write_all(&serde_json::to_vec(&list)?)?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kubectl apply failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Waits until each of `nodes` is Ready without the taints that keep pods off a node that
    /// is not (yet) Ready, and the `default` ServiceAccount exists; fails early with a log if a
    /// process dies.
    fn wait_cluster_ready(&mut self, nodes: &[FakeNode]) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut waiting_for;
        loop {
            self.check_running()?;
            waiting_for = self.not_ready(nodes)?;
            if waiting_for.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let logs = self
                    .running
                    .as_ref()
                    .map(|r| {
                        [&r.controller_manager, &r.scheduler, &r.kwok]
                            .map(|s| format!("--- {}:\n{}", s.name, s.log_tail()))
                            .join("\n")
                    })
                    .unwrap_or_default();
                bail!(
                    "the cluster was not ready after {READY_TIMEOUT:?}; still waiting for: {}\n{logs}",
                    waiting_for.join(", ")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What [`Self::wait_cluster_ready`] is still waiting for; empty when nothing.
    fn not_ready(&self, nodes: &[FakeNode]) -> Result<Vec<String>> {
        let mut waiting = Vec::new();
        let out = self
            .kubectl()
            .args(["get", "nodes", "-o", "json", "--request-timeout=5s"])
            .output()?;
        let listed: serde_json::Value = if out.status.success() {
            serde_json::from_slice(&out.stdout)?
        } else {
            serde_json::Value::Null
        };
        let items = listed["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for node in nodes {
            let found = items
                .iter()
                .find(|n| n["metadata"]["name"].as_str() == Some(&node.name));
            let ready = found.is_some_and(|n| {
                let conditions = n["status"]["conditions"].as_array();
                let is_ready = conditions.is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                });
                let taints = n["spec"]["taints"].as_array();
                let untainted = !taints.is_some_and(|ts| {
                    ts.iter().any(|t| {
                        t["key"] == "node.kubernetes.io/not-ready"
                            || t["key"] == "node.kubernetes.io/unreachable"
                    })
                });
                is_ready && untainted
            });
            if !ready {
                waiting.push(format!("node {} Ready and untainted", node.name));
            }
        }
        let sa = self
            .kubectl()
            .args([
                "get",
                "serviceaccount",
                "default",
                "-n",
                "default",
                "-o",
                "name",
                "--request-timeout=5s",
            ])
            .output()?;
        if !sa.status.success() {
            waiting.push("ServiceAccount default/default".into());
        }
        Ok(waiting)
    }

    /// Fails with the end of its log if any process of this cluster has exited.
    fn check_running(&mut self) -> Result<()> {
        if let Some(r) = self.running.as_mut() {
            r.etcd.check_running()?;
            if let Some(apiserver) = r.apiserver.as_mut() {
                apiserver.check_running()?;
            }
            r.controller_manager.check_running()?;
            r.scheduler.check_running()?;
            r.kwok.check_running()?;
        }
        Ok(())
    }

    /// Stops the API server and starts it again on the same port, certificates and etcd (as
    /// an upgrade or a crash of a real one does), and waits until it is ready. `down_for` is
    /// how long it stays away. Only for a plane a test owns; the shared one is never touched.
    pub fn restart_apiserver(&mut self, down_for: Duration) -> Result<()> {
        let Some(running) = self.running.as_mut() else {
            bail!("the shared control plane is not restarted");
        };
        let mut cmd = Command::new(self.bin.join("kube-apiserver"));
        cmd.args(&running.apiserver_args);
        let dir = running.dir.path().to_path_buf();
        // Dropping the old server stops it and waits for it to exit.
        drop(running.apiserver.take());
        std::thread::sleep(down_for);
        running.apiserver = Some(Server::start("kube-apiserver", cmd, &dir)?);
        let Running {
            kwok,
            scheduler,
            controller_manager,
            apiserver,
            etcd,
            ..
        } = running;
        let apiserver = apiserver
            .as_mut()
            .context("the API server was just started")?;
        wait_apiserver(
            &self.bin,
            &self.kubeconfig,
            &mut [etcd, apiserver, controller_manager, scheduler, kwok],
        )
    }

    /// The admin kubeconfig (group system:masters).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's URL, `https://127.0.0.1:<port>`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The directory holding the binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// A kubectl of the same release, talking to this control plane as admin.
    pub fn kubectl(&self) -> Command {
        kubectl_command(&self.bin, &self.kubeconfig)
    }

    /// A client as admin. Built per call because a kube client's connections belong to the
    /// tokio runtime that created them, and every `#[tokio::test]` has its own runtime.
    pub async fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config().await?)?)
    }

    /// The client configuration of this plane's kubeconfig, for tests that build their own
    /// client from it (a recording or failing layer, the operator's retry policy).
    pub async fn config(&self) -> Result<kube::Config> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        Ok(kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?)
    }
}

/// A kubectl of the pinned release with this kubeconfig.
fn kubectl_command(bin: &Path, kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(bin.join("kubectl"));
    cmd.env("KUBECONFIG", kubeconfig).stdin(Stdio::null());
    without_proxy(&mut cmd);
    cmd
}

/// Polls `/readyz` through kubectl, which needs no HTTP client here and proves the kubeconfig
/// works; fails early with its log if one of `servers` dies.
fn wait_apiserver(bin: &Path, kubeconfig: &Path, servers: &mut [&mut Server]) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        for server in servers.iter_mut() {
            server.check_running()?;
        }
        let out = kubectl_command(bin, kubeconfig)
            .args(["get", "--raw=/readyz", "--request-timeout=5s"])
            .output()?;
        if out.status.success() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let last = String::from_utf8_lossy(&out.stderr);
            let log = servers
                .iter()
                .find(|s| s.name == "kube-apiserver")
                .map(|s| s.log_tail())
                .unwrap_or_default();
            bail!(
                "kube-apiserver not ready after {READY_TIMEOUT:?}: {last}\nend of its log:\n{log}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// kube-controller-manager with its default controllers, as the admin (`system:masters`):
/// the cluster's tests need what it does, not per-controller credentials.
fn controller_manager_command(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin.join("kube-controller-manager"));
    cmd.arg(format!("--kubeconfig={}", dir.join("kubeconfig").display()))
        // Token Secrets for ServiceAccounts, signed with the key the API server verifies.
        .arg(format!(
            "--service-account-private-key-file={}",
            dir.join("sa.key").display()
        ))
        .arg(format!("--root-ca-file={}", dir.join("ca.crt").display()))
        // Kubelet client certificates are never requested here; the test CA signs if asked.
        .arg(format!(
            "--cluster-signing-cert-file={}",
            dir.join("ca.crt").display()
        ))
        .arg(format!(
            "--cluster-signing-key-file={}",
            dir.join("ca.key").display()
        ))
        .arg("--use-service-account-credentials=false")
        .arg("--controllers=*")
        .arg("--leader-elect=false")
        // Nothing scrapes it, and a fixed port would collide between test binaries.
        .arg("--secure-port=0")
        // Notice a node's readiness within a second instead of five.
        .arg("--node-monitor-period=1s")
        // Its default of 20 requests a second (burst 30) takes minutes to give thousands of
        // new Deployments their ReplicaSets (the scale benchmark's foreign objects).
        .arg("--kube-api-qps=200")
        .arg("--kube-api-burst=400");
    cmd
}

/// kube-scheduler with its default profile.
fn scheduler_command(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin.join("kube-scheduler"));
    cmd.arg(format!("--kubeconfig={}", dir.join("kubeconfig").display()))
        .arg("--leader-elect=false")
        .arg("--secure-port=0");
    cmd
}

/// The stage files kwok plays Nodes and Pods with: healthy ones and the failures on demand.
const KWOK_STAGES: [&str; 3] = ["node.yaml", "pod.yaml", "faults.yaml"];

/// kwok, managing only Nodes annotated as fake, with the repository's stages.
fn kwok_command(bin: &Path, dir: &Path) -> Command {
    let stages = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k8s-bin/kwok/stages");
    let mut cmd = Command::new(bin.join("kwok"));
    cmd.arg(format!("--kubeconfig={}", dir.join("kubeconfig").display()));
    for file in KWOK_STAGES {
        cmd.arg(format!("--config={}", stages.join(file).display()));
    }
    cmd.arg("--manage-all-nodes=false")
        .arg(format!(
            "--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake"
        ))
        // kwok renews each Node's Lease, which is how the node lifecycle controller sees a
        // kubelet alive; without it the Node turns Unknown after its grace period and its pods
        // are marked not Ready. (The flag has no default outside a config file.)
        .arg("--node-lease-duration-seconds=40")
        // Pod IPs outside the Service range (10.0.0.0/16).
        .arg("--cidr=10.244.0.0/16")
        // kwok also loads ~/.kwok/kwok.yaml when it exists; a developer's must not leak in.
        .env("HOME", dir);
    cmd
}

/// Applies every CRD the registry generates (the DSC's and each component kind's) and waits
/// until each one is Established; returns their names.
pub async fn install_crds(
    client: &kube::Client,
    registry: &dsc_helm::registry::Registry,
) -> Vec<String> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, Patch, PatchParams};

    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let params = PatchParams::apply("dsc-helm-test").force();
    let mut names = Vec::new();
    for crd in dsc_helm::api::all_crds(registry).unwrap_or_else(|e| panic!("building CRDs: {e}")) {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("applying CRD {name}: {e}"));
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    for name in &names {
        loop {
            let established = crds
                .get(name)
                .await
                .is_ok_and(|crd| dsc_helm::api::is_established(&crd));
            if established {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "CRD {name} never became Established"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    names
}

/// A chart archive built in memory: `files` are paths inside the chart directory.
pub fn chart_archive(chart: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, text) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{chart}/{name}"), text.as_bytes())
            .unwrap_or_else(|e| panic!("archiving {name}: {e}"));
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .unwrap_or_else(|e| panic!("finishing the archive: {e}"))
}

/// The archive of the fixture chart `tests/fixtures/charts/<chart>`, holding only `files` (paths
/// inside the chart directory), so that a test takes the parts it needs.
pub fn fixture_archive(chart: &str, files: &[&str]) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/charts")
        .join(chart);
    let texts: Vec<(&str, String)> = files
        .iter()
        .map(|f| {
            let text = fs::read_to_string(dir.join(f))
                .unwrap_or_else(|e| panic!("fixture {chart}/{f}: {e}"));
            (*f, text)
        })
        .collect();
    let texts: Vec<(&str, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
    chart_archive(chart, &texts)
}

/// The repository's `charts/` copied under `dir`, plus one component added the way a platform
/// team adds one: its archive, a dependency line (`dependency` holds the YAML keys after
/// `name`) and its descriptor. Returns the umbrella chart directory.
pub fn charts_with_component(
    dir: &Path,
    name: &str,
    version: &str,
    dependency: &str,
    archive: &[u8],
    descriptor: &str,
) -> PathBuf {
    let root = dir.join("charts");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
    let write = |path: PathBuf, data: &[u8]| {
        fs::write(&path, data).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()))
    };
    for sub in ["charts", dsc_helm::registry::DESCRIPTOR_DIR] {
        fs::create_dir_all(root.join(sub)).unwrap_or_else(|e| panic!("{e}"));
        for entry in fs::read_dir(src.join(sub))
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            write(
                root.join(sub).join(entry.file_name()),
                &fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }
    let umbrella = fs::read_to_string(src.join("Chart.yaml")).unwrap_or_else(|e| panic!("{e}"));
    write(
        root.join("Chart.yaml"),
        format!("{umbrella}  - name: {name}\n    version: {version}\n{dependency}").as_bytes(),
    );
    write(root.join(format!("charts/{name}-{version}.tgz")), archive);
    write(
        root.join(dsc_helm::registry::DESCRIPTOR_DIR)
            .join(format!("{name}.yaml")),
        descriptor.as_bytes(),
    );
    root
}

/// How long a condition may take on a loaded 2-core machine; only bounds a hang.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Polls `check` until it answers, failing the test with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A namespaced CRD serving `v1` of `group` with any fields (plural: the kind in lower case
/// plus `s`): an API a test can make appear and disappear.
pub fn open_crd(
    group: &str,
    kind: &str,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    let singular = kind.to_lowercase();
    let plural = format!("{singular}s");
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": singular, "listKind": format!("{kind}List")},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    }))
    .unwrap_or_else(|e| panic!("CRD for {kind}: {e}"))
}
