//! Snapshot format of the engine's state, for persistence across restarts.
//!
//! `"RESQSNAP" | version u32 | body length u64 | body | XXH3-64 of body (u64)`, all little endian.
//! Body: entity count u64, then per entity `id u128 | last_seen u32 | attributes | container
//! count u32 | (tag count u32 | tag u64* | attributes)*` where attributes are `count u32 | (key bytes |
//! state u8 | value bytes)*`; link count u64, then per link
//! `from u128 | target u128 | rule name bytes | ambiguous u8 | last_seen u32`. Byte strings are
//! `u32 length | bytes`. Stamps are seconds since 2020-01-01. A snapshot is read whole or not at
//! all: any doubt (magic, version, length, checksum, structure) rejects it and the state stays as it was.
//! `save` and `load` move the engine's state into and out of that format.

use crate::clock::Stamp;
use crate::id::EntityId;
use crate::rules::RuleSet;
use crate::state::containers::Container;
use crate::state::pool::{MAX_CONTAINER_POOL_BYTES, MAX_POOL_BYTES, Pool, PoolKey};
use crate::state::{Entity, Link, PoolKeys, Shard, State};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"RESQSNAP";
/// Version 2 added the per-container pools.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decoded pooled attributes: key, value or `None` when ambiguous.
pub type AttrRecords = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A decoded entity: id, last seen, attributes, and per container its tags and attributes.
pub type EntityRecord = (EntityId, Stamp, AttrRecords, Vec<(Vec<u64>, AttrRecords)>);

/// A decoded link: from, target, rule name, ambiguous, last seen.
pub type LinkRecord = (EntityId, EntityId, String, bool, Stamp);

#[derive(Default)]
pub struct Writer {
    body: Vec<u8>,
    count_at: usize,
    count: u64,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    fn begin_section(&mut self) {
        self.count_at = self.body.len();
        self.count = 0;
        self.body.extend_from_slice(&0u64.to_le_bytes());
    }

    fn end_section(&mut self) {
        self.body[self.count_at..self.count_at + 8].copy_from_slice(&self.count.to_le_bytes());
    }

    pub fn begin_entities(&mut self) {
        self.begin_section();
    }

    /// Starts an entity; its attributes follow (`attributes`), then its container count and
    /// containers (`containers`, `container`).
    pub fn entity(&mut self, id: EntityId, last_seen: Stamp) {
        self.count += 1;
        self.body.extend_from_slice(&id.to_le_bytes());
        self.body.extend_from_slice(&last_seen.to_le_bytes());
    }

    pub fn attributes<'k>(&mut self, attrs: impl ExactSizeIterator<Item = (Vec<u8>, Option<&'k [u8]>)>) {
        self.body.extend_from_slice(&(attrs.len() as u32).to_le_bytes());
        for (key, value) in attrs {
            put_bytes(&mut self.body, &key);
            self.body.push(value.is_none() as u8);
            put_bytes(&mut self.body, value.unwrap_or_default());
        }
    }

    pub fn containers(&mut self, count: usize) {
        self.body.extend_from_slice(&(count as u32).to_le_bytes());
    }

    /// One container of the current entity; its attributes follow.
    pub fn container(&mut self, tags: &[u64]) {
        self.body.extend_from_slice(&(tags.len() as u32).to_le_bytes());
        for t in tags {
            self.body.extend_from_slice(&t.to_le_bytes());
        }
    }

    pub fn begin_links(&mut self) {
        self.end_section();
        self.begin_section();
    }

    pub fn link(&mut self, from: EntityId, target: EntityId, rule: &str, ambiguous: bool, last_seen: Stamp) {
        self.count += 1;
        self.body.extend_from_slice(&from.to_le_bytes());
        self.body.extend_from_slice(&target.to_le_bytes());
        put_bytes(&mut self.body, rule.as_bytes());
        self.body.push(ambiguous as u8);
        self.body.extend_from_slice(&last_seen.to_le_bytes());
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.end_section();
        let mut out = Vec::with_capacity(self.body.len() + 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.body.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&xxh3_64(&self.body).to_le_bytes());
        out
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if self.buf.len() < n {
            return Err(SnapshotError("snapshot is truncated".into()));
        }
        let (h, t) = self.buf.split_at(n);
        self.buf = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u128(&mut self) -> Result<u128, SnapshotError> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().unwrap()))
    }
    fn bytes(&mut self) -> Result<&'a [u8], SnapshotError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn attributes(&mut self) -> Result<AttrRecords, SnapshotError> {
        let na = self.u32()? as usize;
        if na > self.buf.len() / 9 {
            return Err(SnapshotError("snapshot counts more attributes than it holds".into()));
        }
        let mut attrs = Vec::with_capacity(na);
        for _ in 0..na {
            let key = self.bytes()?.to_vec();
            let ambiguous = self.u8()? != 0;
            let value = self.bytes()?;
            attrs.push((key, (!ambiguous).then(|| value.to_vec())));
        }
        Ok(attrs)
    }
    /// A count of records that each take at least `min_size` bytes, checked against what is left.
    fn count(&mut self, min_size: usize) -> Result<usize, SnapshotError> {
        let n = self.u64()?;
        if n > (self.buf.len() / min_size) as u64 {
            return Err(SnapshotError("snapshot counts more records than it holds".into()));
        }
        Ok(n as usize)
    }
}

