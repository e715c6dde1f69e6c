//! The admission webhook: `kubectl apply` of a DataScienceCluster (or a component resource)
//! with values its charts reject fails at once, with every problem named by its field path
//! (FR-011), instead of failing later in a reconcile.
//!
//! - [`review`]: AdmissionReview v1 in and out;
//! - [`validate`]: what makes an object acceptable (pure, cached);
//! - [`cluster`]: the dry render's `.Capabilities`, following the discovery cache;
//! - [`immutable`]: warnings when new values would change fields the API server will not;
//! - [`server`]: the axum HTTPS server with health, readiness and metrics;
//! - [`tls`]: certificate loading, checks and reload on change;
//! - [`metrics`]: the Prometheus exposition;
//! - [`certs`]: development certificates (`dsc-helm certs`).

pub mod certs;
mod cluster;
mod immutable;
pub mod metrics;
mod review;
mod server;
mod tls;
mod validate;

pub use cluster::follow_cluster;
pub use review::Verdict;
pub use server::{
    COMPONENT_PATH, DSC_PATH, DscNames, MAX_BODY, Webhook, WebhookConfig, WebhookError,
    dsc_names_from,
};
pub use tls::{CertFiles, TlsError};
pub use validate::{Checks, ClusterView, Validator};

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
