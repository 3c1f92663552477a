//! Partitions (tenants): which partition a resource is processed in, and how many are live.
//!
//! Isolation is by id: every id the engine stores (entities, links) or caches by (answers) is
//! mixed with the partition's key (`id::in_partition`), so a lookup made in one partition can
//! only find what that partition wrote. Nothing else of the state is keyed by tenant, so the one
//! mechanism covers pooling, links, container values, cached answers and snapshots alike.
//!
//! A batch's partition comes from the caller (client metadata or auth, read by the processor)
//! or from each resource's partition attribute. Data whose partition is absent or empty is
//! processed in the configured default partition, and counted.
//!
//! Fairness between partitions is by admission: at most `partition.max_partitions` partitions are
//! processed with state at once. A partition keeps its place while it sends data within the TTL;
//! one that arrives when every place is taken is served statelessly (each resource identified by
//! what it carries, nothing stored, pooled, linked or cached) until a place frees. A client that
//! invents tenant names therefore takes at most the free places, never the places, entities or
//! keys of the tenants already served. The default partition is always served with state.
//! Among the partitions served, `max_entities` is shared by eviction: past it, a partition over
//! its share loses its own least recently seen entities and links first (`Partition::group`,
//! `clock`'s fair clock).

use crate::clock::{Age, Aging, Clock, Stamp};
use crate::config::{PartitionConfig, PartitionSource};
use crate::id::partition_key;
use crate::resource::Attr;
use crate::rules::matcher::{id_value, unset};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The partition a resource is processed in: `key` is what its ids are mixed with (`None`: the
/// unnamed partition, whose ids are plain), `defaulted` whether it is there because its own
/// partition was absent, `stateless` whether it is served statelessly: identified by what it
/// carries, nothing stored, pooled or linked (its partition found no place, cannot be
/// told, or a fleet's router saw another one: `Engine::identify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Partition {
    pub key: Option<u128>,
    pub defaulted: bool,
    pub stateless: bool,
}

impl Partition {
    fn named(name: &[u8]) -> Option<u128> {
        (!name.is_empty()).then(|| partition_key(name))
    }

    /// The group its entities and links count against for fairness (`clock`): 0 for the unnamed
    /// partition (and for what a snapshot restored, whose partition the ids no longer tell).
    pub fn group(&self) -> u32 {
        self.key.map_or(0, |k| k as u32 | 1)
    }

    /// `id` as stored in this partition.
    pub fn id(&self, id: crate::id::EntityId) -> crate::id::EntityId {
        match self.key {
            Some(key) => crate::id::in_partition(id, key),
            None => id,
        }
    }
}

struct Seen(Age);

impl Aging for Seen {
    fn age(&mut self) -> &mut Age {
        &mut self.0
    }
}

pub struct Partitions {
    attribute: Option<Box<[u8]>>,
    enabled: bool,
    /// Whether partitions are admitted (counted against `max_partitions`); not for a router
    /// (`Mode::Route`), which stores nothing and so gives every partition the same service.
    admits: bool,
    default: Partition,
    live: Mutex<Clock<Seen>>,
    /// The latest time a partition was seen, against which `live` counts.
    latest: AtomicU32,
    /// The default partition's name (empty: the unnamed partition).
    default_name: Box<[u8]>,
}

impl Partitions {
    pub fn new(config: &PartitionConfig, ttl_seconds: u64, admits: bool) -> Partitions {
        let source = config.source();
        Partitions {
            attribute: match source {
                PartitionSource::Attribute(key) => Some(key.as_bytes().into()),
                _ => None,
            },
            enabled: source != PartitionSource::None,
            admits,
            default: Partition { key: Partition::named(config.default.as_bytes()), defaulted: true, stateless: false },
            live: Mutex::new(Clock::new(config.max_partitions as usize, ttl_seconds.min(u32::MAX as u64) as u32)),
            latest: AtomicU32::new(0),
            default_name: config.default.as_bytes().into(),
        }
    }

