//! resourceequality: recognises, at ingestion, which OTLP resources describe the same observed
//! entity (a pod, an ECS task, a Lambda execution environment, ...), marks them with one stable
//! id and type, and fills sparse resources with the attributes richer sources of the same entity
//! reported.
//!
//! The core (`config`, `rules`, `matcher`, `id`, `pool`, `state`, `snapshot`, `wire`, `engine`)
//! is safe Rust with no knowledge of C; `ffi` is the thin C ABI the Go processor calls.

pub mod cache;
pub mod clock;
pub mod compact;
pub mod config;
pub mod containers;
pub mod engine;
pub mod ffi;
pub mod id;
pub mod matcher;
mod padded;
pub mod pool;
pub mod rules;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod wire;

pub use config::{ConfigError, EngineConfig, RuleSpec, builtin_rules, parse_config};
pub use engine::{Engine, Stats};
