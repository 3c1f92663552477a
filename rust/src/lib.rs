//! resourceequality: recognises, at ingestion, which OTLP resources describe the same observed
//! entity (a pod, an ECS task, a Lambda execution environment, ...), marks them with one stable
//! id and type, and fills sparse resources with the attributes richer sources of the same entity
//! reported.
//!
//! The core (`config`, `rules`, `rule_index`, `matcher`, `id`, `pool`, `containers`, `partition`, `state`,
//! `cache`, `snapshot`, `wire`, `engine`, `stats`) is safe Rust with no knowledge of C (`unsafe` is denied
//! outside `ffi` and the `madvise` and prefetch calls of `memory`); `ffi` is the thin C ABI the Go
//! processor calls. Only the engine, its
//! configuration and stats, and the wire reader (for fuzzing) are public.
#![deny(unsafe_code)]

pub(crate) mod cache;
pub(crate) mod clock;
pub(crate) mod compact;
pub mod config;
pub(crate) mod containers;
pub mod engine;
pub(crate) mod events;
pub mod explain;
pub mod ffi;
pub mod ffi_explain;
pub(crate) mod fragmentation;
pub(crate) mod freshness;
pub(crate) mod id;
pub(crate) mod matcher;
mod memory;
pub(crate) mod objects;
pub(crate) mod observe;
mod padded;
pub(crate) mod partition;
pub(crate) mod pool;
pub(crate) mod resource;
pub(crate) mod rule_index;
pub(crate) mod rules;
pub(crate) mod snapshot;
pub(crate) mod state;
pub mod stats;
pub mod wire;

pub use config::{ConfigError, EngineConfig, RuleSpec, builtin_rules, parse_config};
pub use engine::{Engine, Stats};
