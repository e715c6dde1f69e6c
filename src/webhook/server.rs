//! The HTTPS server: admission routes, health, readiness and metrics.
//!
//! Validation is CPU work (schema checks, dry renders) and runs on the blocking pool so that
//! a slow render never stalls the connections other clients are using. Bodies are bounded
//! before they are read; headers must arrive within a deadline; a panic is impossible by
//! construction on input paths, and each connection is its own task regardless.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use futures::StreamExt;
use hyper_util::rt::TokioTimer;

use super::metrics::{Metrics, Outcome};
use super::review::{self, Verdict};
use super::tls::{self, CertFiles, TlsError};
use super::validate::{EXPENSIVE_SLOTS, Validator};
use crate::api::{COMPONENT_GROUP, DSC_GROUP};
use crate::sync::lock;

/// The API server refuses request bodies over 3 MiB; nothing legitimate is larger.
pub const MAX_BODY: usize = 3 * 1024 * 1024;
/// How much of an oversized body is read (and discarded) so that its sender sees the 413.
const DRAIN_LIMIT: usize = 4 * MAX_BODY;
/// The validating path for DataScienceClusters, named as Open Data Hub names its webhooks.
pub const DSC_PATH: &str = "/validate-datasciencecluster-v1";
/// The validating path for every component kind.
pub const COMPONENT_PATH: &str = "/validate-components-platform-opendatahub-io-v1alpha1";

/// The names of the DataScienceClusters that exist, for the singleton rule.
pub type DscNames = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send>> + Send + Sync,
>;

