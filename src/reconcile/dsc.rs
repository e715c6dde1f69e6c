//! The DataScienceCluster controller: turns each stanza into the component's own resource
//! (`default-<name>`, owned by the DSC) and aggregates the components' readiness back into the
//! DSC status. It writes only when something differs.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use serde_json::{Value as Json, json};
use tracing::Instrument;

use super::metrics::DSC_CONTROLLER;
use super::status::{self, ComponentView};
use super::{AbortOnDrop, FIELD_MANAGER, Metrics, ReconcileError, Shared, backoff, now};
use crate::api::{ChartRef, ComponentStanza, ComponentStatus, DataScienceCluster};
use crate::registry::Component;

pub async fn run(shared: Arc<Shared>) {
    let dscs: Api<DataScienceCluster> = Api::all(shared.client.clone());
    let _watch = spawn_watch(dscs.clone(), shared.clone());
    let mut failures: u32 = 0;
    shared.dsc_wake.notify_one();
    loop {
        if failures == 0 {
            shared.dsc_wake.notified().await;
        } else {
            tokio::select! {
                _ = shared.dsc_wake.notified() => {}
                _ = tokio::time::sleep(backoff(failures)) => {}
            }
        }
        let span = tracing::info_span!("reconcile", dsc = tracing::field::Empty);
        let started = tokio::time::Instant::now();
        let result = reconcile(&shared, &dscs).instrument(span).await;
        let metrics = &shared.options.metrics;
        metrics.observe(DSC_CONTROLLER, started.elapsed());
        Metrics::add(&metrics.dsc_reconciles, 1);
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                metrics.error(DSC_CONTROLLER, &e);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %e,
                    kind = e.metric_label(),
                    retry = failures,
                    "DataScienceCluster reconcile failed"
                );
            }
        }
    }
}

fn spawn_watch(api: Api<DataScienceCluster>, shared: Arc<Shared>) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default()).backoff(crate::backoff::watch());
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            if let Err(e) = event {
                let e = ReconcileError::from(e);
                shared.options.metrics.error(DSC_CONTROLLER, &e);
                tracing::warn!(
                    kind = "DataScienceCluster",
                    error = %e,
                    "watching DataScienceClusters failed; retrying"
                );
            }
            shared.dsc_wake.notify_one();
        }
    }))
}

/// The DataScienceCluster that rules, read fresh: the webhook admits one; should there be more,
/// the oldest one not being deleted.
pub(super) async fn ruling(
    dscs: &Api<DataScienceCluster>,
) -> Result<Option<DataScienceCluster>, ReconcileError> {
    let mut all = dscs.list(&ListParams::default()).await?.items;
    all.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .cmp(&b.metadata.creation_timestamp)
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    Ok(all
        .into_iter()
        .find(|d| d.metadata.deletion_timestamp.is_none()))
}

async fn reconcile(shared: &Shared, dscs: &Api<DataScienceCluster>) -> Result<(), ReconcileError> {
    let dsc = ruling(dscs).await?;
    if let Some(name) = dsc.as_ref().and_then(|d| d.metadata.name.as_deref()) {
        tracing::Span::current().record("dsc", name);
    }
    let mut views = Vec::new();
    // One component's API error must not keep the others from being synced (FR-003): it is
    // reported in its <Kind>Ready condition and retried with backoff.
    let mut errors: Vec<(String, ReconcileError)> = Vec::new();
    for component in &shared.registry.components {
        let stanza = dsc
            .as_ref()
            .and_then(|d| d.spec.components.get(&component.name))
            .cloned()
            .unwrap_or_default();
        match sync_component(shared, dsc.as_ref(), component, &stanza).await {
            Ok(view) => views.push(view),
            Err(e) => {
                let message = format!("{}: {e}", component.name);
                views.push(ComponentView {
                    name: component.name.clone(),
                    kind: component.kind.clone(),
                    managed: stanza.is_managed(),
                    chart: chart_ref(component),
                    exists: true,
                    ready: Some(crate::api::Condition {
                        type_: status::READY.to_string(),
                        status: "False".to_string(),
                        reason: "Error".to_string(),
                        message: message.clone(),
                        ..Default::default()
                    }),
                });
                errors.push((component.name.clone(), e));
            }
        }
    }
    let result = if errors.is_empty() {
        Ok(())
    } else {
        Err(ReconcileError::Components(errors))
    };
    let Some(dsc) = dsc else {
        return result;
    };
    let generation = dsc.metadata.generation.unwrap_or_default();
    let current = dsc.status.clone().unwrap_or_default();
    let (phase, conditions, components) =
        status::dsc_status(&current.conditions, &views, generation, &now());
    let next = crate::api::DataScienceClusterStatus {
        phase,
        observed_generation: Some(generation),
        conditions,
        components,
    };
    if dsc.status.as_ref() == Some(&next) {
        return result;
    }
    let name = dsc.metadata.name.clone().unwrap_or_default();
    let body = json!({
        "apiVersion": format!("{}/{}", crate::api::DSC_GROUP, crate::api::DSC_VERSION),
        "kind": "DataScienceCluster",
        "metadata": {"name": name},
        "status": next,
    });
    dscs.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await?;
    result
}

/// Makes the component resource match the stanza and reports what the DSC should say.
async fn sync_component(
    shared: &Shared,
    dsc: Option<&DataScienceCluster>,
    component: &Component,
    stanza: &ComponentStanza,
) -> Result<ComponentView, ReconcileError> {
    let ar = crate::api::component_api_resource(component);
    let api: Api<DynamicObject> = Api::all_with(shared.client.clone(), &ar);
    let name = component.singleton_name();
    let existing = match shared.resources.get(&component.name) {
        Some(known) => known,
        None => api.get_opt(&name).await?,
    };
    let managing = dsc.filter(|_| stanza.is_managed());
    let managed = managing.is_some();
    let mut exists = existing.is_some();
    let mut ready = None;
    if let Some(dsc) = managing {
        let owner = json!({
            "apiVersion": format!("{}/{}", crate::api::DSC_GROUP, crate::api::DSC_VERSION),
            "kind": "DataScienceCluster",
            "name": dsc.metadata.name,
            "uid": dsc.metadata.uid,
            "controller": true,
        });
        let spec = serde_json::to_value(stanza)?;
        let up_to_date = existing.as_ref().is_some_and(|cr| {
            cr.data.get("spec").unwrap_or(&Json::Null) == &spec
                && cr.metadata.deletion_timestamp.is_none()
                && cr
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| Some(&o.uid) == dsc.metadata.uid.as_ref())
        });
        if !up_to_date {
            let body = json!({
                "apiVersion": ar.api_version,
                "kind": ar.kind,
                "metadata": {"name": name, "ownerReferences": [owner]},
                "spec": spec,
            });
            api.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await?;
            exists = true;
        }
        if let Some(cr) = &existing {
            let status: ComponentStatus = cr
                .data
                .get("status")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .unwrap_or_default();
            let current = up_to_date
                && status.observed_generation.is_some()
                && status.observed_generation == cr.metadata.generation;
            if current {
                ready = status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == status::READY)
                    .cloned();
            }
        }
    } else if let Some(cr) = &existing
        && cr.metadata.deletion_timestamp.is_none()
    {
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => exists = false,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ComponentView {
        name: component.name.clone(),
        kind: component.kind.clone(),
        managed,
        chart: chart_ref(component),
        exists,
        ready,
    })
}

fn chart_ref(component: &Component) -> ChartRef {
    ChartRef {
        name: component.chart_name().to_string(),
        version: component.chart_version().to_string(),
    }
}
