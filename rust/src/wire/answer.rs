//! Writing an answer (`include/WIRE.md`): a `LogsData` with one entry per input resource, whose
//! resource carries exactly the attributes to upsert; and the protobuf primitives the engine's
//! other outputs (compact answers, entity events) write with.

use crate::wire::fields::*;
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};

/// Writes the engine's answer: a `LogsData` with one `ResourceLogs` per input resource, in
/// order, whose resource carries exactly the attributes to upsert.
#[derive(Default)]
pub struct ResultWriter {
    out: Vec<u8>,
    resource: Vec<u8>,
}

impl ResultWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer appending to `out` (whose allocation it reuses).
    pub fn over(out: Vec<u8>) -> Self {
        ResultWriter { out, resource: Vec::new() }
    }

    /// Adds an attribute with an already encoded `AnyValue`.
    pub fn attr_raw(&mut self, key: &[u8], any_value: &[u8]) {
        let kv_len = field_len(key.len()) + field_len(any_value.len());
        put_len_field(&mut self.resource, RESOURCE_ATTRIBUTES, kv_len);
        put_bytes_field(&mut self.resource, KEY_VALUE_KEY, key);
        put_bytes_field(&mut self.resource, KEY_VALUE_VALUE, any_value);
    }

    /// Adds a string attribute.
    pub fn attr_str(&mut self, key: &[u8], value: &[u8]) {
        put_str_attr(&mut self.resource, key, value);
    }

    /// Adds an entity reference (`Resource.entity_refs`): its type, id keys and description keys.
    pub fn entity_ref(&mut self, entity_type: &[u8], id_keys: &[&[u8]], description_keys: &[&[u8]]) {
        let mut r = Vec::new();
        put_bytes_field(&mut r, ENTITY_REF_TYPE, entity_type);
        for k in id_keys {
            put_bytes_field(&mut r, ENTITY_REF_ID_KEYS, k);
        }
        for k in description_keys {
            put_bytes_field(&mut r, ENTITY_REF_DESCRIPTION_KEYS, k);
        }
        put_bytes_field(&mut self.resource, RESOURCE_ENTITY_REFS, &r);
    }

    /// The current resource's answer so far (its encoded attributes).
    pub fn answer(&self) -> &[u8] {
        &self.resource
    }

    /// A point to `rollback` to: the end of the entries written so far.
    pub fn mark(&self) -> usize {
        self.out.len()
    }

    /// Removes the entries written after `mark`.
    pub fn rollback(&mut self, mark: usize) {
        self.out.truncate(mark);
    }

    /// Writes a whole entry from a previously recorded answer (the current resource is empty),
    /// stored under `version` (`NO_VERSION`: not stored), with `lease`: the encoded lease field
    /// (`ENTRY_LEASE`), or nothing.
    pub fn put_answer(&mut self, answer: &[u8], version: u64, lease: &[u8]) {
        debug_assert!(self.resource.is_empty());
        Self::entry(&mut self.out, answer, version, lease);
    }

    /// Writes a whole entry whose answer `write` appends (the current resource is empty). The
    /// answer is written in place and moved behind its framing once its length is known, so a
    /// cached answer stored compact is expanded without a scratch buffer.
    pub fn put_answer_with(&mut self, write: impl FnOnce(&mut Vec<u8>), version: u64, lease: &[u8]) {
        debug_assert!(self.resource.is_empty());
        let start = self.out.len();
        write(&mut self.out);
        let len = self.out.len() - start;
        let (tail, t) = version_field(version);
        let (head, n) = entry_head(len, t + lease.len());
        self.out.extend_from_slice(&head[..n]);
        self.out[start..].rotate_right(n);
        self.out.extend_from_slice(&tail[..t]);
        self.out.extend_from_slice(lease);
    }

    /// Writes an entry that carries only a status (`STATUS_HELD`, `STATUS_RESEND`), and `lease`
    /// (the encoded lease field, or nothing).
    pub fn put_status(&mut self, status: u64, lease: &[u8]) {
        debug_assert!(self.resource.is_empty());
        let mut field = [0u8; 1 + MAX_VARINT_LEN];
        field[0] = key(ENTRY_STATUS, VARINT);
        let t = 1 + put_varint_into(&mut field[1..], status);
        put_len_field(&mut self.out, DATA_ENTRIES, t + lease.len());
        self.out.extend_from_slice(&field[..t]);
        self.out.extend_from_slice(lease);
    }

    /// Closes the current resource's entry, stored under `version` (`NO_VERSION`: not stored),
    /// with `lease` (the encoded lease field, or nothing).
    pub fn end_resource(&mut self, version: u64, lease: &[u8]) {
        Self::entry(&mut self.out, &self.resource, version, lease);
        self.resource.clear();
    }

    fn entry(out: &mut Vec<u8>, answer: &[u8], version: u64, lease: &[u8]) {
        let (tail, t) = version_field(version);
        let (head, n) = entry_head(answer.len(), t + lease.len());
        out.extend_from_slice(&head[..n]);
        out.extend_from_slice(answer);
        out.extend_from_slice(&tail[..t]);
        out.extend_from_slice(lease);
    }

    /// Swaps the buffer the current resource's answer is written into with `kept`, emptied, so
    /// that a caller can keep one across writers (`engine::work`).
    pub fn swap_answer_buffer(&mut self, kept: &mut Vec<u8>) {
        self.resource.clear();
        std::mem::swap(&mut self.resource, kept);
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Appends a string attribute (a `KeyValue` as `Resource.attributes`), as answers carry them.
pub fn put_str_attr(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let any_len = field_len(value.len());
    let kv_len = field_len(key.len()) + field_len(any_len);
    put_len_field(out, RESOURCE_ATTRIBUTES, kv_len);
    put_bytes_field(out, KEY_VALUE_KEY, key);
    put_len_field(out, KEY_VALUE_VALUE, any_len);
    put_bytes_field(out, ANY_STRING, value);
}

/// Appends an `AnyValue` holding the string `value` (as pools keep values).
pub fn put_str_value(out: &mut Vec<u8>, value: &[u8]) {
    put_bytes_field(out, ANY_STRING, value);
}

/// If `b` starts with the string attribute `key` (as `put_str_attr` writes it), its value and
/// the bytes after it.
pub fn leading_str_attr<'a>(b: &'a [u8], key: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (kv, rest) = leading_field(b, RESOURCE_ATTRIBUTES)?;
    let (k, kv) = leading_field(kv, KEY_VALUE_KEY)?;
    let (any, kv) = leading_field(kv, KEY_VALUE_VALUE)?;
    let (value, any) = leading_field(any, ANY_STRING)?;
    (k == key && kv.is_empty() && any.is_empty()).then_some((value, rest))
}

