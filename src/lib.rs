//! dsc-helm: Helm charts as components of an Open Data Hub DataScienceCluster.
//!
//! Data flows one way: [`chart`] → [`values`] → [`engine`] (render) → manifests → apply.

pub mod api;
pub mod chart;
pub mod engine;
pub mod registry;
pub mod value;
pub mod values;
pub mod yaml;
