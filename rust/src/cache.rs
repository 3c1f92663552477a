//! Answers for resources seen before.
//!
//! Most resources repeat byte for byte: an SDK sends the same resource in every batch. For such
//! a resource, decoding, matching and merging again would change nothing, so the engine keeps
//! its last answer, keyed by the 128-bit hash of the resource's bytes (a 64-bit key would make a
//! collision, and so a false merge, merely unlikely). An answer is reused only while what it was
//! computed from is unchanged: the entity's pool version, and for resources whose id came through
//! a link, the link epoch. Answers are recomputed at least every quarter TTL, which also refreshes
//! the links a resource shows, so that they do not expire while the resource keeps coming.

use crate::clock::{Age, Aging, Clock, Stamp};
use crate::id::EntityId;
use crate::state::shard_layout;
use parking_lot::Mutex;

/// What an answer was computed from, and what it counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The entity whose pool the answer read, and the pool's version then.
    pub entity: Option<(EntityId, u64)>,
    /// The link epoch when the id was resolved through the link table, if it was.
    pub link_epoch: Option<u64>,
    pub computed: Stamp,
    pub filled: u32,
    pub merged: bool,
}

struct Cached {
    age: Age,
    answer: Box<[u8]>,
    provenance: Provenance,
}

impl Aging for Cached {
    fn age(&mut self) -> &mut Age {
        &mut self.age
    }
}

pub struct ResultCache {
    shards: Box<[Mutex<Clock<Cached>>]>,
    mask: u64,
    /// Longest an answer is reused before it is recomputed.
    pub refresh: Stamp,
}

impl ResultCache {
    pub fn new(capacity: u64, ttl_seconds: u64) -> ResultCache {
        let (shards, per_shard) = shard_layout(capacity);
        let ttl = ttl_seconds.min(u32::MAX as u64) as Stamp;
        ResultCache {
            shards: (0..shards).map(|_| Mutex::new(Clock::new(per_shard, ttl))).collect(),
            mask: shards as u64 - 1,
            refresh: ttl / 4,
        }
    }

    fn shard(&self, key: u128) -> &Mutex<Clock<Cached>> {
        &self.shards[(key as u64 & self.mask) as usize]
    }

    /// Hands the cached answer for `key` to `take` and returns its provenance, which the caller
    /// must validate before using the answer.
    pub fn get(&self, key: u128, now: Stamp, take: impl FnOnce(&[u8])) -> Option<Provenance> {
        let mut shard = self.shard(key).lock();
        let mut evicted = 0;
        let c = shard.get_live(key, now, &mut evicted)?;
        if now.saturating_sub(c.provenance.computed) > self.refresh {
            return None;
        }
        c.age.touch(now);
        take(&c.answer);
        Some(c.provenance)
    }

    pub fn put(&self, key: u128, answer: &[u8], provenance: Provenance, now: Stamp) {
        let mut evicted = 0;
        let cached = Cached { age: Age::new(now), answer: answer.into(), provenance };
        self.shard(key).lock().insert(key, cached, now, &mut evicted);
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        for s in self.shards.iter() {
            s.lock().clear();
        }
    }
}
