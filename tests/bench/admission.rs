//! Admission load benchmark (prints, never asserts): `cargo bench --bench admission`
//! (`-- --quick` for shorter runs, `-- --rotation-only` for the certificate rotation alone).
//!
//! The webhook runs in this process on loopback HTTPS (TLS 1.3, HTTP/2 as the API server's
//! client negotiates it) with a DataScienceCluster of three corpus charts as components, one
//! of them kube-prometheus-stack (270 templates). Each mode is driven open-loop at rising
//! request rates (latency counted from each request's scheduled send time, so a stalled
//! server cannot hide its queue) and closed-loop at rising concurrency for peak throughput.
//!
//! The webhook serves from its own multi-threaded runtime; the load generator runs on one
//! thread, with send times kept by a pacing thread.
//!
//! Modes: schema checks only or schema plus dry render; each uncached (cache off and values
//! varied per request, so every request does the full work) and cached (the same body every
//! time, as a GitOps tool re-applying an unchanged DSC sends). With the dry render, also "one
//! changed": each request edits one component in turn, as a person editing the DSC does, and
//! the two unchanged components' verdicts come from the cache. The load generator shares the
//! machine's cores with the server.
//!
//! Then runaway templates (`-- --attack-only` for these alone): normal requests at 50 req/s,
//! alone and mixed with 50 req/s of reviews whose values make a chart `tpl` a loop that only
//! the render's step budget or deadline ends; the attack's verdicts are counted by status
//! code (422 when a render in the expensive slot ran out, 429 when the slot was taken).
//!
//! Last, cached verdicts at 200 req/s while the serving certificate is rotated on disk,
//! counting failed requests.

#[path = "../integration/corpus/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod corpus;
#[path = "../integration/support/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod support;
#[path = "../integration/webhook_client/mod.rs"]
// The integration tests use all of it; this binary only a part.
#[allow(dead_code)]
mod webhook_client;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::json;

use dsc_helm::webhook::{Checks, DSC_PATH};

const COMPONENTS: [&str; 3] = ["kube-prometheus-stack", "traefik", "alertmanager"];

type Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// One request's outcome: latency, or why it failed.
type Sample = Result<Duration, String>;

/// Which values differ from one request to the next.
#[derive(Clone, Copy)]
enum Change {
    /// The same DSC every time, as a GitOps tool re-applying it sends.
    Nothing,
    /// New values for every component in every request: all the work, every time.
    Everything,
    /// New values for one component per request, in turn (an edit to one component; the
    /// others' verdicts come from the cache). Every third request re-renders the large chart.
    OneComponent,
}

fn body(i: u64, change: Change) -> Vec<u8> {
    let changed = |component: u64| match change {
        Change::Nothing => false,
        Change::Everything => true,
        Change::OneComponent => i % 3 == component,
    };
    // A label or annotation: new text each time, and no more work for the chart than any
    // other value (a replica count would, as some charts loop over it).
    let mark = |component: u64| {
        if changed(component) {
            i.to_string()
        } else {
            "fixed".to_string()
        }
    };
    webhook_client::dsc_review(&format!("bench-{i}"), "UPDATE", corpus_components(mark))
}

/// The benchmark DSC's three corpus components, each with a label or annotation `mark` gives
/// it (by component index), so that a caller decides whose values are new.
fn corpus_components(mark: impl Fn(u64) -> String) -> serde_json::Value {
    json!({
        "kube-prometheus-stack": {"managementState": "Managed",
            "values": {"commonLabels": {"bench": mark(0)}}},
        "traefik": {"managementState": "Managed",
            "values": {"deployment": {"podAnnotations": {"bench": mark(1)}}}},
        "alertmanager": {"managementState": "Managed",
            "values": {"podAnnotations": {"bench": mark(2)}}},
    })
}

async fn send(sender: &mut Sender, body: Vec<u8>) -> Result<(), String> {
    match review(sender, body).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Denied { message, .. } => Err(format!("denied: {message}")),
    }
}

/// What the webhook answered.
#[derive(Debug)]
enum Verdict {
    Allowed,
    /// `code` is the AdmissionReview status's: 422 for invalid values, 429 for values the
    /// webhook was too busy to render.
    Denied {
        code: u64,
        message: String,
    },
}

