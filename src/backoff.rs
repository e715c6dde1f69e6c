//! How the operator retries and paces its API requests: every watch after an error, a status
//! write after a conflict, an answer that asks to come back later, and every request under a
//! client-side rate limit.
//!
//! Watches: kube-runtime's default (client-go's reflector parameters: 0.8 s doubling to 30 s)
//! is kind to a struggling API server but slow to notice one that is back: after a restart of
//! a few seconds, watches resumed about 8 s after the server answered again, and the operator
//! neither applied nor repaired anything meanwhile. These retries start at 100 ms and never
//! wait more than a second, with jitter so that the operator's watches do not all knock at
//! once; a success resets them. One process with a few tens of watches asks at most a few
//! tens of times a second while the server is away.
//!
//! Requests: kube's client retries 429, 503 and 504 answers by itself, honouring the
//! server's Retry-After. An API server that has just restarted answers 503 for custom
//! resources until their storage is ready (a second or two), with a Retry-After of 5 s (the
//! tries were exactly 5 s apart, and are not once it is ignored), so watches of the DSC and the component resources, and every other request for them, waited
//! 5 s before their next try: a DSC change made once the server was back applied 4.4-4.9 s
//! later, while watches of built-in kinds resumed within 0.1 s. [`client`] retries those
//! answers as the watches retry, from 100 ms up to a second apart, ignoring their Retry-After;
//! a 429 is different: it is API Priority and Fairness telling this client to slow down, and
//! its Retry-After is honoured (up to [`MAX_RETRY_AFTER`]).
//!
//! Pace: every request first takes a token from one bucket shared by the whole process
//! ([`ClientLimits`], client-go's QPS and burst), so that a reconcile loop gone wrong cannot
//! flood the API server; the defaults are well above what the reconciler needs when it works.
//!
//! Conflicts: a 409 means another writer got in between our read and our write; it is over
//! once we have read again, so the first retry comes almost at once, and later ones spread
//! out in case that writer keeps writing.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::utils::Backoff;
use tokio::time::Instant;

use crate::sync::lock;

const WATCH_FIRST: Duration = Duration::from_millis(100);
const WATCH_CEILING: Duration = Duration::from_secs(1);
const CONFLICT_FIRST: Duration = Duration::from_millis(20);
const CONFLICT_CEILING: Duration = Duration::from_millis(500);

const REQUEST_FIRST: Duration = Duration::from_millis(100);
const REQUEST_CEILING: Duration = Duration::from_secs(1);
/// About 13 s of retries before an error reaches the caller, as kube's own 15.
const REQUEST_RETRIES: u32 = 15;
/// The longest a 429's Retry-After is waited for; a longer one is read as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubernetes client: {0}")]
    Kube(#[from] kube::Error),
    #[error("kubernetes client limits: {0}")]
    Limits(String),
}

/// The client-side rate limit: requests per second on average, and how many may go at once
/// after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientLimits {
    pub qps: f64,
    pub burst: u32,
}

impl Default for ClientLimits {
    /// Several times what a first install of thousands of objects asks on two cores (the
    /// scale benchmark), so that only a runaway loop meets it.
    fn default() -> Self {
        ClientLimits {
            qps: 500.0,
            burst: 1000,
        }
    }
}

/// The operator's API client with the default [`ClientLimits`], counting nowhere.
pub fn client(config: kube::Config) -> Result<kube::Client, ClientError> {
    client_with(config, ClientLimits::default(), Arc::default())
}

/// API requests sent, by verb as the API server's audit log names them; every try of a
/// retried request counts, a throttled one once it goes.
#[derive(Debug, Default)]
pub struct RequestCounts(Mutex<std::collections::BTreeMap<&'static str, u64>>);

impl RequestCounts {
    pub fn count(&self, verb: &'static str) {
        *lock(&self.0).entry(verb).or_default() += 1;
    }

    /// Each verb with its count, in the verbs' order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        lock(&self.0).iter().map(|(v, n)| (*v, *n)).collect()
    }
}