/// Lists DataScienceClusters through the API server (metadata only).
pub fn dsc_names_from(client: kube::Client) -> DscNames {
    Arc::new(move || {
        let api: kube::Api<crate::api::DataScienceCluster> = kube::Api::all(client.clone());
        Box::pin(async move {
            let list = api
                .list_metadata(&kube::api::ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok(list
                .items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect())
        })
    })
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the {what} server failed: {source}")]
    Serve {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// How the webhook listens.
#[derive(Clone)]
pub struct WebhookConfig {
    pub addr: SocketAddr,
    pub certs: CertFiles,
    /// How often the certificate files are checked for changes.
    pub reload_interval: Duration,
    /// How long a client may take to send its request headers (and the first request), and
    /// then its body: a client sending a byte a second is cut off, holding only a task.
    pub header_timeout: Duration,
    /// A plain-HTTP listener for /metrics, /healthz and /readyz, if wanted.
    pub metrics_addr: Option<SocketAddr>,
    /// More exposition text appended to /metrics: the reconciler's counters in `serve`, which
    /// runs both in one process behind one endpoint.
    pub extra_metrics: Option<ExtraMetrics>,
}

/// Renders additional Prometheus exposition text on each scrape.
pub type ExtraMetrics = Arc<dyn Fn() -> String + Send + Sync>;

impl WebhookConfig {
    pub fn new(addr: SocketAddr, certs: CertFiles) -> Self {
        WebhookConfig {
            addr,
            certs,
            reload_interval: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            metrics_addr: None,
            extra_metrics: None,
        }
    }
}

/// Bodies up to this size are parsed on the runtime's own thread (tens of microseconds).
const INLINE_PARSE_LIMIT: usize = 64 * 1024;

struct AppState {
    validator: Validator,
    /// One validation per core at a time: CPU-bound work queued in order finishes sooner on
    /// average than the same work time-sliced across many threads. Plus one per expensive
    /// slot: a validation waiting on an expensive render (at low priority, on a thread of its
    /// own) holds its worker, and routine reviews still have one per core.
    workers: tokio::sync::Semaphore,
    metrics: Arc<Metrics>,
    extra_metrics: Option<ExtraMetrics>,
    dsc_names: Option<DscNames>,
    serving: AtomicBool,
    not_after: Arc<Mutex<SystemTime>>,
    /// How long reading a request body may take.
    body_timeout: Duration,
}

/// A bound webhook, ready to [`run`](Webhook::run).
pub struct Webhook {
    state: Arc<AppState>,
    rustls: RustlsConfig,
    listener: std::net::TcpListener,
    metrics_listener: Option<std::net::TcpListener>,
    config: WebhookConfig,
}

fn bind_std(addr: SocketAddr) -> Result<std::net::TcpListener, WebhookError> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| WebhookError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| WebhookError::Bind { addr, source })?;
    Ok(listener)
}

impl Webhook {
    /// Loads the certificate (failing with a message naming the file) and binds the ports,
    /// so that every startup error surfaces before anything is served.
    pub fn bind(
        config: WebhookConfig,
        validator: Validator,
        dsc_names: Option<DscNames>,
    ) -> Result<Self, WebhookError> {
        let loaded = tls::load(&config.certs)?;
        let metrics = Arc::new(Metrics::default());
        metrics.set_certificate_expiry(tls::unix_seconds(loaded.not_after));
        let listener = bind_std(config.addr)?;
        let metrics_listener = config.metrics_addr.map(bind_std).transpose()?;
        Ok(Webhook {
            state: Arc::new(AppState {
                validator,
                workers: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, usize::from) + EXPENSIVE_SLOTS,
                ),
                metrics,
                extra_metrics: config.extra_metrics.clone(),
                dsc_names,
                serving: AtomicBool::new(false),
                not_after: Arc::new(Mutex::new(loaded.not_after)),
                body_timeout: config.header_timeout,
            }),
            rustls: RustlsConfig::from_config(loaded.config),
            listener,
            metrics_listener,
            config,
        })
    }

    /// The HTTPS address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// Serves until `shutdown` completes, then drains open requests for up to five seconds.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebhookError> {
        let state = self.state;
        let reloader = tokio::spawn(tls::reload_loop(
            self.config.certs.clone(),
            self.rustls.clone(),
            self.config.reload_interval,
            state.metrics.clone(),
            state.not_after.clone(),
        ));
        let handle = axum_server::Handle::new();
        // Without TCP_NODELAY a small response can wait for the client's delayed ACK (40 ms).
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(self.rustls)
            .acceptor(axum_server::accept::NoDelayAcceptor::new());
        let mut server = axum_server::from_tcp(self.listener)
            .map_err(|source| WebhookError::Serve {
                what: "webhook",
                source,
            })?
            .acceptor(acceptor)
            .handle(handle.clone())
            .first_request_timeout(self.config.header_timeout);
        server
            .http_builder()
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_timeout);
        server
            .http_builder()
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(Some(Duration::from_secs(30)));
        let app = router(state.clone());

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        {
            let handle = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
                handle.graceful_shutdown(Some(Duration::from_secs(5)));
            });
        }
        {
            let handle = handle.clone();
            let state = state.clone();
            tokio::spawn(async move {
                if handle.listening().await.is_some() {
                    state.serving.store(true, Ordering::SeqCst);
                }
            });
        }
        let metrics_server = match self.metrics_listener {
            Some(listener) => {
                let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| {
                    WebhookError::Serve {
                        what: "metrics",
                        source,
                    }
                })?;
                let app = metrics_router(state.clone());
                let mut stop = stop_rx.clone();
                Some(tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await
                }))
            }
            None => None,
        };
        let served = server.serve(app.into_make_service()).await;
        state.serving.store(false, Ordering::SeqCst);
        reloader.abort();
        if let Some(m) = metrics_server
            && let Ok(Err(source)) = m.await
        {
            return Err(WebhookError::Serve {
                what: "metrics",
                source,
            });
        }
        served.map_err(|source| WebhookError::Serve {
            what: "webhook",
            source,
        })
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            DSC_PATH,
            post(
                |State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body| async move {
                    admit(s, Route::Dsc, headers, body).await
                },
            ),
        )
        .route(
            COMPONENT_PATH,
            post(
                |State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body| async move {
                    admit(s, Route::Component, headers, body).await
                },
            ),
        )
        .with_state(state.clone())
        .merge(metrics_router(state))
}

fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(s): State<Arc<AppState>>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    s.metrics.render() + &s.extra_metrics.as_ref().map(|f| f()).unwrap_or_default(),
                )
            }),
        )
        .with_state(state)
}

/// Ready when the registry is loaded (it is, or the webhook would not exist), TLS is serving
/// and the certificate in use has not expired.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if !s.serving.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "TLS listener not serving yet",
        )
            .into_response();
    }
    let expired = SystemTime::now() > *lock(&s.not_after);
    if expired {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the serving certificate has expired",
        )
            .into_response();
    }
    (
        StatusCode::OK,
        format!(
            "ok: {} components registered",
            s.validator.registry().components.len()
        ),
    )
        .into_response()
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Dsc,
    Component,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Dsc => DSC_PATH,
            Route::Component => COMPONENT_PATH,
        }
    }
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], message).into_response()
}

async fn admit(state: Arc<AppState>, route: Route, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (response, outcome) = answer(&state, route, &headers, body).await;
    state
        .metrics
        .observe(route.label(), outcome, started.elapsed());
    response
}

/// What a first, synchronous look at the review decided.
enum Checked {
    Answer(String, Verdict),
    /// A DataScienceCluster CREATE whose singleton rule still needs the cluster.
    NeedsSingleton(String, String, Verdict),
}

async fn answer(
    state: &Arc<AppState>,
    route: Route,
    headers: &HeaderMap,
    body: Body,
) -> (Response, Outcome) {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bytes = match read_body(body, declared, state.body_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyRefusal::TooLarge) => return (too_large(), Outcome::Rejected),
        Err(BodyRefusal::Unread(why)) => {
            let message = format!("reading the request body failed: {why}");
            return (plain(StatusCode::BAD_REQUEST, message), Outcome::Rejected);
        }
    };
    // A verdict already cached costs a parse and a hash: it is answered without a worker slot,
    // so it never queues behind uncached renders. Only a miss waits for a slot. A typical
    // review (a few kilobytes) is parsed right here: a hand-off to a blocking thread would cost
    // more than the parse, and wakes an idle core. Large bodies are parsed off the runtime.
    let first = if bytes.len() <= INLINE_PARSE_LIMIT {
        Ok(first_look(&state.validator, route, &bytes))
    } else {
        let worker = state.clone();
        tokio::task::spawn_blocking(move || first_look(&worker.validator, route, &bytes)).await
    };
    let checked = match first {
        Ok(Ok(First::Done(c))) => c,
        Ok(Ok(First::Miss(request))) => {
            let Ok(permit) = state.workers.acquire().await else {
                return (
                    plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string()),
                    Outcome::Rejected,
                );
            };
            let worker = state.clone();
            let full =
                tokio::task::spawn_blocking(move || full_check(&worker.validator, route, &request))
                    .await;
            drop(permit);
            match full {
                Ok(c) => c,
                Err(e) => return failed(&e),
            }
        }
        Ok(Err(e)) => {
            return (
                plain(StatusCode::BAD_REQUEST, e.to_string()),
                Outcome::Rejected,
            );
        }
        Err(e) => return failed(&e),
    };
    let (uid, verdict) = match checked {
        Checked::Answer(uid, verdict) => (uid, verdict),
        Checked::NeedsSingleton(uid, name, mut verdict) => {
            singleton(state, &name, &mut verdict).await;
            (uid, verdict)
        }
    };
    let outcome = if verdict.allowed() {
        Outcome::Allowed
    } else {
        Outcome::Denied
    };
    let body = review::response(&uid, &verdict).to_string();
    (
        ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        outcome,
    )
}

fn failed(e: &tokio::task::JoinError) -> (Response, Outcome) {
    (
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("validation failed: {e}"),
        ),
        Outcome::Rejected,
    )
}

/// Why a request body was not taken.
enum BodyRefusal {
    TooLarge,
    /// The client broke off, or was too slow: there is no whole body to judge.
    Unread(String),
}

