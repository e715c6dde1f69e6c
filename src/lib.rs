//! dsc-helm: Helm charts as components of an Open Data Hub DataScienceCluster.
//!
//! Data flows one way: [`chart`] → [`values`] → [`render`] (with the [`engine`]) →
//! [`manifest`] → apply.

pub mod api;
pub mod chart;
pub mod engine;
<<<<<<< HEAD
pub mod manifest;
pub mod render;
=======
pub mod registry;
>>>>>>> registry
pub mod value;
pub mod values;
pub mod yaml;
