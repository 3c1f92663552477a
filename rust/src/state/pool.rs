//! The attributes pooled for one entity, packed into one allocation.
//!
//! An entity keeps every in-scope attribute its sources reported. A key whose sources disagree
//! becomes ambiguous and is never filled again (until the entity expires): when unsure, leave
//! attributes alone. Packed layout, one record per key:
//! `key id (u32 LE) | state (0 value, 1 ambiguous) | value length (u32 LE) | encoded AnyValue`.
//! Fifteen attributes of typical length take about 400 bytes.
//!
//! Bounds, so that memory follows from `max_entities` whatever sources send: a value longer
//! than `MAX_VALUE_BYTES` is not pooled, and a pool adds no new key once it holds `MAX_POOL_KEYS`
//! keys or its byte bound (`MAX_POOL_BYTES` for an entity). An entity therefore never holds more
//! than `MAX_POOL_BYTES` plus one record, nor more than `MAX_POOL_KEYS` keys of the key table.

/// Index of a key in the owning shard's key table.
pub type PoolKey = u32;

const VALUE: u8 = 0;
const AMBIGUOUS: u8 = 1;
const HEADER: usize = 9;

use crate::resource::MAX_VALUE_BYTES;
/// Most keys one pool holds (a pod's sources report a few dozen pooled keys).
pub const MAX_POOL_KEYS: usize = 128;
/// Most bytes one entity's pool grows to by adding keys.
pub const MAX_POOL_BYTES: usize = 16 * 1024;
/// Most bytes one container's pool grows to (it holds a few keys: `service.*` and the like).
pub const MAX_CONTAINER_POOL_BYTES: usize = 1024;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pool {
    packed: Box<[u8]>,
}

/// A pooled attribute: its value, or `None` when its sources disagreed.
pub type Entry<'p> = (PoolKey, Option<&'p [u8]>);

impl Pool {
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> {
        let mut rest: &[u8] = &self.packed;
        std::iter::from_fn(move || {
            if rest.len() < HEADER {
                return None;
            }
            let key = u32::from_le_bytes(rest[0..4].try_into().unwrap());
            let state = rest[4];
            let len = u32::from_le_bytes(rest[5..9].try_into().unwrap()) as usize;
            let value = &rest[HEADER..HEADER + len];
            rest = &rest[HEADER + len..];
            Some((key, (state == VALUE).then_some(value)))
        })
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.packed.len()
    }

    /// Records everything one source reported (key, value), rebuilding the pool at most once;
    /// the pool grows by new keys up to `max_bytes` and `MAX_POOL_KEYS`. Returns whether the
    /// pool changed, how many keys became ambiguous, and how many new ones found no room (or had
    /// a value over `MAX_VALUE_BYTES`).
    pub fn merge_all(&mut self, reported: &[(PoolKey, &[u8])], max_bytes: usize) -> (bool, u32, u32) {
        // Two passes over the report, the first counting what the second writes, so that a pool
        // that only gains keys (a new entity's, nearly always) is one allocation of its exact
        // size and nothing else is allocated.
        let mut disagreeing: Vec<PoolKey> = Vec::new();
        let mut extra = 0;
        let refused = self.new_records(reported, max_bytes, Some(&mut disagreeing), |_, v| extra += HEADER + v.len());
        if extra == 0 && disagreeing.is_empty() {
            return (false, 0, refused);
        }
        let mut out = Vec::with_capacity(self.packed.len() + extra);
        if disagreeing.is_empty() {
            out.extend_from_slice(&self.packed);
        } else {
            for (k, v) in self.iter() {
                put(&mut out, k, if disagreeing.contains(&k) { None } else { v });
            }
        }
        if extra > 0 {
            self.new_records(reported, max_bytes, None, |k, v| put(&mut out, k, Some(v)));
        }
        self.packed = out.into_boxed_slice();
        (true, disagreeing.len() as u32, refused)
    }