    /// The partition of a whole batch whose caller named `given` (empty: it could not tell), and
    /// the partition's name for its entity events: `given`, or the default partition's when the
    /// batch went there (empty: the unnamed partition). `None` when each resource names its own
    /// (the partition attribute).
    pub fn of_batch<'a>(&'a self, given: &'a [u8], now: Stamp) -> Option<(Partition, &'a [u8])> {
        if !self.enabled {
            return Some((Partition::default(), b""));
        }
        if self.attribute.is_some() {
            return None;
        }
        Some(self.resolve(given, now))
    }

    /// The partition a resource names by the partition attribute. Its value names it as it
    /// names an entity (`id_value`): a string as it is, an integer in decimal, so that `42` and
    /// `"42"` are one tenant as they are one identity. An absent or empty value names none (the
    /// default partition). Any other value (a placeholder such as `unknown` or `$(TENANT)`, a
    /// double, bool, bytes, array, map, or a string too long to identify) is a tenant that
    /// cannot be told: never the default partition, which would pool it with every tenant's
    /// unlabelled data, but served statelessly, its ids mixed with its raw value so that they
    /// are nobody else's.
    /// Writes the partition's name to `name`, as `of_batch` gives it.
    pub fn of_resource(&self, attrs: &[Attr<'_>], now: Stamp, name: &mut Vec<u8>) -> Partition {
        name.clear();
        let Some(key) = &self.attribute else {
            return Partition::default();
        };
        let Some(attr) = attrs.iter().find(|a| a.key == &key[..]).filter(|a| !unset(a.value)) else {
            let (partition, default_name) = self.resolve(b"", now);
            name.extend_from_slice(default_name);
            return partition;
        };
        match id_value(attr.value) {
            Some(value) => {
                name.extend_from_slice(value.text_borrowed().as_bytes());
                self.resolve(name, now).0
            }
            None => Partition { key: Partition::named(attr.raw_value), defaulted: false, stateless: true },
        }
    }

    /// The partition named `name`, or the default one when it is empty, and its name (the
    /// default partition's when it is that one); counted as seen, and marked `stateless` when it
    /// has no place.
    fn resolve<'a>(&'a self, name: &'a [u8], now: Stamp) -> (Partition, &'a [u8]) {
        let (mut partition, name) = match Partition::named(name) {
            Some(key) => (Partition { key: Some(key), defaulted: false, stateless: false }, name),
            None => (self.default, &self.default_name[..]),
        };
        partition.stateless = self.admits && !self.admit(partition, now);
        (partition, name)
    }

    /// Whether `partition` has a place: it had one within the TTL, or a free one is left.
    fn admit(&self, partition: Partition, now: Stamp) -> bool {
        self.latest.fetch_max(now, Relaxed);
        let key = partition.key.unwrap_or(0);
        let mut live = self.live.lock();
        let mut evicted = 0;
        if let Some(seen) = live.get_live(key, now, &mut evicted) {
            seen.0.touch(now);
            return true;
        }
        live.insert_if_room(key, Seen(Age::new(now)), now, &mut evicted) || partition.defaulted
    }

    /// Partitions that sent data within the TTL before the latest data (0 when partitioning is
    /// off).
    pub fn live(&self) -> u64 {
        let now = self.latest.load(Relaxed);
        let live = self.live.lock();
        live.iter().filter(|(_, s)| !live.expired(s.0.last_seen, now)).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partitions_metric_states_the_bound() {
        let spec = crate::stats::STATS.iter().find(|s| s.name == "partitions").unwrap();
        assert!(spec.description.contains("partition.max_partitions"), "{}", spec.description);
    }

    fn partitions(max: u64, ttl: u64) -> Partitions {
        let config = PartitionConfig { metadata: Some("tenant".into()), max_partitions: max, ..Default::default() };
        Partitions::new(&config, ttl, true)
    }

    #[test]
    fn a_partition_beyond_the_bound_waits_for_a_place_and_displaces_none() {
        let p = partitions(2, 10);
        let served = |name: &[u8], now| !p.of_batch(name, now).unwrap().0.stateless;
        assert!(served(b"a", 0) && served(b"b", 0));
        for t in 0..100u32 {
            assert!(!served(format!("invented-{t}").as_bytes(), 1), "no place while a and b are live");
        }
        assert!(served(b"a", 5) && served(b"b", 5), "the tenants already served keep their places");
        assert!(served(b"", 5), "the default partition is always served");
        assert!(!served(b"c", 12), "a and b stay live until 15");
        assert!(served(b"e", 16), "a place frees a TTL after a partition goes quiet");
        assert_eq!(p.live(), 1, "only e sent data within the TTL");
    }
}
