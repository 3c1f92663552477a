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
//! Layout: an 8-way set-associative array, as a CPU cache is, with a lock per set. The eight
//! keys of a set share two adjacent cache lines and short answers are stored in the slot, so a
//! hit costs about two memory reads; a linked hash map costs four or five (control bytes,
//! bucket, node, answer). A new answer replaces the least recently used way of its set, unless
//! every way was used in this second: then it is not stored, so that a set holding more
//! resources in steady use than it has ways misses for one of them, rather than for each in
//! turn as least-recently-used replacement under a cyclic walk would. With eight ways and two
//! slots per entity, fewer than 0.2% of resources live in such a set (four ways: 7%, half of
//! them missing). The array is sized once and made at the first answer, in one allocation on
//! huge pages (`memory`), so memory is bounded
//! by construction and a hit does not also miss the TLB.

use crate::answers::compact::{OutputKeys, compact, expand};
use crate::answers::freshness::{Counts, Freshness, NO_EPOCH, NO_STAMP, Provenance};
use crate::answers::lease::{Lease, MAX_LEASE_LEN};
use crate::clock::Stamp;
use crate::id::EntityId;
use crate::wire::{NO_VERSION, ResultWriter};
use parking_lot::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const WAYS: usize = 8;
const INLINE: usize = 64;
/// The fewest sets: small caches still spread concurrent callers over many locks.
const MIN_SETS: usize = 64;

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

/// A cached answer that was handed out, and what the caller must check before relying on it.
pub struct Hit {
    pub provenance: Provenance,
    /// Whether the caller must tell the answer's entity that it is still seen, and drop the
    /// answer if the entity is gone (`Freshness::still_valid`): due at the answer's first use in
    /// each `touch_every` seconds.
    pub touch: bool,
    /// The caller holds this answer (its version): it was not written.
    pub held: bool,
    /// When the answer's lease is up as of this hit (`ResultCache::lease_until`): later than the
    /// caller's when `touch` moved it.
    pub until: Stamp,
}

impl Hit {
    /// The answer's lease as of this hit, which renews the one the caller holds. Built only where
    /// it is sent: most hits send none.
    pub fn lease(&self, freshness: &Freshness) -> Lease {
        Lease::of(&self.provenance, freshness, self.until)
    }
}

/// Working memory for storing answers compact, which the caller keeps across answers.
#[derive(Default)]
pub struct CompactScratch {
    compact: Vec<u8>,
    check: Vec<u8>,
}