/// The verb of a request: `watch` and `list` are GETs of a collection (with `watch=true` for
/// the former), `get` one of an object or a discovery document; the rest by method.
pub fn verb_of(method: &http::Method, path: &str, query: Option<&str>) -> &'static str {
    match *method {
        http::Method::GET => {}
        http::Method::POST => return "create",
        http::Method::PUT => return "update",
        http::Method::PATCH => return "patch",
        http::Method::DELETE => return "delete",
        _ => return "other",
    }
    let watching = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    if watching {
        return "watch";
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // After /api/v1 or /apis/<group>/<version>: [namespaces, <ns>,] <plural>[, <name>[, sub]].
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    }
    .unwrap_or_default();
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    if rest.len() == 1 { "list" } else { "get" }
}

#[derive(Clone)]
struct CountLayer {
    counts: Arc<RequestCounts>,
}

impl<S> tower::Layer<S> for CountLayer {
    type Service = Count<S>;

    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            counts: self.counts.clone(),
        }
    }
}

/// Counts each request it passes on.
#[derive(Clone)]
pub struct Count<S> {
    inner: S,
    counts: Arc<RequestCounts>,
}

impl<S> tower::Service<Request<Body>> for Count<S>
where
    S: tower::Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> S::Future {
        let uri = request.uri();
        self.counts
            .count(verb_of(request.method(), uri.path(), uri.query()));
        self.inner.call(request)
    }
}

/// The operator's API client: kube's own, with our retries of 429, 503 and 504 answers (see
/// the module's header) over a rate limit. Needs a tokio runtime: the layers sit on a buffer,
/// whose worker is a task.
pub fn client_with(
    mut config: kube::Config,
    limits: ClientLimits,
    counts: Arc<RequestCounts>,
) -> Result<kube::Client, ClientError> {
    if !(limits.qps.is_finite() && limits.qps > 0.0) || limits.burst == 0 {
        return Err(ClientError::Limits(format!(
            "qps must be above zero and burst at least 1, not {} and {}",
            limits.qps, limits.burst
        )));
    }
    config.default_retry = false;
    let bucket = Arc::new(Mutex::new(TokenBucket::new(
        limits.qps,
        limits.burst,
        Instant::now(),
    )));
    Ok(kube::client::ClientBuilder::try_from(config)?
        // A retry sends the request again, and a throttled request waits before it goes, so
        // the service under them must be cloneable.
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&CountLayer { counts })
        .with_layer(&ThrottleLayer { bucket })
        .with_layer(&tower::retry::RetryLayer::new(ApiRetry::new()))
        .build())
}

/// A token bucket that reserves: every request takes a token at once and is told how long to
/// wait for it, so that waiting requests go in the order they came (golang.org/x/time/rate's
/// reservations).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    pub fn new(qps: f64, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst);
        TokenBucket {
            qps,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// Takes one token and returns how long after `now` the request may go.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst) - 1.0;
        self.at = self.at.max(now);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }
}

#[derive(Clone)]
struct ThrottleLayer {
    bucket: Arc<Mutex<TokenBucket>>,
}

impl<S> tower::Layer<S> for ThrottleLayer {
    type Service = Throttle<S>;

    fn layer(&self, inner: S) -> Throttle<S> {
        Throttle {
            inner,
            bucket: self.bucket.clone(),
        }
    }
}

/// Each request waits for its token, then goes to the (cloned) inner service.
#[derive(Clone)]
pub struct Throttle<S> {
    inner: S,
    bucket: Arc<Mutex<TokenBucket>>,
}

impl<S, B> tower::Service<Request<Body>> for Throttle<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Readiness is the inner service's, asked once the token is there.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let wait = lock(&self.bucket).reserve(Instant::now());
        let mut inner = self.inner.clone();
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            tower::ServiceExt::ready(&mut inner).await?;
            inner.call(request).await
        })
    }
}

/// Retries of answers that say "later": 429, 503 and 504 (see the module's header).
#[derive(Clone)]
struct ApiRetry {
    delays: Jittered,
    attempts: u32,
}

impl ApiRetry {
    fn new() -> ApiRetry {
        ApiRetry {
            delays: jittered(REQUEST_FIRST, REQUEST_CEILING),
            attempts: 0,
        }
    }
}

/// How long to wait before retrying an answer of `status`, our own backoff having said
/// `backoff`: a 429's Retry-After (seconds) when it is longer, capped at [`MAX_RETRY_AFTER`];
/// otherwise the backoff. `None` when the status is not worth a retry.
pub fn retry_delay(
    status: StatusCode,
    retry_after: Option<&str>,
    backoff: Duration,
) -> Option<Duration> {
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let asked = retry_after
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
            Some(asked.map_or(backoff, |asked| asked.max(backoff)))
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => Some(backoff),
        _ => None,
    }
}

