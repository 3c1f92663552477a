//! Arbitrary bytes as a batch: the engine answers or refuses, never panics, and a well-formed
//! answer has one entry per resource. The same engine sees every input, so state builds up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resourceequality::Engine;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::from_json(br#"{"max_entities": 1000}"#).unwrap());
/// Partitioned by a resource attribute, so that the per-resource partition is fuzzed too.
static TENANTS: LazyLock<Engine> = LazyLock::new(|| {
    Engine::from_json(br#"{"max_entities": 1000, "partition": {"attribute": "service.namespace", "default": "x"}}"#)
        .unwrap()
});

fuzz_target!(|data: &[u8]| {
    let _ = TENANTS.process(data, 1_800_000_000);
    let Ok(answer) = ENGINE.process(data, 1_800_000_000) else { return };
    let mut inputs = 0;
    let _ = resourceequality::wire::for_each_resource(data, |_| {
        inputs += 1;
        Ok(())
    });
    let mut outputs = 0;
    resourceequality::wire::for_each_resource(&answer, |_| {
        outputs += 1;
        Ok(())
    })
    .expect("the engine's answer is well-formed");
    assert_eq!(inputs, outputs, "one answer per resource");
});
