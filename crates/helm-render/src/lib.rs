//! helm-render: Helm 4's chart loading, values and template rendering, reproduced byte for
//! byte, as a library with no Kubernetes client, no async runtime and no global allocator.
//!
//! Data flows one way: [`chart`] (archives and directories, Helm's loading rules) →
//! [`values`] (coalescing, `--set`, `values.schema.json`) → [`render`] (with the template
//! [`engine`], over [`value`]s that behave as Go's maps and slices) → [`manifest`] (objects in
//! Helm's install order) or [`template_output`] (`helm template`'s stdout and files).
//! [`yaml`] is go-yaml v2 and sigs.k8s.io/yaml, as Helm reads and writes YAML; [`gofmt`] is Go's
//! `fmt` and `strconv`, below everything else, so that every module prints values one way;
//! [`par`] spreads independent work over the cores. Imports only reach down: par < value <
//! gofmt < yaml < engine < chart < values < render < manifest < template_output (checked by a
//! unit test).

pub mod chart;
pub mod engine;
pub mod gofmt;
pub mod manifest;
pub mod par;
pub mod render;
pub mod template_output;
pub mod value;
pub mod values;
pub mod yaml;

#[cfg(test)]
mod layering_tests;