impl<B, E> tower::retry::Policy<Request<Body>, Response<B>, E> for ApiRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _: &mut Request<Body>,
        result: &mut Result<Response<B>, E>,
    ) -> Option<Self::Future> {
        let response = result.as_ref().ok()?;
        if self.attempts >= REQUEST_RETRIES {
            return None;
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        let backoff = self.delays.next().unwrap_or(REQUEST_CEILING);
        let delay = retry_delay(response.status(), retry_after, backoff)?;
        self.attempts += 1;
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        // Only a body held in memory can be sent twice; a streamed one is not retried.
        let body = request.body().try_clone()?;
        let mut copy = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version())
            .body(body)
            .ok()?;
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        Some(copy)
    }
}

/// Retry delays that double from a first one up to a ceiling, each with jitter.
#[derive(Debug, Clone)]
pub struct Jittered {
    first: Duration,
    ceiling: Duration,
    next: Duration,
    /// xorshift state for the jitter: cheap, and only needs to differ between watches.
    state: u64,
}

/// Delays for a new watch.
pub fn watch() -> Jittered {
    jittered(WATCH_FIRST, WATCH_CEILING)
}

/// Delays between the attempts of a write that met a conflict.
pub fn conflict() -> Jittered {
    jittered(CONFLICT_FIRST, CONFLICT_CEILING)
}

fn jittered(first: Duration, ceiling: Duration) -> Jittered {
    let mut seed = [0u8; 8];
    // Without entropy the jitter is merely the same for every watch; retries still happen.
    let _ = getrandom::fill(&mut seed);
    Jittered {
        first,
        ceiling,
        next: first,
        state: u64::from_le_bytes(seed) | 1,
    }
}

impl Jittered {
    /// A factor in [0.75, 1.25).
    fn jitter(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        0.75 + (self.state >> 11) as f64 / (1u64 << 53) as f64 / 2.0
    }
}

impl Iterator for Jittered {
    type Item = Duration;

    /// Never ends: a watch is retried for as long as the operator runs.
    fn next(&mut self) -> Option<Duration> {
        let delay = self.next.mul_f64(self.jitter()).min(self.ceiling);
        self.next = (self.next * 2).min(self.ceiling);
        Some(delay)
    }
}

impl Backoff for Jittered {
    fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_a_second_and_start_over_after_a_success() {
        let mut b = watch();
        let first: Vec<Duration> = b.by_ref().take(8).collect();
        assert!(first[0] >= Duration::from_millis(75) && first[0] < Duration::from_millis(125));
        assert!(first[1] >= Duration::from_millis(150) && first[1] < Duration::from_millis(250));
        assert!(first.iter().all(|d| *d <= WATCH_CEILING), "{first:?}");
        assert!(
            first[5..].iter().all(|d| *d >= Duration::from_millis(750)),
            "{first:?}"
        );
        b.reset();
        let again = b.next().unwrap_or_default();
        assert!(again < Duration::from_millis(125), "{again:?}");
    }

    /// Priority and Fairness' 429 is honoured (within reason); a restarting server's 503 and a
    /// gateway's 504 are retried on our own schedule; nothing else is retried.
    #[test]
    fn only_a_429_waits_as_long_as_the_server_asks() {
        let backoff = Duration::from_millis(200);
        let cases = [
            (
                StatusCode::TOO_MANY_REQUESTS,
                Some("3"),
                Some(Duration::from_secs(3)),
            ),
            (StatusCode::TOO_MANY_REQUESTS, Some("0"), Some(backoff)),
            (StatusCode::TOO_MANY_REQUESTS, Some("soon"), Some(backoff)),
            (StatusCode::TOO_MANY_REQUESTS, None, Some(backoff)),
            (
                StatusCode::TOO_MANY_REQUESTS,
                Some("3600"),
                Some(MAX_RETRY_AFTER),
            ),
            (StatusCode::SERVICE_UNAVAILABLE, Some("5"), Some(backoff)),
            (StatusCode::GATEWAY_TIMEOUT, None, Some(backoff)),
            (StatusCode::CONFLICT, Some("5"), None),
            (StatusCode::OK, None, None),
        ];
        for (status, after, want) in cases {
            assert_eq!(
                retry_delay(status, after, backoff),
                want,
                "{status} {after:?}"
            );
        }
    }