impl Answer {
    fn new(bytes: &[u8], keys: &OutputKeys, scratch: &mut CompactScratch) -> Answer {
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

    /// Writes the answer's entry, stored under `version` with `lease` (encoded), expanding it
    /// when stored compact.
    fn write(&self, keys: &OutputKeys, version: u64, lease: &[u8], out: &mut ResultWriter) {
        match self {
            Answer::Inline(len, b) => out.put_answer(&b[..*len as usize], version, lease),
            Answer::Compact(len, b) => {
                out.put_answer_with(|buf| expand(&b[..*len as usize], keys, buf), version, lease)
            }
            Answer::Heap(b) => out.put_answer(b, version, lease),
        }
    }
}

/// A provenance packed to keep slots small (the array has two slots per entity).
struct Slot {
    /// Told the processor with the answer, which may hold it and name it instead of sending the
    /// resource again (`include/WIRE.md`, "Held answers"). No two answers share one.
    version: u64,
    entity: EntityId,
    /// The entity's change stamp; `NO_STAMP` when the answer read no pool.
    stamp: u64,
    /// `NO_EPOCH` when the id did not come through the link table.
    link_epoch: u64,
    computed: Stamp,
    last_used: Stamp,
    /// When the answer last told its entity that it is still seen (`Hit::touch`).
    touched: Stamp,
    counts: Counts,
    answer: Answer,
}

impl Slot {
    fn new(version: u64, p: Provenance, now: Stamp, answer: Answer) -> Slot {
        let (entity, stamp) = p.entity.unwrap_or((0, NO_STAMP));
        Slot {
            version,
            entity,
            stamp,
            link_epoch: p.link_epoch.unwrap_or(NO_EPOCH),
            computed: p.computed,
            last_used: now,
            touched: now,
            counts: p.counts,
            answer,
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance {
            entity: (self.stamp != NO_STAMP).then_some((self.entity, self.stamp)),
            link_epoch: (self.link_epoch != NO_EPOCH).then_some(self.link_epoch),
            computed: self.computed,
            counts: self.counts,
        }
    }
}

#[derive(Default)]
// Aligned, with the keys first: behind its lock's line, a set's keys fill two lines and each
// slot two more, so a lookup reads the lock's line and the keys' (which `prefetch` asks for
// ahead), then the matching slot's.
#[repr(C, align(64))]
struct Set {
    /// Key of each way; a way is empty when its slot is `None`.
    keys: [u128; WAYS],
    slots: [Option<Slot>; WAYS],
}

impl Set {
    /// The way whose key is `key` (its slot may be empty). Reads the keys' lines only:
    /// `prefetch_slot` must not touch the slot it asks for.
    fn way(&self, key: u128) -> Option<usize> {
        self.keys.iter().position(|k| *k == key)
    }
}

pub struct ResultCache {
    sets: OnceLock<Vec<Mutex<Set>>>,
    set_count: usize,
    keys: OutputKeys,
    /// Longest an answer is reused before it is recomputed.
    pub refresh: Stamp,
    /// How often an answer in use marks its entity seen. Touching on every hit would read the
    /// entity's shard on every resource; touching at most every `ttl / 16` seconds (1 to 10)
    /// keeps an entity in use from expiring, its recency for eviction within ten seconds, and
    /// takes the shard read off nearly every hit.
    touch_every: Stamp,
    /// The last answer version given out (`Slot::version`).
    versions: AtomicU64,
}

impl ResultCache {
    /// A cache for `capacity` answers: twice as many slots, rounded up to a power of two, so
    /// that sets rarely overflow (at one key per slot, many would).
    pub fn new(capacity: u64, ttl_seconds: u64, keys: OutputKeys) -> ResultCache {
        let ttl = ttl_seconds.min(u32::MAX as u64) as Stamp;
        ResultCache {
            sets: OnceLock::new(),
            set_count: (capacity.max(1) as usize * 2).div_ceil(WAYS).next_power_of_two().max(MIN_SETS),
            keys,
            refresh: ttl / 4,
            touch_every: (ttl / 16).clamp(1, 10),
            versions: AtomicU64::new(NO_VERSION),
        }
    }

    /// The index of a key's set: the key's low bits.
    fn index(&self, key: u128) -> usize {
        (key as u64 as usize) & (self.set_count - 1)
    }

    /// The set of a key, once the array is made.
    fn set(&self, key: u128) -> Option<&Mutex<Set>> {
        self.sets.get().map(|sets| &sets[self.index(key)])
    }

    /// Asks the CPU to load the lines a lookup of `key` reads first (the set's lock and keys),
    /// so that a batch's lookups wait for memory together rather than one after another.
    pub fn prefetch(&self, key: u128) {
        if let Some(set) = self.set(key) {
            let at = set as *const Mutex<Set> as *const u8;
            for line in 0..3 {
                crate::answers::memory::prefetch(at.wrapping_add(line * 64));
            }
        }
    }

    /// Asks the CPU to load the slot holding `key`'s answer, once `prefetch` has brought in its
    /// set.
    pub fn prefetch_slot(&self, key: u128) {
        if let Some(set) = self.set(key) {
            let set = set.lock();
            if let Some(way) = set.way(key) {
                let at = &set.slots[way] as *const Option<Slot> as *const u8;
                crate::answers::memory::prefetch(at);
                crate::answers::memory::prefetch(at.wrapping_add(64));
            }
        }
    }

    /// The entity whose pool `key`'s answer read, once `prefetch_slot` has brought in its slot,
    /// so that the caller can ask for the entity's change stamp ahead.
    pub fn entity_of(&self, key: u128) -> Option<EntityId> {
        let set = self.set(key)?.lock();
        set.slots[set.way(key)?].as_ref().filter(|s| s.stamp != NO_STAMP).map(|s| s.entity)
    }

