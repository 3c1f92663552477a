//! A steady hit-path loop for profilers (`perf record`): 100 resources per batch on a warm
//! 100k-entity index, walking the whole index. Prints resources/s. Run with `make profile-engine`.

#[path = "../benches/engine.rs"]
#[allow(dead_code)]
mod bench_data;

fn main() {
    let entities = 100_000u64;
    let engine = resourceequality::Engine::from_json(format!(r#"{{"max_entities": {entities}}}"#).as_bytes()).unwrap();
    for c in (0..entities).collect::<Vec<_>>().chunks(1000) {
        engine.process(&bench_data::encode(c.iter().map(|i| bench_data::pod(*i))), 1_800_000_000).unwrap();
    }
    let batches: Vec<Vec<u8>> = (0..64u64)
        .map(|b| bench_data::encode((0..100).map(|j| bench_data::pod((b * 7919 + j * 104_729) % entities))))
        .collect();
    let rounds = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let before = engine.stats();
    let start = std::time::Instant::now();
    for r in 0..rounds {
        std::hint::black_box(engine.process(&batches[r % batches.len()], 1_800_000_000).unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let after = engine.stats();
    println!(
        "{:.0} resources/s ({} resources in {secs:.2}s), cache hits {:.1}%",
        (rounds * 100) as f64 / secs,
        rounds * 100,
        100.0 * (after.cache_hits - before.cache_hits) as f64 / (rounds * 100) as f64
    );
}