/// Decodes a whole snapshot.
pub fn read(bytes: &[u8]) -> Result<(Vec<EntityRecord>, Vec<LinkRecord>), SnapshotError> {
    let mut r = Reader { buf: bytes };
    if r.take(8).ok() != Some(&MAGIC[..]) {
        return Err(SnapshotError("not a resourceequality snapshot (bad magic)".into()));
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(SnapshotError(format!(
            "snapshot version {version} is not supported (this engine reads version {VERSION})"
        )));
    }
    let len = r.u64()?;
    if len != r.buf.len().saturating_sub(8) as u64 {
        return Err(SnapshotError("snapshot length does not match its header".into()));
    }
    let body = r.take(len as usize)?;
    if xxh3_64(body).to_le_bytes() != r.take(8)? {
        return Err(SnapshotError("snapshot checksum does not match (corrupt)".into()));
    }
    let mut b = Reader { buf: body };
    let n = b.count(28)?;
    let mut entities = Vec::with_capacity(n);
    for _ in 0..n {
        let id = b.u128()?;
        let last_seen = b.u32()?;
        let attrs = b.attributes()?;
        let nc = b.u32()? as usize;
        if nc > b.buf.len() / 8 {
            return Err(SnapshotError("snapshot counts more containers than it holds".into()));
        }
        let mut containers = Vec::with_capacity(nc);
        for _ in 0..nc {
            let nt = b.u32()? as usize;
            if nt > b.buf.len() / 8 {
                return Err(SnapshotError("snapshot counts more container tags than it holds".into()));
            }
            let tags = (0..nt).map(|_| b.u64()).collect::<Result<Vec<_>, _>>()?;
            containers.push((tags, b.attributes()?));
        }
        entities.push((id, last_seen, attrs, containers));
    }
    let n = b.count(41)?;
    let mut links = Vec::with_capacity(n);
    for _ in 0..n {
        let from = b.u128()?;
        let target = b.u128()?;
        let rule = String::from_utf8(b.bytes()?.to_vec())
            .map_err(|_| SnapshotError("snapshot rule name is not UTF-8".into()))?;
        let ambiguous = b.u8()? != 0;
        let last_seen = b.u32()?;
        links.push((from, target, rule, ambiguous, last_seen));
    }
    if !b.buf.is_empty() {
        return Err(SnapshotError("snapshot has trailing bytes".into()));
    }
    Ok((entities, links))
}

/// The state's live entities and links as snapshot bytes.
pub fn save(state: &State, rules: &RuleSet, now: Stamp) -> Vec<u8> {
    let mut w = Writer::new();
    let mut links = Vec::new();
    w.begin_entities();
    state.export(
        now,
        |id, e, names| {
            w.entity(id, e.age.last_seen);
            w.attributes(e.pool.iter().map(|(k, v)| (names(k), v)).collect::<Vec<_>>().into_iter());
            w.containers(e.containers.len());
            for c in e.containers.iter() {
                w.container(&c.tags);
                w.attributes(c.pool.iter().map(|(k, v)| (names(k), v)).collect::<Vec<_>>().into_iter());
            }
        },
        |from, l| links.push((from, *l)),
    );
    w.begin_links();
    for (from, l) in links {
        w.link(from, l.target, &rules.rules[l.rule as usize].name, l.ambiguous, l.age.last_seen);
    }
    w.finish()
}

