//! Pooling: what one resource's sources reported goes into its entity's pools (the entity's, a
//! container's, the entity's voice), and what the entity holds fills what the resource lacks.

use crate::clock::{Evictions, Stamp};
use crate::id::EntityId;
use crate::observe::{Observer, Offer, Reported};
use crate::resource::{MAX_VALUE_BYTES, recycle};
use crate::rules::Scope;
use crate::state::containers::{Container, Containers};
use crate::state::fragmentation::Kind;
use crate::state::keys::{KeyHome, PoolKeys};
use crate::state::pool::{MAX_CONTAINER_POOL_BYTES, MAX_POOL_BYTES, Pool, PoolKey};
use crate::state::{Entity, Identity, Shard, State, refusal_index, same_identity};
use std::sync::atomic::Ordering::Relaxed;

/// The tag of the entity's voice: a pseudo-container holding what the sources that name no
/// container reported of the keys shared when agreed (`KeyHome::SharedWhenAgreed`). No resource
/// names it, so it never merges with a real container.
const ENTITY_VOICE: [u64; 1] = [u64::MAX];

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
    /// The partition a new entity counts against (`Partition::group`), and its name.
    pub group: u32,
    pub partition: &'r [u8],
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

impl ContainerRequest<'_> {
    pub(super) fn home(&self, key: &[u8]) -> KeyHome {
        if !self.scoped.allows(key) {
            KeyHome::Entity
        } else if self.shared_when_agreed.allows(key) {
            KeyHome::SharedWhenAgreed
        } else {
            KeyHome::Container
        }
    }
}

/// What a resource was offered of its entity's values: the keys told, and the refusals counted
/// by reason (`refusal_index`).
struct Told<'t, O> {
    offered: &'t mut Vec<PoolKey>,
    refusals: [u64; 3],
    obs: &'t mut O,
}

impl<O: Observer> Told<'_, O> {
    fn offer(&mut self, keys: &PoolKeys, k: PoolKey, v: Option<&[u8]>, why: Offer) {
        self.offered.push(k);
        if let Some(i) = refusal_index(why) {
            self.refusals[i] += 1;
        }
        if O::ENABLED {
            self.obs.offered(keys.name(k), v, why);
        }
    }
}

/// Why an attribute outside the pooling scope was not pooled.
fn out_of_scope(scope: &Scope, key: &[u8]) -> Reported {
    if scope.excludes(key) { Reported::Excluded } else { Reported::OutOfScope }
}

impl Shard {
    /// Drops the expired entities (told to `evicted`) and frees the keys no entity left uses.
    /// An expired entity is dropped, not only passed over: a call whose clock is a second behind
    /// would still find it live, and read its pool through key ids that name other keys now.
    /// When the entities use more than 7/8 of the table (a flood of junk keys on entities that
    /// keep coming), the largest pools are emptied until 3/4 of it is in use, so that the flood,
    /// not everyone, loses pooling. Returns the entities emptied and the values they held.
    fn sweep_keys(&mut self, now: Stamp, evicted: &mut impl Evictions) -> (Vec<EntityId>, u64) {
        self.entities.drop_expired(now, evicted);
        let mut refs = vec![0u32; self.keys.entries.len()];
        let mut sizes: Vec<(usize, EntityId)> = Vec::new();
        for (id, e) in self.entities.iter() {
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
    /// Pools the resource's in-scope attributes into entity `id`, calls `fill` with every pooled,
    /// unambiguous, in-scope attribute the resource lacks, and tells `obs` why each attribute
    /// was or was not pooled and given. Returns the entity's change stamp as the fills saw it,
    /// which an answer built from them is valid under.
    pub fn pool<O: Observer>(
        &self,
        id: EntityId,
        req: &PoolRequest<'_>,
        now: Stamp,
        obs: &mut O,
        mut fill: impl FnMut(&[u8], &[u8]),
    ) -> u64 {
        let mut guard = self.shard(id).lock();
        let shard = &mut *guard;
        let mut evicted = self.entity_evictions();
        if shard.keys.wants_sweep(req.attrs.len(), now) {
            let (emptied, dropped) = shard.sweep_keys(now, &mut evicted);
            for e in emptied {
                self.freshness.changed(e);
            }
            self.counters.attributes_not_pooled.fetch_add(dropped, Relaxed);
        }
        let mut described = false;
        let mut new = false;
        let entity = match shard.entities.get_live_in(id, req.group, now, &mut evicted) {
            Some(e) => {
                e.age.touch(now);
                e
            }
            // Seen now, not yet seen again: a new entity earns its second chance in the clock
            // only when a later resource shows it, so that entities seen once go first.
            None => {
                described = true;
                new = true;
                shard.entities.insert(id, Entity { group: req.group, ..Entity::new(now) }, now, &mut evicted)
            }
        };
        entity.kind = req.kind;
        entity.variants.add(req.variant);
        if !req.identity.is_empty() && !same_identity(entity.identity.as_deref(), req.identity, req.partition) {
            let values = req.identity.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect();
            entity.identity = Some(Box::new(Identity { values, partition: req.partition.into() }));
            described = true;
        }
        shard.present.clear();
        let mut reported: Vec<(PoolKey, &[u8])> = recycle(std::mem::take(&mut shard.reported));
        let mut reported_for_container: Vec<(PoolKey, &[u8])> =
            recycle(std::mem::take(&mut shard.reported_for_container));
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
            match req
                .containers
                .as_ref()
                .map_or(KeyHome::Entity, |c| shard.keys.home(k, |key| c.home(key), req.scope_index))
            {
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
        shard.reported = recycle(reported);
        shard.reported_for_container = recycle(reported_for_container);
        if ambiguous > 0 {
            self.counters.ambiguous_attributes.fetch_add(ambiguous as u64, Relaxed);
        }
        if not_pooled > 0 {
            self.counters.attributes_not_pooled.fetch_add(not_pooled, Relaxed);
        }
        // A new entity's pool was read by no answer yet (answers::freshness): renewing its
        // stamp would only make the answers of the entities sharing its cell stale.
        if changed && !new {
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
        // Keys told to the resource, filled or not, so that what is left is counted (and told)
        // as container-scoped; and the refusals by reason (`stats::FILLS_REFUSED`).
        shard.offered.clear();
        let mut told = Told { offered: &mut shard.offered, refusals: [0; 3], obs };
        let mut offer = |keys: &PoolKeys, k: PoolKey, v: Option<&[u8]>, why: Offer| told.offer(keys, k, v, why);
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
            let fills = match req
                .containers
                .as_ref()
                .map_or(KeyHome::Entity, |c| keys.home(k, |key| c.home(key), req.scope_index))
            {
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
        // What other containers hold, or the entity holds for containers only.
        let rest = entity.pool.iter().chain(entity.containers.iter().flat_map(|c| c.pool.iter()));
        for (k, v) in rest {
            if !present.contains(&k) && !told.offered.contains(&k) {
                told.offer(keys, k, v, Offer::ContainerScoped);
            }
        }
        for (counter, n) in self.counters.fills_refused.iter().zip(told.refusals) {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        // Read under the lock, after this resource's own changes and the fills they allow: any
        // later change to the entity takes the lock and draws a fresh stamp.
        let stamp = self.freshness.change_stamp(id);
        drop(guard);
        self.count_evictions(evicted.count);
        stamp
    }
}