    /// Calls `new` with each reported key the pool takes as new, in order; known keys reported
    /// with another value go to `disagreeing`. A key's first occurrence in the report counts,
    /// later ones are passed over. Returns how many new keys found no room (or had a value over
    /// `MAX_VALUE_BYTES`).
    fn new_records<'r>(
        &self,
        reported: &[(PoolKey, &'r [u8])],
        max_bytes: usize,
        mut disagreeing: Option<&mut Vec<PoolKey>>,
        mut new: impl FnMut(PoolKey, &'r [u8]),
    ) -> u32 {
        let mut room = max_bytes.saturating_sub(self.packed.len());
        let mut key_room = MAX_POOL_KEYS.saturating_sub(self.len());
        let mut refused = 0;
        for (i, &(key, value)) in reported.iter().enumerate() {
            if reported[..i].iter().any(|(k, _)| *k == key) {
                continue;
            }
            if value.len() > MAX_VALUE_BYTES {
                refused += 1;
                continue;
            }
            match self.iter().find(|(k, _)| *k == key) {
                Some((_, Some(v))) if v != value => {
                    if let Some(d) = disagreeing.as_deref_mut() {
                        d.push(key);
                    }
                }
                Some(_) => {}
                None if room > 0 && key_room > 0 => {
                    room = room.saturating_sub(HEADER + value.len());
                    key_room -= 1;
                    new(key, value);
                }
                None => refused += 1,
            }
        }
        refused
    }

    /// Records everything another pool holds, as if its sources had reported here: its values
    /// are merged, its ambiguous keys become ambiguous here. Returns how many keys became
    /// ambiguous.
    pub fn absorb(&mut self, other: &Pool, max_bytes: usize) -> u32 {
        let values: Vec<(PoolKey, &[u8])> = other.iter().filter_map(|(k, v)| Some((k, v?))).collect();
        let (_, mut ambiguous, _) = self.merge_all(&values, max_bytes);
        for (k, _) in other.iter().filter(|(_, v)| v.is_none()) {
            let here = self.iter().find(|(key, _)| *key == k).map(|(_, v)| v.is_some());
            match here {
                Some(false) => {}
                Some(true) => {
                    self.set_ambiguous(k);
                    ambiguous += 1;
                }
                None => self.push(k, None),
            }
        }
        ambiguous
    }

    fn set_ambiguous(&mut self, key: PoolKey) {
        let mut out = Vec::with_capacity(self.packed.len());
        for (k, v) in self.iter() {
            put(&mut out, k, if k == key { None } else { v });
        }
        self.packed = out.into_boxed_slice();
    }

    /// Most keys a pool holds: `MAX_POOL_KEYS`, and as many more ambiguous ones a merge of
    /// another pool adds (`absorb`).
    pub const MOST_KEYS: usize = 2 * MAX_POOL_KEYS;

    /// Most bytes a pool bounded by `max_bytes` holds: `merge_all` takes a new record while any
    /// room is left, so the last one may pass the bound by a whole record, and `absorb` adds up
    /// to `MAX_POOL_KEYS` ambiguous keys, a header each.
    const fn most_bytes(max_bytes: usize) -> usize {
        max_bytes + HEADER + MAX_VALUE_BYTES + MAX_POOL_KEYS * HEADER
    }

    /// A pool as a snapshot records it, if it is one this engine could have made: no key twice,
    /// no value over `MAX_VALUE_BYTES`, at most `MOST_KEYS` keys and `most_bytes(max_bytes)`. A
    /// record past them was not written by a pool (a corrupt or crafted file): `None`, so that a
    /// restore never holds more than pooling would, nor spends more than a bounded time on a pool
    /// (the duplicate check compares at most `MOST_KEYS` keys pairwise).
    pub fn restored(entries: &[(PoolKey, Option<&[u8]>)], max_bytes: usize) -> Option<Pool> {
        if entries.len() > Self::MOST_KEYS {
            return None;
        }
        let bytes: usize = entries.iter().map(|(_, v)| HEADER + v.map_or(0, <[u8]>::len)).sum();
        let longest = entries.iter().map(|(_, v)| v.map_or(0, <[u8]>::len)).max().unwrap_or(0);
        if longest > MAX_VALUE_BYTES || bytes > Self::most_bytes(max_bytes) {
            return None;
        }
        if entries.iter().enumerate().any(|(i, (k, _))| entries[..i].iter().any(|(other, _)| other == k)) {
            return None;
        }
        let mut out = Vec::with_capacity(bytes);
        for (k, v) in entries {
            put(&mut out, *k, *v);
        }
        Some(Pool { packed: out.into_boxed_slice() })
    }

    /// Adds an ambiguous key a merged pool held (`absorb`).
    fn push(&mut self, key: PoolKey, value: Option<&[u8]>) {
        let mut out = Vec::with_capacity(self.packed.len() + HEADER + value.map_or(0, <[u8]>::len));
        out.extend_from_slice(&self.packed);
        put(&mut out, key, value);
        self.packed = out.into_boxed_slice();
    }
}

fn put(out: &mut Vec<u8>, key: PoolKey, value: Option<&[u8]>) {
    out.extend_from_slice(&key.to_le_bytes());
    out.push(if value.is_some() { VALUE } else { AMBIGUOUS });
    let v = value.unwrap_or_default();
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend_from_slice(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreeing_sources_keep_a_value_disagreeing_make_it_ambiguous() {
        let mut p = Pool::default();
        assert_eq!(p.merge_all(&[(1, b"a"), (2, b"x")], MAX_POOL_BYTES), (true, 0, 0));
        assert_eq!(p.merge_all(&[(1, b"a")], MAX_POOL_BYTES), (false, 0, 0), "agreement changes nothing");
        assert_eq!(p.merge_all(&[(1, b"b")], MAX_POOL_BYTES), (true, 1, 0));
        assert_eq!(p.merge_all(&[(1, b"a")], MAX_POOL_BYTES), (false, 0, 0), "ambiguity is final");
        let entries: Vec<_> = p.iter().collect();
        assert_eq!(entries, vec![(1, None), (2, Some(&b"x"[..]))]);
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn first_occurrence_of_a_key_in_one_report_counts() {
        let mut p = Pool::default();
        p.merge_all(&[(4, b"d"), (4, b"e")], MAX_POOL_BYTES);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![(4, Some(&b"d"[..]))]);
    }

    #[test]
    fn pools_are_bounded() {
        let mut p = Pool::default();
        assert_eq!(p.merge_all(&[(1, &vec![b'x'; MAX_VALUE_BYTES + 1])], MAX_POOL_BYTES), (false, 0, 1));
        let mut k = 0;
        while p.merge_all(&[(k, &[b'v'; 100])], MAX_POOL_BYTES).0 {
            k += 1;
        }
        assert!(p.heap_bytes() <= MAX_POOL_BYTES + HEADER + 100);
        assert_eq!(p.merge_all(&[(k, &[b'v'; 100])], MAX_POOL_BYTES), (false, 0, 1), "no room is counted");
        let mut few = Pool::default();
        let many: Vec<(PoolKey, &[u8])> = (0..MAX_POOL_KEYS as u32 + 10).map(|k| (k, &b"v"[..])).collect();
        assert_eq!(few.merge_all(&many, MAX_POOL_BYTES), (true, 0, 10));
        assert_eq!(few.iter().count(), MAX_POOL_KEYS, "keys are bounded too");
        assert_eq!(
            p.merge_all(&[(0, &[b'w'; 100])], MAX_POOL_BYTES),
            (true, 1, 0),
            "known keys still track disagreement"
        );
    }

    #[test]
    fn absorbing_keeps_agreement_and_spreads_ambiguity() {
        let mut a = Pool::default();
        a.merge_all(&[(1, b"x"), (2, b"y")], MAX_POOL_BYTES);
        let mut b = Pool::default();
        b.merge_all(&[(1, b"x"), (2, b"z"), (3, b"w")], MAX_POOL_BYTES);
        b.push(4, None);
        assert_eq!(a.absorb(&b, MAX_POOL_BYTES), 1);
        let entries: Vec<_> = a.iter().collect();
        assert_eq!(entries, vec![(1, Some(&b"x"[..])), (2, None), (3, Some(&b"w"[..])), (4, None)]);
    }

    #[test]
    fn the_fullest_pools_merging_makes_are_within_the_bounds_a_restore_keeps() {
        let long = vec![b'v'; MAX_VALUE_BYTES];
        let mut full = Pool::default();
        // Each record leaves room for the next until one passes the bound by a whole record.
        for k in 0.. {
            if !full.merge_all(&[(k, &long[..k as usize % 2 * 100 + 1])], MAX_POOL_BYTES).0 {
                break;
            }
        }
        full.merge_all(&[(1_000_000, &long)], MAX_POOL_BYTES);
        let mut ambiguous = Pool::default();
        for k in 2_000_000..2_000_000 + MAX_POOL_KEYS as u32 {
            ambiguous.push(k, None);
        }
        full.absorb(&ambiguous, MAX_POOL_BYTES);
        let entries: Vec<_> = full.iter().collect();
        assert!(entries.len() > MAX_POOL_KEYS, "the merge added its ambiguous keys");
        assert!(full.heap_bytes() <= Pool::most_bytes(MAX_POOL_BYTES));
        assert!(Pool::restored(&entries, MAX_POOL_BYTES).is_some(), "what pooling makes is restored");
    }

    #[test]
    fn empty_values_are_values() {
        let mut p = Pool::default();
        p.merge_all(&[(7, b"")], MAX_POOL_BYTES);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![(7, Some(&b""[..]))]);
        p.push(8, None);
        assert_eq!(p.iter().nth(1), Some((8, None)));
    }
}
