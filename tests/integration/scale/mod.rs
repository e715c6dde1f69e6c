//! The scale scenario, shared by `cargo bench --bench scale` (tests/bench/scale.rs) and its
//! smoke test (tests/integration/scale_smoke.rs): many components, aliases of the `fleet`
//! fixture chart (a hundred small objects per release by default) and of corpus charts,
//! enabled at once. The operator runs as `dsc-helm serve`, a child process, so that the memory,
//! CPU time and API requests measured are its own; the test side only watches.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use serde_json::{Value, json};

use dsc_helm::registry::Registry;

use crate::support;

/// The files of the fleet fixture chart, packed as its archive.
pub fn fleet_archive() -> Vec<u8> {
    support::fixture_archive(
        "fleet",
        &[
            "Chart.yaml",
            "values.yaml",
            "templates/objects.yaml",
            "templates/deployment.yaml",
        ],
    )
}

/// One component of the scenario: its name, its chart archive and its kind.
pub struct Member {
    pub name: String,
    pub archive: Vec<u8>,
    pub kind: String,
}

/// `count` aliases of the fleet chart: `fleet-01`, `fleet-02`, …
pub fn fleets(count: usize) -> Vec<Member> {
    let archive = fleet_archive();
    (1..=count)
        .map(|i| Member {
            name: format!("fleet-{i:02}"),
            archive: archive.clone(),
            kind: format!("Fleet{i:02}"),
        })
        .collect()
}

/// The umbrella chart of `members` under `root`, loaded.
pub fn registry(root: &Path, members: &[Member]) -> Registry {
    let charts = root.join("charts");
    let descriptors = root.join(dsc_helm::registry::DESCRIPTOR_DIR);
    std::fs::create_dir_all(&charts).expect("charts dir");
    std::fs::create_dir_all(&descriptors).expect("components dir");
    let mut umbrella = String::from("apiVersion: v2\nname: scale\nversion: 0.0.1\ndependencies:\n");
    for m in members {
        let chart = helm_render::chart::load_archive(&m.name, &m.archive).expect("chart loads");
        let (name, version) = (chart.name().to_string(), chart.metadata.version.clone());
        std::fs::write(charts.join(format!("{name}-{version}.tgz")), &m.archive).expect("archive");
        umbrella.push_str(&format!(
            "  - name: {name}\n    version: \"{version}\"\n    alias: {}\n",
            m.name
        ));
        std::fs::write(
            descriptors.join(format!("{}.yaml", m.name)),
            format!("dependency: {}\nkind: {}\n", m.name, m.kind),
        )
        .expect("descriptor");
    }
    std::fs::write(root.join("Chart.yaml"), umbrella).expect("umbrella");
    dsc_helm::registry::load(root).unwrap_or_else(|e| panic!("registry: {e}"))
}

/// Every component Managed, with `values` for those it names.
pub fn stanzas(registry: &Registry, values: &HashMap<String, Value>) -> Value {
    let mut all = serde_json::Map::new();
    for c in &registry.components {
        let mut stanza = json!({"managementState": "Managed"});
        if let Some(v) = values.get(&c.name) {
            stanza["values"] = v.clone();
        }
        all.insert(c.name.clone(), stanza);
    }
    Value::Object(all)
}

