//! A bounded map with expiry, for the engine's state and its result cache.
//!
//! Entries expire `ttl` seconds after they were last seen; past `capacity` the least recently
//! seen go first. Recency is kept the CLOCK way (second chance): a hit only sets a reference bit,
//! and a referenced entry that reaches the front of the queue is moved to the back instead of
//! being evicted. Moving every hit to the back of a linked list would touch its cold neighbours,
//! several cache misses per lookup on a large map.
//!
//! A fair clock also counts its entries per group (a partition): past capacity, an entry of a
//! group that holds no more than its share (capacity / groups present) is passed over for one of
//! a group over its share, so that one partition's churn evicts its own entries, not a quiet
//! partition's.

use hashlink::LinkedHashMap;
use hashlink::linked_hash_map::Entry;

type FastState = foldhash::fast::FixedState;

/// Seconds since 2020-01-01T00:00:00Z: fits a u32 until 2156.
pub type Stamp = u32;
pub const STAMP_EPOCH_UNIX: u64 = 1_577_836_800;

pub fn stamp(unix_seconds: u64) -> Stamp {
    unix_seconds.saturating_sub(STAMP_EPOCH_UNIX).min(u32::MAX as u64) as Stamp
}

/// An entry's age: when it was last seen, and whether it was seen again since it was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    pub last_seen: Stamp,
    referenced: bool,
}

impl Age {
    pub fn new(now: Stamp) -> Age {
        Age { last_seen: now, referenced: false }
    }

    /// Marks the entry seen at `now`. Seen is never moved back: calls reach the engine with clocks
    /// a second apart, and a wall clock can step back, while the answers cached and leased from
    /// this entry keep the later time; an entry aged from the earlier one would expire while
    /// those answers, never due a touch, are still in use.
    pub fn touch(&mut self, now: Stamp) {
        self.last_seen = self.last_seen.max(now);
        self.referenced = true;
    }
}

pub trait Aging {
    fn age(&mut self) -> &mut Age;
    /// The group the entry counts against in a fair clock.
    fn group(&self) -> u32 {
        0
    }
    /// Moves the entry to another group (`Clock::get_live_in`); entries without groups ignore it.
    fn set_group(&mut self, _group: u32) {}
}

/// What a clock tells of each entry it evicts or finds expired, as it drops it.
pub trait Evictions {
    fn evicted(&mut self, key: u128);
}

/// A count is enough where nothing else depends on the entries dropped.
impl Evictions for u64 {
    fn evicted(&mut self, _key: u128) {
        *self += 1;
    }
}

/// Entries of groups within their share a fair clock passes over, second chances aside, before
/// it walks the queue for one of a group over its share (never evicting one within it).
const MAX_PASSED_OVER: usize = 64;

pub struct Clock<V> {
    map: LinkedHashMap<u128, V, FastState>,
    capacity: usize,
    ttl: Stamp,
    /// Entries per group, in a fair clock.
    groups: Option<Groups>,
}

impl<V: Aging> Clock<V> {
    pub fn new(capacity: usize, ttl: Stamp) -> Self {
        Clock { map: LinkedHashMap::with_hasher(FastState::default()), capacity: capacity.max(1), ttl, groups: None }
    }

    /// A clock that shares its capacity fairly between the groups of its entries.
    pub fn fair(capacity: usize, ttl: Stamp) -> Self {
        Clock { groups: Some(Default::default()), ..Clock::new(capacity, ttl) }
    }

    fn pop_front(&mut self) {
        if let Some((_, v)) = self.map.pop_front() {
            count_out(&mut self.groups, &v);
        }
    }

    pub fn expired(&self, last_seen: Stamp, now: Stamp) -> bool {
        past_ttl(self.ttl, last_seen, now)
    }

    /// The live entry under `key`; an expired one is removed (told to `evicted`). One probe.
    pub fn get_live(&mut self, key: u128, now: Stamp, evicted: &mut impl Evictions) -> Option<&mut V> {
        self.live_entry(key, None, now, evicted)
    }

