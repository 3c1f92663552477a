//! Answers for resources seen before.
//!
//! Most resources repeat byte for byte: an SDK sends the same resource in every batch. For such
//! a resource, decoding, matching and merging again would change nothing, so the engine keeps
//! its last answer, keyed by the 128-bit hash of the resource's bytes (a 64-bit key would make a
//! collision, and so a false merge, merely unlikely). An answer is reused only while what it was
//! computed from is unchanged (`freshness` owns that rule). Answers are recomputed at least
//! every quarter TTL, which also refreshes
//! the links a resource shows, so that they do not expire while the resource keeps coming.
//!
//! Layout: a 4-way set-associative array, as a CPU cache is. The four keys of a set share one
//! cache line and short answers are stored in the slot, so a hit costs about two memory reads;
//! a linked hash map costs four or five (control bytes, bucket, node, answer). A new answer
//! replaces the least recently used way of its set. The array is sized once, so memory is bounded
//! by construction.

use crate::clock::Stamp;
use crate::compact::{OutputKeys, compact, expand};
pub use crate::freshness::Provenance;
use crate::freshness::{NO_EPOCH, NO_STAMP};
use crate::id::EntityId;
use crate::padded::CacheLine;
use parking_lot::Mutex;

const WAYS: usize = 4;
const INLINE: usize = 64;
const STRIPES: usize = 64;

enum Answer {
    /// The answer's bytes.
    Inline(u8, [u8; INLINE]),
    /// The answer's compact form (see `compact`).
    Compact(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

fn inline(bytes: &[u8]) -> (u8, [u8; INLINE]) {
    let mut inline = [0u8; INLINE];
    inline[..bytes.len()].copy_from_slice(bytes);
    (bytes.len() as u8, inline)
}

impl Answer {
    fn new(bytes: &[u8], keys: &OutputKeys, scratch: &mut StripeBuffers) -> Answer {
        if bytes.len() <= INLINE {
            let (len, b) = inline(bytes);
            Answer::Inline(len, b)
        } else if compact(bytes, keys, &mut scratch.compact, &mut scratch.check) && scratch.compact.len() <= INLINE {
            let (len, b) = inline(&scratch.compact);
            Answer::Compact(len, b)
        } else {
            Answer::Heap(bytes.into())
        }
    }

    /// The answer's bytes, expanded into `scratch` when stored compact.
    fn bytes<'a>(&'a self, keys: &OutputKeys, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self {
            Answer::Inline(len, b) => &b[..*len as usize],
            Answer::Compact(len, b) => {
                scratch.clear();
                expand(&b[..*len as usize], keys, scratch);
                scratch
            }
            Answer::Heap(b) => b,
        }
    }
}

/// Working memory of a stripe, reused under its lock.
#[derive(Default)]
struct StripeBuffers {
    compact: Vec<u8>,
    check: Vec<u8>,
}

#[derive(Default)]
struct Stripe {
    /// Allocated at the stripe's first answer (so that an engine made only to validate a
    /// configuration costs nothing).
    sets: Vec<Set>,
    scratch: StripeBuffers,
}

/// A provenance packed to keep slots small (the array has two slots per entity).
struct Slot {
    entity: EntityId,
    /// The entity's change stamp; `NO_STAMP` when the answer read no pool.
    stamp: u64,
    /// `NO_EPOCH` when the id did not come through the link table.
    link_epoch: u64,
    computed: Stamp,
    last_used: Stamp,
    filled: u16,
    merged: bool,
    defaulted: bool,
    answer: Answer,
}

impl Slot {
    fn new(p: Provenance, now: Stamp, answer: Answer) -> Slot {
        let (entity, stamp) = p.entity.unwrap_or((0, NO_STAMP));
        Slot {
            entity,
            stamp,
            link_epoch: p.link_epoch.unwrap_or(NO_EPOCH),
            computed: p.computed,
            last_used: now,
            filled: p.filled.min(u16::MAX as u32) as u16,
            merged: p.merged,
            defaulted: p.defaulted,
            answer,
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance {
            entity: (self.stamp != NO_STAMP).then_some((self.entity, self.stamp)),
            link_epoch: (self.link_epoch != NO_EPOCH).then_some(self.link_epoch),
            computed: self.computed,
            filled: self.filled as u32,
            merged: self.merged,
            defaulted: self.defaulted,
        }
    }
}

#[derive(Default)]
// Aligned, with the keys first, so that a lookup reads one line for the keys and then only the
// matching slot's.
#[repr(C, align(64))]
struct Set {
    /// Key of each way; a way is empty when its slot is `None`.
    keys: [u128; WAYS],
    slots: [Option<Slot>; WAYS],
}

pub struct ResultCache {
    stripes: Box<[CacheLine<Mutex<Stripe>>]>,
    keys: OutputKeys,
    sets_per_stripe: usize,
    /// Longest an answer is reused before it is recomputed.
    pub refresh: Stamp,
}

impl ResultCache {
    /// A cache for `capacity` answers: twice as many slots, rounded up to a power of two, so
    /// that sets rarely overflow (at one key per slot, a quarter of 4-way sets would).
    pub fn new(capacity: u64, ttl_seconds: u64, keys: OutputKeys) -> ResultCache {
        let sets = (capacity.max(1) as usize * 2).div_ceil(WAYS).next_power_of_two().max(STRIPES);
        let sets_per_stripe = sets / STRIPES;
        ResultCache {
            stripes: (0..STRIPES).map(|_| CacheLine(Mutex::new(Stripe::default()))).collect(),
            keys,
            sets_per_stripe,
            refresh: (ttl_seconds.min(u32::MAX as u64) as Stamp) / 4,
        }
    }

