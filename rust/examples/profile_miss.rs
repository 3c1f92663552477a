//! The criterion miss path (`index_100000/miss/1`) as a steady loop for profilers (`perf
//! record`): on a warm, full 100k-entity index, one batch per new pod, so each resource is
//! decoded, matched, inserted and pooled while an old entity is evicted. Prints the time per new
//! resource. Run with `cargo run --release -p resourceequality --example profile_miss [rounds]
//! [batch]`.

#[path = "../benches/engine.rs"]
#[allow(dead_code)]
mod bench_data;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("a number"));
    let rounds = args.next().unwrap_or(200_000);
    let batch = args.next().unwrap_or(1);
    let engine = bench_data::warm(100_000);
    // Encoded before the clock starts: the processor hands the engine bytes it already has.
    let batches: Vec<Vec<u8>> = (0..rounds)
        .map(|r| bench_data::encode((0..batch).map(|j| bench_data::pod(1_000_000 + r * batch + j))))
        .collect();
    let mut answer = Vec::new();
    let before = engine.stats();
    let start = std::time::Instant::now();
    for bytes in &batches {
        engine.process_into(bytes, bench_data::NOW, &mut answer).unwrap();
        std::hint::black_box(answer.len());
    }
    let secs = start.elapsed().as_secs_f64();
    let after = engine.stats();
    println!(
        "{:.2} µs per new resource ({} resources in {secs:.2}s), evictions {}",
        secs * 1e6 / (rounds * batch) as f64,
        rounds * batch,
        after.evictions - before.evictions
    );
}