    /// A burst goes at once, then requests are spaced at the rate, in the order they came; a
    /// quiet spell refills the bucket up to the burst, never beyond.
    #[test]
    fn the_bucket_lets_a_burst_through_then_paces_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3, start);
        let waits: Vec<Duration> = (0..6).map(|_| bucket.reserve(start)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 100, 200, 300]);
        let later = start + Duration::from_secs(60);
        let after_rest: Vec<u128> = (0..4).map(|_| bucket.reserve(later).as_millis()).collect();
        assert_eq!(after_rest, [0, 0, 0, 100], "refilled to the burst only");
    }

    /// The layers as the client stacks them, over a fake API server that answers 429 with
    /// `Retry-After: 2` twice and then 200: the request is sent three times and succeeds after
    /// the four seconds the server asked for (tokio's paused clock, so no real waiting).
    #[tokio::test(start_paused = true)]
    async fn a_throttled_request_comes_back_when_the_server_says() {
        use tower::{Service as _, ServiceExt as _};
        let sent = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = sent.clone();
        let server = tower::service_fn(move |_: Request<Body>| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let response = if n < 2 {
                    Response::builder()
                        .status(StatusCode::TOO_MANY_REQUESTS)
                        .header("Retry-After", "2")
                        .body(())
                } else {
                    Response::builder().status(StatusCode::OK).body(())
                };
                Ok::<_, std::convert::Infallible>(response.expect("a response"))
            }
        });
        let bucket = Arc::new(Mutex::new(TokenBucket::new(100.0, 10, Instant::now())));
        let mut client = tower::ServiceBuilder::new()
            .layer(tower::retry::RetryLayer::new(ApiRetry::new()))
            .layer(ThrottleLayer { bucket })
            .service(server);
        let started = Instant::now();
        let request = Request::builder()
            .uri("/api/v1/namespaces")
            .body(Body::from(b"{}".to_vec()))
            .expect("a request");
        let response = client
            .ready()
            .await
            .expect("ready")
            .call(request)
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 3);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(4) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }

    #[test]
    fn requests_are_counted_by_the_api_servers_verbs() {
        use http::Method;
        let cases = [
            (Method::GET, "/api/v1/namespaces/a/configmaps", None, "list"),
            (
                Method::GET,
                "/api/v1/namespaces/a/configmaps",
                Some("watch=true&labelSelector=x"),
                "watch",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/a/configmaps/c",
                None,
                "get",
            ),
            (Method::GET, "/api/v1/namespaces", None, "list"),
            (Method::GET, "/api/v1/namespaces/a", None, "get"),
            (
                Method::GET,
                "/apis/apps/v1/deployments",
                Some("limit=500"),
                "list",
            ),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/a/deployments/d/status",
                None,
                "get",
            ),
            (Method::GET, "/apis/x.io/v1/widgets/w", None, "get"),
            (Method::GET, "/apis", None, "get"),
            (
                Method::PATCH,
                "/api/v1/namespaces/a/configmaps/c",
                Some("fieldManager=dsc-helm"),
                "patch",
            ),
            (Method::POST, "/api/v1/namespaces", None, "create"),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/o/leases/l",
                None,
                "update",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/secrets/s",
                None,
                "delete",
            ),
        ];
        for (method, path, query, verb) in cases {
            assert_eq!(
                verb_of(&method, path, query),
                verb,
                "{method} {path} {query:?}"
            );
        }
    }

    #[test]
    fn limits_that_would_stop_every_request_are_refused() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().expect("a URI"));
        for limits in [
            ClientLimits {
                qps: 0.0,
                burst: 10,
            },
            ClientLimits {
                qps: f64::NAN,
                burst: 10,
            },
            ClientLimits {
                qps: 10.0,
                burst: 0,
            },
        ] {
            assert!(
                matches!(
                    client_with(config.clone(), limits, Arc::default()),
                    Err(ClientError::Limits(_))
                ),
                "{limits:?}"
            );
        }
    }

    #[test]
    fn conflict_retries_start_at_once_and_stay_under_half_a_second() {
        let delays: Vec<Duration> = conflict().take(8).collect();
        assert!(delays[0] < Duration::from_millis(25), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= CONFLICT_CEILING), "{delays:?}");
        assert!(delays[7] >= Duration::from_millis(375), "{delays:?}");
    }
}