/// Sends one review and returns its verdict; an HTTP or transport failure is an error.
async fn review(sender: &mut Sender, body: Vec<u8>) -> Result<Verdict, String> {
    let req = hyper::Request::post(format!("https://localhost{DSC_PATH}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let review: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if review["response"]["allowed"] == true {
        return Ok(Verdict::Allowed);
    }
    let message = review["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let code = review["response"]["status"]["code"]
        .as_u64()
        .unwrap_or_default();
    Ok(Verdict::Denied { code, message })
}

async fn h2(connector: &tokio_rustls::TlsConnector, addr: std::net::SocketAddr) -> Sender {
    let stream = webhook_client::tls_connect(connector, addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

/// Requests at a fixed rate, spread over a few HTTP/2 connections. The send times come from a
/// pacing thread (a high-resolution sleep, then a short spin) rather than the runtime's
/// millisecond timer wheel, whose rounding would add up to a millisecond to every latency.
async fn open_loop(
    senders: &[Sender],
    rate: f64,
    duration: Duration,
    change: Change,
) -> Vec<Sample> {
    paced(senders, rate, duration, move |i| body(i, change))
        .await
        .into_iter()
        .map(|(_, latency, verdict)| match verdict? {
            Verdict::Allowed => Ok(latency),
            Verdict::Denied { message, .. } => Err(format!("denied: {message}")),
        })
        .collect()
}

/// The webhook configuration's `timeoutSeconds`: after it the API server stops waiting.
const API_SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Request `i` of a paced run: its number, its latency from its scheduled send time, and
/// the verdict.
type Answered = (u64, Duration, Result<Verdict, String>);

/// Sends `make(i)` at `rate` requests a second for `duration` (see [`open_loop`]).
async fn paced(
    senders: &[Sender],
    rate: f64,
    duration: Duration,
    make: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static,
) -> Vec<Answered> {
    let make = Arc::new(make);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    let total = (rate * duration.as_secs_f64()) as u64;
    let (due_tx, mut due) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let pacer = std::thread::spawn(move || {
        let start = Instant::now() + Duration::from_millis(5);
        for i in 0..total {
            let at = start + Duration::from_secs_f64(i as f64 / rate);
            let spin_from = at.checked_sub(Duration::from_micros(200)).unwrap_or(at);
            if let Some(wait) = spin_from.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            while Instant::now() < at {
                std::hint::spin_loop();
            }
            if due_tx.send((i, at)).is_err() {
                return;
            }
        }
    });
    while let Some((i, at)) = due.recv().await {
        let mut sender = senders[i as usize % senders.len()].clone();
        let samples = samples.clone();
        let make = make.clone();
        tasks.spawn(async move {
            // The API server gives up after the webhook configuration's timeoutSeconds.
            let verdict = tokio::time::timeout(API_SERVER_TIMEOUT, review(&mut sender, make(i)))
                .await
                .unwrap_or_else(|_| Err("no answer within 10 s".to_string()));
            samples.lock().unwrap().push((i, at.elapsed(), verdict));
        });
    }
    pacer.join().unwrap();
    while tasks.join_next().await.is_some() {}
    Arc::try_unwrap(samples).unwrap().into_inner().unwrap()
}

/// `concurrency` clients each sending as fast as answers come back.
async fn closed_loop(
    senders: &[Sender],
    concurrency: usize,
    duration: Duration,
    change: Change,
) -> (Vec<Sample>, Duration) {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..concurrency {
        let mut sender = senders[c % senders.len()].clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut i = c as u64 * 1_000_000;
            while start.elapsed() < duration {
                let t = Instant::now();
                out.push(
                    send(&mut sender, body(i, change))
                        .await
                        .map(|()| t.elapsed()),
                );
                i += 1;
            }
            out
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = tasks.join_next().await {
        samples.extend(done.unwrap());
    }
    (samples, start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn report(mode: &str, load: &str, samples: &[Sample], elapsed: Duration) {
    let mut ok: Vec<Duration> = samples
        .iter()
        .filter_map(|s| s.as_ref().ok().copied())
        .collect();
    ok.sort();
    let errors: Vec<&String> = samples.iter().filter_map(|s| s.as_ref().err()).collect();
    println!(
        "{mode:<24} {load:<14} {:>6} {:>6} {:>9.2} {:>9.2} {:>9.1}",
        samples.len(),
        errors.len(),
        percentile(&ok, 0.50),
        percentile(&ok, 0.99),
        ok.len() as f64 / elapsed.as_secs_f64(),
    );
    if let Some(first) = errors.first() {
        println!("    first error: {first}");
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Where one uncached validation spends its time, per component, without HTTP: merging and
/// coalescing the values, the schema checks, and the dry render (templates already parsed).
fn breakdown(registry: &dsc_helm::registry::Registry) {
    use helm_render::engine::funcs::{OfflineLookup, SeededRandom};
    use helm_render::render::{Release, Renderer, defaults};
    let kube = helm_render::render::KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap();
    let caps = Arc::new(defaults::capabilities(kube, &[]));
    println!(
        "{:<24} {:>10} {:>10} {:>10}",
        "component", "values ms", "schema ms", "render ms"
    );
    for c in &registry.components {
        let renderer = Renderer::new();
        let release = Release::install(&c.name, "opendatahub");
        let runs = 20;
        let (mut values_t, mut schema_t, mut render_t) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..=runs {
            let values = json!({"commonLabels": {"bench": i.to_string()}});
            let values = if c.name == "kube-prometheus-stack" {
                values
            } else {
                json!({})
            };
            let t = Instant::now();
            let prepared =
                dsc_helm::registry::component_values(c, &Default::default(), &values).unwrap();
            let v = ms_since(t);
            let t = Instant::now();
            let violations = helm_render::values::validate(&prepared);
            let s = ms_since(t);
            let t = Instant::now();
            let rendered = renderer.render(
                &prepared.chart,
                &prepared.values,
                &release,
                &caps,
                &OfflineLookup,
                &mut SeededRandom::new(b"bench"),
            );
            let r = ms_since(t);
            if i == 0 {
                if !violations.is_empty() || rendered.is_err() {
                    println!("{}: not valid with default values", c.name);
                }
                continue; // the first render parses the templates
            }
            values_t.push(v);
            schema_t.push(s);
            render_t.push(r);
        }
        let median = |mut xs: Vec<f64>| {
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        println!(
            "{:<24} {:>10.2} {:>10.2} {:>10.2}",
            c.name,
            median(values_t),
            median(schema_t),
            median(render_t)
        );
    }
}

/// One whole DataScienceCluster verdict, uncached, without HTTP: what a request costs the
/// server beyond TLS, HTTP and JSON.
fn whole_verdict(registry: &dsc_helm::registry::Registry) {
    for (mode, dry_render) in [("schema", false), ("render", true)] {
        let validator = webhook_client::validator(
            registry.clone(),
            Checks {
                dry_render,
                cache: false,
            },
        );
        let mut times = Vec::new();
        for i in 0..=20 {
            let review: serde_json::Value =
                serde_json::from_slice(&body(i, Change::Everything)).unwrap();
            let t = Instant::now();
            let verdict = validator.validate_dsc(&review["request"]["object"]);
            if i > 0 {
                times.push(ms_since(t));
            }
            if !verdict.allowed() {
                println!(
                    "{mode}: the benchmark DSC is refused: {:?}",
                    verdict.problems
                );
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "whole DSC verdict, {mode:<6} {:>8.2} ms (median, no HTTP)",
            times[times.len() / 2]
        );
    }
}

fn main() {
    dsc_helm::return_freed_memory_promptly();
    let quick = std::env::args().any(|a| a == "--quick");
    let rotation_only = std::env::args().any(|a| a == "--rotation-only");
    let attack_only = std::env::args().any(|a| a == "--attack-only");
    let seconds = if quick { 2.0 } else { 5.0 };
    let duration = Duration::from_secs_f64(seconds);
    // The webhook gets a runtime like `dsc-helm serve` (one worker per core); the load
    // generator a single thread of its own, as the API server would be another process.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client_runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let load_start = Instant::now();
        let registry =
            corpus::registry::corpus_registry(&dir.path().join("charts"), &COMPONENTS).unwrap();
        println!(
            "registry of {} loaded in {:.0} ms",
            COMPONENTS.join(", "),
            load_start.elapsed().as_secs_f64() * 1000.0
        );
        let ca = support::TestCa::new().unwrap();
        let connector =
            webhook_client::connector(ca.cert_pem(), &[b"h2"], &[&rustls::version::TLS13]);
        if attack_only {
            attack(&dir, &ca, &server_runtime, &connector, duration).await;
            return;
        }
        if rotation_only {
            rotation(
                &registry,
                &ca,
                dir.path(),
                &server_runtime,
                &connector,
                duration,
            )
            .await;
            return;
        }
        breakdown(&registry);
        whole_verdict(&registry);
        let cert = ca.issue_localhost().unwrap();
        let files = webhook_client::write_serving_cert(dir.path(), &cert.cert_pem, &cert.key_pem);
        println!(
            "{:<24} {:<14} {:>6} {:>6} {:>9} {:>9} {:>9}",
            "mode", "load", "sent", "errors", "p50 ms", "p99 ms", "ok/s"
        );
        for (mode, checks, change) in [
            (
                "schema, uncached",
                Checks {
                    dry_render: false,
                    cache: false,
                },
                Change::Everything,
            ),
            (
                "schema, cached",
                Checks {
                    dry_render: false,
                    cache: true,
                },
                Change::Nothing,
            ),
            (
                "render, uncached",
                Checks {
                    dry_render: true,
                    cache: false,
                },
                Change::Everything,
            ),
            (
                "render, one changed",
                Checks {
                    dry_render: true,
                    cache: true,
                },
                Change::OneComponent,
            ),
            (
                "render, cached",
                Checks {
                    dry_render: true,
                    cache: true,
                },
                Change::Nothing,
            ),
        ] {
            let validator = webhook_client::validator(registry.clone(), checks);
            let server = {
                let _on_server_runtime = server_runtime.enter();
                webhook_client::start(validator, files.clone(), None, |_| {})
            };
            let mut senders = Vec::new();
            for _ in 0..2 {
                senders.push(h2(&connector, server.addr).await);
            }
            // Warm-up: parses each chart's templates once, as the first real request would.
            let warm = Instant::now();
            if let Err(e) = send(&mut senders[0], body(0, change)).await {
                println!("{mode}: warm-up request failed: {e}");
            }
            println!(
                "{mode:<24} first request   {:.1} ms (template parsing included)",
                warm.elapsed().as_secs_f64() * 1000.0
            );
            for rate in [50.0, 100.0, 150.0, 200.0, 400.0] {
                let samples = open_loop(&senders, rate, duration, change).await;
                report(mode, &format!("{rate:.0} req/s"), &samples, duration);
            }
            for concurrency in [1, 4, 16] {
                let (samples, elapsed) = closed_loop(&senders, concurrency, duration, change).await;
                report(
                    mode,
                    &format!("{concurrency} concurrent"),
                    &samples,
                    elapsed,
                );
            }
            server.stop().await;
        }
        attack(&dir, &ca, &server_runtime, &connector, duration).await;
        rotation(
            &registry,
            &ca,
            dir.path(),
            &server_runtime,
            &connector,
            duration,
        )
        .await;
    });
}

/// Cached verdicts at 200 req/s while the serving certificate is replaced on disk every half
/// second, as cert-manager renews it: every tenth request opens a new connection, so that
/// handshakes happen before, during and after each reload. Every failed request is counted.
async fn rotation(
    registry: &dsc_helm::registry::Registry,
    ca: &support::TestCa,
    dir: &std::path::Path,
    server_runtime: &tokio::runtime::Runtime,
    connector: &tokio_rustls::TlsConnector,
    duration: Duration,
) {
    let checks = Checks {
        dry_render: true,
        cache: true,
    };
    let validator = webhook_client::validator(registry.clone(), checks);
    let files = {
        let cert = ca.issue_localhost().unwrap();
        webhook_client::write_serving_cert(dir, &cert.cert_pem, &cert.key_pem)
    };
    let server = {
        let _on_server_runtime = server_runtime.enter();
        webhook_client::start(validator, files, None, |c| {
            c.reload_interval = Duration::from_millis(100);
        })
    };
    let rate = 200.0;
    let length = duration * 2;
    let total = (rate * length.as_secs_f64()) as u64;
    let rotations = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let rotating = {
        // Issued beforehand: the rotation writes files, as a certificate manager does.
        let every = Duration::from_millis(500);
        let certs: Vec<support::ServingCert> = (0..length.as_millis() / every.as_millis())
            .map(|_| ca.issue_localhost().unwrap())
            .collect();
        let dir = dir.to_path_buf();
        let rotations = rotations.clone();
        std::thread::spawn(move || {
            for next in certs {
                std::thread::sleep(every);
                webhook_client::write_serving_cert(&dir, &next.cert_pem, &next.key_pem);
                rotations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let mut sender = h2(connector, server.addr).await;
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    let start = Instant::now();
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        if i % 10 == 0 {
            sender = h2(connector, server.addr).await;
        }
        let mut sender = sender.clone();
        let failures = failures.clone();
        tasks.spawn(async move {
            if let Err(e) = send(&mut sender, body(0, Change::Nothing)).await {
                failures.lock().unwrap().push(e);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    rotating.join().unwrap();
    let failures = failures.lock().unwrap().clone();
    println!(
        "certificate rotation: {} rotations during {} requests at {rate:.0} req/s ({} new connections): {} failed{}",
        rotations.load(std::sync::atomic::Ordering::SeqCst),
        total,
        total / 10,
        failures.len(),
        failures
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    server.stop().await;
}

/// The chart the attack aims at, ours rather than a corpus chart: it passes a user value
/// through `tpl`, as charts that let their users template a setting do, so that values
/// which loop make its render a runaway.
const RUNAWAY_FILES: [(&str, &str); 3] = [
    (
        "runaway/Chart.yaml",
        "apiVersion: v2\nname: runaway\nversion: 0.1.0\n",
    ),
    ("runaway/values.yaml", "greeting: hello\n"),
    (
        "runaway/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n\
         data:\n  greeting: {{ tpl .Values.greeting . | quote }}\n",
    ),
];

/// The benchmark's components plus the runaway chart, registered as a platform team would.
fn attack_registry(root: &std::path::Path) -> dsc_helm::registry::Registry {
    corpus::registry::corpus_registry(root, &COMPONENTS).unwrap();
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, text) in RUNAWAY_FILES {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, path, text.as_bytes())
            .unwrap();
    }
    let bytes = archive.into_inner().unwrap().finish().unwrap();
    std::fs::write(root.join("charts").join("runaway-0.1.0.tgz"), bytes).unwrap();
    let umbrella = root.join("Chart.yaml");
    let mut text = std::fs::read_to_string(&umbrella).unwrap();
    text.push_str("  - name: runaway\n    version: \"0.1.0\"\n");
    std::fs::write(&umbrella, text).unwrap();
    std::fs::write(
        root.join(dsc_helm::registry::DESCRIPTOR_DIR)
            .join("runaway.yaml"),
        "dependency: runaway\nkind: Runaway\ndescription: tpl of a user value\n",
    )
    .unwrap();
    dsc_helm::registry::load(root).unwrap()
}

/// A review of the benchmark's DSC plus the runaway component. Normal requests edit one
/// corpus component in turn (as [`Change::OneComponent`]) and give the runaway chart a
/// harmless greeting; attack requests change only the runaway chart's greeting, to a
/// billion-step loop with a new comment each time, so that no verdict comes from the cache.
fn attack_body(i: u64, attack: bool) -> Vec<u8> {
    let mark = |component: u64| {
        if !attack && i % 3 == component {
            i.to_string()
        } else {
            "fixed".to_string()
        }
    };
    let greeting = if attack {
        format!(
            "{{{{/* {i} */}}}}{{{{ range until 1000 }}}}{{{{ range until 1000 }}}}\
             {{{{ range until 1000 }}}}x{{{{ end }}}}{{{{ end }}}}{{{{ end }}}}"
        )
    } else {
        "hello {{ .Release.Name }}".to_string()
    };
    let mut components = corpus_components(mark);
    if let Some(all) = components.as_object_mut() {
        all.insert(
            "runaway".into(),
            json!({"managementState": "Managed", "values": {"greeting": greeting}}),
        );
    }
    webhook_client::dsc_review(&format!("attack-{i}"), "UPDATE", components)
}

fn millis(sorted: &[Duration]) -> String {
    format!(
        "p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0)
    )
}

/// Normal requests at 50 req/s, first alone, then interleaved with 50 req/s of runaway
/// reviews; prints the normal requests' latency in both runs and the attack requests'
/// latency and verdicts. Both run on the same server, with the cache on as `serve` has it.
async fn attack(
    dir: &tempfile::TempDir,
    ca: &support::TestCa,
    server_runtime: &tokio::runtime::Runtime,
    connector: &tokio_rustls::TlsConnector,
    duration: Duration,
) {
    let registry = attack_registry(&dir.path().join("attack"));
    let cert = ca.issue_localhost().unwrap();
    let files = webhook_client::write_serving_cert(
        &dir.path().join("attack"),
        &cert.cert_pem,
        &cert.key_pem,
    );
    let checks = Checks {
        dry_render: true,
        cache: true,
    };
    let server = {
        let _on_server_runtime = server_runtime.enter();
        webhook_client::start(
            webhook_client::validator(registry, checks),
            files,
            None,
            |_| {},
        )
    };
    let mut senders = Vec::new();
    for _ in 0..2 {
        senders.push(h2(connector, server.addr).await);
    }
    if let Err(e) = send(&mut senders[0], attack_body(0, false)).await {
        println!("attack: warm-up request failed: {e}");
    }
    let one = Instant::now();
    let first = review(&mut senders[0], attack_body(1, true)).await;
    let one = one.elapsed();
    match first {
        Ok(Verdict::Denied { code, message }) => println!(
            "one runaway review alone: denied ({code}) in {:.0} ms: {message}",
            one.as_secs_f64() * 1000.0
        ),
        Ok(Verdict::Allowed) => println!("one runaway review alone: ALLOWED"),
        Err(e) => println!("one runaway review alone: failed: {e}"),
    }
    let rate = 50.0;
    for attacked in [false, true] {
        let answered = if attacked {
            // Even requests normal, odd ones the attack: 50 req/s of each.
            // Numbered apart from the first run's, so that no normal verdict is cached.
            paced(&senders, rate * 2.0, duration, |i| {
                attack_body(i + 1_000_000, i % 2 == 1)
            })
            .await
        } else {
            paced(&senders, rate, duration, |i| attack_body(i * 2, false)).await
        };
        let mut normal = Vec::new();
        let mut runaway = Vec::new();
        let mut verdicts: std::collections::BTreeMap<String, usize> = Default::default();
        let mut normal_errors = Vec::new();
        for (i, latency, verdict) in answered {
            let is_attack = attacked && i % 2 == 1;
            let kind = match &verdict {
                Ok(Verdict::Allowed) => "allowed".to_string(),
                // The reason, without the per-request comment and numbers around it.
                Ok(Verdict::Denied { code, message }) => {
                    let reason = message
                        .split(": ")
                        .find(|part| {
                            part.starts_with("rendering stopped")
                                || part.starts_with("the dry render")
                        })
                        .unwrap_or(message);
                    format!(
                        "denied ({code}): {}",
                        reason.chars().take(100).collect::<String>()
                    )
                }
                Err(e) => format!("failed: {e}"),
            };
            if is_attack {
                runaway.push(latency);
                *verdicts.entry(kind).or_default() += 1;
            } else if matches!(verdict, Ok(Verdict::Allowed)) {
                normal.push(latency);
            } else {
                normal_errors.push(kind);
            }
        }
        normal.sort();
        runaway.sort();
        let label = if attacked {
            "normal, under attack"
        } else {
            "normal, no attack"
        };
        println!(
            "{label:<24} {rate:.0} req/s  {} ok  {} not allowed  {}",
            normal.len(),
            normal_errors.len(),
            millis(&normal)
        );
        if let Some(first) = normal_errors.first() {
            println!("    first not allowed: {first}");
        }
        if attacked {
            println!(
                "{:<24} {rate:.0} req/s  {} sent  {}",
                "runaway reviews",
                runaway.len(),
                millis(&runaway)
            );
            for (verdict, count) in verdicts {
                println!("    {count:>5} x {verdict}");
            }
        }
    }
    server.stop().await;
}
