//! resourceequality: recognises, at ingestion, which OTLP resources describe the same observed
//! entity (a pod, an ECS task, a Lambda execution environment, ...), marks them with one stable
//! id and type, and fills sparse resources with the attributes richer sources of the same entity
//! reported.
//!
//! The modules follow the data path. A request is read by `wire` into `resource` views; `rules`
//! decide which entity each describes (`id` names it); `state` pools what its sources reported;
//! `answers` keep the result for resources seen again; `engine` runs the batch through them and
//! writes the answer (and the entity `events`). Beside the path: `config` (the one rule schema),
//! `clock` (the bounded map with expiry that state, answers and partitions use), `stats`,
//! `observe` (the hooks `explain` listens on) and `capi`, the thin C ABI the Go processor calls.
//! The core is safe Rust with no knowledge of C: `unsafe` is denied outside `capi` and
//! `answers::memory`.
#![deny(unsafe_code)]

mod answers;
pub mod capi;
mod clock;
pub mod config;
pub mod engine;
pub mod explain;
mod id;
mod observe;
mod resource;
mod rules;
mod state;
pub mod stats;
pub mod wire;

pub use config::{ConfigError, EngineConfig, RuleSpec, builtin_rules, parse_config};
pub use engine::{Engine, Stats};
