//! The Helm and Sprig function library, split by family so that each file stays small.
//!
//! Each family module exposes `get(name) -> Option<Function>`; [`get`] asks them in turn. The
//! engine resolves names at parse time (Go rejects an undefined function when parsing), and
//! handles the functions that need the engine itself (`include`, `tpl`, `and`, `or`, …).

use crate::value::Value;

mod args;
pub use args::*;

mod certs;
mod conversion;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod lists;
mod math;
mod network;
mod paths;
mod random;
pub use random::{OsRandom, SeededRandom};
mod reflection;
mod regex;
pub(crate) mod semver;
mod serialization;
mod strings;

/// Why a function call failed, in the words Go/Sprig/Helm would use; the engine adds the
/// template location and `error calling NAME:`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    pub fn new(msg: impl Into<String>) -> Self {
        FuncError(msg.into())
    }
}

pub type FuncResult = Result<Value, FuncError>;

/// A template function. `args` are already evaluated (Go evaluates every argument before a
/// call; only `and`/`or` short-circuit, and the engine implements those itself).
pub type Function = fn(&mut CallContext<'_>, &[Value]) -> FuncResult;

/// Reads live cluster objects for Helm's `lookup`. Offline rendering answers with an empty
/// map, as `helm template` does; the operator plugs in a read-only API client.
pub trait Lookup: Send + Sync {
    /// `lookup apiVersion kind namespace name`: an object, a `{items: [...]}` list when `name`
    /// is empty, or an empty map when nothing is found.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String>;
}

/// The `lookup` of `helm template`: nothing exists.
pub struct OfflineLookup;

impl Lookup for OfflineLookup {
    fn lookup(&self, _: &str, _: &str, _: &str, _: &str) -> Result<Value, String> {
        Ok(Value::map(Default::default()))
    }
}

/// The source of randomness for `randAlphaNum`, `genCA`, `uuidv4`, … The operator seeds it
/// per component so that renders are reproducible (NFR-002); the CLI seeds it from the OS.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;
}

/// What a function may reach besides its arguments.
pub struct CallContext<'a> {
    pub lookup: &'a dyn Lookup,
    pub random: &'a mut dyn RandomSource,
    /// What `fromYaml` last read from a large text, for the same render.
    pub(crate) parsed_yaml: serialization::LastParsed,
}

impl<'a> CallContext<'a> {
    pub fn new(lookup: &'a dyn Lookup, random: &'a mut dyn RandomSource) -> CallContext<'a> {
        CallContext {
            lookup,
            random,
            parsed_yaml: serialization::LastParsed::default(),
        }
    }
}

/// The function named `name`, if Helm or Sprig defines one.
pub fn get(name: &str) -> Option<Function> {
    strings::get(name)
        .or_else(|| lists::get(name))
        .or_else(|| dicts::get(name))
        .or_else(|| math::get(name))
        .or_else(|| conversion::get(name))
        .or_else(|| defaults::get(name))
        .or_else(|| regex::get(name))
        .or_else(|| encoding::get(name))
        .or_else(|| reflection::get(name))
        .or_else(|| paths::get(name))
        .or_else(|| crypto::get(name))
        .or_else(|| certs::get(name))
        .or_else(|| semver::get(name))
        .or_else(|| dates::get(name))
        .or_else(|| random::get(name))
        .or_else(|| network::get(name))
        .or_else(|| serialization::get(name))
}
