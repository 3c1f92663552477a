//! Entity ids: a deterministic function of (entity type, identifying keys and values).
//!
//! The same entity gets the same id on every collector replica and after every restart, with no
//! shared state; that is what lets the processor scale out. The function is frozen by
//! `tests/vectors/ids.json`: changing it changes every id users have stored.
//!
//! Encoding hashed with XXH3-128 (a specified, seed-free, platform-independent hash):
//! `"resourceequality/id/v1"`, then the type, then the number of parts, then each part sorted by
//! key as key, value tag, value; every byte string length-prefixed (u64 little endian).
//!
//! In a named partition (a tenant, see `state::partitions`), an id is that id hashed again with the
//! partition: `"resourceequality/partition/v1"` and the partition's name, as a 128-bit key,
//! then the id (both little endian). The same pod in two tenants thus has two ids, so that no
//! table and no backend can take one tenant's entity for another's; the unnamed partition (no
//! partitioning, or an empty default) keeps the plain id.

use xxhash_rust::xxh3::Xxh3;

pub type EntityId = u128;

const DOMAIN: &[u8] = b"resourceequality/id/v1";

/// An identifying value. Integers are identified by their decimal form, so `42` and `"42"`
/// name the same entity (sources disagree on the type of pids and numeric ids).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IdValue<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> IdValue<'a> {
    /// The value as text: a string as it is (identities are UTF-8), an integer in decimal.
    pub fn text(self) -> String {
        self.text_borrowed().into_owned()
    }

    /// `text`, borrowing a string value rather than copying it.
    pub fn text_borrowed(self) -> std::borrow::Cow<'a, str> {
        match self {
            IdValue::Str(s) => String::from_utf8_lossy(s),
            IdValue::Int(i) => i.to_string().into(),
        }
    }
}

/// Id of an entity identified by `parts` (canonical key, value). `parts` is sorted in place.
pub fn identity_id(entity_type: &[u8], parts: &mut [(&[u8], IdValue<'_>)]) -> EntityId {
    parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = Xxh3::new();
    put(&mut h, DOMAIN);
    put(&mut h, entity_type);
    h.update(&(parts.len() as u64).to_le_bytes());
    let mut digits = [0u8; 20];
    for (key, value) in parts.iter() {
        put(&mut h, key);
        h.update(b"s");
        match value {
            IdValue::Str(s) => put(&mut h, s),
            IdValue::Int(i) => put(&mut h, decimal(*i, &mut digits)),
        }
    }
    h.digest128()
}

/// Id of the exact-match fallback: every attribute, by key and encoded value, first occurrence
/// of a key only. `attrs` is sorted in place.
pub fn exact_id(entity_type: &[u8], attrs: &mut [(&[u8], &[u8])]) -> EntityId {
    attrs.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Xxh3::new();
    put(&mut h, DOMAIN);
    put(&mut h, entity_type);
    let mut count = 0u64;
    let mut prev: Option<&[u8]> = None;
    let mut body = Xxh3::new();
    for (key, raw) in attrs.iter() {
        if prev == Some(*key) {
            continue;
        }
        prev = Some(key);
        count += 1;
        put(&mut body, key);
        body.update(b"v");
        put(&mut body, raw);
    }
    h.update(&count.to_le_bytes());
    h.update(&body.digest128().to_le_bytes());
    h.digest128()
}

const PARTITION_DOMAIN: &[u8] = b"resourceequality/partition/v1";

/// The key of a named partition, which `in_partition` mixes into ids.
pub fn partition_key(name: &[u8]) -> u128 {
    let mut h = Xxh3::new();
    put(&mut h, PARTITION_DOMAIN);
    put(&mut h, name);
    h.digest128()
}

/// The id, within the partition of `key`, of the entity whose plain id is `id`.
pub fn in_partition(id: EntityId, key: u128) -> EntityId {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&key.to_le_bytes());
    bytes[16..].copy_from_slice(&id.to_le_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// A container tag: the container a resource speaks for, by one naming key and its value (see
/// `state::containers`). Values hash as identities do, so `42` and `"42"` tag one container.
pub fn container_tag(key: &[u8], value: IdValue<'_>) -> u64 {
    let mut h = Xxh3::new();
    put(&mut h, key);
    let mut digits = [0u8; 20];
    match value {
        IdValue::Str(s) => put(&mut h, s),
        IdValue::Int(i) => put(&mut h, decimal(i, &mut digits)),
    }
    h.digest()
}

fn put(h: &mut Xxh3, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

pub(crate) fn decimal(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Lowercase hex, 32 characters.
pub fn to_hex(id: EntityId) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(id.to_be_bytes()) {
        pair.copy_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    }
    out
}

/// The id `to_hex` wrote, or `None` when `hex` is not 32 lowercase hex digits.
pub fn from_hex(hex: &[u8]) -> Option<EntityId> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if hex.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        id[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(EntityId::from_be_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_parts_does_not_matter() {
        let a = identity_id(b"t", &mut [(b"a", IdValue::Str(b"1")), (b"b", IdValue::Str(b"2"))]);
        let b = identity_id(b"t", &mut [(b"b", IdValue::Str(b"2")), (b"a", IdValue::Str(b"1"))]);
        assert_eq!(a, b);
    }

    #[test]
    fn type_keys_and_values_all_count() {
        let base = identity_id(b"t", &mut [(b"k", IdValue::Str(b"v"))]);
        assert_ne!(base, identity_id(b"u", &mut [(b"k", IdValue::Str(b"v"))]));
        assert_ne!(base, identity_id(b"t", &mut [(b"j", IdValue::Str(b"v"))]));
        assert_ne!(base, identity_id(b"t", &mut [(b"k", IdValue::Str(b"w"))]));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(
            identity_id(b"t", &mut [(b"ab", IdValue::Str(b"c"))]),
            identity_id(b"t", &mut [(b"a", IdValue::Str(b"bc"))])
        );
    }

    #[test]
    fn integers_are_their_decimal_form() {
        for i in [0i64, 7, -7, 42, i64::MIN, i64::MAX] {
            let s = i.to_string();
            assert_eq!(
                identity_id(b"t", &mut [(b"k", IdValue::Int(i))]),
                identity_id(b"t", &mut [(b"k", IdValue::Str(s.as_bytes()))])
            );
        }
    }

    #[test]
    fn exact_id_uses_first_occurrence_and_ignores_order() {
        let a = exact_id(b"resource", &mut [(b"a", b"1"), (b"b", b"2")]);
        let b = exact_id(b"resource", &mut [(b"b", b"2"), (b"a", b"1")]);
        assert_eq!(a, b);
        assert_ne!(a, exact_id(b"resource", &mut [(b"a", b"1")]));
    }

    #[test]
    fn hex_is_lowercase_32() {
        assert_eq!(&to_hex(0x0123_4567_89ab_cdef_0011_2233_4455_6677), b"0123456789abcdef0011223344556677");
    }
}
