//! How the hit path meets memory: large arrays it reads at random are backed by huge pages where
//! the system allows, and lines a batch will read are asked for ahead.
//!
//! The result cache is tens of MiB (two slots per `max_entities`) and every cache hit reads a
//! random set of it. With 4 KiB pages, nearly every such read also misses the TLB and walks the
//! page table, a second trip to memory; with 2 MiB pages the whole array needs a few dozen TLB
//! entries. Linux gives transparent huge pages to memory advised `MADV_HUGEPAGE` (the default
//! setting, `madvise`, gives them to nothing else); elsewhere the advice is skipped.

const HUGE_PAGE: usize = 2 << 20;

/// A vector of `len` elements made by `init`, its memory advised to use huge pages before it
/// is first written (a page fault then maps a whole huge page).
pub fn vec_on_huge_pages<T>(len: usize, init: impl FnMut() -> T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise(v.as_ptr() as usize, len * size_of::<T>());
    v.resize_with(len, init);
    v
}

/// Advises the whole huge pages within `[start, start + bytes)`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise(start: usize, bytes: usize) {
    let from = start.next_multiple_of(HUGE_PAGE);
    let to = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
    if to > from {
        // SAFETY: the range lies within an allocation this process owns; the advice changes
        // how its pages are backed, never their contents. A failure leaves 4 KiB pages.
        unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_start: usize, _bytes: usize) {}

/// Gives the memory the allocator holds free back to the system. Called after an engine is
/// freed: the C allocator keeps freed memory in per-thread arenas, and the next engine (a reload
/// builds one and restores the snapshot into it) is mostly built on another thread, so without
/// this each reload left the last engine's memory held, and RSS grew with reloads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to the system.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

/// Asks the CPU to load the cache line at `at` (any address: a prefetch never faults).
#[cfg(target_arch = "x86_64")]
#[inline]
#[allow(unsafe_code)]
pub fn prefetch(at: *const u8) {
    // SAFETY: a prefetch is a hint that reads nothing into the program and cannot fault.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at as *const i8) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn prefetch(_at: *const u8) {}

#[cfg(test)]
mod tests {
    #[test]
    fn elements_are_made_by_init() {
        let mut n = 0;
        let v = super::vec_on_huge_pages(3 << 20, || {
            n += 1;
            n as u8
        });
        assert_eq!((v.len(), v[0], v[1], v[(3 << 20) - 1]), (3 << 20, 1, 2, 0));
    }
}
