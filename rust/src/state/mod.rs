//! The engine's memory: pooled attributes per entity, and links from one identity to another.
//!
//! Both are bounded `Clock` maps (TTL since last seen, then least recently seen first). The state
//! is split into shards by id, each behind its own lock, so that threads processing different
//! entities do not wait for each other; no code path holds two shard locks at once.
//!
//! Links have two uses with one mechanism: an alias (the name-based identity of a pod points to
//! its uid-based id, learnt from a resource that carried both) and a promotion (a container's
//! identity points to its pod's id, learnt likewise). A link that two different targets claim
//! becomes ambiguous and resolves to nothing: that is the case where joining would risk a false
//! merge (a recreated StatefulSet pod reusing a name, a container id seen in two pods).

pub(crate) mod containers;
pub(crate) mod fragmentation;
mod padded;
pub(crate) mod partitions;
pub(crate) mod pool;
pub(crate) mod snapshot;

use crate::answers::freshness::Freshness;
use crate::clock::{Age, Aging, Clock, Stamp};
use crate::id::EntityId;
use crate::observe::{Observer, Offer, Reported};
use crate::resource::MAX_VALUE_BYTES;
use crate::rules::Scope;
use crate::state::containers::{Container, Containers};
use crate::state::fragmentation::{Kind, UNKNOWN, Variants};
use crate::state::padded::CacheLine;
use crate::state::pool::{MAX_CONTAINER_POOL_BYTES, MAX_POOL_BYTES, Pool, PoolKey};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

type FastState = foldhash::fast::FixedState;

/// The tag of the entity's voice: a pseudo-container holding what the sources that name no
/// container reported of the keys shared when agreed (`KeyHome::SharedWhenAgreed`). No resource
/// names it, so it never merges with a real container.
const ENTITY_VOICE: [u64; 1] = [u64::MAX];

/// Longest attribute key that is pooled.
pub const MAX_KEY_BYTES: usize = 256;

/// Fewest distinct keys a shard's key table holds; it holds 4 per entity the shard may hold, if
/// more (`State::new`). Keys no live entity uses are swept out when the table is full.
const MIN_KEYS_PER_SHARD: usize = 4096;

#[derive(Debug, Clone)]
pub struct Entity {
    pub age: Age,
    /// What the entity's sources reported, apart from values that belong to one container.
    pub pool: Pool,
    /// The entity's containers and the values that belong to each.
    pub containers: Containers,
    /// What decided the entity, and the distinct resources that described it (`fragmentation`).
    pub kind: Kind,
    pub variants: Variants,
    /// The identifying keys and values of the entity (its canonical identity alternative), kept
    /// only while entity events are published (`events`).
    pub identity: Option<Identity>,
    /// The partition it counts against (`Partition::group`; 0 when restored from a snapshot).
    pub group: u32,
}

/// Identifying keys and values.
pub type Identity = Box<[(Box<str>, Box<str>)]>;

impl Entity {
    fn new(last_seen: Stamp) -> Entity {
        Entity {
            age: Age::new(last_seen),
            pool: Pool::default(),
            containers: Containers::default(),
            kind: UNKNOWN,
            variants: Variants::default(),
            identity: None,
            group: 0,
        }
    }
}

impl Aging for Entity {
    fn age(&mut self) -> &mut Age {
        &mut self.age
    }
    fn group(&self) -> u32 {
        self.group
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub target: EntityId,
    /// Index of the rule whose type, scope and name the linked resource takes.
    pub rule: u16,
    pub ambiguous: bool,
    pub age: Age,
    /// The partition it counts against, as an entity's.
    pub group: u32,
}

impl Link {
    pub fn new(target: EntityId, rule: u16, ambiguous: bool, last_seen: Stamp) -> Link {
        Link { target, rule, ambiguous, age: Age::new(last_seen), group: 0 }
    }
}

impl Aging for Link {
    fn age(&mut self) -> &mut Age {
        &mut self.age
    }
    fn group(&self) -> u32 {
        self.group
    }
}

/// A key of a shard's key table, with the scopes it has been checked against so far.
struct KeyEntry {
    name: Box<[u8]>,
    checked: u64,
    allowed: u64,
    /// Per rule, whether the key's home (`KeyHome`) was decided, and what it is.
    homed: u64,
    container_scoped: u64,
    shared_when_agreed: u64,
}

/// A shard's key table: every key some pool of the shard holds, by number. Bounded by a count
/// (`capacity`) and a key length (`MAX_KEY_BYTES`); out-of-scope keys are never stored; keys that
/// no live entity uses any more are swept out when the table is full (`State::pool`), so that a
/// flood of junk keys ages out with its entities.
struct PoolKeys {
    /// Key ids by the key's hash; the name is kept once, in `entries`.
    ids: HashMap<u64, PoolKey, FastState>,
    entries: Vec<KeyEntry>,
    /// Ids of swept entries, to reuse.
    free: Vec<PoolKey>,
    capacity: usize,
    /// When the table was last swept, and how many keys it took since: a full table is swept
    /// again in a new second, or after taking an eighth of its capacity, so that sweeping costs
    /// little per key however fast keys come.
    swept: Stamp,
    interned_since_sweep: usize,
}

impl KeyEntry {
    fn new(name: &[u8]) -> KeyEntry {
        KeyEntry { name: name.into(), checked: 0, allowed: 0, homed: 0, container_scoped: 0, shared_when_agreed: 0 }
    }
}

fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

impl PoolKeys {
    fn new(capacity: usize) -> PoolKeys {
        PoolKeys {
            ids: HashMap::default(),
            entries: Vec::new(),
            free: Vec::new(),
            capacity,
            swept: 0,
            interned_since_sweep: 0,
        }
    }

