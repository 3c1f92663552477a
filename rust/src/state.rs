//! The engine's memory: pooled attributes per entity, and links from one identity to another.
//!
//! Both are bounded: an entry expires `ttl` seconds after it was last seen, and past the size
//! limit the least recently seen entry of its shard goes first. Recency is kept the CLOCK way
//! (second chance): a hit only marks the entry, and marked entries that reach the front of the
//! queue are moved to the back instead of being evicted. Moving every hit to the back of a
//! linked list would touch its cold neighbours, several cache misses per resource on a large
//! index. The state is split into shards
//! by id, each behind its own lock, so that threads processing different entities do not wait
//! for each other; no code path holds two shard locks at once.
//!
//! Links have two uses with one mechanism: an alias (the name-based identity of a pod points to
//! its uid-based id, learnt from a resource that carried both) and a promotion (a container's
//! identity points to its pod's id, learnt likewise). A link that two different targets claim
//! becomes ambiguous and resolves to nothing: that is the case where joining would risk a false
//! merge (a recreated StatefulSet pod reusing a name, a container id seen in two pods).

use crate::id::EntityId;
use crate::pool::{Merge, Pool, PoolKey};
use crate::rules::Scope;
use hashlink::LinkedHashMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

type FastState = foldhash::fast::FixedState;

/// Seconds since 2020-01-01T00:00:00Z: fits a u32 until 2156.
pub type Stamp = u32;
pub const STAMP_EPOCH_UNIX: u64 = 1_577_836_800;

pub fn stamp(unix_seconds: u64) -> Stamp {
    unix_seconds.saturating_sub(STAMP_EPOCH_UNIX).min(u32::MAX as u64) as Stamp
}

/// Most distinct attribute keys one shard remembers; attributes with further keys are not pooled.
const MAX_KEYS_PER_SHARD: usize = 1 << 16;

#[derive(Debug, Clone)]
pub struct Entity {
    pub last_seen: Stamp,
    /// Seen again since it was last queued (the CLOCK reference bit).
    referenced: bool,
    pub pool: Pool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub target: EntityId,
    /// Index of the rule whose type, scope and name the linked resource takes.
    pub rule: u16,
    pub ambiguous: bool,
    pub last_seen: Stamp,
    referenced: bool,
}

impl Link {
    pub fn new(target: EntityId, rule: u16, ambiguous: bool, last_seen: Stamp) -> Link {
        Link { target, rule, ambiguous, last_seen, referenced: false }
    }
}

/// What `trim` needs of an entry.
trait Aging {
    fn last_seen(&self) -> Stamp;
    /// Clears the reference bit, answering whether it was set.
    fn take_reference(&mut self) -> bool;
}

impl Aging for Entity {
    fn last_seen(&self) -> Stamp {
        self.last_seen
    }
    fn take_reference(&mut self) -> bool {
        std::mem::take(&mut self.referenced)
    }
}

impl Aging for Link {
    fn last_seen(&self) -> Stamp {
        self.last_seen
    }
    fn take_reference(&mut self) -> bool {
        std::mem::take(&mut self.referenced)
    }
}

/// A key of a shard's key table, with the scopes it has been checked against so far.
struct KeyEntry {
    name: Box<[u8]>,
    checked: u64,
    allowed: u64,
}

#[derive(Default)]
struct KeyTable {
    ids: HashMap<Box<[u8]>, PoolKey, FastState>,
    entries: Vec<KeyEntry>,
}

impl KeyTable {
    fn intern(&mut self, key: &[u8]) -> Option<PoolKey> {
        if let Some(id) = self.ids.get(key) {
            return Some(*id);
        }
        if self.entries.len() >= MAX_KEYS_PER_SHARD {
            return None;
        }
        let id = self.entries.len() as PoolKey;
        self.ids.insert(key.into(), id);
        self.entries.push(KeyEntry { name: key.into(), checked: 0, allowed: 0 });
        Some(id)
    }