/// What `dsc-helm template` renders for every component (hooks and tests left out, as the
/// reconciler leaves them), with the number of documents of each.
pub fn rendered(
    bin: &Path,
    registry: &Registry,
    namespace: &str,
) -> (String, Vec<(String, usize)>) {
    let mut all = String::new();
    let mut counts = Vec::new();
    for c in &registry.components {
        let out = Command::new(bin)
            .arg("template")
            .arg(&c.name)
            .arg(&c.archive)
            .args(["-n", namespace, "--no-hooks", "--skip-tests"])
            .output()
            .expect("dsc-helm template runs");
        assert!(
            out.status.success(),
            "template {}: {}",
            c.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        counts.push((
            c.name.clone(),
            text.lines().filter(|l| l.starts_with("# Source: ")).count(),
        ));
        all.push_str(&text);
        if !all.ends_with('\n') {
            all.push('\n');
        }
    }
    (all, counts)
}

/// `dsc-helm serve` as a child process: webhook (with development certificates), reconciler
/// without leader election, and plain-HTTP metrics.
pub struct Operator {
    child: Child,
    metrics: SocketAddr,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Operator {
    pub fn start(
        bin: &Path,
        charts: &Path,
        kubeconfig: &Path,
        namespaces: (&str, &str),
        dir: &Path,
    ) -> Operator {
        let certs = dir.join("certs");
        let made = Command::new(bin)
            .args(["certs", "--dns", "localhost", "--out"])
            .arg(&certs)
            .output()
            .expect("dsc-helm certs runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("an address");
        let log = std::fs::File::create(dir.join("operator.log")).expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--charts")
            .arg(charts)
            .args(["--applications-namespace", namespaces.0])
            .args(["--operator-namespace", namespaces.1])
            .arg("--tls-cert")
            .arg(certs.join("tls.crt"))
            .arg("--tls-key")
            .arg(certs.join("tls.key"))
            .arg("--webhook-addr")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .arg("--no-leader-election")
            .env("KUBECONFIG", kubeconfig)
            .env(
                "RUST_LOG",
                std::env::var("DSC_HELM_SCALE_LOG").unwrap_or_else(|_| "warn".to_string()),
            )
            .stdout(Stdio::null())
            .stderr(log);
        support::without_proxy(&mut cmd);
        let child = cmd.spawn().expect("dsc-helm serve starts");
        let operator = Operator { child, metrics };
        let deadline = Instant::now() + support::DEADLINE;
        while !operator
            .scrape()
            .is_some_and(|m| m.contains("dsc_helm_reconciles_total"))
        {
            assert!(
                Instant::now() < deadline,
                "the operator never served /metrics"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        operator
    }

    /// The operator's /metrics, or `None` while it does not answer.
    pub fn scrape(&self) -> Option<String> {
        let mut stream = TcpStream::connect_timeout(&self.metrics, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.").then(|| body.to_string())
    }

    /// A sample of the operator's metrics, by its full name with labels
    /// (`dsc_helm_api_requests_total{verb="patch"}`); 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        self.scrape()
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix(sample)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0)
    }

    /// API requests by verb, as the operator counted them.
    pub fn requests(&self) -> Vec<(String, f64)> {
        let text = self.scrape().unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("dsc_helm_api_requests_total{verb=\"")?;
                let (verb, n) = rest.split_once("\"} ")?;
                Some((verb.to_string(), n.trim().parse().ok()?))
            })
            .collect()
    }

    /// Write requests so far (create, update, patch, delete).
    pub fn writes(&self) -> f64 {
        self.requests()
            .iter()
            .filter(|(v, _)| ["create", "update", "patch", "delete"].contains(&v.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    fn status_kb(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// Resident memory now, MB.
    pub fn rss_mb(&self) -> f64 {
        self.status_kb("VmRSS:") / 1024.0
    }

    /// The most resident memory the process has had, MB.
    pub fn peak_mb(&self) -> f64 {
        self.status_kb("VmHWM:") / 1024.0
    }

    /// CPU time used so far (user and system), seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        (field(11) + field(12)) / ticks
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When each component was first seen applied (its status current and ProvisioningSucceeded)
/// and Ready, from one watch per component kind.
#[derive(Clone, Default)]
pub struct Progress {
    seen: Arc<Mutex<HashMap<String, Times>>>,
}

/// When a component was first seen applied, and Ready.
type Times = (Option<Instant>, Option<Instant>);

impl Progress {
    pub fn watch(
        client: &kube::Client,
        registry: &Registry,
    ) -> (Progress, Vec<tokio::task::JoinHandle<()>>) {
        let progress = Progress::default();
        let tasks = registry
            .components
            .iter()
            .map(|c| {
                let ar = dsc_helm::api::component_api_resource(c);
                let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                let name = c.name.clone();
                let progress = progress.clone();
                tokio::spawn(async move {
                    let stream = watcher(api, watcher::Config::default()).default_backoff();
                    futures::pin_mut!(stream);
                    while let Some(event) = stream.next().await {
                        let Ok(watcher::Event::Apply(cr) | watcher::Event::InitApply(cr)) = event
                        else {
                            continue;
                        };
                        progress.record(&name, &cr);
                    }
                })
            })
            .collect();
        (progress, tasks)
    }

    fn record(&self, name: &str, cr: &DynamicObject) {
        let status = &cr.data["status"];
        let current = status["observedGeneration"].as_i64() == cr.metadata.generation;
        let is_true = |type_: &str| {
            status["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == type_ && c["status"] == "True")
            })
        };
        let mut seen = self.seen.lock().expect("not poisoned");
        let entry = seen.entry(name.to_string()).or_default();
        if current && is_true("ProvisioningSucceeded") && entry.0.is_none() {
            entry.0 = Some(Instant::now());
        }
        if current && is_true("Ready") && entry.1.is_none() {
            entry.1 = Some(Instant::now());
        }
    }

    /// (applied, ready) counts and the last time of each.
    pub fn counts(&self) -> (usize, usize, Option<Instant>, Option<Instant>) {
        let seen = self.seen.lock().expect("not poisoned");
        let applied: Vec<Instant> = seen.values().filter_map(|(a, _)| *a).collect();
        let ready: Vec<Instant> = seen.values().filter_map(|(_, r)| *r).collect();
        (
            applied.len(),
            ready.len(),
            applied.iter().max().copied(),
            ready.iter().max().copied(),
        )
    }

    /// Waits until every one of `n` components is applied (or Ready), or `limit` passes;
    /// returns when the last one was.
    pub async fn wait(&self, n: usize, ready: bool, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let (applied, readied, last_applied, last_ready) = self.counts();
            let (done, last) = if ready {
                (readied, last_ready)
            } else {
                (applied, last_applied)
            };
            if done >= n {
                return last;
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The objects in `namespace` with our part-of label, by kind: what the operator has applied
/// there.
pub async fn ours_in(client: &kube::Client, namespace: &str) -> usize {
    let mut total = 0;
    for (group, version, kind, plural) in [
        ("", "v1", "ConfigMap", "configmaps"),
        ("", "v1", "Secret", "secrets"),
        ("", "v1", "Service", "services"),
        ("", "v1", "ServiceAccount", "serviceaccounts"),
        ("apps", "v1", "Deployment", "deployments"),
    ] {
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let ar = kube::core::ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<kube::core::PartialObjectMeta<DynamicObject>> =
            Api::namespaced_with(client.clone(), namespace, &ar);
        let listed = api
            .list_metadata(&kube::api::ListParams::default().labels(dsc_helm::reconcile::PART_OF))
            .await
            .expect("list");
        total += listed.items.len();
    }
    total
}

/// Where the operator's binary is: the one cargo built for this test or benchmark.
pub fn operator_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dsc-helm"))
}
