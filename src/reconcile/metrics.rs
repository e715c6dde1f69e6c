//! What the reconciler did, for the webhook's /metrics (Prometheus' text exposition format)
//! and for tests: counters, errors by component and kind, reconcile durations, whether each
//! component is Ready and how long it took from an apply to get there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::ReconcileError;
use crate::sync::lock;

/// Upper bounds (seconds) of the reconcile-duration histogram: a no-op reconcile takes
/// milliseconds, a first install with CRDs to wait for tens of seconds.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the apply-to-Ready histogram: pods of a fake node run within a
/// second or two, real ones pull images and start for minutes.
pub const READY_BUCKETS: [f64; 12] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Monotonic counters of what the reconciler did.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Component reconciles finished, successful or not.
    pub reconciles: AtomicU64,
    /// Component reconciles that found nothing to do and wrote nothing.
    pub unchanged: AtomicU64,
    /// Component reconciles that failed (and were retried with backoff).
    pub failures: AtomicU64,
    /// Objects server-side-applied.
    pub objects_applied: AtomicU64,
    /// DataScienceCluster reconciles finished.
    pub dsc_reconciles: AtomicU64,
    /// Drift watches open: one per kind that some component renders or declares.
    pub watches_open: AtomicU64,
    /// Objects with our label that the drift watches see.
    pub watched_objects: AtomicU64,
    /// API requests of the client built with them ([`crate::backoff::client_with`]).
    pub requests: std::sync::Arc<crate::backoff::RequestCounts>,
    /// Errors by controller (a component's name, [`DSC_CONTROLLER`] or [`LEADER_ELECTION`]) and
    /// [`ReconcileError::metric_label`].
    errors: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Reconcile durations by controller.
    durations: Mutex<BTreeMap<String, Histogram>>,
    /// Whether each component's Ready condition is True, as last computed.
    ready: Mutex<BTreeMap<String, bool>>,
    /// Time from an apply of new inputs to Ready, by component.
    time_to_ready: Mutex<BTreeMap<String, Histogram>>,
    /// Objects put back after someone else changed or deleted them, by component and kind.
    drift_corrections: Mutex<BTreeMap<(String, String), u64>>,
}

/// The controller label of the DataScienceCluster controller's errors and durations.
pub const DSC_CONTROLLER: &str = "datasciencecluster";
/// The controller label of leader-election errors (taking or renewing the Lease), which
/// belong to no one component.
pub const LEADER_ELECTION: &str = "leader-election";

/// One histogram's cumulative bucket counts (one per bound), count and sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