    fn name(&self, id: PoolKey) -> &[u8] {
        &self.entries[id as usize].name
    }

    /// Whether `scope` allows the key; remembered per key for the first 64 rules.
    fn allows(&mut self, id: PoolKey, scope: &Scope, scope_index: Option<usize>) -> bool {
        let e = &mut self.entries[id as usize];
        let Some(bit) = scope_index.filter(|i| *i < 64).map(|i| 1u64 << i) else {
            return scope.allows(&e.name);
        };
        if e.checked & bit == 0 {
            e.checked |= bit;
            if scope.allows(&e.name) {
                e.allowed |= bit;
            }
        }
        e.allowed & bit != 0
    }
}

struct Shard {
    entities: LinkedHashMap<EntityId, Entity, FastState>,
    links: LinkedHashMap<EntityId, Link, FastState>,
    keys: KeyTable,
    present: Vec<PoolKey>,
}

/// Counters of the state, read by `State::stats`.
#[derive(Default)]
pub struct Counters {
    pub evictions: AtomicU64,
    pub ambiguous_links: AtomicU64,
    pub ambiguous_attributes: AtomicU64,
}

pub struct State {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
    per_shard: usize,
    ttl: u32,
    pub counters: Counters,
}

/// The resource being pooled: its attributes (key, encoded value) and its scope.
pub struct PoolRequest<'r> {
    pub attrs: &'r [(&'r [u8], &'r [u8])],
    pub scope: &'r Scope,
    /// Rule index, used to cache scope decisions per key (`None` for entity references).
    pub scope_index: Option<usize>,
}