/// The request body, unless it is larger than [`MAX_BODY`]. A client that sends a large body
/// usually writes all of it before it reads a response: an HTTP/1.1 client fails on a closed
/// connection, an HTTP/2 one on a reset stream, and neither shows the 413. So the rest of an
/// oversized body (up to [`DRAIN_LIMIT`]) is read and discarded by a task of its own while
/// the 413 goes out at once. A body that takes longer than `deadline` is not waited for.
async fn read_body(
    body: Body,
    declared: Option<u64>,
    deadline: Duration,
) -> Result<Bytes, BodyRefusal> {
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(BodyRefusal::TooLarge);
    }
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        drain_in_background(stream, 0, deadline);
        return Err(BodyRefusal::TooLarge);
    }
    let mut kept = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BodyRefusal::Unread(e.to_string()))?;
            if kept.len() + chunk.len() > MAX_BODY {
                return Ok(Some(kept.len() + chunk.len()));
            }
            kept.extend_from_slice(&chunk);
        }
        Ok(None)
    };
    match tokio::time::timeout(deadline, read).await {
        Err(_) => Err(BodyRefusal::Unread(format!(
            "the body was not received within {} ms",
            deadline.as_millis()
        ))),
        Ok(Err(refusal)) => Err(refusal),
        Ok(Ok(Some(seen))) => {
            drain_in_background(stream, seen, deadline);
            Err(BodyRefusal::TooLarge)
        }
        Ok(Ok(None)) => Ok(Bytes::from(kept)),
    }
}

/// Reads and drops what is left of a refused body, within [`DRAIN_LIMIT`] and `deadline`, so
/// that its sender can finish sending and read the refusal.
fn drain_in_background(mut stream: axum::body::BodyDataStream, seen: usize, deadline: Duration) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = seen;
            while let Some(Ok(chunk)) = stream.next().await {
                seen += chunk.len();
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(deadline, drain).await;
    });
}

fn too_large() -> Response {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body exceeds {MAX_BODY} bytes (3 MiB), the API server's own limit"),
    )
}

/// The outcome of parsing a request and consulting the cache.
enum First {
    Done(Checked),
    /// The verdict needs computing; the parsed request, so that it is not parsed again.
    Miss(review::Request),
}

/// Parses, and answers whatever needs no computation: requests the webhook does not validate,
/// and verdicts already cached.
fn first_look(
    validator: &Validator,
    route: Route,
    body: &[u8],
) -> Result<First, review::ReviewError> {
    let request = review::parse(body)?;
    let _entered = span(&request).entered();
    let verdict = match target(route, &request) {
        Target::Allow => Some(Verdict::default()),
        Target::Missing => Some(missing_object()),
        Target::Dsc(object) => validator.cached_dsc(object),
        Target::Component(kind, object) => validator.cached_component(kind, object),
    };
    let verdict = verdict
        .and_then(|mut v| warn_immutable(validator, route, &request, &mut v, false).then_some(v));
    Ok(match verdict {
        Some(verdict) => First::Done(finish(route, &request, verdict)),
        None => First::Miss(request),
    })
}

/// On an allowed UPDATE, adds a warning for each applied object whose immutable fields the
/// new values change (see [`super::immutable`]). The verdict on the stored object comes from
/// the cache or, with `compute`, is computed; `false` when it is needed but neither.
fn warn_immutable(
    validator: &Validator,
    route: Route,
    request: &review::Request,
    verdict: &mut Verdict,
    compute: bool,
) -> bool {
    if request.operation != "UPDATE" || !verdict.allowed() || verdict.shapes.is_empty() {
        return true;
    }
    let old = match target_of(route, request, request.old_object.as_ref()) {
        Target::Dsc(old) if compute => Some(validator.validate_dsc(old)),
        Target::Dsc(old) => validator.cached_dsc(old),
        Target::Component(kind, old) if compute => validator.validate_component(kind, old),
        Target::Component(kind, old) => validator.cached_component(kind, old),
        Target::Allow | Target::Missing => return true,
    };
    let Some(old) = old else {
        return compute;
    };
    let warnings = validator.immutable_warnings(&old, verdict);
    verdict.warnings.extend(warnings);
    true
}