    fn get(&self, key: &[u8]) -> Option<PoolKey> {
        let id = *self.ids.get(&key_hash(key))?;
        (*self.entries[id as usize].name == *key).then_some(id)
    }

    /// The key's id, adding it if there is room; `None` for a key over `MAX_KEY_BYTES`, a full
    /// table, or (about once in 2^64) another key with the same hash.
    fn intern(&mut self, key: &[u8]) -> Option<PoolKey> {
        let hash = key_hash(key);
        if let Some(id) = self.ids.get(&hash) {
            return (*self.entries[*id as usize].name == *key).then_some(*id);
        }
        if key.len() > MAX_KEY_BYTES || self.live() >= self.capacity {
            return None;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = KeyEntry::new(key);
                id
            }
            None => {
                self.entries.push(KeyEntry::new(key));
                (self.entries.len() - 1) as PoolKey
            }
        };
        self.ids.insert(hash, id);
        self.interned_since_sweep += 1;
        Some(id)
    }

    fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Whether `more` new keys might not fit, and a sweep is due (see `swept`).
    fn wants_sweep(&self, more: usize, now: Stamp) -> bool {
        self.live() + more > self.capacity && (self.swept != now || self.interned_since_sweep >= self.capacity / 8)
    }

    /// Frees every key no pool refers to (`refs`, per key id).
    fn sweep(&mut self, refs: &[u32], now: Stamp) {
        self.swept = now;
        self.interned_since_sweep = 0;
        for id in 0..self.entries.len() {
            if refs.get(id).is_some_and(|r| *r > 0) || self.entries[id].name.is_empty() {
                continue;
            }
            self.ids.remove(&key_hash(&self.entries[id].name));
            self.entries[id] = KeyEntry::new(b"");
            self.free.push(id as PoolKey);
        }
    }

    fn name(&self, id: PoolKey) -> &[u8] {
        &self.entries[id as usize].name
    }

    /// Whether `scope` allows the key; remembered per key for the first 64 rules (`rule_bit`).
    fn allows(&mut self, id: PoolKey, scope: &Scope, scope_index: Option<usize>) -> bool {
        let e = &mut self.entries[id as usize];
        let Some(bit) = rule_bit(scope_index) else {
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

    /// Where the key's values live for a container request (`KeyHome`); remembered per key for
    /// the first 64 rules, as `allows` is.
    fn home(&mut self, id: PoolKey, c: &ContainerRequest<'_>, scope_index: Option<usize>) -> KeyHome {
        let e = &mut self.entries[id as usize];
        let Some(bit) = rule_bit(scope_index) else {
            return c.home(&e.name);
        };
        if e.homed & bit == 0 {
            e.homed |= bit;
            match c.home(&e.name) {
                KeyHome::Entity => {}
                KeyHome::SharedWhenAgreed => {
                    e.container_scoped |= bit;
                    e.shared_when_agreed |= bit;
                }
                KeyHome::Container => e.container_scoped |= bit,
            }
        }
        match (e.container_scoped & bit != 0, e.shared_when_agreed & bit != 0) {
            (false, _) => KeyHome::Entity,
            (true, true) => KeyHome::SharedWhenAgreed,
            (true, false) => KeyHome::Container,
        }
    }
}

/// The bit of a rule in a key's per-rule decisions; the first 64 rules have one, later rules
/// (and entity references, which have no rule) are decided every time.
fn rule_bit(scope_index: Option<usize>) -> Option<u64> {
    scope_index.filter(|i| *i < 64).map(|i| 1u64 << i)
}

struct Shard {
    entities: Clock<Entity>,
    links: Clock<Link>,
    keys: PoolKeys,
    present: Vec<PoolKey>,
}

/// Counters of the state, read by `Engine::stats`.
#[derive(Default)]
pub struct Counters {
    pub evictions: AtomicU64,
    pub ambiguous_links: AtomicU64,
    pub ambiguous_attributes: AtomicU64,
    pub containers_full: AtomicU64,
    pub attributes_not_pooled: AtomicU64,
}

pub struct State {
    shards: Box<[CacheLine<Mutex<Shard>>]>,
    mask: u64,
    pub counters: Counters,
    /// Entities whose description changed, for entity events (`events`).
    pub changes: Changes,
    /// Change stamps and the link epoch, which every change here updates.
    pub freshness: Freshness,
}

/// The resource being pooled: its attributes (key, encoded value) and its scope.
pub struct PoolRequest<'r> {
    pub attrs: &'r [(&'r [u8], &'r [u8])],
    pub scope: &'r Scope,
    /// Rule index, used to cache scope decisions per key (`None` for entity references).
    pub scope_index: Option<usize>,
    /// For an entity made of containers, the container scope.
    pub containers: Option<ContainerRequest<'r>>,
    /// What decided the entity, and which resource variant this is (`fragmentation`).
    pub kind: Kind,
    pub variant: u32,
    /// The entity's identifying keys and values, when the resource showed its canonical
    /// identity and entity events are published; empty otherwise.
    pub identity: &'r [(String, String)],
    /// The partition a new entity counts against (`Partition::group`).
    pub group: u32,
}

/// Which container a resource speaks for, and which keys belong to one container.
pub struct ContainerRequest<'r> {
    /// One tag per key naming the resource's container (see `containers`); empty when the
    /// resource names no container, or names one only by values that identify nothing.
    pub tags: &'r [u64],
    /// Whether the resource names a container at all (by a value that identifies it or not):
    /// such a resource speaks for that container, never for the whole entity.
    pub names_container: bool,
    pub scoped: &'r Scope,
    pub shared_when_agreed: &'r Scope,
}

