//! The C ABI: the boundary (`boundary`: panics, NULL checks, handles), the status and buffers
//! every call uses, and the exports of the engine and the explainer. Nothing here decides
//! anything; all logic lives in the engine.
//!
//! The conventions every export keeps are stated once, at the top of the generated header
//! (`include/resourceequality.h`, from the `header` of `rust/cbindgen.toml`); the README points
//! there.

#![allow(non_camel_case_types)]
// The C ABI is the one place that needs `unsafe` (the crate denies it elsewhere).
#![allow(unsafe_code)]

mod boundary;
pub mod buffer;
pub mod engine;
pub mod explain;
pub mod status;
