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
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, identity: &str) -> Elector {
        Elector {
            api: Api::namespaced(client, namespace),
            identity: identity.to_string(),
        }
    }

    /// Takes or renews the lease; `Ok(false)` when another replica holds it.
    pub async fn try_acquire(&self) -> Result<bool, ReconcileError> {
        let now = Timestamp::now();
        let existing = self.api.get_opt(LEASE_NAME).await?;
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