/// Where a pooled key's values live and whom they may fill.
enum KeyHome {
    /// The entity's pool: fills every resource of the entity.
    Entity,
    /// In the entity's pool, for agreement of every source: fills resources naming no container.
    /// Also per container: from resources that name theirs, in that container; from those that
    /// name none, which speak for the whole entity (pod-label service naming), in the entity's
    /// voice (`ENTITY_VOICE`). A container's own value fills its resources; where its sources
    /// reported none, the entity's voice does, when every source naming no container agreed.
    SharedWhenAgreed,
    /// Per container only.
    Container,
}

impl ContainerRequest<'_> {
    fn home(&self, key: &[u8]) -> KeyHome {
        if !self.scoped.allows(key) {
            KeyHome::Entity
        } else if self.shared_when_agreed.allows(key) {
            KeyHome::SharedWhenAgreed
        } else {
            KeyHome::Container
        }
    }
}

/// Splits `max` into power-of-two shards: enough that threads rarely meet, few enough that each
/// holds a fair LRU sample.
fn shard_count(max: u64) -> usize {
    ((max.max(1) / 1024) as usize).clamp(1, 64).next_power_of_two().min(64)
}

/// Capacity of shard `i` of `shards` when `max` is split exactly: the capacities add up to `max`
/// (the first `max % shards` shards hold one more), so the bound is never exceeded.
fn shard_capacity(max: u64, shards: usize, i: usize) -> usize {
    let max = max.max(1) as usize;
    (max / shards + usize::from(i < max % shards)).max(1)
}

/// Why an attribute outside the pooling scope was not pooled.
fn out_of_scope(scope: &Scope, key: &[u8]) -> Reported {
    if scope.excludes(key) { Reported::Excluded } else { Reported::OutOfScope }
}

impl Shard {
    /// Frees the keys that no live entity's pools use. When live entities use more than 7/8 of
    /// the table (a flood of junk keys on entities that keep coming), the largest pools are
    /// emptied until 3/4 of it is in use, so that the flood, not everyone, loses pooling. Returns
    /// the entities emptied and the values they held.
    fn sweep_keys(&mut self, now: Stamp) -> (Vec<EntityId>, u64) {
        let mut refs = vec![0u32; self.keys.entries.len()];
        let mut sizes: Vec<(usize, EntityId)> = Vec::new();
        let live = |e: &Entity| !self.entities.expired(e.age.last_seen, now);
        for (id, e) in self.entities.iter().filter(|(_, e)| live(e)) {
            let keys = e.pool.iter().chain(e.containers.iter().flat_map(|c| c.pool.iter()));
            let mut n = 0;
            for (k, _) in keys {
                refs[k as usize] += 1;
                n += 1;
            }
            sizes.push((n, *id));
        }
        let mut used = refs.iter().filter(|r| **r > 0).count();
        let mut emptied = Vec::new();
        let mut dropped = 0u64;
        if used > self.keys.capacity / 8 * 7 {
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            for (_, id) in sizes {
                if used <= self.keys.capacity / 4 * 3 {
                    break;
                }
                let Some(e) = self.entities.peek_mut(id) else { continue };
                for (k, _) in e.pool.iter().chain(e.containers.iter().flat_map(|c| c.pool.iter())) {
                    refs[k as usize] -= 1;
                    used -= usize::from(refs[k as usize] == 0);
                    dropped += 1;
                }
                e.pool = Pool::default();
                e.containers = Containers::default();
                emptied.push(id);
            }
        }
        self.keys.sweep(&refs, now);
        (emptied, dropped)
    }
}

