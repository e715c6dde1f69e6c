//! Leader election on a coordination.k8s.io Lease, so that two replicas can run with one
//! reconciling. Optimistic concurrency (resourceVersion) decides races; a leader that cannot
//! renew in time stops reconciling before another replica may take over. A leader that is
//! told to stop gives the Lease up ([`Elector::release`]), so that a rolling update hands over
//! within a standby's poll instead of a whole lease duration; a killed one is replaced once
//! its lease runs out.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};

use super::ReconcileError;

pub const LEASE_NAME: &str = "dsc-helm-reconciler";
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub(super) const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How often a standby asks for the Lease: a released Lease is taken within this, an expired
/// one within this after it expires.
pub const STANDBY_POLL: Duration = Duration::from_secs(1);

/// Whether `identity` may hold the lease at `now` (pure, for tests).
pub(super) fn may_take(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> bool {
    let Some(spec) = spec else { return true };
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() || holder == identity {
        return true;
    }
    let seconds = spec
        .lease_duration_seconds
        .map(i64::from)
        .unwrap_or(LEASE_DURATION.as_secs() as i64);
    match spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) {
        Some(t) => {
            t.0.checked_add(SignedDuration::from_secs(seconds))
                .is_ok_and(|expiry| expiry < now)
        }
        None => true,
    }
}

pub struct Elector {
    api: Api<Lease>,
    identity: String,
    /// When the lease another replica holds runs out, as last read.
    expiry: std::sync::Mutex<Option<Timestamp>>,
}

/// How long a standby waits before asking again: its usual poll, or less when the holder's
/// lease runs out sooner, so that a crashed leader's successor starts right after the lease
/// ends rather than up to a poll later.
pub(super) fn retry_in(expiry: Option<Timestamp>, now: Timestamp) -> Duration {
    let Some(expiry) = expiry else {
        return STANDBY_POLL;
    };
    let left = now.duration_until(expiry);
    // A little after the end, so that the holder's clock has it expired too.
    let after_end = left
        .checked_add(SignedDuration::from_millis(20))
        .unwrap_or(left);
    match Duration::try_from(after_end) {
        Ok(wait) => wait.min(STANDBY_POLL),
        Err(_) => Duration::ZERO,
    }
}

/// When the lease of `spec` runs out, if another replica holds it.
fn expiry_of(spec: Option<&LeaseSpec>, identity: &str) -> Option<Timestamp> {
    let spec = spec?;
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() || holder == identity {
        return None;
    }
    let seconds = spec
        .lease_duration_seconds
        .map(i64::from)
        .unwrap_or(LEASE_DURATION.as_secs() as i64);
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    renewed
        .0
        .checked_add(SignedDuration::from_secs(seconds))
        .ok()
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, identity: &str) -> Elector {
        Elector {
            api: Api::namespaced(client, namespace),
            identity: identity.to_string(),
            expiry: std::sync::Mutex::new(None),
        }
    }

    /// How long to wait before the next [`Elector::try_acquire`] of a standby.
    pub fn retry_in(&self) -> Duration {
        retry_in(*crate::sync::lock(&self.expiry), Timestamp::now())
    }

    /// Takes or renews the lease; `Ok(false)` when another replica holds it.
    pub async fn try_acquire(&self) -> Result<bool, ReconcileError> {
        let now = Timestamp::now();
        let existing = self.api.get_opt(LEASE_NAME).await?;
        *crate::sync::lock(&self.expiry) = expiry_of(
            existing.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
        );
        if !may_take(
            existing.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            now,
        ) {
            return Ok(false);
        }
        let was_ours = existing
            .as_ref()
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str());
        let previous = existing
            .as_ref()
            .and_then(|l| l.spec.clone())
            .unwrap_or_default();
        let spec = LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: if was_ours {
                previous.acquire_time.clone()
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(
                previous.lease_transitions.unwrap_or(0) + if was_ours { 0 } else { 1 },
            ),
            ..Default::default()
        };
        let result = match existing {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(LEASE_NAME.to_string()),
                        ..Default::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                lease.spec = Some(spec);
                self.api
                    .replace(LEASE_NAME, &PostParams::default(), &lease)
                    .await
            }
        };
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the Lease up if this replica holds it, leaving it free for any standby at once;
    /// `Ok(false)` when another replica holds it (nothing to give up). The write carries the
    /// resourceVersion read, so a standby that took over in between is never undone.
    pub async fn release(&self) -> Result<bool, ReconcileError> {
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_secs_ago: i64, now: Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(
                now.checked_sub(SignedDuration::from_secs(renewed_secs_ago))
                    .expect("in range"),
            )),
            ..Default::default()
        }
    }

    /// A standby asks every second, and right after the end when the lease ends sooner.
    #[test]
    fn a_standby_asks_again_right_after_the_holders_lease_ends() {
        let now = Timestamp::now();
        let at = |ms: i64| {
            now.checked_add(SignedDuration::from_millis(ms))
                .expect("in range")
        };
        assert_eq!(retry_in(None, now), STANDBY_POLL);
        assert_eq!(retry_in(Some(at(10_000)), now), STANDBY_POLL);
        assert_eq!(retry_in(Some(at(300)), now), Duration::from_millis(320));
        assert_eq!(
            retry_in(Some(at(-5_000)), now),
            Duration::ZERO,
            "already over"
        );
        let held = spec("b", 15, now);
        let expiry = expiry_of(Some(&held), "a").expect("another's lease");
        assert_eq!(retry_in(Some(expiry), now), Duration::from_millis(20));
        assert_eq!(expiry_of(Some(&held), "b"), None, "our own lease");
    }

    #[test]
    fn a_fresh_lease_of_another_replica_is_respected_until_it_expires() {
        let now = Timestamp::now();
        assert!(may_take(None, "a", now));
        assert!(may_take(Some(&spec("a", 1, now)), "a", now));
        assert!(!may_take(Some(&spec("b", 1, now)), "a", now));
        assert!(may_take(Some(&spec("b", 16, now)), "a", now));
        assert!(may_take(Some(&spec("", 1, now)), "a", now));
    }
}