impl State {
    pub fn new(max_entities: u64, ttl_seconds: u64) -> State {
        let max = max_entities.max(1) as usize;
        // Enough shards that threads rarely meet, few enough that each holds a fair LRU sample.
        let shards = (max / 1024).clamp(1, 64).next_power_of_two().min(64);
        let per_shard = max.div_ceil(shards);
        State {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        entities: LinkedHashMap::with_hasher(FastState::default()),
                        links: LinkedHashMap::with_hasher(FastState::default()),
                        keys: KeyTable::default(),
                        present: Vec::new(),
                    })
                })
                .collect(),
            mask: shards as u64 - 1,
            per_shard,
            ttl: ttl_seconds.min(u32::MAX as u64) as u32,
            counters: Counters::default(),
        }
    }

    fn shard(&self, id: EntityId) -> &Mutex<Shard> {
        &self.shards[(id as u64 & self.mask) as usize]
    }

    fn expired(&self, last_seen: Stamp, now: Stamp) -> bool {
        now.saturating_sub(last_seen) > self.ttl
    }

    /// Keeps a queue within the size limit and drops expired entries from its front: an expired
    /// front entry goes; past the limit, a referenced one gets a second chance at the back and
    /// an unreferenced one goes. Each call looks at a few entries more than it must, so that
    /// expired entries are swept even without pressure.
    fn trim<V: Aging>(&self, queue: &mut LinkedHashMap<EntityId, V, FastState>, now: Stamp) {
        let mut evicted = 0;
        let mut budget = 2 + queue.len().saturating_sub(self.per_shard) * 2;
        while budget > 0 {
            let Some((&key, _)) = queue.front() else { break };
            let entry = queue.get_mut(&key).expect("front entry");
            budget -= 1;
            if self.expired(entry.last_seen(), now) {
                queue.pop_front();
                evicted += 1;
            } else if entry.take_reference() {
                queue.to_back(&key);
            } else if queue.len() > self.per_shard {
                queue.pop_front();
                evicted += 1;
            } else {
                break;
            }
        }
        // Every entry can have been given its second chance once already: evict by age.
        while queue.len() > self.per_shard {
            queue.pop_front();
            evicted += 1;
        }
        if evicted > 0 {
            self.counters.evictions.fetch_add(evicted, Relaxed);
        }
    }

    /// The target of an unambiguous, live link from `from`.
    pub fn resolve(&self, from: EntityId, now: Stamp) -> Option<Link> {
        let mut shard = self.shard(from).lock();
        let link = *shard.links.get(&from)?;
        if self.expired(link.last_seen, now) {
            shard.links.remove(&from);
            self.counters.evictions.fetch_add(1, Relaxed);
            return None;
        }
        if let Some(l) = shard.links.get_mut(&from) {
            l.referenced = true;
        }
        (!link.ambiguous).then_some(link)
    }

    /// Records that the identity `from` was seen on a resource of entity `target`.
    pub fn link(&self, from: EntityId, target: EntityId, rule: u16, now: Stamp) {
        if from == target {
            return;
        }
        let mut guard = self.shard(from).lock();
        let shard = &mut *guard;
        match shard.links.get_mut(&from) {
            Some(l) if self.expired(l.last_seen, now) => {
                *l = Link::new(target, rule, false, now);
            }
            Some(l) => {
                if l.target != target && !l.ambiguous {
                    l.ambiguous = true;
                    self.counters.ambiguous_links.fetch_add(1, Relaxed);
                }
                l.last_seen = now;
                l.referenced = true;
            }
            None => {
                shard.links.insert(from, Link::new(target, rule, false, now));
                self.trim(&mut shard.links, now);
            }
        }
    }

    /// Pools the resource's in-scope attributes into entity `id` and calls `fill` with every
    /// pooled, unambiguous, in-scope attribute the resource lacks.
    pub fn pool(&self, id: EntityId, req: &PoolRequest<'_>, now: Stamp, mut fill: impl FnMut(&[u8], &[u8])) {
        let mut guard = self.shard(id).lock();
        let shard = &mut *guard;
        if !shard.entities.contains_key(&id) {
            shard.entities.insert(id, Entity { last_seen: now, referenced: false, pool: Pool::default() });
            self.trim(&mut shard.entities, now);
        }
        let entity = shard.entities.get_mut(&id).expect("just inserted or present");
        if self.expired(entity.last_seen, now) {
            // Forgotten: an expired entity starts over rather than filling stale values.
            entity.pool = Pool::default();
        }
        entity.last_seen = now;
        entity.referenced = true;
        shard.present.clear();
        for (key, value) in req.attrs {
            let Some(k) = shard.keys.intern(key) else {
                continue;
            };
            if shard.present.contains(&k) {
                continue; // a duplicate key: the first occurrence is the resource's value
            }
            shard.present.push(k);
            if shard.keys.allows(k, req.scope, req.scope_index) && entity.pool.merge(k, value) == Merge::BecameAmbiguous
            {
                self.counters.ambiguous_attributes.fetch_add(1, Relaxed);
            }
        }
        for (k, v) in entity.pool.iter() {
            if let Some(v) = v
                && !shard.present.contains(&k)
                && shard.keys.allows(k, req.scope, req.scope_index)
            {
                fill(shard.keys.name(k), v);
            }
        }
    }

    pub fn entity_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().entities.len() as u64).sum()
    }

    pub fn link_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().links.len() as u64).sum()
    }

    /// Heap bytes of pooled attribute values (the part of an entity that grows with its sources).
    pub fn pooled_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().entities.iter().map(|(_, e)| e.pool.heap_bytes() as u64).sum::<u64>()).sum()
    }

    /// Calls `f` with every live entity (its pool resolved to key names) and every live link.
    pub fn export(
        &self,
        now: Stamp,
        mut entity: impl FnMut(EntityId, &Entity, &dyn Fn(PoolKey) -> Vec<u8>),
        mut link: impl FnMut(EntityId, &Link),
    ) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            let names = |k: PoolKey| shard.keys.name(k).to_vec();
            for (id, e) in shard.entities.iter().filter(|(_, e)| !self.expired(e.last_seen, now)) {
                entity(*id, e, &names);
            }
            for (from, l) in shard.links.iter().filter(|(_, l)| !self.expired(l.last_seen, now)) {
                link(*from, l);
            }
        }
    }

    /// Inserts a restored entity; entries already expired are skipped.
    pub fn import_entity(&self, id: EntityId, last_seen: Stamp, attrs: &[(Vec<u8>, Option<Vec<u8>>)], now: Stamp) {
        if self.expired(last_seen, now) {
            return;
        }
        let mut guard = self.shard(id).lock();
        let shard = &mut *guard;
        let mut pool = Pool::default();
        for (key, value) in attrs {
            if let Some(k) = shard.keys.intern(key) {
                pool.push(k, value.as_deref());
            }
        }
        shard.entities.replace(id, Entity { last_seen, referenced: false, pool });
        self.trim(&mut shard.entities, now);
    }

    /// Inserts a restored link; links already expired are skipped.
    pub fn import_link(&self, from: EntityId, link: Link, now: Stamp) {
        if self.expired(link.last_seen, now) {
            return;
        }
        let mut shard = self.shard(from).lock();
        shard.links.replace(from, link);
        self.trim(&mut shard.links, now);
    }

    /// Forgets everything (used when a snapshot is restored into a used engine).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            s.entities.clear();
            s.links.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_all() -> Scope {
        crate::rules::Scope::of_keys([&b"k"[..], b"j"], &Scope::default())
    }

    #[test]
    fn links_resolve_until_two_targets_claim_them() {
        let s = State::new(100, 60);
        s.link(1, 10, 0, 0);
        assert_eq!(s.resolve(1, 1).map(|l| l.target), Some(10));
        s.link(1, 10, 0, 2);
        assert_eq!(s.resolve(1, 2).map(|l| l.target), Some(10));
        s.link(1, 11, 0, 3);
        assert_eq!(s.resolve(1, 3), None);
        assert_eq!(s.counters.ambiguous_links.load(Relaxed), 1);
    }

    #[test]
    fn entries_expire_after_ttl() {
        let s = State::new(100, 60);
        s.link(1, 10, 0, 0);
        assert!(s.resolve(1, 60).is_some());
        assert!(s.resolve(1, 121).is_none());
        assert_eq!(s.link_count(), 0);
    }

    #[test]
    fn size_limit_evicts_least_recently_seen() {
        let s = State::new(4, 3600);
        let scope = scope_all();
        let req = PoolRequest { attrs: &[(b"k", b"v")], scope: &scope, scope_index: Some(0) };
        for id in 0..10u128 {
            s.pool(id, &req, 0, |_, _| {});
        }
        assert_eq!(s.entity_count(), 4);
        assert_eq!(s.counters.evictions.load(Relaxed), 6);
    }

    #[test]
    fn pooling_fills_only_missing_unambiguous_in_scope_keys() {
        let s = State::new(100, 3600);
        let scope = scope_all();
        let rich = [(&b"k"[..], &b"1"[..]), (b"j", b"2"), (b"out", b"3")];
        s.pool(5, &PoolRequest { attrs: &rich, scope: &scope, scope_index: Some(0) }, 0, |_, _| {});
        let mut filled = Vec::new();
        let sparse = [(&b"j"[..], &b"own"[..])];
        s.pool(5, &PoolRequest { attrs: &sparse, scope: &scope, scope_index: Some(0) }, 0, |k, v| {
            filled.push((k.to_vec(), v.to_vec()))
        });
        // `j` is now ambiguous (2 vs own), `out` is out of scope, `k` is filled.
        assert_eq!(filled, vec![(b"k".to_vec(), b"1".to_vec())]);
        let mut filled = Vec::new();
        s.pool(5, &PoolRequest { attrs: &[], scope: &scope, scope_index: Some(0) }, 0, |k, _| filled.push(k.to_vec()));
        assert_eq!(filled, vec![b"k".to_vec()]);
    }
}
