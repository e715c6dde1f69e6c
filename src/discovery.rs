//! What the operator knows about the cluster: its version and served resources (Helm's
//! `.Capabilities`, and how to reach each kind). The reconciler renders and applies with it;
//! the webhook's dry render must reach the verdict the reconciler's render will, so both read
//! the one cache kept here, and one CRD watch keeps it current for both.
//!
//! Discovery is cached and refreshed only when CRDs change, when the reconciler misses a kind,
//! or on a slow period, so a no-op reconcile makes no discovery calls. Every refresh is
//! published ([`Cluster::subscribe`]) to whoever follows the cluster.
//!
//! [`follow`] is the CRD watch. A change is followed by a fresh discovery a second later,
//! repeated a few times while the API server publishes it (a new CRD's group reaches discovery
//! a moment after the CRD reports Established, longer on a loaded API server). An Established
//! CRD that discovery does not serve yet is chased at once, with quick retries, because a
//! reconciler waits on it (a declared kind gets its drift watch once served). A slow periodic
//! refresh catches what no CRD event announces (aggregated APIs, an upgraded API server).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::sync::{read, write};
use helm_render::render::{Capabilities, KubeVersion};

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("the API server's version {0:?} is not a Kubernetes version")]
    Version(String),
}

/// `(group, version)` of an `apiVersion`; the core group is `""`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// One discovery result.
pub struct Snapshot {
    pub capabilities: Arc<Capabilities>,
    resources: HashMap<(String, String, String), (ApiResource, bool)>,
}

impl Snapshot {
    /// The resource serving `apiVersion`/`kind` and whether it is namespaced.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        let (group, version) = split_api_version(api_version);
        self.resources
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }

    /// Whether any version of `group` serves `kind`.
    pub fn serves(&self, group: &str, kind: &str) -> bool {
        self.resources
            .keys()
            .any(|(g, _, k)| g == group && k == kind)
    }
}

/// The shared, refreshable discovery cache.
pub struct Cluster {
    client: kube::Client,
    /// The snapshot and the ticket of the refresh that took it.
    current: RwLock<(u64, Arc<Snapshot>)>,
    /// Tickets for refreshes, in the order they start: of two overlapping refreshes, the one
    /// that began later saw the newer cluster and must win, whichever finishes first.
    tickets: AtomicU64,
    /// Every snapshot installed, for the followers of [`Cluster::subscribe`].
    published: watch::Sender<Arc<Snapshot>>,
}

impl Cluster {
    pub async fn discover(client: kube::Client) -> Result<Cluster, DiscoveryError> {
        let snapshot = Arc::new(snapshot(&client).await?);
        Ok(Cluster {
            client,
            current: RwLock::new((0, snapshot.clone())),
            tickets: AtomicU64::new(1),
            published: watch::Sender::new(snapshot),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        read(&self.current).1.clone()
    }

    /// Discovers again; returns the newest snapshot, which is this one unless a refresh that
    /// started later has already finished.
    pub async fn refresh(&self) -> Result<Arc<Snapshot>, DiscoveryError> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let fresh = Arc::new(snapshot(&self.client).await?);
        let mut current = write(&self.current);
        if ticket > current.0 {
            *current = (ticket, fresh.clone());
            // Under the lock, so that followers see snapshots in the order they are installed.
            self.published.send_replace(fresh);
        }
        Ok(current.1.clone())
    }

    /// Every snapshot from now on, starting with the current one (marked as seen). Refreshes
    /// may publish a snapshot equal to the last; followers compare what they care about.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.published.subscribe()
    }
}

async fn snapshot(client: &kube::Client) -> Result<Snapshot, DiscoveryError> {
    let info = client.apiserver_version().await?;
    let kube = KubeVersion::parse(&info.git_version)
        .or_else(|| KubeVersion::parse(&format!("v{}.{}.0", info.major, info.minor)))
        .ok_or_else(|| DiscoveryError::Version(info.git_version.clone()))?;
    let discovery = Discovery::new(client.clone()).run_aggregated().await?;
    let mut api_versions = Vec::new();
    let mut resources = HashMap::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let gv = if group.name().is_empty() {
                version.to_string()
            } else {
                format!("{}/{version}", group.name())
            };
            api_versions.push(gv.clone());
            for (ar, caps) in group.versioned_resources(version) {
                // Subresources (`pods/status`) are not kinds a chart can render.
                if ar.plural.contains('/') {
                    continue;
                }
                api_versions.push(format!("{gv}/{}", ar.kind));
                let namespaced = caps.scope == Scope::Namespaced;
                resources.insert(
                    (ar.group.clone(), ar.version.clone(), ar.kind.clone()),
                    (ar, namespaced),
                );
            }
        }
    }
    api_versions.sort();
    api_versions.dedup();
    let capabilities = Capabilities::new(
        kube,
        api_versions,
        &helm_render::render::defaults::helm_version(),
    );
    Ok(Snapshot {
        capabilities: Arc::new(capabilities),
        resources,
    })
}

