//! Arbitrary bytes as a configuration: accepted or refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resourceequality::Engine;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = Engine::from_json(data) {
        assert!(!e.0.is_empty());
    }
});