impl State {
    pub fn new(max_entities: u64, ttl_seconds: u64) -> State {
        State::build(max_entities, ttl_seconds, false)
    }

    /// A state whose entities and links are shared fairly between partitions: past the bound, a
    /// partition over its share loses its own least recently seen first (`clock`).
    pub fn fair(max_entities: u64, ttl_seconds: u64) -> State {
        State::build(max_entities, ttl_seconds, true)
    }

    fn build(max_entities: u64, ttl_seconds: u64, fair: bool) -> State {
        fn clock<V: Aging>(fair: bool, capacity: usize, ttl: Stamp) -> Clock<V> {
            if fair { Clock::fair(capacity, ttl) } else { Clock::new(capacity, ttl) }
        }
        let shards = shard_count(max_entities);
        let ttl = ttl_seconds.min(u32::MAX as u64) as u32;
        State {
            shards: (0..shards)
                .map(|i| {
                    let capacity = shard_capacity(max_entities, shards, i);
                    CacheLine(Mutex::new(Shard {
                        entities: clock(fair, capacity, ttl),
                        links: clock(fair, capacity, ttl),
                        keys: PoolKeys::new(MIN_KEYS_PER_SHARD.max(4 * capacity)),
                        present: Vec::new(),
                    }))
                })
                .collect(),
            mask: shards as u64 - 1,
            counters: Counters::default(),
            changes: Changes::new(max_entities),
            freshness: Freshness::new(max_entities),
        }
    }

    fn shard(&self, id: EntityId) -> &Mutex<Shard> {
        &self.shards[(id as u64 & self.mask) as usize]
    }

    fn count_evictions(&self, n: u64) {
        if n > 0 {
            self.counters.evictions.fetch_add(n, Relaxed);
        }
    }

    /// The target of an unambiguous, live link from `from`.
    pub fn resolve(&self, from: EntityId, now: Stamp) -> Option<Link> {
        let mut shard = self.shard(from).lock();
        let mut evicted = 0;
        let link = shard.links.get_live(from, now, &mut evicted).map(|l| {
            l.age.touch(now);
            *l
        });
        drop(shard);
        self.count_evictions(evicted);
        link.filter(|l| !l.ambiguous)
    }

    /// Records that the identity `from` was seen on a resource of entity `target`.
    pub fn link(&self, from: EntityId, target: EntityId, rule: u16, group: u32, now: Stamp) {
        if from == target {
            return;
        }
        let mut shard = self.shard(from).lock();
        let mut evicted = 0;
        match shard.links.get_live(from, now, &mut evicted) {
            Some(l) => {
                if l.target != target && !l.ambiguous {
                    l.ambiguous = true;
                    self.counters.ambiguous_links.fetch_add(1, Relaxed);
                    self.freshness.links_changed();
                }
                l.age.touch(now);
            }
            None => {
                shard.links.insert(from, Link { group, ..Link::new(target, rule, false, now) }, now, &mut evicted);
                self.freshness.links_changed();
            }
        }
        drop(shard);
        self.count_evictions(evicted);
    }

    /// Marks a live entity seen; false when it is not in memory.
    pub fn touch_entity(&self, id: EntityId, now: Stamp) -> bool {
        let mut shard = self.shard(id).lock();
        let mut evicted = 0;
        let live = shard.entities.get_live(id, now, &mut evicted).map(|e| e.age.touch(now)).is_some();
        drop(shard);
        self.count_evictions(evicted);
        live
    }

