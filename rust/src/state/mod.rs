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

pub(crate) mod changes;
pub(crate) mod containers;
pub(crate) mod fragmentation;
mod keys;
mod padded;
pub(crate) mod partitions;
pub(crate) mod pool;
pub(crate) mod pooling;
pub(crate) mod snapshot;

pub use crate::state::changes::Changes;
use crate::state::keys::PoolKeys;

use crate::answers::freshness::Freshness;
use crate::clock::{Age, Aging, Clock, Evictions, Stamp};
use crate::id::EntityId;
use crate::observe::Offer;
use crate::state::containers::Containers;
use crate::state::fragmentation::{Kind, UNKNOWN, Variants};
use crate::state::padded::CacheLine;
use crate::state::pool::{Pool, PoolKey};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Fewest distinct keys a shard's key table holds; it holds 4 per entity the shard may hold, if
/// more (`State::new`). Keys no live entity uses are swept out when the table is full.
const MIN_KEYS_PER_SHARD: usize = 4096;

#[derive(Debug, Clone)]
struct Entity {
    age: Age,
    /// What the entity's sources reported, apart from values that belong to one container.
    pool: Pool,
    /// The entity's containers and the values that belong to each.
    containers: Containers,
    /// What decided the entity, and the distinct resources that described it (`fragmentation`).
    kind: Kind,
    variants: Variants,
    /// What entity events say the entity is, kept only while they are published
    /// (`engine::events`).
    identity: Option<Box<Identity>>,
    /// The partition it counts against (`Partition::group`; 0 when restored from a snapshot).
    group: u32,
}

/// The identifying keys and values of an entity (its canonical identity alternative), and the
/// name of its partition (empty: the unnamed one), whose tenant its events are sent as.
#[derive(Debug, Clone)]
struct Identity {
    values: Box<[(Box<str>, Box<str>)]>,
    partition: Box<[u8]>,
}

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
    fn set_group(&mut self, group: u32) {
        self.group = group;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub target: EntityId,
    /// Index of the rule whose type, scope and name the linked resource takes.
    pub rule: u16,
    ambiguous: bool,
    age: Age,
    /// The partition it counts against, as an entity's.
    group: u32,
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
    fn set_group(&mut self, group: u32) {
        self.group = group;
    }
}

/// The entities one call's clock dropped: counted, and each one's change stamp renewed.
struct EntityEvictions<'a> {
    count: u64,
    freshness: &'a Freshness,
}

impl Evictions for EntityEvictions<'_> {
    fn evicted(&mut self, id: u128) {
        self.count += 1;
        self.freshness.changed(id);
    }
}

