//! One lock per cache line.

use std::ops::Deref;

/// `T` alone on its cache line(s). The engine's shards are an array of locks that
/// concurrent callers write; packed, two neighbouring locks share a line that then bounces
/// between the cores taking them.
#[repr(align(64))]
pub struct CacheLine<T>(pub T);

impl<T> Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