    /// Pools the resource's in-scope attributes into entity `id`, calls `fill` with every pooled,
    /// unambiguous, in-scope attribute the resource lacks, and tells `obs` why each attribute
    /// was or was not pooled and given.
    pub fn pool<O: Observer>(
        &self,
        id: EntityId,
        req: &PoolRequest<'_>,
        now: Stamp,
        obs: &mut O,
        mut fill: impl FnMut(&[u8], &[u8]),
    ) {
        let mut guard = self.shard(id).lock();
        let shard = &mut *guard;
        if shard.keys.wants_sweep(req.attrs.len(), now) {
            let (emptied, dropped) = shard.sweep_keys(now);
            for e in emptied {
                self.freshness.changed(e);
            }
            self.counters.attributes_not_pooled.fetch_add(dropped, Relaxed);
        }
        let mut evicted = 0;
        let mut described = false;
        let entity = match shard.entities.get_live(id, now, &mut evicted) {
            Some(e) => e,
            None => {
                self.freshness.changed(id);
                described = true;
                shard.entities.insert(id, Entity { group: req.group, ..Entity::new(now) }, now, &mut evicted)
            }
        };
        entity.age.touch(now);
        entity.kind = req.kind;
        entity.variants.add(req.variant);
        if !req.identity.is_empty() && !same_identity(entity.identity.as_deref(), req.identity) {
            entity.identity = Some(req.identity.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect());
            described = true;
        }
        shard.present.clear();
        let mut reported: Vec<(PoolKey, &[u8])> = Vec::with_capacity(req.attrs.len());
        let mut reported_for_container: Vec<(PoolKey, &[u8])> = Vec::new();
        let names_container = req.containers.as_ref().is_some_and(|c| c.names_container);
        let mut not_pooled = 0u64;
        // New keys a resource may add to the table: no more than its entity's pool can take.
        let mut new_keys = crate::state::pool::MAX_POOL_KEYS.saturating_sub(entity.pool.len());
        for (key, value) in req.attrs {
            let k = match shard.keys.get(key) {
                Some(k) => k,
                // A key no pool holds is stored only when it is pooled: in scope, not blank, and
                // of a bounded size.
                None if !req.scope.allows(key) => {
                    if O::ENABLED {
                        obs.reported(key, value, out_of_scope(req.scope, key));
                    }
                    continue;
                }
                None if value.is_empty() => {
                    obs.reported(key, value, Reported::Blank);
                    continue;
                }
                None => match Some(value)
                    .filter(|v| v.len() <= MAX_VALUE_BYTES && new_keys > 0)
                    .and_then(|_| shard.keys.intern(key))
                {
                    Some(k) => {
                        new_keys -= 1;
                        k
                    }
                    None => {
                        not_pooled += 1;
                        obs.reported(key, value, Reported::TooLarge);
                        continue;
                    }
                },
            };
            if shard.present.contains(&k) {
                continue; // a duplicate key: the first occurrence is the resource's value
            }
            shard.present.push(k);
            if value.is_empty() {
                // A blank value (`Engine::pool`): the resource's own, but nothing to pool.
                obs.reported(key, value, Reported::Blank);
                continue;
            }
            if !shard.keys.allows(k, req.scope, req.scope_index) {
                if O::ENABLED {
                    obs.reported(key, value, out_of_scope(req.scope, key));
                }
                continue;
            }
            match req.containers.as_ref().map_or(KeyHome::Entity, |c| shard.keys.home(k, c, req.scope_index)) {
                KeyHome::Entity => {
                    reported.push((k, value));
                    obs.reported(key, value, Reported::Pooled);
                }
                KeyHome::SharedWhenAgreed => {
                    reported.push((k, value));
                    reported_for_container.push((k, value));
                    obs.reported(key, value, Reported::Pooled);
                }
                KeyHome::Container if !names_container => {
                    // Belongs to a container, and the resource names none: nowhere to keep it.
                    obs.reported(key, value, Reported::PooledForContainer);
                }
                KeyHome::Container => {
                    reported_for_container.push((k, value));
                    obs.reported(key, value, Reported::PooledForContainer);
                }
            }
        }
        let (mut changed, mut ambiguous, refused) = entity.pool.merge_all(&reported, MAX_POOL_BYTES);
        not_pooled += u64::from(refused);
        let tags = req.containers.as_ref().map_or(&[][..], |c| c.tags);
        // Whom the resource speaks for: its container, or (naming none) the whole entity, whose
        // voice is kept only when it says something.
        let speaks_for = match req.containers {
            Some(_) if !names_container && !reported_for_container.is_empty() => &ENTITY_VOICE[..],
            _ => tags,
        };
        if !speaks_for.is_empty() {
            // Even a resource with nothing to pool per container records its tags: that is how
            // a container named by id in one source and by name in another becomes one.
            let (container, c, a) = entity.containers.for_tags(speaks_for);
            changed |= c;
            ambiguous += a;
            if container.is_none() {
                self.counters.containers_full.fetch_add(1, Relaxed);
            }
            if let Some(container) = container {
                let (c, a, refused) = container.pool.merge_all(&reported_for_container, MAX_CONTAINER_POOL_BYTES);
                changed |= c;
                ambiguous += a;
                not_pooled += u64::from(refused);
            }
        }
        if ambiguous > 0 {
            self.counters.ambiguous_attributes.fetch_add(ambiguous as u64, Relaxed);
        }
        if not_pooled > 0 {
            self.counters.attributes_not_pooled.fetch_add(not_pooled, Relaxed);
        }
        if changed {
            self.freshness.changed(id);
        }
        if (changed || described) && self.changes.enabled() {
            self.changes.push(id);
        }
        let keys = &mut shard.keys;
        let present = &shard.present;
        let own_container = entity.containers.find(tags);
        let entity_voice = if names_container { entity.containers.find(&ENTITY_VOICE) } else { None };
        let reported_by = |c: Option<&Container>, k: PoolKey| c.is_some_and(|c| c.pool.iter().any(|(ck, _)| ck == k));
        // Keys told to the observer, so that what is left can be told as container-scoped.
        let mut offered: Vec<PoolKey> = Vec::new();
        let mut offer = |keys: &PoolKeys, k: PoolKey, v: Option<&[u8]>, why: Offer| {
            if O::ENABLED {
                obs.offered(keys.name(k), v, why);
                offered.push(k);
            }
        };
        for (k, v) in entity.pool.iter() {
            if present.contains(&k) {
                offer(keys, k, v, Offer::OwnValue);
                continue;
            }
            if !keys.allows(k, req.scope, req.scope_index) {
                offer(keys, k, v, Offer::OutOfScope);
                continue;
            }
            // A resource that names its container takes shared values from its container, or
            // else from the entity's voice (below); one that names none takes what all agreed on.
            let fills = match req.containers.as_ref().map_or(KeyHome::Entity, |c| keys.home(k, c, req.scope_index)) {
                KeyHome::Entity => true,
                KeyHome::SharedWhenAgreed => !names_container,
                KeyHome::Container => false,
            };
            match (fills, v) {
                (true, Some(v)) => {
                    fill(keys.name(k), v);
                    offer(keys, k, Some(v), Offer::Filled);
                }
                (true, None) => offer(keys, k, None, Offer::Ambiguous),
                (false, _) => {}
            }
        }
        let voiced =
            entity_voice.into_iter().flat_map(|c| c.pool.iter()).filter(|(k, _)| !reported_by(own_container, *k));
        for (k, v) in own_container.into_iter().flat_map(|c| c.pool.iter()).chain(voiced) {
            if present.contains(&k) {
                offer(keys, k, v, Offer::OwnValue);
            } else if !keys.allows(k, req.scope, req.scope_index) {
                offer(keys, k, v, Offer::OutOfScope);
            } else if let Some(v) = v {
                fill(keys.name(k), v);
                offer(keys, k, Some(v), Offer::Filled);
            } else {
                offer(keys, k, None, Offer::Ambiguous);
            }
        }
        if O::ENABLED {
            // What other containers hold, or the entity holds for containers only.
            let rest = entity.pool.iter().chain(entity.containers.iter().flat_map(|c| c.pool.iter()));
            for (k, v) in rest {
                if !present.contains(&k) && !offered.contains(&k) {
                    obs.offered(keys.name(k), v, Offer::ContainerScoped);
                    offered.push(k);
                }
            }
        }
        drop(guard);
        self.count_evictions(evicted);
    }