struct Shard {
    entities: Clock<Entity>,
    links: Clock<Link>,
    keys: PoolKeys,
    present: Vec<PoolKey>,
    /// Scratch of `State::pool`: the keys of the entity told to a resource, filled or not.
    offered: Vec<PoolKey>,
    /// Scratch of `State::pool`, kept borrowing nothing (`resource::recycle`): what a resource
    /// reported for its entity's pool and for its container's.
    reported: Vec<(PoolKey, &'static [u8])>,
    reported_for_container: Vec<(PoolKey, &'static [u8])>,
}

/// Counters of the state, read by `Engine::stats`.
#[derive(Default)]
pub struct Counters {
    pub evictions: AtomicU64,
    pub ambiguous_links: AtomicU64,
    pub ambiguous_attributes: AtomicU64,
    pub containers_full: AtomicU64,
    pub attributes_not_pooled: AtomicU64,
    /// Fills refused, by reason (`refusal_index`).
    pub fills_refused: [AtomicU64; 3],
}

impl Counters {
    /// Fills refused for `why` (0 for an offer that is no refusal).
    pub fn fills_refused(&self, why: Offer) -> u64 {
        refusal_index(why).map_or(0, |i| self.fills_refused[i].load(Relaxed))
    }
}

/// The reasons a fill is refused that the processor counts (`stats::FILLS_REFUSED`).
pub fn refusal_index(offer: Offer) -> Option<usize> {
    match offer {
        Offer::Ambiguous => Some(0),
        Offer::ContainerScoped => Some(1),
        Offer::OutOfScope => Some(2),
        Offer::Filled | Offer::OwnValue => None,
    }
}

pub struct State {
    shards: Box<[CacheLine<Mutex<Shard>>]>,
    mask: u64,
    counters: Counters,
    /// Entities whose description changed, for entity events (`engine::events`).
    changes: Changes,
    /// Change stamps and the link epoch, which every change here updates.
    freshness: Freshness,
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
                        offered: Vec::new(),
                        reported: Vec::new(),
                        reported_for_container: Vec::new(),
                    }))
                })
                .collect(),
            mask: shards as u64 - 1,
            counters: Counters::default(),
            changes: Changes::new(max_entities),
            freshness: Freshness::new(max_entities),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    fn shard(&self, id: EntityId) -> &Mutex<Shard> {
        &self.shards[self.shard_index(id)]
    }

    fn shard_index(&self, id: EntityId) -> usize {
        (id as u64 & self.mask) as usize
    }

    fn count_evictions(&self, n: u64) {
        if n > 0 {
            self.counters.evictions.fetch_add(n, Relaxed);
        }
    }

    /// Counts the entities a shard's clock drops and makes the answers that read their pools
    /// stale (see `answers::freshness`).
    fn entity_evictions(&self) -> EntityEvictions<'_> {
        EntityEvictions { count: 0, freshness: &self.freshness }
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

    /// Whether `from` has a live link that two entities claimed (for `explain`).
    pub fn link_is_ambiguous(&self, from: EntityId) -> bool {
        self.shard(from).lock().links.peek(from).is_some_and(|l| l.ambiguous)
    }

    /// Records that the identity `from` was seen on a resource of entity `target`. Returns
    /// whether the link is ambiguous (claimed by another entity too).
    pub fn link(&self, from: EntityId, target: EntityId, rule: u16, group: u32, now: Stamp) -> bool {
        if from == target {
            return false;
        }
        let other = match self.sight(from, target, rule, group, now, None) {
            Sighting::Decided { ambiguous } => return ambiguous,
            Sighting::ContestedBy(other) => other,
        };
        // Two targets one of which links to the other are one entity seen through two names (a
        // bare host name claimed by a source without the account, to the host's id, and by one
        // with it, to the scoped name that is an alias of that id): they agree. Checked with
        // `from`'s shard unlocked, as the other target's link may be in another shard.
        if self.leads_to(other, target) || self.leads_to(target, other) {
            return match self.sight(from, target, rule, group, now, Some(other)) {
                Sighting::Decided { ambiguous } => ambiguous,
                // Changed meanwhile: decided by the next sighting.
                Sighting::ContestedBy(_) => false,
            };
        }
        self.contest(from, other, group, now)
    }

    /// One sighting of the link `from` → `target`, under `from`'s shard lock: a new link is
    /// recorded, the same (or an `agreed` one, or one already ambiguous) is touched, and another
    /// target is told to the caller, who decides with the lock released.
    fn sight(
        &self,
        from: EntityId,
        target: EntityId,
        rule: u16,
        group: u32,
        now: Stamp,
        agreed: Option<EntityId>,
    ) -> Sighting {
        let mut shard = self.shard(from).lock();
        let mut evicted = 0;
        let sighting = match shard.links.get_live_in(from, group, now, &mut evicted) {
            Some(l) if l.target != target && !l.ambiguous && agreed != Some(l.target) => {
                Sighting::ContestedBy(l.target)
            }
            Some(l) => {
                l.age.touch(now);
                Sighting::Decided { ambiguous: l.ambiguous }
            }
            None => {
                shard.links.insert(from, Link { group, ..Link::new(target, rule, false, now) }, now, &mut evicted);
                self.freshness.links_changed();
                Sighting::Decided { ambiguous: false }
            }
        };
        drop(shard);
        self.count_evictions(evicted);
        sighting
    }

    /// Marks the link `from` → `other` ambiguous, as a second entity claimed `from`; returns
    /// whether the link is ambiguous now.
    fn contest(&self, from: EntityId, other: EntityId, group: u32, now: Stamp) -> bool {
        let mut shard = self.shard(from).lock();
        let mut evicted = 0;
        let ambiguous = match shard.links.get_live_in(from, group, now, &mut evicted) {
            Some(l) if l.target == other && !l.ambiguous => {
                l.ambiguous = true;
                self.counters.ambiguous_links.fetch_add(1, Relaxed);
                self.freshness.links_changed();
                l.age.touch(now);
                true
            }
            // Changed meanwhile: decided by the next sighting.
            Some(l) => l.ambiguous,
            None => false,
        };
        drop(shard);
        self.count_evictions(evicted);
        ambiguous
    }

    /// Whether `from` has an unambiguous link to `to` (looked at, not seen: not touched).
    fn leads_to(&self, from: EntityId, to: EntityId) -> bool {
        self.shard(from).lock().links.peek(from).is_some_and(|l| !l.ambiguous && l.target == to)
    }

    /// Marks a live entity seen; false when it is not in memory.
    pub fn touch_entity(&self, id: EntityId, now: Stamp) -> bool {
        let mut shard = self.shard(id).lock();
        let mut evicted = self.entity_evictions();
        let live = shard.entities.get_live(id, now, &mut evicted).map(|e| e.age.touch(now)).is_some();
        drop(shard);
        self.count_evictions(evicted.count);
        live
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

    /// Calls `each` with every live entity that has an identity, and its description. The expired
    /// ones are dropped, not only passed over: a report that leaves an entity out says it is gone,
    /// and a batch whose clock is a second behind must then make it anew (and announce it), not
    /// find it live and go on using it unannounced.
    pub fn for_each_description(&self, now: Stamp, mut each: impl FnMut(EntityId, Description)) {
        let mut evicted = self.entity_evictions();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.entities.drop_expired(now, &mut evicted);
            for (id, e) in shard.entities.iter() {
                if let Some(d) = describe(&shard, e) {
                    each(*id, d);
                }
            }
        }
        self.count_evictions(evicted.count);
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
        identity: identity.values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        partition: identity.partition.to_vec(),
        attributes: e.pool.iter().filter_map(|(k, v)| Some((shard.keys.name(k).to_vec(), v?.to_vec()))).collect(),
        last_seen: e.age.last_seen,
    })
}

