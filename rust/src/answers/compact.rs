//! A compact form of cached answers. Nearly every answer starts with the same three attributes,
//! the id (32 hex digits), the type and the name, whose keys are the configured output keys. The
//! compact form keeps the id as 16 bytes and drops the keys and protobuf framing, so that a pod's
//! answer (about 120 bytes) fits inline in its cache slot: a cache hit then reads no memory
//! beyond the slot, and a miss allocates nothing for the answer.
//!
//! Layout: a flags byte; the id (16 bytes) if `ID`; length and bytes of the type if `TYPE`, and
//! of the name if `NAME`; then the rest of the answer verbatim. An answer is stored compact only
//! if expanding the compact form gives back exactly its bytes.

use crate::config::EngineConfig;
use crate::wire::{leading_str_attr, put_str_attr};

const ID: u8 = 1;
const TYPE: u8 = 2;
const NAME: u8 = 4;

/// The keys of the id, type and name attributes the engine writes.
pub struct OutputKeys {
    pub id: Box<[u8]>,
    pub entity_type: Box<[u8]>,
    pub name: Box<[u8]>,
}

impl OutputKeys {
    pub fn of(config: &EngineConfig) -> OutputKeys {
        OutputKeys {
            id: config.id_attribute.as_bytes().into(),
            entity_type: config.type_attribute.as_bytes().into(),
            name: config.name_attribute.as_bytes().into(),
        }
    }
}

/// Writes the compact form of `answer` to `out` (cleared first) and returns true, or returns
/// false when `answer` has none. `check` is scratch for the round-trip check.
pub fn compact(answer: &[u8], keys: &OutputKeys, out: &mut Vec<u8>, check: &mut Vec<u8>) -> bool {
    out.clear();
    out.push(0);
    let mut rest = answer;
    if let Some((value, after)) = leading_str_attr(rest, &keys.id)
        && let Some(id) = crate::id::from_hex(value)
    {
        out[0] |= ID;
        out.extend_from_slice(&id.to_be_bytes());
        rest = after;
    }
    for (flag, key) in [(TYPE, &keys.entity_type), (NAME, &keys.name)] {
        if let Some((value, after)) = leading_str_attr(rest, key)
            && value.len() <= u8::MAX as usize
        {
            out[0] |= flag;
            out.push(value.len() as u8);
            out.extend_from_slice(value);
            rest = after;
        }
    }
    if out[0] == 0 {
        return false;
    }
    out.extend_from_slice(rest);
    check.clear();
    expand(out, keys, check);
    check == answer
}

/// Appends the answer that `compact` was made from.
pub fn expand(compact: &[u8], keys: &OutputKeys, out: &mut Vec<u8>) {
    let Some((&flags, mut rest)) = compact.split_first() else {
        return;
    };
    if flags & ID != 0 && rest.len() >= 16 {
        let mut id = [0u8; 16];
        id.copy_from_slice(&rest[..16]);
        put_str_attr(out, &keys.id, &crate::id::to_hex(u128::from_be_bytes(id)));
        rest = &rest[16..];
    }
    for (flag, key) in [(TYPE, &keys.entity_type), (NAME, &keys.name)] {
        if flags & flag != 0
            && let Some((&len, after)) = rest.split_first()
            && after.len() >= len as usize
        {
            put_str_attr(out, key, &after[..len as usize]);
            rest = &after[len as usize..];
        }
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> OutputKeys {
        OutputKeys::of(&EngineConfig::default())
    }

    fn round_trip(answer: &[u8]) -> Option<Vec<u8>> {
        let (mut c, mut check) = (Vec::new(), Vec::new());
        if !compact(answer, &keys(), &mut c, &mut check) {
            return None;
        }
        let mut back = Vec::new();
        expand(&c, &keys(), &mut back);
        assert_eq!(back, answer);
        Some(c)
    }

    #[test]
    fn a_pod_answer_shrinks_to_fit_a_slot() {
        let mut a = Vec::new();
        put_str_attr(&mut a, b"resource.id", b"2a990f7b84773adb8723a911e435e71d");
        put_str_attr(&mut a, b"resource.type", b"k8s.pod");
        put_str_attr(&mut a, b"resource.name", b"checkout-7d9f-x2k4p");
        let c = round_trip(&a).expect("compact");
        assert!(c.len() <= 64 && a.len() > 100, "{} -> {}", a.len(), c.len());
        put_str_attr(&mut a, b"k8s.node.name", b"node-1");
        assert!(round_trip(&a).is_some(), "a filled attribute follows verbatim");
    }

    #[test]
    fn other_answers_are_kept_as_they_are() {
        let mut a = Vec::new();
        put_str_attr(&mut a, b"resource.id", b"not-hex-not-hex-not-hex-not-hex!");
        assert_eq!(round_trip(&a), None);
        let mut b = Vec::new();
        put_str_attr(&mut b, b"service.name", b"api");
        assert_eq!(round_trip(&b), None);
        assert_eq!(round_trip(b""), None);
        // Upper-case hex would come back lower-case: refused by the round-trip check.
        let mut c = Vec::new();
        put_str_attr(&mut c, b"resource.id", b"2A990F7B84773ADB8723A911E435E71D");
        assert_eq!(round_trip(&c), None);
    }

    #[test]
    fn any_prefix_of_an_answer_round_trips_or_is_refused() {
        let mut a = Vec::new();
        put_str_attr(&mut a, b"resource.id", b"2a990f7b84773adb8723a911e435e71d");
        put_str_attr(&mut a, b"resource.type", b"k8s.pod");
        for cut in 0..a.len() {
            round_trip(&a[..cut]);
        }
    }
}