    /// `get_live`, the entry counted against `group` from now on. One seen again in another
    /// group than it counted against moves to it: an entry restored from a snapshot counts
    /// against group 0 (the snapshot does not keep groups) until its partition sees it again.
    pub fn get_live_in(&mut self, key: u128, group: u32, now: Stamp, evicted: &mut impl Evictions) -> Option<&mut V> {
        self.live_entry(key, Some(group), now, evicted)
    }

    fn live_entry(
        &mut self,
        key: u128,
        group: Option<u32>,
        now: Stamp,
        evicted: &mut impl Evictions,
    ) -> Option<&mut V> {
        match self.map.entry(key) {
            Entry::Occupied(mut o) => {
                if past_ttl(self.ttl, o.get_mut().age().last_seen, now) {
                    count_out(&mut self.groups, &o.remove());
                    evicted.evicted(key);
                    None
                } else {
                    if let Some(group) = group.filter(|g| *g != o.get().group()) {
                        count_out(&mut self.groups, o.get());
                        o.get_mut().set_group(group);
                        count_in(&mut self.groups, o.get());
                    }
                    Some(o.into_mut())
                }
            }
            Entry::Vacant(_) => None,
        }
    }

    /// Inserts or replaces an entry; returns the entry. A new entry first makes room, so that
    /// trimming never evicts the entry being inserted (with a capacity of one, it would).
    pub fn insert(&mut self, key: u128, value: V, now: Stamp, evicted: &mut impl Evictions) -> &mut V {
        if !self.map.contains_key(&key) {
            self.trim(now, 1, evicted);
        }
        count_in(&mut self.groups, &value);
        match self.map.entry(key) {
            // Replaced in place (its queue position kept), as `LinkedHashMap::replace` does.
            Entry::Occupied(mut o) => {
                let old = std::mem::replace(o.get_mut(), value);
                count_out(&mut self.groups, &old);
                o.into_mut()
            }
            Entry::Vacant(v) => v.insert(value),
        }
    }

    /// Inserts a new entry only where there is room without evicting a live one: when full, a
    /// few entries at the front are looked at, the expired ones dropped and the live ones moved
    /// to the back, so that repeated attempts sweep the whole queue. Returns whether it was
    /// inserted; the entries dropped are told to `evicted`.
    pub fn insert_if_room(&mut self, key: u128, value: V, now: Stamp, evicted: &mut impl Evictions) -> bool {
        const LOOK: usize = 8;
        for _ in 0..LOOK {
            if self.map.len() < self.capacity {
                break;
            }
            let Some((&front, _)) = self.map.front() else { break };
            let age = self.map.get_mut(&front).expect("front entry").age();
            if past_ttl(self.ttl, age.last_seen, now) {
                self.pop_front();
                evicted.evicted(front);
            } else {
                age.referenced = false;
                self.map.to_back(&front);
            }
        }
        if self.map.len() >= self.capacity {
            return false;
        }
        count_in(&mut self.groups, &value);
        if let Some(old) = self.map.replace(key, value) {
            count_out(&mut self.groups, &old);
        }
        true
    }