fn same_identity(held: Option<&Identity>, shown: &[(String, String)], partition: &[u8]) -> bool {
    held.is_some_and(|h| {
        *h.partition == *partition
            && h.values.len() == shown.len()
            && h.values.iter().zip(shown).all(|(a, b)| *a.0 == *b.0 && *a.1 == *b.1)
    })
}

/// What entity events say of one entity (`State::describe`).
pub struct Description {
    pub kind: Kind,
    pub identity: Vec<(String, String)>,
    /// Agreed pooled attributes: key and encoded value (ambiguous ones left out).
    pub attributes: Vec<(Vec<u8>, Vec<u8>)>,
    pub last_seen: Stamp,
    /// The name of its partition (empty: the unnamed one).
    pub partition: Vec<u8>,
}

/// What one sighting of a link found (`State::sight`).
enum Sighting {
    Decided {
        ambiguous: bool,
    },
    /// The link leads to another entity, not yet known to agree with this one.
    ContestedBy(EntityId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Quiet;
    use crate::resource::MAX_VALUE_BYTES;
    use crate::rules::Scope;
    use crate::state::keys::MAX_KEY_BYTES;
    use crate::state::pooling::{ContainerRequest, PoolRequest};

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
            partition: b"",
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
                partition: b"",
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

    #[test]
    fn an_entity_seen_once_goes_before_one_seen_again() {
        let s = State::new(4, 3600);
        let scope = scope_all();
        let req = plain_request(&[(b"k", b"v")], &scope);
        for id in 0..4u128 {
            s.pool(id, &req, 0, &mut Quiet, |_, _| {});
        }
        s.pool(0, &req, 1, &mut Quiet, |_, _| {});
        s.pool(4, &req, 1, &mut Quiet, |_, _| {});
        assert!(s.touch_entity(0, 1), "seen again: its second chance kept it");
        assert!(!s.touch_entity(1, 1), "seen once, the oldest of those: it went");
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
    fn a_key_swept_is_never_read_under_another_name_by_a_call_a_second_behind() {
        let s = State::new(100, 60);
        assert_eq!(s.shards.len(), 1, "one key table");
        let scope = Scope::new(&["*".into()], &[], &[]);
        let capacity = s.shards[0].lock().keys.capacity;
        // Entities seen at 30 fill the key table but one key; entity 1, seen at 0, takes the last.
        let keys: Vec<Vec<u8>> = (0..capacity - 1).map(|i| format!("k.{i}").into_bytes()).collect();
        for (i, chunk) in keys.chunks(crate::state::pool::MAX_POOL_KEYS).enumerate() {
            let attrs: Vec<(&[u8], &[u8])> = chunk.iter().map(|k| (&k[..], &b"x"[..])).collect();
            pool_in(&s, 1000 + i as EntityId, &attrs, &scope, 30);
        }
        pool_in(&s, 1, &[(b"secret", b"topsecret")], &scope, 0);
        // At 61 entity 1 has expired (a 60 s TTL): a new key sweeps the full table, which frees
        // `secret` (and, the table being over 7/8 full, the largest pools' keys, in lower ids),
        // and takes its id: the highest freed, the first reused.
        pool_in(&s, 2, &[(b"new.key", b"x")], &scope, 61);
        // A call whose clock read 60 (another thread's batch, a second behind) finds entity 1
        // gone, not live with a pool whose key ids name other keys now.
        let mut filled = Vec::new();
        s.pool(1, &plain_request(&[], &scope), 60, &mut Quiet, |k, v| filled.push((k.to_vec(), v.to_vec())));
        assert!(filled.iter().all(|(k, v)| k == b"secret" || v != b"topsecret"), "{filled:?}");
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
        assert_eq!(s.counters.fills_refused(Offer::Ambiguous), 1, "`j`, refused to the resource lacking it");
    }

    #[test]
    fn fills_refused_are_counted_by_reason() {
        let s = State::new(100, 3600);
        let (scope, scoped, shared) =
            (scope_all(), crate::rules::Scope::of_keys([&b"k"[..]], &Scope::default()), Scope::default());
        let narrow = crate::rules::Scope::of_keys([&b"j"[..]], &Scope::default());
        let pool = |tags: &[u64], attrs: &[(&[u8], &[u8])], scope: &Scope| {
            let containers = Some(ContainerRequest {
                tags,
                names_container: !tags.is_empty(),
                scoped: &scoped,
                shared_when_agreed: &shared,
            });
            let req = PoolRequest { containers, scope_index: None, ..plain_request(attrs, scope) };
            s.pool(5, &req, 0, &mut Quiet, |_, _| {});
        };
        // Container 1 reports `k` (container-scoped) and the entity `j`.
        pool(&[1], &[(b"k", b"api"), (b"j", b"x")], &scope);
        // Container 2 lacks `k`: it belongs to container 1.
        pool(&[2], &[], &scope);
        assert_eq!(s.counters.fills_refused(Offer::ContainerScoped), 1);
        // A resource naming no container does not take `k` either; one of container 1 whose rule
        // pools only `j` is refused `k` as out of scope.
        pool(&[], &[], &scope);
        assert_eq!(s.counters.fills_refused(Offer::ContainerScoped), 2);
        pool(&[1], &[], &narrow);
        assert_eq!(s.counters.fills_refused(Offer::OutOfScope), 1);
        // Container 3 reports another `j`: a resource lacking it is refused it as ambiguous.
        pool(&[3], &[(b"j", b"y")], &scope);
        assert_eq!(s.counters.fills_refused(Offer::Ambiguous), 0);
        pool(&[3], &[], &scope);
        assert_eq!(s.counters.fills_refused(Offer::Ambiguous), 1, "`j`: x or y");
        assert_eq!(s.counters.fills_refused(Offer::ContainerScoped), 4, "`k`, every time a resource lacks it");
    }
}