    /// Writes the cached answer for `key` to `out` and returns what it was computed from, which
    /// the caller must validate before relying on the answer (rolling `out` back otherwise).
    /// `held` is the processor's, when it sent a key: the version of the answer it holds, if
    /// any. When it holds this very answer nothing is written and the hit says so (`Hit::held`):
    /// the caller writes the entry once it has validated it; otherwise the entry carries the
    /// answer's version, for the processor to hold. Without a key no version is written.
    /// The entity's change stamp, which the caller will read in `freshness`, is asked for before
    /// the answer is written: for a resource that `process_batch`'s queue could not prepare ahead
    /// (a batch of one), the wait for the stamp then overlaps the writing. With a key, the entry
    /// written carries the answer's lease (`answers::lease`), whose time the hit also tells.
    pub fn get(
        &self,
        key: u128,
        held: Option<u64>,
        now: Stamp,
        out: &mut ResultWriter,
        freshness: &Freshness,
    ) -> Option<Hit> {
        let mut set = self.set(key)?.lock();
        let way = set.way(key)?;
        let slot = set.slots[way].as_mut()?;
        if now.saturating_sub(slot.computed) > self.refresh {
            return None;
        }
        if slot.stamp != NO_STAMP {
            freshness.prefetch(slot.entity);
        }
        slot.last_used = now;
        let touch = now.saturating_sub(slot.touched) >= self.touch_every;
        if touch {
            slot.touched = now;
        }
        let hit = Hit {
            provenance: slot.provenance(),
            touch,
            held: held == Some(slot.version),
            until: self.lease_until(slot),
        };
        if !hit.held {
            // A version, and its lease, are told only to a caller that sent a key.
            let (told, (lease, n)) = match held {
                Some(_) => (slot.version, hit.lease(freshness).encode()),
                None => (NO_VERSION, ([0; MAX_LEASE_LEN], 0)),
            };
            slot.answer.write(&self.keys, told, &lease[..n], out);
        }
        Some(hit)
    }

    /// When the lease of `slot`'s answer is up: at its next touch (`touch_every` after the last)
    /// or its refresh (past `refresh`), whichever is first, so that the engine sees every answer
    /// in use as often as it would without leases.
    fn lease_until(&self, slot: &Slot) -> Stamp {
        let refresh = slot.computed.saturating_add(self.refresh).saturating_add(1);
        refresh.min(slot.touched.saturating_add(self.touch_every))
    }

    /// Stores `answer` for `key` and returns the version it is stored under and its lease (`None`:
    /// not stored, because every way of its set was used this second).
    pub fn put(
        &self,
        key: u128,
        answer: &[u8],
        provenance: Provenance,
        now: Stamp,
        freshness: &Freshness,
        scratch: &mut CompactScratch,
    ) -> Option<(u64, Lease)> {
        let sets =
            self.sets.get_or_init(|| crate::answers::memory::vec_on_huge_pages(self.set_count, Default::default));
        let mut set = sets[self.index(key)].lock();
        let set = &mut *set;
        let way = set.way(key).filter(|w| set.slots[*w].is_some()).unwrap_or_else(|| {
            // An empty way, else the least recently used one.
            (0..WAYS).min_by_key(|w| set.slots[*w].as_ref().map_or(0, |s| s.last_used as u64 + 1)).unwrap_or(0)
        });
        if set.keys[way] != key && set.slots[way].as_ref().is_some_and(|s| s.last_used == now) {
            return None; // every way is in use this second
        }
        let version = self.versions.fetch_add(1, Relaxed) + 1;
        set.keys[way] = key;
        let slot = Slot::new(version, provenance, now, Answer::new(answer, &self.keys, scratch));
        let until = self.lease_until(&slot);
        set.slots[way] = Some(slot);
        Some((version, Lease::of(&provenance, freshness, until)))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sets.get().map_or(0, |sets| sets.iter().map(|s| s.lock().slots.iter().flatten().count()).sum())
    }