/// Replaces the state with a snapshot's, if the snapshot reads whole. Returns the number of
/// entities restored.
///
/// What a restore keeps is what the running engine would have kept:
/// - Each shard keeps its most recently seen entities that fit, so that an engine with a smaller
///   `max_entities` keeps the newest and evicts none while restoring (an evicted entity's keys
///   would stay in the key table and crowd out the survivors' values). They go in oldest first,
///   so that the clock's queue holds them in the order it evicts them. Links likewise.
/// - An entity is kept whole or not at all: one missing a value, or the mark that its sources
///   disagreed on a key, would fill resources the whole entity would have refused. So is one
///   whose pool the running engine could not have made (`Pool::restored`).
/// - A time recorded after `now` (a clock that was ahead) counts as `now`, so that no entry
///   outlives its TTL.
/// - Links to rules no longer in use are dropped.
pub fn load(state: &State, rules: &RuleSet, bytes: &[u8], now: Stamp) -> Result<u64, SnapshotError> {
    let (mut entities, mut links) = read(bytes)?;
    state.clear();
    entities.sort_by_key(|(_, last_seen, _, _)| std::cmp::Reverse(*last_seen));
    let fits = state.newest_that_fit(entities.iter().map(|(id, ..)| *id), |s| s.entities.capacity());
    let restored =
        entities.iter().zip(fits).rev().filter(|(record, fits)| *fits && state.import_entity(record, now)).count();
    links.sort_by_key(|(.., last_seen)| std::cmp::Reverse(*last_seen));
    let fits = state.newest_that_fit(links.iter().map(|(from, ..)| *from), |s| s.links.capacity());
    for ((from, target, rule, ambiguous, last_seen), _) in links.into_iter().zip(fits).rev().filter(|(_, fits)| *fits) {
        if let Some(rule) = rules.rules.iter().position(|r| *r.name == *rule) {
            state.import_link(from, Link::new(target, rule as u16, ambiguous, last_seen.min(now)), now);
        }
    }
    Ok(restored as u64)
}

/// Moving entities and links into and out of the state: here, beside the format, so that the
/// state needs nothing of it.
impl State {
    /// For keys newest first, whether each is among the newest its shard has room for.
    fn newest_that_fit(&self, keys: impl Iterator<Item = u128>, capacity: impl Fn(&Shard) -> usize) -> Vec<bool> {
        let room: Vec<usize> = self.shards.iter().map(|s| capacity(&s.lock())).collect();
        let mut taken = vec![0; room.len()];
        keys.map(|id| {
            let s = self.shard_index(id);
            taken[s] += 1;
            taken[s] <= room[s]
        })
        .collect()
    }

