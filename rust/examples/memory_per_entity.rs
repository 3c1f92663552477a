//! Measures the engine's memory per entity: heap bytes allocated and still held after learning
//! N pods of 15 attributes each (all in the pooling scope of a pod but for 4), divided by N.
//! Run with `make bench-memory` (or `cargo run --release -p resourceequality --example memory_per_entity`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

struct Counting;
static HELD: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        HELD.fetch_add(l.size() as isize, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size() as isize, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        HELD.fetch_add(new as isize - l.size() as isize, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

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
    let before = HELD.load(Relaxed);
    // 25% headroom so that every entity stays resident (the bound is enforced per shard).
    let engine =
        resourceequality::Engine::from_json(format!(r#"{{"max_entities": {}}}"#, n + n / 4).as_bytes()).unwrap();
    for b in &batches {
        drop(engine.process(b, 1_800_000_000).unwrap());
    }
    let held = HELD.load(Relaxed) - before;
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
