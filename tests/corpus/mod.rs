//! The corpus reader of the helm-render crate (its conformance test's), and a component
//! registry built from corpus charts.

// Each test binary and benchmark that includes this module uses its own part of it.
#![allow(dead_code)]

#[path = "../../crates/helm-render/tests/corpus/mod.rs"]
mod reader;

pub use reader::*;

pub mod registry;