/// How long after a CRD event discovery runs: installing a chart's CRDs is a burst of events,
/// worth one discovery.
const SETTLE: Duration = Duration::from_secs(1);
/// The pauses after which a change's discovery is repeated, for groups that reach discovery
/// late.
const CONFIRM: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(30),
];
/// The refresh that catches changes without a CRD event.
const PERIODIC: Duration = Duration::from_secs(300);
/// The first pause of a chase after an Established CRD; it doubles up to [`CHASE_MAX_PAUSE`].
const CHASE_FIRST_PAUSE: Duration = Duration::from_millis(100);
const CHASE_MAX_PAUSE: Duration = Duration::from_secs(5);
/// Discoveries a chase makes before giving up on a CRD (about half a minute in all).
const CHASE_ATTEMPTS: u32 = 12;

/// The group and kind of an Established CRD with a served version: what discovery must soon
/// serve.
fn established_kind(crd: &CustomResourceDefinition) -> Option<(String, String)> {
    let served = crd.spec.versions.iter().any(|v| v.served);
    (served && crate::api::is_established(crd))
        .then(|| (crd.spec.group.clone(), crd.spec.names.kind.clone()))
}

/// Established CRDs that discovery does not serve yet, and when to look again.
#[derive(Debug, PartialEq)]
struct Chase {
    kinds: BTreeSet<(String, String)>,
    at: Instant,
    pause: Duration,
    attempts: u32,
}

/// When [`follow`] discovers next (pure, for tests).
#[derive(Debug, Default, PartialEq)]
struct Schedule {
    /// The next discovery after a CRD change, and how many confirming ones have followed it.
    settle: Option<(Instant, usize)>,
    chase: Option<Chase>,
}

impl Schedule {
    /// A CRD was created, changed or deleted, or the watch listed them all again.
    fn changed(&mut self, now: Instant) {
        // A refresh already due sooner stays due, so a CRD that never stops changing cannot
        // postpone discovery for ever.
        let settled = now + SETTLE;
        let at = self.settle.map_or(settled, |(at, _)| at.min(settled));
        self.settle = Some((at, 0));
    }

    /// An Established CRD whose kind the current snapshot does not serve.
    fn unserved(&mut self, now: Instant, kind: (String, String)) {
        let chase = self.chase.get_or_insert_with(|| Chase {
            kinds: BTreeSet::new(),
            at: now,
            pause: CHASE_FIRST_PAUSE,
            attempts: 0,
        });
        if chase.kinds.insert(kind) {
            chase.at = now;
            chase.pause = CHASE_FIRST_PAUSE;
            chase.attempts = 0;
        }
    }

    /// When the next discovery is due, if any is.
    fn next(&self) -> Option<Instant> {
        let settle = self.settle.map(|(at, _)| at);
        let chase = self.chase.as_ref().map(|c| c.at);
        settle.into_iter().chain(chase).min()
    }

    /// A discovery finished at `now` (for whatever reason); `served` tells what it serves,
    /// and serves nothing when it failed. Returns the CRDs given up on.
    fn refreshed(
        &mut self,
        now: Instant,
        served: impl Fn(&str, &str) -> bool,
    ) -> Vec<(String, String)> {
        if let Some((at, confirmed)) = self.settle
            && at <= now
        {
            self.settle = CONFIRM
                .get(confirmed)
                .map(|pause| (now + *pause, confirmed + 1));
        }
        let Some(mut chase) = self.chase.take() else {
            return Vec::new();
        };
        chase.kinds.retain(|(group, kind)| !served(group, kind));
        if chase.kinds.is_empty() {
            return Vec::new();
        }
        if chase.at <= now {
            chase.attempts += 1;
            if chase.attempts >= CHASE_ATTEMPTS {
                return chase.kinds.into_iter().collect();
            }
            chase.at = now + chase.pause;
            chase.pause = (chase.pause * 2).min(CHASE_MAX_PAUSE);
        }
        self.chase = Some(chase);
        Vec::new()
    }
}