/// Validates everything but the singleton rule, which needs the cluster.
fn full_check(validator: &Validator, route: Route, request: &review::Request) -> Checked {
    let _entered = span(request).entered();
    let mut verdict = match target(route, request) {
        Target::Allow => Verdict::default(),
        Target::Missing => missing_object(),
        Target::Dsc(object) => validator.validate_dsc(object),
        Target::Component(kind, object) => validator
            .validate_component(kind, object)
            .unwrap_or_default(),
    };
    warn_immutable(validator, route, request, &mut verdict, true);
    finish(route, request, verdict)
}

fn span(request: &review::Request) -> tracing::Span {
    tracing::info_span!(
        "admission",
        uid = %request.uid,
        operation = %request.operation,
        kind = %request.kind.kind,
        name = %request.name,
        dry_run = request.dry_run,
    )
}

/// What a request asks of the validator.
enum Target<'a> {
    /// An operation or kind this webhook lets through.
    Allow,
    /// A CREATE or UPDATE without the object.
    Missing,
    Dsc(&'a serde_json::Value),
    Component(&'a str, &'a serde_json::Value),
}

fn target(route: Route, request: &review::Request) -> Target<'_> {
    target_of(route, request, request.object.as_ref())
}

/// [`target`] for `object`, the request's object or the stored one of an UPDATE.
fn target_of<'a>(
    route: Route,
    request: &'a review::Request,
    object: Option<&'a serde_json::Value>,
) -> Target<'a> {
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE") {
        return Target::Allow;
    }
    let kind = &request.kind;
    let relevant = match route {
        Route::Dsc => kind.group == DSC_GROUP && kind.kind == "DataScienceCluster",
        Route::Component => kind.group == COMPONENT_GROUP,
    };
    match (relevant, object, route) {
        (false, _, _) => Target::Allow,
        (true, None, _) => Target::Missing,
        (true, Some(object), Route::Dsc) => Target::Dsc(object),
        (true, Some(object), Route::Component) => Target::Component(&kind.kind, object),
    }
}

/// Logs the verdict and says whether the singleton rule still has to be checked: on the
/// CREATE of a DataScienceCluster.
fn finish(route: Route, request: &review::Request, verdict: Verdict) -> Checked {
    if verdict.allowed() {
        tracing::debug!(warnings = verdict.warnings.len(), "allowed");
    } else {
        tracing::info!(
            problems = verdict.problems.len(),
            "denied: {}",
            verdict.problems.join("; ")
        );
    }
    let uid = request.uid.clone();
    match target(route, request) {
        Target::Dsc(object) if request.operation == "CREATE" => {
            let name = if request.name.is_empty() {
                object
                    .pointer("/metadata/name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string()
            } else {
                request.name.clone()
            };
            Checked::NeedsSingleton(uid, name, verdict)
        }
        _ => Checked::Answer(uid, verdict),
    }
}

fn missing_object() -> Verdict {
    Verdict {
        problems: vec!["request.object: missing; nothing to validate".to_string()],
        ..Verdict::default()
    }
}

/// Refuses a DataScienceCluster when another one exists. When the cluster cannot be asked,
/// the request is refused too: admitting a second DSC is worse than a retried apply.
async fn singleton(state: &AppState, name: &str, verdict: &mut Verdict) {
    let Some(list) = &state.dsc_names else {
        verdict.warnings.push(
            "the single-DataScienceCluster rule was not checked: the webhook has no Kubernetes API access"
                .to_string(),
        );
        return;
    };
    match list().await {
        Ok(names) => {
            let others: Vec<&String> = names.iter().filter(|n| n.as_str() != name).collect();
            if let Some(existing) = others.first() {
                verdict.problems.push(format!(
                    "metadata.name: DataScienceCluster {existing} already exists; only one DataScienceCluster is allowed per cluster"
                ));
            }
        }
        Err(e) => verdict.problems.push(format!(
            "metadata.name: cannot check that this is the only DataScienceCluster: {e}"
        )),
    }
}