    /// Calls `entity` with every live entity (and a function naming its pool keys) and `link`
    /// with every live link.
    fn export(
        &self,
        now: Stamp,
        mut entity: impl FnMut(EntityId, &Entity, &dyn Fn(PoolKey) -> Vec<u8>),
        mut link: impl FnMut(EntityId, &Link),
    ) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            let names = |k: PoolKey| shard.keys.name(k).to_vec();
            for (id, e) in shard.entities.iter().filter(|(_, e)| !shard.entities.expired(e.age.last_seen, now)) {
                entity(*id, e, &names);
            }
            for (from, l) in shard.links.iter().filter(|(_, l)| !shard.links.expired(l.age.last_seen, now)) {
                link(*from, l);
            }
        }
    }

    /// Inserts a restored entity whole, if it has not expired and every pool of it is one
    /// pooling could have made (see `load`). Returns whether it was inserted.
    fn import_entity(&self, record: &EntityRecord, now: Stamp) -> bool {
        let (id, last_seen, attrs, containers) = record;
        let last_seen = (*last_seen).min(now);
        let mut guard = self.shard(*id).lock();
        let shard = &mut *guard;
        if shard.entities.expired(last_seen, now) {
            return false;
        }
        let mut entity = Entity::new(last_seen);
        let Some(pool) = restore_pool(&mut shard.keys, attrs, MAX_POOL_BYTES) else {
            return false;
        };
        entity.pool = pool;
        for (tags, attrs) in containers {
            let Some(pool) = restore_pool(&mut shard.keys, attrs, MAX_CONTAINER_POOL_BYTES) else {
                return false;
            };
            if !entity.containers.restore(Container { tags: tags.clone(), pool }) {
                return false;
            }
        }
        // Not a new entity's case: a call running beside the restore may have made this entity
        // after `clear` and answered from its empty pool, which the insert below replaces.
        self.freshness.changed(*id);
        let mut evicted = self.entity_evictions();
        shard.entities.insert(*id, entity, now, &mut evicted);
        drop(guard);
        self.count_evictions(evicted.count);
        true
    }

    /// Inserts a restored link; links already expired are skipped.
    fn import_link(&self, from: EntityId, link: Link, now: Stamp) {
        let mut shard = self.shard(from).lock();
        if shard.links.expired(link.age.last_seen, now) {
            return;
        }
        let mut evicted = 0;
        shard.links.insert(from, link, now, &mut evicted);
        drop(shard);
        self.freshness.links_changed();
        self.count_evictions(evicted);
    }

    /// Forgets everything (used when a snapshot is restored into a used engine), the pool keys
    /// too: a table left full of keys nothing uses any more would refuse the snapshot's own.
    fn clear(&self) {
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            s.entities.clear();
            s.links.clear();
            s.keys = PoolKeys::new(s.keys.capacity);
        }
        self.freshness.all_changed();
        self.freshness.links_changed();
    }
}

/// A restored pool, if every key has a place in the key table and the pool is one pooling could
/// have made. The keys of a pool refused are left for the table's next sweep.
fn restore_pool(keys: &mut PoolKeys, attrs: &AttrRecords, max_bytes: usize) -> Option<Pool> {
    if attrs.len() > Pool::MOST_KEYS {
        return None;
    }
    let mut entries = Vec::with_capacity(attrs.len());
    for (key, value) in attrs {
        entries.push((keys.intern(key)?, value.as_deref()));
    }
    Pool::restored(&entries, max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_entities();
        w.entity(7, 100);
        w.attributes(vec![(b"k".to_vec(), Some(&b"v"[..])), (b"a".to_vec(), None)].into_iter());
        w.containers(1);
        w.container(&[99, 98]);
        w.attributes(vec![(b"service.name".to_vec(), Some(&b"app"[..]))].into_iter());
        w.begin_links();
        w.link(1, 7, "k8s_pod", false, 100);
        w.finish()
    }

    #[test]
    fn round_trip() {
        let (e, l) = read(&sample()).unwrap();
        let container = (vec![99, 98], vec![(b"service.name".to_vec(), Some(b"app".to_vec()))]);
        assert_eq!(
            e,
            vec![(7, 100, vec![(b"k".to_vec(), Some(b"v".to_vec())), (b"a".to_vec(), None)], vec![container])]
        );
        assert_eq!(l, vec![(1, 7, "k8s_pod".to_string(), false, 100)]);
    }

    #[test]
    fn a_snapshot_restored_into_a_used_state_keeps_every_value() {
        let state = State::new(100, 3600);
        for shard in state.shards.iter() {
            let mut shard = shard.lock();
            for i in 0..shard.keys.capacity {
                shard.keys.intern(format!("junk.{i}").as_bytes());
            }
        }
        let (entities, _) = read(&sample()).unwrap();
        state.clear();
        for record in &entities {
            state.import_entity(record, 100);
        }
        let shard = state.shard(7).lock();
        let pool: Vec<&[u8]> = shard.entities.peek(7).unwrap().pool.iter().map(|(k, _)| shard.keys.name(k)).collect();
        assert_eq!(pool, [&b"k"[..], b"a"]);
    }

    #[test]
    fn every_damage_is_rejected() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(read(&good[..cut]).is_err(), "truncated at {cut}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            assert!(read(&bad).is_err(), "flipped byte {i}");
        }
        let mut newer = good.clone();
        newer[8] = 3;
        assert!(read(&newer).unwrap_err().0.contains("version 3"));
    }
}