    pub fn entity_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().entities.len() as u64).sum()
    }

    /// What entity events say of entity `id`, if it is live and has an identity.
    pub fn describe(&self, id: EntityId, now: Stamp) -> Option<Description> {
        let shard = self.shard(id).lock();
        let e = shard.entities.peek(id)?;
        if shard.entities.expired(e.age.last_seen, now) {
            return None;
        }
        describe(&shard, e)
    }

    /// Calls `each` with every live entity that has an identity, and its description.
    pub fn for_each_description(&self, now: Stamp, mut each: impl FnMut(EntityId, Description)) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (id, e) in shard.entities.iter().filter(|(_, e)| !shard.entities.expired(e.age.last_seen, now)) {
                if let Some(d) = describe(&shard, e) {
                    each(*id, d);
                }
            }
        }
    }

    /// Calls `each` with the kind and variant count of every entity held (as `entity_count`
    /// counts them).
    pub fn for_each_entity_kind(&self, mut each: impl FnMut(Kind, u64)) {
        for shard in self.shards.iter() {
            for (_, e) in shard.lock().entities.iter() {
                each(e.kind, e.variants.len());
            }
        }
    }

    pub fn link_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().links.len() as u64).sum()
    }

    /// Heap bytes of pooled attribute values (the part of an entity that grows with its sources).
    pub fn pooled_bytes(&self) -> u64 {
        let entity_bytes = |e: &Entity| e.pool.heap_bytes() + e.containers.heap_bytes();
        self.shards.iter().map(|s| s.lock().entities.iter().map(|(_, e)| entity_bytes(e) as u64).sum::<u64>()).sum()
    }
}

fn describe(shard: &Shard, e: &Entity) -> Option<Description> {
    let identity = e.identity.as_ref()?;
    Some(Description {
        kind: e.kind,
        identity: identity.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        attributes: e.pool.iter().filter_map(|(k, v)| Some((shard.keys.name(k).to_vec(), v?.to_vec()))).collect(),
        last_seen: e.age.last_seen,
    })
}

fn same_identity(held: Option<&[(Box<str>, Box<str>)]>, shown: &[(String, String)]) -> bool {
    held.is_some_and(|h| h.len() == shown.len() && h.iter().zip(shown).all(|(a, b)| *a.0 == *b.0 && *a.1 == *b.1))
}