    /// The stripe and set of a key: low bits pick the stripe, the next bits the set.
    fn locate(&self, key: u128) -> (usize, usize) {
        let h = key as u64;
        ((h as usize) % STRIPES, ((h >> 6) as usize) & (self.sets_per_stripe - 1))
    }

    /// Hands the cached answer for `key` to `take` and returns its provenance, which the caller
    /// must validate before relying on the answer, and when it was last used before now.
    pub fn get(&self, key: u128, now: Stamp, take: impl FnOnce(&[u8])) -> Option<(Provenance, Stamp)> {
        let (stripe, set) = self.locate(key);
        let mut guard = self.stripes[stripe].lock();
        let Stripe { sets, scratch } = &mut *guard;
        let set = sets.get_mut(set)?;
        let way = set.keys.iter().position(|k| *k == key)?;
        let slot = set.slots[way].as_mut()?;
        if now.saturating_sub(slot.computed) > self.refresh {
            return None;
        }
        let last_used = std::mem::replace(&mut slot.last_used, now);
        take(slot.answer.bytes(&self.keys, &mut scratch.compact));
        Some((slot.provenance(), last_used))
    }

    pub fn put(&self, key: u128, answer: &[u8], provenance: Provenance, now: Stamp) {
        let (stripe, set) = self.locate(key);
        let mut guard = self.stripes[stripe].lock();
        let Stripe { sets, scratch } = &mut *guard;
        if sets.is_empty() {
            sets.resize_with(self.sets_per_stripe, Set::default);
        }
        let set = &mut sets[set];
        let way = set.keys.iter().position(|k| *k == key).filter(|w| set.slots[*w].is_some()).unwrap_or_else(|| {
            // An empty way, else the least recently used one.
            (0..WAYS).min_by_key(|w| set.slots[*w].as_ref().map_or(0, |s| s.last_used as u64 + 1)).unwrap_or(0)
        });
        set.keys[way] = key;
        set.slots[way] = Some(Slot::new(provenance, now, Answer::new(answer, &self.keys, scratch)));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| s.lock().sets.iter().map(|set| set.slots.iter().flatten().count()).sum::<usize>())
            .sum()
    }

    pub fn clear(&self) {
        for s in self.stripes.iter() {
            *s.lock() = Stripe::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> OutputKeys {
        OutputKeys::of(&crate::config::EngineConfig::default())
    }

    fn prov(t: Stamp) -> Provenance {
        Provenance { entity: None, link_epoch: None, computed: t, filled: 0, merged: false, defaulted: false }
    }

    fn get(c: &ResultCache, key: u128, now: Stamp) -> Option<Vec<u8>> {
        let mut out = None;
        c.get(key, now, |a| out = Some(a.to_vec()))?;
        out
    }

    #[test]
    fn short_and_long_answers_round_trip() {
        let c = ResultCache::new(1000, 3600, keys());
        c.put(1, b"short", prov(0), 0);
        let long = vec![7u8; 500];
        c.put(2, &long, prov(0), 0);
        assert_eq!(get(&c, 1, 1).as_deref(), Some(&b"short"[..]));
        assert_eq!(get(&c, 2, 1), Some(long));
        assert_eq!(get(&c, 3, 1), None);
        c.put(1, b"replaced", prov(0), 2);
        assert_eq!(get(&c, 1, 2).as_deref(), Some(&b"replaced"[..]));
    }

    #[test]
    fn bounded_and_stale_answers_are_not_served() {
        let c = ResultCache::new(1, 40, keys());
        for k in 0..10_000u128 {
            c.put(k << 64 | k, b"x", prov(0), 0);
        }
        assert!(c.len() <= STRIPES * WAYS, "bounded: {}", c.len());
        c.put(5, b"x", prov(0), 0);
        assert!(get(&c, 5, 10).is_some());
        assert!(get(&c, 5, 11).is_none(), "older than a quarter TTL");
    }

    #[test]
    fn the_least_recently_used_way_is_replaced() {
        let c = ResultCache::new(1, 3600, keys());
        // Keys that land in one set: same low 6 bits (stripe) and same set bits.
        let keys: Vec<u128> = (0..5u128).map(|i| (i << 64) | 0x40).collect();
        for (t, k) in keys.iter().take(4).enumerate() {
            c.put(*k, b"v", prov(0), t as Stamp);
        }
        assert!(get(&c, keys[0], 10).is_some()); // way 0 used again
        c.put(keys[4], b"v", prov(0), 11);
        assert!(get(&c, keys[0], 11).is_some(), "recently used stays");
        assert!(get(&c, keys[1], 11).is_none(), "least recently used went");
    }
}