    /// Keeps the queue within capacity and drops expired entries from its front: an expired
    /// front entry goes; past the limit, a referenced one gets a second chance at the back and an
    /// unreferenced one goes. Each call looks at a few more entries than it must, so expired
    /// entries are swept even without pressure. The entries dropped are told to `evicted`.
    fn trim(&mut self, now: Stamp, incoming: usize, evicted: &mut impl Evictions) {
        // The entries that may stay, with room for `incoming` more.
        let limit = self.capacity.saturating_sub(incoming);
        let mut budget = 2 + self.map.len().saturating_sub(limit) * 2;
        let mut passed_over = 0;
        while budget > 0 {
            let len = self.map.len();
            // One probe per entry looked at: the front entry's, kept to move or remove it.
            let Some(mut front) = self.map.front_entry() else { break };
            budget -= 1;
            let key = *front.key();
            let age = front.get_mut().age();
            if past_ttl(self.ttl, age.last_seen, now) {
                count_out(&mut self.groups, &front.remove());
                evicted.evicted(key);
            } else if std::mem::take(&mut age.referenced) {
                front.to_back();
            } else if len > limit {
                if !over_share(&self.groups, front.get(), limit) {
                    if passed_over == MAX_PASSED_OVER {
                        break; // the turn below finds a group over its share
                    }
                    passed_over += 1;
                    budget += 1;
                    front.to_back();
                    continue;
                }
                count_out(&mut self.groups, &front.remove());
                evicted.evicted(key);
            } else {
                break;
            }
        }
        // Every entry can have had its second chance already: evict by queue order, in a fair
        // clock passing over the entries of groups within their share. Past the limit some group
        // is over its share of it, so one turn of the queue finds one; the entries passed over go to
        // the back, so the next trims do not look at them again.
        let mut turn = self.map.len();
        while self.map.len() > limit {
            let Some((&key, entry)) = self.map.front() else { break };
            if self.groups.is_some() && turn > 0 && !over_share(&self.groups, entry, limit) {
                turn -= 1;
                self.map.to_back(&key);
                continue;
            }
            self.pop_front();
            evicted.evicted(key);
        }
    }

    /// Drops every expired entry (told to `evicted`).
    pub fn drop_expired(&mut self, now: Stamp, evicted: &mut impl Evictions) {
        let (ttl, groups) = (self.ttl, &mut self.groups);
        self.map.retain(|&key, v| {
            let live = !past_ttl(ttl, v.age().last_seen, now);
            if !live {
                count_out(groups, v);
                evicted.evicted(key);
            }
            live
        });
    }

    /// Most entries held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The entry under `key`, live or not, without touching it.
    pub fn peek(&self, key: u128) -> Option<&V> {
        self.map.get(&key)
    }