/// A bounded queue of entities whose description changed, drained by the entity events
/// reporter. Off until a reporter asks; a full queue drops (and counts) what does not fit: the
/// periodic full report repairs it.
pub struct Changes {
    enabled: std::sync::atomic::AtomicBool,
    queue: Mutex<(std::collections::VecDeque<EntityId>, std::collections::HashSet<EntityId, FastState>)>,
    capacity: usize,
    pub dropped: AtomicU64,
}

impl Changes {
    fn new(capacity: u64) -> Changes {
        Changes {
            enabled: std::sync::atomic::AtomicBool::new(false),
            queue: Mutex::default(),
            capacity: capacity.max(1) as usize,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }

    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    fn push(&self, id: EntityId) {
        let mut guard = self.queue.lock();
        let (queue, queued) = &mut *guard;
        if queued.contains(&id) {
            return;
        }
        if queue.len() >= self.capacity {
            self.dropped.fetch_add(1, Relaxed);
            return;
        }
        queue.push_back(id);
        queued.insert(id);
    }

    /// Takes every queued entity, oldest first.
    pub fn drain(&self) -> Vec<EntityId> {
        let mut guard = self.queue.lock();
        guard.1.clear();
        guard.0.drain(..).collect()
    }
}

/// What entity events say of one entity (`State::describe`).
pub struct Description {
    pub kind: Kind,
    pub identity: Vec<(String, String)>,
    /// Agreed pooled attributes: key and encoded value (ambiguous ones left out).
    pub attributes: Vec<(Vec<u8>, Vec<u8>)>,
    pub last_seen: Stamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Quiet;

    /// A request for an entity with no containers, as rule 0 decided it.
    fn plain_request<'r>(attrs: &'r [(&'r [u8], &'r [u8])], scope: &'r Scope) -> PoolRequest<'r> {
        PoolRequest {
            attrs,
            scope,
            scope_index: Some(0),
            containers: None,
            kind: 0,
            variant: 0,
            identity: &[],
            group: 0,
        }
    }

    fn scope_all() -> Scope {
        crate::rules::Scope::of_keys([&b"k"[..], b"j"], &Scope::default())
    }

    #[test]
    fn a_container_beyond_the_bound_is_counted_and_pooled_nowhere() {
        let s = State::new(100, 3600);
        let scope = scope_all();
        let (scoped, shared) = (scope_all(), Scope::default());
        let pool = |tag: u64, value: &[u8]| {
            let tags = [tag];
            let attrs = [(&b"k"[..], value)];
            let containers = Some(ContainerRequest {
                tags: &tags,
                names_container: true,
                scoped: &scoped,
                shared_when_agreed: &shared,
            });
            let req = PoolRequest {
                attrs: &attrs,
                scope: &scope,
                scope_index: Some(0),
                containers,
                kind: 0,
                variant: 0,
                identity: &[],
                group: 0,
            };
            let mut filled = Vec::new();
            s.pool(1, &req, 0, &mut Quiet, |k, v| filled.push((k.to_vec(), v.to_vec())));
            filled
        };
        for tag in 0..crate::state::containers::MAX_TAGS as u64 {
            pool(tag, b"v");
        }
        assert_eq!(s.counters.containers_full.load(Relaxed), 0);
        let req_without_value = pool(1000, b"other");
        assert!(req_without_value.is_empty(), "nothing container-scoped reaches an unrecorded container");
        assert_eq!(s.counters.containers_full.load(Relaxed), 1);
    }

    #[test]
    fn links_resolve_until_two_targets_claim_them() {
        let s = State::new(100, 60);
        s.link(1, 10, 0, 0, 0);
        assert_eq!(s.resolve(1, 1).map(|l| l.target), Some(10));
        s.link(1, 10, 0, 0, 2);
        assert_eq!(s.resolve(1, 2).map(|l| l.target), Some(10));
        s.link(1, 11, 0, 0, 3);
        assert_eq!(s.resolve(1, 3), None);
        assert_eq!(s.counters.ambiguous_links.load(Relaxed), 1);
    }

    #[test]
    fn shard_capacities_add_up_to_the_bound() {
        for max in [1u64, 7, 1000, 10_000, 100_000, 123_457, 1_000_000] {
            let shards = shard_count(max);
            let total: usize = (0..shards).map(|i| shard_capacity(max, shards, i)).sum();
            assert_eq!(total as u64, max.max(shards as u64), "max_entities {max}");
        }
    }

    #[test]
    fn entries_expire_after_ttl() {
        let s = State::new(100, 60);
        s.link(1, 10, 0, 0, 0);
        assert!(s.resolve(1, 60).is_some());
        assert!(s.resolve(1, 121).is_none());
        assert_eq!(s.link_count(), 0);
    }

    #[test]
    fn size_limit_evicts_least_recently_seen() {
        let s = State::new(4, 3600);
        let scope = scope_all();
        let req = plain_request(&[(b"k", b"v")], &scope);
        for id in 0..10u128 {
            s.pool(id, &req, 0, &mut Quiet, |_, _| {});
        }
        assert_eq!(s.entity_count(), 4);
        assert_eq!(s.counters.evictions.load(Relaxed), 6);
    }