/// Keeps `cluster` current: the one CRD watch of the process. Runs until the future is
/// dropped; never ends or fails on its own (errors are logged and retried).
pub async fn follow(cluster: &Cluster) {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let stream = watcher(api, watcher::Config::default()).backoff(crate::backoff::watch());
    futures::pin_mut!(stream);
    let mut periodic = tokio::time::interval_at(Instant::now() + PERIODIC, PERIODIC);
    let mut schedule = Schedule::default();
    // The watch retries forever; should it ever end, the periodic refresh carries on alone.
    let mut watching = true;
    loop {
        let due = schedule.next();
        tokio::select! {
            event = stream.next(), if watching => match event {
                Some(Ok(event)) => {
                    let now = Instant::now();
                    let crd = match &event {
                        Event::Apply(crd) => {
                            schedule.changed(now);
                            Some(crd)
                        }
                        Event::InitApply(crd) => Some(crd),
                        Event::Delete(_) | Event::InitDone => {
                            schedule.changed(now);
                            None
                        }
                        Event::Init => None,
                    };
                    if let Some(kind) = crd.and_then(established_kind)
                        && !cluster.snapshot().serves(&kind.0, &kind.1)
                    {
                        schedule.unserved(now, kind);
                    }
                }
                Some(Err(e)) => tracing::warn!(
                    kind = "CustomResourceDefinition",
                    error = %e,
                    "watching CRDs failed; retrying"
                ),
                None => watching = false,
            },
            _ = periodic.tick() => refresh(cluster, &mut schedule).await,
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                refresh(cluster, &mut schedule).await;
            }
        }
    }
}

async fn refresh(cluster: &Cluster, schedule: &mut Schedule) {
    let result = cluster.refresh().await;
    let now = Instant::now();
    let given_up = match result {
        Ok(snapshot) => schedule.refreshed(now, |g, k| snapshot.serves(g, k)),
        Err(e) => {
            tracing::warn!(error = %e, "discovery failed; keeping the last");
            schedule.refreshed(now, |_, _| false)
        }
    };
    for (group, kind) in given_up {
        tracing::warn!(%group, %kind, "an Established CRD never appeared in discovery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(k: &str) -> (String, String) {
        ("example.com".to_string(), k.to_string())
    }

    #[test]
    fn api_versions_split_into_group_and_version() {
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }

    /// A burst of changes is one discovery a second after the first, then the confirming
    /// ones, then nothing more.
    #[test]
    fn a_change_is_discovered_once_settled_then_confirmed() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.changed(t0);
        s.changed(t0 + Duration::from_millis(500));
        assert_eq!(
            s.next(),
            Some(t0 + SETTLE),
            "a later change does not postpone it"
        );
        let mut now = t0 + SETTLE;
        for pause in CONFIRM {
            assert!(s.refreshed(now, |_, _| true).is_empty());
            assert_eq!(s.next(), Some(now + pause));
            now += pause;
        }
        s.refreshed(now, |_, _| true);
        assert_eq!(s, Schedule::default());
    }

    /// A refresh before the settled one (the periodic one) leaves it due.
    #[test]
    fn an_early_refresh_keeps_the_settled_one() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.changed(t0);
        s.refreshed(t0, |_, _| true);
        assert_eq!(s.next(), Some(t0 + SETTLE));
    }

    /// An Established CRD not yet served is discovered at once, then again quickly, until
    /// discovery serves it.
    #[test]
    fn an_unserved_established_crd_is_chased_until_served() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.unserved(t0, kind("Gadget"));
        assert_eq!(s.next(), Some(t0));
        s.refreshed(t0, |_, _| false);
        assert_eq!(s.next(), Some(t0 + CHASE_FIRST_PAUSE));
        let t1 = t0 + CHASE_FIRST_PAUSE;
        s.refreshed(t1, |_, _| false);
        assert_eq!(
            s.next(),
            Some(t1 + CHASE_FIRST_PAUSE * 2),
            "the pause doubles"
        );
        s.refreshed(t1, |_, k| k == "Gadget");
        assert_eq!(s, Schedule::default(), "served: the chase ends");
    }

    #[test]
    fn a_chase_gives_up_after_its_attempts() {
        let mut now = Instant::now();
        let mut s = Schedule::default();
        s.unserved(now, kind("Gadget"));
        for _ in 1..CHASE_ATTEMPTS {
            assert!(s.refreshed(now, |_, _| false).is_empty());
            now = s.next().unwrap_or(now);
        }
        assert_eq!(s.refreshed(now, |_, _| false), vec![kind("Gadget")]);
        assert_eq!(s.next(), None);
    }

    #[test]
    fn only_established_crds_with_a_served_version_are_awaited() {
        let crd = |established: bool, served: bool| -> CustomResourceDefinition {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "gadgets.example.com"},
                "spec": {
                    "group": "example.com",
                    "names": {"kind": "Gadget", "plural": "gadgets"},
                    "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": served, "storage": true}],
                },
                "status": {"conditions": [{
                    "type": "Established",
                    "status": if established { "True" } else { "False" },
                }]},
            }))
            .expect("a CRD")
        };
        assert_eq!(established_kind(&crd(true, true)), Some(kind("Gadget")));
        assert_eq!(established_kind(&crd(false, true)), None);
        assert_eq!(established_kind(&crd(true, false)), None);
    }
}