    /// `peek`, to change the entry.
    pub fn peek_mut(&mut self, key: u128) -> Option<&mut V> {
        self.map.get_mut(&key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&u128, &V)> {
        self.map.iter()
    }

    pub fn clear(&mut self) {
        self.map.clear();
        if let Some(groups) = &mut self.groups {
            groups.clear();
        }
    }
}

/// Whether an entry last seen at `last_seen` has expired at `now`: the one rule every path of a
/// clock ages its entries by (a free function, so that paths holding the map borrowed can call it).
fn past_ttl(ttl: Stamp, last_seen: Stamp, now: Stamp) -> bool {
    now.saturating_sub(last_seen) > ttl
}

type Groups = std::collections::HashMap<u32, usize, FastState>;

/// Whether `v`'s group holds more than its share of `limit` entries (always, in an unfair clock).
/// With more than `limit` entries, some group always does. (A free function, as `count_out`.)
fn over_share<V: Aging>(groups: &Option<Groups>, v: &V, limit: usize) -> bool {
    groups.as_ref().is_none_or(|g| g.get(&v.group()).copied().unwrap_or(0) > limit / g.len().max(1))
}

/// Counts `v` in its group (a free function, so that it borrows only the counts).
fn count_in<V: Aging>(groups: &mut Option<Groups>, v: &V) {
    if let Some(groups) = groups {
        *groups.entry(v.group()).or_default() += 1;
    }
}

/// Takes `v` out of its group's count (a free function, so that it borrows only the counts).
fn count_out<V: Aging>(groups: &mut Option<Groups>, v: &V) {
    if let Some(groups) = groups
        && let std::collections::hash_map::Entry::Occupied(mut o) = groups.entry(v.group())
    {
        *o.get_mut() -= 1;
        if *o.get() == 0 {
            o.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E(Age);
    impl Aging for E {
        fn age(&mut self) -> &mut Age {
            &mut self.0
        }
    }

    #[test]
    fn the_entry_inserted_is_never_the_one_evicted() {
        let mut c = Clock::new(1, 100);
        let mut ev = 0;
        for k in 0..4 {
            c.insert(k, E(Age::new(0)), 0, &mut ev).age().touch(0);
            assert!(c.get_live(k, 0, &mut ev).is_some());
            assert_eq!(c.len(), 1);
        }
        assert_eq!(ev, 3);
    }

    #[test]
    fn capacity_keeps_referenced_entries() {
        let mut c = Clock::new(3, 100);
        let mut ev = 0;
        for k in 0..3 {
            c.insert(k, E(Age::new(0)), 0, &mut ev);
        }
        c.get_live(0, 1, &mut ev).unwrap().age().touch(1);
        c.insert(3, E(Age::new(1)), 1, &mut ev);
        assert_eq!(ev, 1);
        assert!(c.get_live(0, 1, &mut ev).is_some(), "the referenced entry had a second chance");
        assert!(c.get_live(1, 1, &mut ev).is_none(), "the oldest unreferenced entry went");
    }

    struct G(Age, u32);
    impl Aging for G {
        fn age(&mut self) -> &mut Age {
            &mut self.0
        }
        fn group(&self) -> u32 {
            self.1
        }
    }

    #[test]
    fn a_fair_clock_evicts_from_the_group_over_its_share() {
        let mut c = Clock::fair(10, 100);
        let mut ev = 0;
        for k in 0..3 {
            c.insert(k, G(Age::new(0), 1), 0, &mut ev);
        }
        for k in 100..200 {
            c.insert(k, G(Age::new(1), 2), 1, &mut ev);
        }
        assert_eq!(c.len(), 10);
        assert!((0..3).all(|k| c.peek(k).is_some()), "group 1 holds 3, under its share of 5");
        assert_eq!(c.groups.as_ref().unwrap().get(&2), Some(&7));
        c.clear();
        assert!(c.groups.as_ref().unwrap().is_empty());
    }

    #[test]
    fn a_fair_clock_never_evicts_a_group_within_its_share_however_many_lead_the_queue() {
        // More unreferenced entries of the quiet group at the front than one trim passes over.
        let mut c = Clock::fair(400, 100);
        let mut ev = 0;
        for k in 0..(2 * MAX_PASSED_OVER as u128) {
            c.insert(k, G(Age::new(0), 1), 0, &mut ev);
        }
        for k in 1000..3000 {
            c.insert(k, G(Age::new(1), 2), 1, &mut ev);
        }
        assert_eq!(c.len(), 400);
        assert!((0..(2 * MAX_PASSED_OVER as u128)).all(|k| c.peek(k).is_some()), "group 1 is within its share");
    }

    #[test]
    fn a_fair_clock_with_one_group_keeps_the_clock_order() {
        let mut c = Clock::fair(3, 100);
        let mut ev = 0;
        for k in 0..3 {
            c.insert(k, G(Age::new(0), 1), 0, &mut ev);
        }
        c.get_live(0, 1, &mut ev).unwrap().age().touch(1);
        c.insert(3, G(Age::new(1), 1), 1, &mut ev);
        assert_eq!(ev, 1);
        assert!(c.peek(0).is_some(), "the referenced entry had a second chance");
        assert!(c.peek(1).is_none(), "the oldest unreferenced entry went, as in an unfair clock");
    }

    #[test]
    fn insert_if_room_never_evicts_a_live_entry() {
        let mut c = Clock::new(2, 5);
        let mut ev = 0;
        assert!(c.insert_if_room(1, E(Age::new(0)), 0, &mut ev));
        assert!(c.insert_if_room(2, E(Age::new(3)), 3, &mut ev));
        assert!(!c.insert_if_room(3, E(Age::new(4)), 4, &mut ev), "full of live entries");
        assert!(c.insert_if_room(3, E(Age::new(6)), 6, &mut ev), "entry 1 expired and made room");
        assert_eq!((ev, c.len()), (1, 2));
        assert!(c.get_live(2, 6, &mut ev).is_some());
    }

    #[test]
    fn expired_entries_are_not_returned() {
        let mut c = Clock::new(10, 5);
        let mut ev = 0;
        c.insert(1, E(Age::new(0)), 0, &mut ev);
        assert!(c.get_live(1, 5, &mut ev).is_some());
        assert!(c.get_live(1, 6, &mut ev).is_none());
        assert_eq!((ev, c.len()), (1, 0));
    }
}