    fn pool_in(s: &State, id: EntityId, attrs: &[(&[u8], &[u8])], scope: &Scope, now: Stamp) -> Vec<Vec<u8>> {
        let req = plain_request(attrs, scope);
        let mut filled = Vec::new();
        s.pool(id, &req, now, &mut Quiet, |k, _| filled.push(k.to_vec()));
        filled
    }

    fn keys_held(s: &State) -> usize {
        s.shards.iter().map(|sh| sh.lock().keys.live()).sum()
    }

    #[test]
    fn out_of_scope_blank_and_oversized_keys_are_never_stored() {
        let s = State::new(100, 3600);
        let scope = Scope::new(&["k8s.pod.*".into()], &[], &[]);
        let long_key = vec![b'k'; MAX_KEY_BYTES + 1];
        let mut long_in_scope = b"k8s.pod.".to_vec();
        long_in_scope.extend(&long_key);
        let big_value = vec![b'v'; MAX_VALUE_BYTES + 1];
        let attrs: [(&[u8], &[u8]); 5] = [
            (b"junk.1", b"x"),
            (&long_key, b"x"),
            (b"k8s.pod.blank", b""),
            (&long_in_scope, b"x"),
            (b"k8s.pod.big", &big_value),
        ];
        pool_in(&s, 1, &attrs, &scope, 0);
        assert_eq!(keys_held(&s), 0, "nothing out of scope, blank or oversized is interned");
        assert_eq!(s.counters.attributes_not_pooled.load(Relaxed), 2, "the in-scope oversized ones are counted");
    }

    #[test]
    fn a_junk_key_flood_loses_its_own_pooling_not_everyones() {
        let s = State::new(100, 60);
        let scope = Scope::new(&["*".into()], &[], &[]);
        let capacity = s.shards[0].lock().keys.capacity;
        // Fill the key table with the junk keys of entities that stay live.
        let junk: Vec<Vec<u8>> = (0..capacity).map(|i| format!("junk.{i}").into_bytes()).collect();
        for (i, chunk) in junk.chunks(crate::state::pool::MAX_POOL_KEYS).enumerate() {
            let attrs: Vec<(&[u8], &[u8])> = chunk.iter().map(|k| (&k[..], &b"x"[..])).collect();
            pool_in(&s, 1000 + i as EntityId, &attrs, &scope, 0);
        }
        assert_eq!(keys_held(&s), capacity);
        // A new entity's new key is pooled: the largest pools (the junk) are emptied to make room,
        // and what they lost is counted.
        pool_in(&s, 1, &[(b"service.name", b"api")], &scope, 1);
        assert_eq!(pool_in(&s, 1, &[], &scope, 1), vec![b"service.name".to_vec()]);
        assert!(keys_held(&s) <= capacity / 4 * 3 + 1, "{} keys held", keys_held(&s));
        assert!(s.counters.attributes_not_pooled.load(Relaxed) >= (capacity / 8) as u64);
        // Past the TTL the junk's keys make room for a table's worth of new keys (the table is
        // swept when it is full), with nothing refused.
        let refused = s.counters.attributes_not_pooled.load(Relaxed);
        let fresh: Vec<Vec<u8>> = (0..capacity - 1).map(|i| format!("fresh.{i}").into_bytes()).collect();
        for (i, chunk) in fresh.chunks(crate::state::pool::MAX_POOL_KEYS).enumerate() {
            let attrs: Vec<(&[u8], &[u8])> = chunk.iter().map(|k| (&k[..], &b"x"[..])).collect();
            pool_in(&s, 5000 + i as EntityId, &attrs, &scope, 100);
        }
        assert_eq!(s.counters.attributes_not_pooled.load(Relaxed), refused);
    }

    #[test]
    fn pooling_fills_only_missing_unambiguous_in_scope_keys() {
        let s = State::new(100, 3600);
        let scope = scope_all();
        let rich = [(&b"k"[..], &b"1"[..]), (b"j", b"2"), (b"out", b"3")];
        s.pool(5, &plain_request(&rich, &scope), 0, &mut Quiet, |_, _| {});
        let mut filled = Vec::new();
        let sparse = [(&b"j"[..], &b"own"[..])];
        s.pool(5, &plain_request(&sparse, &scope), 0, &mut Quiet, |k, v| filled.push((k.to_vec(), v.to_vec())));
        // `j` is now ambiguous (2 vs own), `out` is out of scope, `k` is filled.
        assert_eq!(filled, vec![(b"k".to_vec(), b"1".to_vec())]);
        let mut filled = Vec::new();
        s.pool(5, &plain_request(&[], &scope), 0, &mut Quiet, |k, _| filled.push(k.to_vec()));
        assert_eq!(filled, vec![b"k".to_vec()]);
    }
}
