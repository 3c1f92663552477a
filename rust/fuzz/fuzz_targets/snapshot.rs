//! Arbitrary bytes as a snapshot: restored or refused, never a panic; a refused snapshot leaves
//! the state as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resourceequality::Engine;

fuzz_target!(|data: &[u8]| {
    let engine = Engine::from_json(br#"{"max_entities": 100}"#).unwrap();
    let before = engine.snapshot(1_800_000_000);
    if engine.restore(data, 1_800_000_000).is_err() {
        assert_eq!(engine.snapshot(1_800_000_000), before);
    }
});
