//! The corpus reader of the helm-render crate (its conformance test's), and a component
//! registry built from corpus charts.

#[path = "../../../crates/helm-render/tests/corpus/mod.rs"]
mod reader;

pub use reader::*;

pub mod registry;