    pub fn clear(&self) {
        for set in self.sets.get().into_iter().flatten() {
            *set.lock() = Set::default();
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
        Provenance { entity: None, link_epoch: None, computed: t, counts: Counts::default() }
    }

    /// The answer `get` hands out, read back from its entry.
    fn get(c: &ResultCache, key: u128, now: Stamp) -> Option<Vec<u8>> {
        let mut out = ResultWriter::new();
        c.get(key, None, now, &mut out, &Freshness::new(64))?;
        let entry = out.finish();
        let mut answer = None;
        crate::wire::for_each_resource(&entry, |res| {
            answer = Some(res.to_vec());
            Ok(())
        })
        .expect("an entry");
        answer
    }

    fn put(c: &ResultCache, key: u128, answer: &[u8], p: Provenance, now: Stamp) -> u64 {
        c.put(key, answer, p, now, &Freshness::new(64), &mut CompactScratch::default()).map_or(NO_VERSION, |(v, _)| v)
    }

    #[test]
    fn an_answer_the_caller_holds_is_named_not_written() {
        let c = ResultCache::new(1000, 3600, keys());
        let first = put(&c, 1, b"first", prov(0), 0);
        let second = put(&c, 1, b"second", prov(0), 1);
        assert!(first != NO_VERSION && second > first, "every answer stored gets a version of its own");
        let mut out = ResultWriter::new();
        let hit = c.get(1, Some(second), 1, &mut out, &Freshness::new(64)).expect("a hit");
        assert!(hit.held);
        assert!(out.finish().is_empty(), "nothing written for an answer held");
        let mut out = ResultWriter::new();
        let hit = c.get(1, Some(first), 1, &mut out, &Freshness::new(64)).expect("a hit");
        assert!(!hit.held, "an older version is not the answer");
        assert!(!out.finish().is_empty());
    }

    #[test]
    fn short_and_long_answers_round_trip() {
        let c = ResultCache::new(1000, 3600, keys());
        put(&c, 1, b"short", prov(0), 0);
        let long = vec![7u8; 500];
        put(&c, 2, &long, prov(0), 0);
        assert_eq!(get(&c, 1, 1).as_deref(), Some(&b"short"[..]));
        assert_eq!(get(&c, 2, 1), Some(long));
        assert_eq!(get(&c, 3, 1), None);
        put(&c, 1, b"replaced", prov(0), 2);
        assert_eq!(get(&c, 1, 2).as_deref(), Some(&b"replaced"[..]));
    }

    #[test]
    fn bounded_and_stale_answers_are_not_served() {
        let c = ResultCache::new(1, 40, keys());
        for k in 0..10_000u128 {
            put(&c, k << 64 | k, b"x", prov(0), 0);
        }
        assert!(c.len() <= MIN_SETS * WAYS, "bounded: {}", c.len());
        put(&c, 5, b"x", prov(0), 1);
        assert!(get(&c, 5, 10).is_some());
        assert!(get(&c, 5, 11).is_none(), "older than a quarter TTL");
    }

    #[test]
    fn the_least_recently_used_way_is_replaced() {
        let c = ResultCache::new(1, 3600, keys());
        // Keys that land in one set: the same low bits.
        let keys: Vec<u128> = (0..=WAYS as u128).map(|i| (i << 64) | 0x40).collect();
        for (t, k) in keys.iter().take(WAYS).enumerate() {
            put(&c, *k, b"v", prov(0), t as Stamp);
        }
        assert!(get(&c, keys[0], 10).is_some()); // way 0 used again
        put(&c, keys[WAYS], b"v", prov(0), 11);
        assert!(get(&c, keys[0], 11).is_some(), "recently used stays");
        assert!(get(&c, keys[1], 11).is_none(), "least recently used went");
        assert!(get(&c, keys[WAYS], 11).is_some());
    }

    #[test]
    fn a_full_set_in_use_this_second_keeps_its_answers() {
        let c = ResultCache::new(1, 3600, keys());
        let keys: Vec<u128> = (0..=WAYS as u128).map(|i| (i << 64) | 0x40).collect();
        for k in &keys[..WAYS] {
            put(&c, *k, b"v", prov(0), 5);
        }
        put(&c, keys[WAYS], b"v", prov(0), 5);
        assert!(get(&c, keys[WAYS], 5).is_none(), "not stored: every way was used this second");
        assert!(keys[..WAYS].iter().all(|k| get(&c, *k, 5).is_some()));
        put(&c, keys[WAYS], b"v", prov(0), 6);
        assert!(get(&c, keys[WAYS], 6).is_some(), "stored the next second");
    }

    #[test]
    fn an_answer_in_use_touches_its_entity_every_interval() {
        let c = ResultCache::new(1000, 3600, keys());
        put(&c, 1, b"v", prov(0), 100);
        let touch = |now| {
            let mut out = ResultWriter::new();
            c.get(1, None, now, &mut out, &Freshness::new(64)).map(|h| h.touch)
        };
        assert_eq!(touch(100), Some(false), "just computed: the entity was seen");
        assert_eq!(touch(109), Some(false));
        assert_eq!(touch(110), Some(true), "ten seconds (TTL / 16, at most 10) after the last touch");
        assert_eq!(touch(111), Some(false));
        let short = ResultCache::new(1000, 20, keys());
        put(&short, 1, b"v", prov(100), 100);
        let mut out = ResultWriter::new();
        assert!(
            short.get(1, None, 101, &mut out, &Freshness::new(64)).is_some_and(|h| h.touch),
            "every second when TTL is short"
        );
    }
}
