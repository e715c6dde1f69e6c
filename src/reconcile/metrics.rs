//! What the reconciler did, for the webhook's /metrics (Prometheus' text exposition format)
//! and for tests: counters, errors by component and kind, and reconcile durations.

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
    /// Errors by controller (a component's name, [`DSC_CONTROLLER`] or [`LEADER_ELECTION`]) and
    /// [`ReconcileError::metric_label`].
    errors: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Reconcile durations by controller.
    durations: Mutex<BTreeMap<String, Histogram>>,
}

/// The controller label of the DataScienceCluster controller's errors and durations.
pub const DSC_CONTROLLER: &str = "datasciencecluster";
/// The controller label of leader-election errors (taking or renewing the Lease), which
/// belong to no one component.
pub const LEADER_ELECTION: &str = "leader-election";

/// One histogram's cumulative bucket counts (one per [`DURATION_BUCKETS`] bound), count and
/// sum.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        for (bound, n) in DURATION_BUCKETS.iter().zip(&mut self.buckets) {
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
        let mut out = String::new();
        for (name, help, counter) in counters {
            let name = format!("dsc_helm_{name}");
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                Metrics::get(counter)
            );
        }
        out.push_str(&render_errors(&lock(&self.errors)));
        out.push_str(&render_durations(&lock(&self.durations)));
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

fn render_durations(durations: &BTreeMap<String, Histogram>) -> String {
    let name = "dsc_helm_reconcile_duration_seconds";
    let mut out =
        format!("# HELP {name} Time one reconcile took, by controller.\n# TYPE {name} histogram\n");
    for (component, h) in durations {
        let component = label_value(component);
        for (bound, n) in DURATION_BUCKETS.iter().zip(&h.buckets) {
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
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
