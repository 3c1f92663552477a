//! The criterion hit path (`index_100000/hit/100`) as a steady loop for profilers (`perf
//! record`): batches of 100 resources on a warm 100k-entity index, walking the whole index, the
//! answer written into one reused buffer as the processor's is. Prints resources/s and the share
//! answered from the result cache. Run with `cargo run --release -p resourceequality --example
//! profile_hit [rounds]`.

#[path = "../benches/engine.rs"]
#[allow(dead_code)]
mod bench_data;

fn main() {
    let engine = bench_data::warm(100_000);
    let batches = bench_data::hit_batches(100_000, 100);
    let rounds = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let mut answer = Vec::new();
    let before = engine.stats();
    let start = std::time::Instant::now();
    for r in 0..rounds {
        engine.process_into(&batches[r % batches.len()], bench_data::NOW, &mut answer).unwrap();
        std::hint::black_box(answer.len());
    }
    let secs = start.elapsed().as_secs_f64();
    let after = engine.stats();
    println!(
        "{:.0} resources/s ({} resources in {secs:.2}s), cache hits {:.1}%, evictions {}",
        (rounds * 100) as f64 / secs,
        rounds * 100,
        100.0 * (after.cache_hits - before.cache_hits) as f64 / (rounds * 100) as f64,
        after.evictions - before.evictions
    );
}
