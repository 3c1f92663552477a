//! Measures the engine's memory per entity: heap bytes allocated and still held after learning
//! N pods of 15 attributes each (all in the pooling scope of a pod but for 4), divided by N.
//! Run with `make bench-memory` (or `cargo run --release -p resourceequality --example memory_per_entity`).

#[path = "../tests/common/counting_alloc.rs"]
#[allow(dead_code)]
mod counting_alloc;

#[path = "../benches/engine.rs"]
#[allow(dead_code)]
mod bench_data;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let batches: Vec<Vec<u8>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|c| bench_data::encode(c.iter().map(|i| bench_data::pod(*i))))
        .collect();
    // Counted from before the engine is made, so that its arrays sized by max_entities count.
    let before = counting_alloc::held_bytes();
    // 25% headroom so that every entity stays resident (the bound is enforced per shard).
    let engine =
        resourceequality::Engine::from_json(format!(r#"{{"max_entities": {}}}"#, n + n / 4).as_bytes()).unwrap();
    for b in &batches {
        drop(engine.process(b, 1_800_000_000).unwrap());
    }
    let held = counting_alloc::held_bytes() - before;
    let s = engine.stats();
    println!(
        "entities={} links={} pooled_value_bytes={} heap_bytes={} bytes_per_entity={:.0}",
        s.entities,
        s.links,
        engine.pooled_bytes(),
        held,
        held as f64 / s.entities as f64
    );
}