/// A length-delimited field `tag` at the start of `b`: its payload and the bytes after it.
fn leading_field(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, mut rest) = b.split_first()?;
    if t != key(tag, LEN) {
        return None;
    }
    let len = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Encoded size of a length-delimited field with a one-byte key (field numbers below 16).
fn field_len(payload: usize) -> usize {
    1 + encoded_len_varint(payload as u64) + payload
}

const MAX_VARINT_LEN: usize = 10;

/// The version of an answer entry that the engine did not store (`ENTRY_VERSION` left out).
pub const NO_VERSION: u64 = 0;

/// The bytes that open an answer entry (`DATA_ENTRIES`) holding a resource (`ENTRY_RESOURCE`) of
/// `len` bytes and then `tail` bytes of the entry's own fields; an empty answer is an entry
/// without a resource. Returns them and their length.
fn entry_head(len: usize, tail: usize) -> ([u8; 2 * (1 + MAX_VARINT_LEN)], usize) {
    let mut head = [0u8; 2 * (1 + MAX_VARINT_LEN)];
    if len == 0 {
        head[0] = key(DATA_ENTRIES, LEN);
        let n = 1 + put_varint_into(&mut head[1..], tail as u64);
        return (head, n);
    }
    let mut n = 0;
    for (tag, field) in [(DATA_ENTRIES, field_len(len) + tail), (ENTRY_RESOURCE, len)] {
        head[n] = key(tag, LEN);
        n += 1 + put_varint_into(&mut head[n + 1..], field as u64);
    }
    (head, n)
}

/// The field that names the version an answer entry is stored under: none for `NO_VERSION`.
fn version_field(version: u64) -> ([u8; 1 + MAX_VARINT_LEN], usize) {
    let mut tail = [0u8; 1 + MAX_VARINT_LEN];
    if version == NO_VERSION {
        return (tail, 0);
    }
    tail[0] = key(ENTRY_VERSION, VARINT);
    let n = 1 + put_varint_into(&mut tail[1..], version);
    (tail, n)
}

/// Writes `v` as a varint at the start of `out` (at least `MAX_VARINT_LEN` bytes); returns its
/// length.
fn put_varint_into(out: &mut [u8], mut v: u64) -> usize {
    let mut n = 0;
    while v >= 0x80 {
        out[n] = v as u8 | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    n + 1
}

fn put_len_field(out: &mut Vec<u8>, tag: u8, len: usize) {
    if len < 0x80 {
        // Nearly every length in an answer fits one byte; a cache hit writes a dozen of them.
        out.extend_from_slice(&[key(tag, LEN), len as u8]);
    } else {
        out.push(key(tag, LEN));
        encode_varint(len as u64, out);
    }
}

pub fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    put_len_field(out, tag, bytes.len());
    out.extend_from_slice(bytes);
}
