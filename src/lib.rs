//! dsc-helm: Helm charts as components of an Open Data Hub DataScienceCluster.
//!
//! Data flows one way: [`chart`] → [`values`] → [`render`] (with the [`engine`]) →
//! [`manifest`] → apply.

pub mod api;
pub mod chart;
pub mod engine;
pub mod manifest;
pub mod rbac;
pub mod reconcile;
pub mod registry;
pub mod render;
pub mod value;
pub mod values;
pub mod webhook;
pub mod yaml;

/// Declared here rather than in `main.rs` so that the benchmarks and tests, which link this
/// library, measure the allocator the product ships with (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
