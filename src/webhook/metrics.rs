//! Prometheus metrics in the text exposition format, written by hand: a few counters and one
//! histogram do not justify a metrics crate and its registry machinery.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sync::lock;

/// Upper bounds (seconds) of the latency histogram: admission must answer within the
/// configuration's timeoutSeconds, and the interesting range is a millisecond to a second.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// What a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Allowed,
    Denied,
    /// Not an answerable review (HTTP 4xx).
    Rejected,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Rejected => "rejected",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, Outcome), u64>>,
    bucket_counts: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    /// Sum of latencies in nanoseconds, so that it can be an atomic integer.
    latency_sum_nanos: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    cert_not_after: AtomicU64,
}

impl Metrics {
    /// Counts one review request; `path` is a route name, never raw client input, so the label
    /// set stays bounded.
    pub fn observe(&self, path: &'static str, outcome: Outcome, elapsed: Duration) {
        *lock(&self.requests).entry((path, outcome)).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn certificate_reloaded(&self, ok: bool) {
        let counter = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The serving certificate's expiry, seconds since the epoch, for alerting before it lapses.
    pub fn set_certificate_expiry(&self, unix_seconds: u64) {
        self.cert_not_after.store(unix_seconds, Ordering::Relaxed);
    }

    pub fn requests(&self, path: &'static str, outcome: Outcome) -> u64 {
        lock(&self.requests)
            .get(&(path, outcome))
            .copied()
            .unwrap_or(0)
    }

    pub fn reloads(&self) -> u64 {
        self.reloads_ok.load(Ordering::Relaxed)
    }

    /// The exposition text served at `/metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP dsc_helm_webhook_requests_total Admission requests by path and verdict.\n",
        );
        out.push_str("# TYPE dsc_helm_webhook_requests_total counter\n");
        for ((path, outcome), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "dsc_helm_webhook_requests_total{{path=\"{path}\",verdict=\"{}\"}} {n}",
                outcome.label()
            );
        }
        out.push_str(
            "# HELP dsc_helm_webhook_request_duration_seconds Time to answer an admission request.\n",
        );
        out.push_str("# TYPE dsc_helm_webhook_request_duration_seconds histogram\n");
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            let _ = writeln!(
                out,
                "dsc_helm_webhook_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "dsc_helm_webhook_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "dsc_helm_webhook_request_duration_seconds_sum {}",
            self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "dsc_helm_webhook_request_duration_seconds_count {count}"
        );
        out.push_str(
            "# HELP dsc_helm_webhook_certificate_reloads_total Serving certificate reloads from disk.\n",
        );
        out.push_str("# TYPE dsc_helm_webhook_certificate_reloads_total counter\n");
        let _ = writeln!(
            out,
            "dsc_helm_webhook_certificate_reloads_total{{result=\"success\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "dsc_helm_webhook_certificate_reloads_total{{result=\"failure\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        out.push_str("# HELP dsc_helm_webhook_certificate_expiry_seconds NotAfter of the serving certificate.\n");
        out.push_str("# TYPE dsc_helm_webhook_certificate_expiry_seconds gauge\n");
        let _ = writeln!(
            out,
            "dsc_helm_webhook_certificate_expiry_seconds {}",
            self.cert_not_after.load(Ordering::Relaxed)
        );
        out
    }
}
