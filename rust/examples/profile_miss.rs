//! The criterion miss path (`index_100000/miss/1`) as a steady loop for profilers (`perf
//! record`): on a warm, full index of 100k entities (or `entities`), batches of `batch` new pods
//! (1), so that each resource is decoded, matched, inserted and pooled while an old entity is
//! evicted (and its alias link). Prints the time and the allocations per new resource. Run with
//! `cargo run --release -p resourceequality --example profile_miss [rounds] [batch] [entities]`.

#[path = "../benches/engine.rs"]
#[allow(dead_code)]
mod bench_data;

/// Counts the allocations a miss makes, for the figure printed (on this thread, which makes the
/// engine's calls).
#[path = "../tests/common/counting_alloc.rs"]
#[allow(dead_code)]
mod counting_alloc;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("a number"));
    let rounds = args.next().unwrap_or(200_000);
    let batch = args.next().unwrap_or(1);
    let entities = args.next().unwrap_or(100_000);
    let engine = bench_data::warm(entities);
    // Encoded before the clock starts: the processor hands the engine bytes it already has.
    let batches: Vec<Vec<u8>> = (0..rounds)
        .map(|r| bench_data::encode((0..batch).map(|j| bench_data::pod(1_000_000 + r * batch + j))))
        .collect();
    let mut answer = Vec::new();
    let before = engine.stats();
    let allocations = counting_alloc::allocations();
    let start = std::time::Instant::now();
    for bytes in &batches {
        engine.process_into(bytes, bench_data::NOW, &mut answer).unwrap();
        std::hint::black_box(answer.len());
    }
    let secs = start.elapsed().as_secs_f64();
    let allocations = counting_alloc::allocations() - allocations;
    let after = engine.stats();
    println!(
        "{:.2} µs per new resource ({} resources in {secs:.2}s), {:.1} allocations per new resource, evictions {}",
        secs * 1e6 / (rounds * batch) as f64,
        rounds * batch,
        allocations as f64 / (rounds * batch) as f64,
        after.evictions - before.evictions
    );
}
