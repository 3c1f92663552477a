//! The global allocator of the programs that print or test what the engine allocates
//! (`examples/profile_miss.rs`, `examples/memory_per_entity.rs`, `tests/working_memory.rs`):
//! the system's, counting. Including this module installs it.
//!
//! Allocations are counted per thread, so that tests running alongside do not count in each
//! other's figures; bytes held are counted for the process, because a thread may free what
//! another allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation (a growth counts as one) on the calling thread.
fn counted() {
    // `try_with`: the allocator runs while the thread's locals are torn down, too.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted();
        HELD.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted();
        HELD.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations the calling thread has made so far, growths included.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(|n| n.get())
}

/// Heap bytes the process holds, as allocated and not yet freed.
pub fn held_bytes() -> isize {
    HELD.load(Relaxed)
}
