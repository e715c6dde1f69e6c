//! Every integration suite of the operator, as modules of one test binary: one link instead of
//! one per suite, and one control plane ([`support::shared`]) booted once and shared by every
//! suite that needs a cluster.
//!
//! Isolation on the shared plane: each test works in namespaces of its own
//! ([`support::unique_name`]). What a cluster has only one of, the DataScienceCluster CRD (whose
//! schema each registry generates), the singleton DSC and admission webhooks for DSCs, is held
//! by one test at a time through [`support::dsc_lock`]. Tests that change the cluster itself
//! (deploy/'s webhook configuration, fake nodes, restarting the API server) start planes of
//! their own.

mod corpus;
mod reconcile_support;
// The scale benchmark uses all of it; the smoke test a part.
#[allow(dead_code)]
mod scale;
mod support;
mod webhook_client;

mod cluster;
mod control_plane;
mod demo;
mod deploy;
mod helm_cli;
mod reconcile_conflict;
mod reconcile_corpus;
mod reconcile_crash;
mod reconcile_dependencies;
mod reconcile_drift;
mod reconcile_examples;
mod reconcile_health;
mod reconcile_immutable;
mod reconcile_leader;
mod reconcile_restart;
mod reconcile_upgrade;
mod reconcile_watches;
mod registry_api;
mod scale_smoke;
mod webhook_cli;
mod webhook_cluster;
mod webhook_corpus;
mod webhook_e2e;
mod webhook_http;
