//! How the operator retries: every watch after an error, and a status write after a conflict.
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
//! answers as the watches retry, from 100 ms up to a second apart, and ignores Retry-After.
//!
//! Conflicts: a 409 means another writer got in between our read and our write; it is over
//! once we have read again, so the first retry comes almost at once, and later ones spread
//! out in case that writer keeps writing.

use std::time::Duration;

use kube::client::retry::{InvalidBackoff, RetryPolicy};
use kube::runtime::utils::Backoff;

const WATCH_FIRST: Duration = Duration::from_millis(100);
const WATCH_CEILING: Duration = Duration::from_secs(1);
const CONFLICT_FIRST: Duration = Duration::from_millis(20);
const CONFLICT_CEILING: Duration = Duration::from_millis(500);

const REQUEST_FIRST: Duration = Duration::from_millis(100);
const REQUEST_CEILING: Duration = Duration::from_secs(1);
/// About 13 s of retries before an error reaches the caller, as kube's own 15.
const REQUEST_RETRIES: u32 = 15;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubernetes client: {0}")]
    Kube(#[from] kube::Error),
    #[error("kubernetes client retry policy: {0}")]
    Retry(#[from] InvalidBackoff),
}

/// The operator's API client: kube's own, except that 429, 503 and 504 answers are retried
/// at most a second apart whatever their Retry-After says (see the module's header). Needs a tokio runtime: the retry sits on
/// a buffer, whose worker is a task.
pub fn client(mut config: kube::Config) -> Result<kube::Client, ClientError> {
    config.default_retry = false;
    let policy = RetryPolicy::new(REQUEST_FIRST, REQUEST_CEILING, REQUEST_RETRIES, false)?;
    Ok(kube::client::ClientBuilder::try_from(config)?
        // A retry sends the request again, so the service under it must be cloneable.
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(policy))
        .build())
}

/// Retry delays that double from a first one up to a ceiling, each with jitter.
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

    #[test]
    fn conflict_retries_start_at_once_and_stay_under_half_a_second() {
        let delays: Vec<Duration> = conflict().take(8).collect();
        assert!(delays[0] < Duration::from_millis(25), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= CONFLICT_CEILING), "{delays:?}");
        assert!(delays[7] >= Duration::from_millis(375), "{delays:?}");
    }
}