/// A reconcile-duration histogram.
impl Default for Histogram {
    fn default() -> Self {
        Histogram::new(&DURATION_BUCKETS)
    }
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        }
    }

    pub fn observe(&mut self, seconds: f64) {
        for (bound, n) in self.bounds.iter().zip(&mut self.buckets) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

impl Metrics {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::SeqCst);
    }

    pub(super) fn sub(gauge: &AtomicU64, n: u64) {
        // Never below zero, whatever order the watch tasks end in.
        let _ = gauge.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            Some(v.saturating_sub(n))
        });
    }

    pub(super) fn set(gauge: &AtomicU64, n: u64) {
        gauge.store(n, Ordering::SeqCst);
    }

    /// Counts one error of `controller`.
    pub fn error(&self, controller: &str, error: &ReconcileError) {
        *lock(&self.errors)
            .entry((controller.to_string(), error.metric_label()))
            .or_default() += 1;
    }

    /// How many errors of `kind` (a [`ReconcileError::metric_label`]) `controller` had.
    pub fn errors(&self, controller: &str, kind: &str) -> u64 {
        lock(&self.errors)
            .iter()
            .filter(|((c, k), _)| c == controller && *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Records how long one reconcile of `controller` took.
    pub fn observe(&self, controller: &str, elapsed: Duration) {
        lock(&self.durations)
            .entry(controller.to_string())
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Records whether `component` is Ready now.
    pub fn set_ready(&self, component: &str, ready: bool) {
        lock(&self.ready).insert(component.to_string(), ready);
    }

    /// Whether `component` was Ready when last computed; `None` before its first status.
    pub fn is_ready(&self, component: &str) -> Option<bool> {
        lock(&self.ready).get(component).copied()
    }

    /// Records how long `component` took from an apply to Ready.
    pub fn observe_ready(&self, component: &str, elapsed: Duration) {
        lock(&self.time_to_ready)
            .entry(component.to_string())
            .or_insert_with(|| Histogram::new(&READY_BUCKETS))
            .observe(elapsed.as_secs_f64());
    }

    /// How many times `component` became Ready after an apply.
    pub fn ready_count(&self, component: &str) -> u64 {
        lock(&self.time_to_ready)
            .get(component)
            .map_or(0, |h| h.count)
    }

    /// Counts one object of `kind` that `component` put back.
    pub fn drift_corrected(&self, component: &str, kind: &str) {
        *lock(&self.drift_corrections)
            .entry((component.to_string(), kind.to_string()))
            .or_default() += 1;
    }

    /// How many objects of `kind` `component` put back.
    pub fn drift_corrections(&self, component: &str, kind: &str) -> u64 {
        lock(&self.drift_corrections)
            .get(&(component.to_string(), kind.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Everything in Prometheus' text exposition format, served on the webhook's /metrics.
    pub fn render(&self) -> String {
        let counters = [
            (
                "reconciles_total",
                "Component reconciles finished, successful or not.",
                &self.reconciles,
            ),
            (
                "reconciles_unchanged_total",
                "Component reconciles that found nothing to do and wrote nothing.",
                &self.unchanged,
            ),
            (
                "reconcile_failures_total",
                "Component reconciles that failed and were retried with backoff.",
                &self.failures,
            ),
            (
                "objects_applied_total",
                "Objects server-side-applied.",
                &self.objects_applied,
            ),
            (
                "dsc_reconciles_total",
                "DataScienceCluster reconciles finished.",
                &self.dsc_reconciles,
            ),
        ];
        let gauges = [
            (
                "watches_open",
                "Drift watches open, one per kind some component renders or declares.",
                &self.watches_open,
            ),
            (
                "watched_objects",
                "Objects with the operator's part-of label that the drift watches see.",
                &self.watched_objects,
            ),
        ];
        let mut out = String::new();
        for (name, help, counter) in counters {
            let name = format!("dsc_helm_{name}");
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                Metrics::get(counter)
            );
        }
        for (name, help, gauge) in gauges {
            let name = format!("dsc_helm_{name}");
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n",
                Metrics::get(gauge)
            );
        }
        let name = "dsc_helm_api_requests_total";
        let _ = write!(
            out,
            "# HELP {name} Kubernetes API requests sent, by verb.\n# TYPE {name} counter\n"
        );
        for (verb, n) in self.requests.snapshot() {
            let _ = writeln!(out, "{name}{{verb=\"{verb}\"}} {n}");
        }
        out.push_str(&render_errors(&lock(&self.errors)));
        out.push_str(&render_drift(&lock(&self.drift_corrections)));
        out.push_str(&render_histograms(
            "dsc_helm_reconcile_duration_seconds",
            "Time one reconcile took, by controller.",
            &lock(&self.durations),
        ));
        out.push_str(&render_ready(&lock(&self.ready)));
        out.push_str(&render_histograms(
            "dsc_helm_component_apply_to_ready_seconds",
            "Time from an apply of new inputs to the component's Ready condition turning True.",
            &lock(&self.time_to_ready),
        ));
        out
    }
}

/// A label value as the exposition format quotes it.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_errors(errors: &BTreeMap<(String, &'static str), u64>) -> String {
    let name = "dsc_helm_reconcile_errors_total";
    let mut out = format!(
        "# HELP {name} Reconcile and watch errors by controller and error kind.\n\
         # TYPE {name} counter\n"
    );
    for ((component, kind), n) in errors {
        let _ = writeln!(
            out,
            "{name}{{component=\"{}\",kind=\"{kind}\"}} {n}",
            label_value(component)
        );
    }
    out
}

fn render_drift(corrections: &BTreeMap<(String, String), u64>) -> String {
    let name = "dsc_helm_drift_corrections_total";
    let mut out = format!(
        "# HELP {name} Objects put back after another writer changed or deleted them, by \
         component and kind.\n# TYPE {name} counter\n"
    );
    for ((component, kind), n) in corrections {
        let _ = writeln!(
            out,
            "{name}{{component=\"{}\",kind=\"{}\"}} {n}",
            label_value(component),
            label_value(kind)
        );
    }
    out
}

fn render_ready(ready: &BTreeMap<String, bool>) -> String {
    let name = "dsc_helm_component_ready";
    let mut out = format!(
        "# HELP {name} Whether the component's Ready condition is True (1) or not (0).\n\
         # TYPE {name} gauge\n"
    );
    for (component, ready) in ready {
        let _ = writeln!(
            out,
            "{name}{{component=\"{}\"}} {}",
            label_value(component),
            u8::from(*ready)
        );
    }
    out
}

fn render_histograms(name: &str, help: &str, histograms: &BTreeMap<String, Histogram>) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
    for (component, h) in histograms {
        let component = label_value(component);
        for (bound, n) in h.bounds.iter().zip(&h.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{component=\"{component}\",le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{component=\"{component}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "{name}_sum{{component=\"{component}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{component=\"{component}\"}} {}", h.count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_each_duration_in_every_bucket_at_or_above_it() {
        let mut h = Histogram::default();
        h.observe(0.004);
        h.observe(0.3);
        h.observe(100.0);
        assert_eq!(h.buckets[0], 1, "le=0.005");
        assert_eq!(h.buckets[5], 1, "le=0.25 holds 0.004 only");
        assert_eq!(h.buckets[6], 2, "le=0.5 also holds 0.3");
        assert_eq!(h.buckets[11], 2, "le=30: 100 s is only in +Inf");
        assert_eq!(h.count, 3);
        assert!((h.sum - 100.304).abs() < 1e-9);
    }

    #[test]
    fn durations_render_as_a_prometheus_histogram() {
        let m = Metrics::default();
        m.observe("a", Duration::from_millis(20));
        m.observe("a", Duration::from_secs(2));
        let text = m.render();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("reconcile_duration_seconds"))
            .collect();
        assert_eq!(
            lines[0],
            "# HELP dsc_helm_reconcile_duration_seconds Time one reconcile took, by controller."
        );
        assert_eq!(
            lines[1],
            "# TYPE dsc_helm_reconcile_duration_seconds histogram"
        );
        assert_eq!(
            lines[2],
            "dsc_helm_reconcile_duration_seconds_bucket{component=\"a\",le=\"0.005\"} 0"
        );
        assert!(lines.contains(
            &"dsc_helm_reconcile_duration_seconds_bucket{component=\"a\",le=\"0.025\"} 1"
        ));
        assert!(
            lines.contains(
                &"dsc_helm_reconcile_duration_seconds_bucket{component=\"a\",le=\"2.5\"} 2"
            )
        );
        assert!(lines.contains(
            &"dsc_helm_reconcile_duration_seconds_bucket{component=\"a\",le=\"+Inf\"} 2"
        ));
        assert!(lines.contains(&"dsc_helm_reconcile_duration_seconds_sum{component=\"a\"} 2.02"));
        assert!(lines.contains(&"dsc_helm_reconcile_duration_seconds_count{component=\"a\"} 2"));
        assert_eq!(lines.len(), 2 + DURATION_BUCKETS.len() + 3);
    }

    #[test]
    fn errors_are_counted_by_controller_and_kind() {
        let m = Metrics::default();
        let contended = ReconcileError::SeedContended {
            component: "a".into(),
        };
        m.error("a", &contended);
        m.error("a", &contended);
        m.error(DSC_CONTROLLER, &ReconcileError::Stopped);
        assert_eq!(m.errors("a", "seed_contended"), 2);
        assert_eq!(m.errors("a", "stopped"), 0);
        let text = m.render();
        assert!(text.contains("# TYPE dsc_helm_reconcile_errors_total counter\n"));
        assert!(text.contains(
            "dsc_helm_reconcile_errors_total{component=\"a\",kind=\"seed_contended\"} 2\n"
        ));
        assert!(text.contains(
            "dsc_helm_reconcile_errors_total{component=\"datasciencecluster\",kind=\"stopped\"} 1\n"
        ));
    }

    #[test]
    fn readiness_renders_as_a_gauge_and_a_histogram_per_component() {
        let m = Metrics::default();
        m.set_ready("a", false);
        m.set_ready("b", true);
        m.set_ready("a", true);
        m.observe_ready("a", Duration::from_secs(3));
        let text = m.render();
        assert!(text.contains("# TYPE dsc_helm_component_ready gauge\n"));
        assert!(text.contains("dsc_helm_component_ready{component=\"a\"} 1\n"));
        assert!(text.contains("dsc_helm_component_ready{component=\"b\"} 1\n"));
        assert!(text.contains("# TYPE dsc_helm_component_apply_to_ready_seconds histogram\n"));
        assert!(text.contains(
            "dsc_helm_component_apply_to_ready_seconds_bucket{component=\"a\",le=\"2.5\"} 0\n"
        ));
        assert!(text.contains(
            "dsc_helm_component_apply_to_ready_seconds_bucket{component=\"a\",le=\"5\"} 1\n"
        ));
        assert!(
            text.contains("dsc_helm_component_apply_to_ready_seconds_count{component=\"a\"} 1\n")
        );
        assert_eq!(m.ready_count("a"), 1);
        assert_eq!(m.ready_count("b"), 0);
        assert_eq!(m.is_ready("a"), Some(true));
        assert_eq!(m.is_ready("c"), None);
    }

    #[test]
    fn drift_corrections_are_counted_by_component_and_kind() {
        let m = Metrics::default();
        m.drift_corrected("a", "ConfigMap");
        m.drift_corrected("a", "ConfigMap");
        m.drift_corrected("b", "Deployment");
        assert_eq!(m.drift_corrections("a", "ConfigMap"), 2);
        assert_eq!(m.drift_corrections("a", "Deployment"), 0);
        let text = m.render();
        assert!(text.contains("# TYPE dsc_helm_drift_corrections_total counter\n"));
        assert!(
            text.contains(
                "dsc_helm_drift_corrections_total{component=\"a\",kind=\"ConfigMap\"} 2\n"
            )
        );
        assert!(
            text.contains(
                "dsc_helm_drift_corrections_total{component=\"b\",kind=\"Deployment\"} 1\n"
            )
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
