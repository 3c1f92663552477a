//! Zero-copy reading of the OTLP messages the processor sends, and writing of the results.
//!
//! `include/WIRE.md` specifies the request and the answer; `tests/wire_golden.rs` checks golden
//! bytes of both. Decoding requests into owned prost structs costs two allocations per attribute,
//! which alone would use most of the per-resource budget, so this module walks the wire format
//! with prost's varint primitives and hands out views that borrow from the input buffer.
//! `tests` compares every view with the same message decoded by opentelemetry-proto's prost types.

pub use crate::resource::{Attr, EntityRefView, ResourceView, Value};
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};

/// The input is not a well-formed protobuf message of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed OTLP input: {}", self.0)
    }
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Other,
}

/// Iterates over the fields of one message.
struct Fields<'a> {
    buf: &'a [u8],
}

/// A varint, with a fast path for the one-byte case (nearly every tag and length here).
#[inline(always)]
fn varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    if let Some(&b) = buf.first()
        && b < 0x80
    {
        *buf = &buf[1..];
        return Ok(b as u64);
    }
    decode_varint(buf).map_err(|_| WireError("bad varint"))
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }

    #[inline]
    fn next_field(&mut self) -> Result<Option<(u64, Field<'a>)>, WireError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = varint(&mut self.buf)?;
        let tag = key >> 3;
        if tag == 0 {
            return Err(WireError("field number 0"));
        }
        let field = match (key & 7) as u8 {
            VARINT => Field::Varint(decode_varint(&mut self.buf).map_err(|_| WireError("bad varint"))?),
            FIXED64 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            FIXED32 => {
                self.take(4)?;
                Field::Other
            }
            LEN => {
                let len = varint(&mut self.buf)?;
                let len = usize::try_from(len).map_err(|_| WireError("length overflows"))?;
                Field::Len(self.take(len)?)
            }
            _ => {
                return Err(WireError("unsupported wire type (groups are not used by OTLP)"));
            }
        };
        Ok(Some((tag, field)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError("truncated message"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
}

/// Calls `f` with the encoded `Resource` of every entry of a `LogsData`/`TracesData`/`MetricsData`,
/// in order. An entry without a resource yields an empty slice.
pub fn for_each_resource<'a>(
    batch: &'a [u8],
    mut f: impl FnMut(&'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut top = Fields::new(batch);
    while let Some((tag, field)) = top.next_field()? {
        let Field::Len(entry) = field else {
            if tag == 1 {
                return Err(WireError("resource entry is not a message"));
            }
            continue;
        };
        if tag != 1 {
            continue;
        }
        let mut resource: &[u8] = &[];
        let mut fields = Fields::new(entry);
        while let Some((tag, field)) = fields.next_field()? {
            if tag == 1 {
                match field {
                    Field::Len(r) => resource = r,
                    _ => return Err(WireError("resource is not a message")),
                }
            }
        }
        f(resource)?;
    }
    Ok(())
}

/// Decodes one encoded `Resource` into `out` (cleared first).
pub fn read_resource<'a>(resource: &'a [u8], out: &mut ResourceView<'a>) -> Result<(), WireError> {
    out.attrs.clear();
    out.entity_refs.clear();
    let mut fields = Fields::new(resource);
    while let Some((tag, field)) = fields.next_field()? {
        match (tag, field) {
            (1, Field::Len(kv)) => out.attrs.push(read_key_value(kv)?),
            (3, Field::Len(er)) => out.entity_refs.push(read_entity_ref(er)?),
            (1 | 3, _) => return Err(WireError("resource field has the wrong wire type")),
            _ => {}
        }
    }
    Ok(())
}

fn read_key_value(kv: &[u8]) -> Result<Attr<'_>, WireError> {
    let mut attr = Attr { key: &[], value: Value::Empty, raw_value: &[] };
    let mut fields = Fields::new(kv);
    while let Some((tag, field)) = fields.next_field()? {
        match (tag, field) {
            (1, Field::Len(k)) => attr.key = k,
            (2, Field::Len(v)) => {
                attr.raw_value = v;
                attr.value = read_any_value(v)?;
            }
            (1 | 2, _) => return Err(WireError("key/value field has the wrong wire type")),
            _ => {}
        }
    }
    Ok(attr)
}

/// Decodes an encoded `AnyValue`. As protobuf requires, the last oneof case on the wire wins.
pub fn read_any_value(v: &[u8]) -> Result<Value<'_>, WireError> {
    let mut value = Value::Empty;
    let mut fields = Fields::new(v);
    while let Some((tag, field)) = fields.next_field()? {
        value = match (tag, field) {
            (1, Field::Len(s)) => Value::Str(s),
            (2, Field::Varint(b)) => Value::Bool(b != 0),
            (3, Field::Varint(i)) => Value::Int(i as i64),
            (4, Field::Fixed64(d)) => Value::Double(f64::from_bits(d)),
            (5, Field::Len(a)) => Value::Array(a),
            (6, Field::Len(l)) => Value::KvList(l),
            (7, Field::Len(b)) => Value::Bytes(b),
            (1..=7, _) => return Err(WireError("value field has the wrong wire type")),
            _ => Value::Empty,
        };
    }
    Ok(value)
}

fn read_entity_ref(er: &[u8]) -> Result<EntityRefView<'_>, WireError> {
    let mut out = EntityRefView::default();
    let mut fields = Fields::new(er);
    while let Some((tag, field)) = fields.next_field()? {
        match (tag, field) {
            (2, Field::Len(t)) => out.entity_type = t,
            (3, Field::Len(k)) => out.id_keys.push(k),
            (4, Field::Len(k)) => out.description_keys.push(k),
            (1..=4, Field::Len(_)) => {}
            (1..=4, _) => return Err(WireError("entity ref field has the wrong wire type")),
            _ => {}
        }
    }
    Ok(out)
}

impl<'a> Value<'a> {
    /// The string a value stands for: a string, or the only string of a one-element array (how
    /// CloudWatch reports a log group). Arrays of several values are not one identity: `None`.
    pub fn as_single_string(self) -> Option<&'a [u8]> {
        match self {
            Value::Str(s) => Some(s),
            Value::Array(a) => single_string_in_array(a),
            _ => None,
        }
    }
}

/// An encoded `AnyValue` as JSON, for explanations: strings, numbers and booleans as such,
/// arrays and key-value lists as arrays and objects, bytes as lowercase hex.
pub fn any_value_json(raw: &[u8]) -> serde_json::Value {
    any_value_json_at(raw, 0)
}

/// How deep `any_value_json` follows arrays and maps; deeper values are shown as `null`, so that
/// a hostile value of 30,000 nested maps neither exhausts the stack nor fills the output.
pub const MAX_JSON_DEPTH: usize = 64;

fn any_value_json_at(raw: &[u8], depth: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if depth > MAX_JSON_DEPTH {
        return J::Null;
    }
    match read_any_value(raw) {
        Ok(Value::Str(s)) => J::String(String::from_utf8_lossy(s).into_owned()),
        Ok(Value::Bool(b)) => J::Bool(b),
        Ok(Value::Int(i)) => J::from(i),
        Ok(Value::Double(d)) => serde_json::Number::from_f64(d).map_or(J::Null, J::Number),
        Ok(Value::Bytes(b)) => J::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        Ok(Value::Array(a)) => {
            let mut items = Vec::new();
            let mut fields = Fields::new(a);
            while let Ok(Some((tag, field))) = fields.next_field() {
                if let (1, Field::Len(v)) = (tag, field) {
                    items.push(any_value_json_at(v, depth + 1));
                }
            }
            J::Array(items)
        }
        Ok(Value::KvList(l)) => {
            // A KeyValueList keeps its KeyValues in field 1, as a Resource does.
            let mut view = ResourceView::default();
            let _ = read_resource(l, &mut view);
            J::Object(
                view.attrs
                    .iter()
                    .map(|a| (String::from_utf8_lossy(a.key).into_owned(), any_value_json_at(a.raw_value, depth + 1)))
                    .collect(),
            )
        }
        Ok(Value::Empty) | Err(_) => J::Null,
    }
}

/// The single string of a one-element `ArrayValue`, if it is exactly that.
fn single_string_in_array(array: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    let mut fields = Fields::new(array);
    while let Ok(Some((tag, field))) = fields.next_field() {
        if tag != 1 {
            continue;
        }
        let Field::Len(v) = field else { return None };
        match (found, read_any_value(v)) {
            (None, Ok(Value::Str(s))) => found = Some(s),
            _ => return None,
        }
    }
    found
}

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
        put_len_field(&mut self.resource, 1, kv_len);
        put_bytes_field(&mut self.resource, 1, key);
        put_bytes_field(&mut self.resource, 2, any_value);
    }

    /// Adds a string attribute.
    pub fn attr_str(&mut self, key: &[u8], value: &[u8]) {
        put_str_attr(&mut self.resource, key, value);
    }

    /// Adds an entity reference (`Resource.entity_refs`, field 3): `EntityRef` type (2), id keys
    /// (3) and description keys (4).
    pub fn entity_ref(&mut self, entity_type: &[u8], id_keys: &[&[u8]], description_keys: &[&[u8]]) {
        let mut r = Vec::new();
        put_bytes_field(&mut r, 2, entity_type);
        for k in id_keys {
            put_bytes_field(&mut r, 3, k);
        }
        for k in description_keys {
            put_bytes_field(&mut r, 4, k);
        }
        put_bytes_field(&mut self.resource, 3, &r);
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

    /// Writes a whole entry from a previously recorded answer (the current resource is empty).
    pub fn put_answer(&mut self, answer: &[u8]) {
        debug_assert!(self.resource.is_empty());
        Self::entry(&mut self.out, answer);
    }

    /// Writes a whole entry whose answer `write` appends (the current resource is empty). The
    /// answer is written in place and moved behind its framing once its length is known, so a
    /// cached answer stored compact is expanded without a scratch buffer.
    pub fn put_answer_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        debug_assert!(self.resource.is_empty());
        let start = self.out.len();
        write(&mut self.out);
        let (head, n) = entry_head(self.out.len() - start);
        self.out.extend_from_slice(&head[..n]);
        self.out[start..].rotate_right(n);
    }

    /// Closes the current resource's entry.
    pub fn end_resource(&mut self) {
        Self::entry(&mut self.out, &self.resource);
        self.resource.clear();
    }

    fn entry(out: &mut Vec<u8>, answer: &[u8]) {
        let (head, n) = entry_head(answer.len());
        out.extend_from_slice(&head[..n]);
        out.extend_from_slice(answer);
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Appends a string attribute (a `KeyValue` as resource field 1), as answers carry them.
pub fn put_str_attr(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let any_len = field_len(value.len());
    let kv_len = field_len(key.len()) + field_len(any_len);
    put_len_field(out, 1, kv_len);
    put_bytes_field(out, 1, key);
    put_len_field(out, 2, any_len);
    put_bytes_field(out, 1, value);
}

/// Appends an `AnyValue` holding the string `value` (as pools keep values).
pub fn put_str_value(out: &mut Vec<u8>, value: &[u8]) {
    put_bytes_field(out, 1, value);
}

/// If `b` starts with the string attribute `key` (as `put_str_attr` writes it), its value and
/// the bytes after it.
pub fn leading_str_attr<'a>(b: &'a [u8], key: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (kv, rest) = leading_field(b, 1)?;
    let (k, kv) = leading_field(kv, 1)?;
    let (any, kv) = leading_field(kv, 2)?;
    let (value, any) = leading_field(any, 1)?;
    (k == key && kv.is_empty() && any.is_empty()).then_some((value, rest))
}

/// A length-delimited field `tag` at the start of `b`: its payload and the bytes after it.
fn leading_field(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, mut rest) = b.split_first()?;
    if t != tag << 3 | LEN {
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

/// The bytes that open an answer entry (field 1) holding a resource (field 1) of `len` bytes;
/// an empty answer is an entry without a resource. Returns them and their length.
fn entry_head(len: usize) -> ([u8; 2 * (1 + MAX_VARINT_LEN)], usize) {
    let mut head = [0u8; 2 * (1 + MAX_VARINT_LEN)];
    if len == 0 {
        head[..2].copy_from_slice(&[1 << 3 | LEN, 0]);
        return (head, 2);
    }
    let mut n = 0;
    for field in [field_len(len), len] {
        head[n] = 1 << 3 | LEN;
        n += 1 + put_varint_into(&mut head[n + 1..], field as u64);
    }
    (head, n)
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
        out.extend_from_slice(&[tag << 3 | LEN, len as u8]);
    } else {
        out.push(tag << 3 | LEN);
        encode_varint(len as u64, out);
    }
}

pub(crate) fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    put_len_field(out, tag, bytes.len());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, EntityRef, KeyValue, any_value::Value as V};
    use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    fn kv(key: &str, v: V) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
    }

    /// An AnyValue of `levels` maps, each holding the next under key "n", written back to front
    /// (prost's encoder would recurse as deep).
    fn nested_maps(levels: usize) -> Vec<u8> {
        fn prepend(rev: &mut Vec<u8>, tag: u8, len: usize) {
            let mut header = vec![tag];
            prost::encoding::encode_varint(len as u64, &mut header);
            rev.extend(header.iter().rev());
        }
        let mut rev: Vec<u8> = b"x".to_vec();
        prepend(&mut rev, 0x0a, 1); // AnyValue.string_value = "x"
        for _ in 0..levels {
            let value = rev.len();
            prepend(&mut rev, 0x12, value); // KeyValue.value
            rev.extend(b"n".iter().rev());
            prepend(&mut rev, 0x0a, 1); // KeyValue.key = "n"
            let kv = rev.len();
            prepend(&mut rev, 0x0a, kv); // KeyValueList.values
            let list = rev.len();
            prepend(&mut rev, 0x32, list); // AnyValue.kvlist_value
        }
        rev.reverse();
        rev
    }

    #[test]
    fn json_of_a_deeply_nested_value_stops_at_the_depth_bound() {
        let shallow = any_value_json(&nested_maps(2));
        assert_eq!(shallow, serde_json::json!({"n": {"n": "x"}}));
        let deep = any_value_json(&nested_maps(30_000));
        let mut depth = 0;
        let mut at = &deep;
        while let Some(next) = at.get("n") {
            depth += 1;
            at = next;
        }
        assert_eq!((depth, at), (MAX_JSON_DEPTH + 1, &serde_json::Value::Null));
    }

    fn sample() -> LogsData {
        let attrs = vec![
            kv("s", V::StringValue("pod-1".into())),
            kv("b", V::BoolValue(true)),
            kv("i", V::IntValue(-42)),
            kv("d", V::DoubleValue(1.5)),
            kv("bytes", V::BytesValue(vec![0, 1, 2])),
            kv(
                "arr",
                V::ArrayValue(ArrayValue {
                    values: vec![AnyValue { value: Some(V::StringValue("/aws/lambda/f".into())) }],
                }),
            ),
            KeyValue { key: "empty".into(), value: None, ..Default::default() },
        ];
        let refs = vec![EntityRef {
            schema_url: String::new(),
            r#type: "k8s.pod".into(),
            id_keys: vec!["k8s.pod.uid".into()],
            description_keys: vec!["k8s.pod.name".into()],
        }];
        LogsData {
            resource_logs: vec![
                ResourceLogs {
                    resource: Some(Resource { attributes: attrs, dropped_attributes_count: 3, entity_refs: refs }),
                    ..Default::default()
                },
                ResourceLogs::default(),
            ],
        }
    }

    #[test]
    fn views_agree_with_prost() {
        let msg = sample();
        let bytes = msg.encode_to_vec();
        let mut resources = Vec::new();
        for_each_resource(&bytes, |r| {
            resources.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(resources.len(), 2);
        assert!(resources[1].is_empty());
        let mut view = ResourceView::default();
        read_resource(resources[0], &mut view).unwrap();
        let expected = msg.resource_logs[0].resource.as_ref().unwrap();
        assert_eq!(view.attrs.len(), expected.attributes.len());
        for (a, e) in view.attrs.iter().zip(&expected.attributes) {
            assert_eq!(a.key, e.key.as_bytes());
            let raw = e.value.as_ref().map(|v| v.encode_to_vec()).unwrap_or_default();
            assert_eq!(a.raw_value, raw.as_slice());
        }
        assert_eq!(view.attrs[0].value, Value::Str(b"pod-1"));
        assert_eq!(view.attrs[1].value, Value::Bool(true));
        assert_eq!(view.attrs[2].value, Value::Int(-42));
        assert_eq!(view.attrs[3].value, Value::Double(1.5));
        assert_eq!(view.attrs[4].value, Value::Bytes(&[0, 1, 2]));
        let Value::Array(a) = view.attrs[5].value else { panic!("array") };
        assert_eq!(single_string_in_array(a), Some(&b"/aws/lambda/f"[..]));
        assert_eq!(view.attrs[6].value, Value::Empty);
        assert_eq!(view.entity_refs[0].entity_type, b"k8s.pod");
        assert_eq!(view.entity_refs[0].id_keys, vec![&b"k8s.pod.uid"[..]]);
        assert_eq!(view.entity_refs[0].description_keys, vec![&b"k8s.pod.name"[..]]);
    }

    #[test]
    fn writer_output_decodes_with_prost() {
        let mut w = ResultWriter::new();
        w.attr_str(b"resource.id", b"abc");
        let raw = AnyValue { value: Some(V::IntValue(7)) }.encode_to_vec();
        w.attr_raw(b"n", &raw);
        w.end_resource();
        w.end_resource();
        let long = "x".repeat(300);
        w.attr_str(long.as_bytes(), long.as_bytes());
        w.end_resource();
        let out = LogsData::decode(w.finish().as_slice()).unwrap();
        assert_eq!(out.resource_logs.len(), 3);
        let r0 = out.resource_logs[0].resource.as_ref().unwrap();
        assert_eq!(r0.attributes[0], kv("resource.id", V::StringValue("abc".into())));
        assert_eq!(r0.attributes[1], kv("n", V::IntValue(7)));
        assert!(out.resource_logs[1].resource.is_none());
        assert_eq!(out.resource_logs[2].resource.as_ref().unwrap().attributes[0].key, long);
    }

    #[test]
    fn lengths_either_side_of_one_varint_byte_decode_with_prost() {
        for n in 118..=130 {
            let mut w = ResultWriter::new();
            let value = "v".repeat(n);
            w.attr_str(b"k", value.as_bytes());
            w.end_resource();
            let out = LogsData::decode(w.finish().as_slice()).unwrap();
            let r = out.resource_logs[0].resource.as_ref().unwrap();
            assert_eq!(r.attributes[0], kv("k", V::StringValue(value)), "{n}");
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let bytes = sample().encode_to_vec();
        for cut in 1..bytes.len() {
            let _ = for_each_resource(&bytes[..cut], |r| {
                let mut v = ResourceView::default();
                read_resource(r, &mut v)
            });
        }
        assert!(for_each_resource(&[0x0b], |_| Ok(())).is_err());
        assert!(for_each_resource(&[0x0a, 0x05, 0x01], |_| Ok(())).is_err());
        assert!(for_each_resource(&[0x08, 0x01], |_| Ok(())).is_err());
    }

    #[test]
    fn arrays_of_several_values_are_not_single() {
        let arr = ArrayValue {
            values: vec![
                AnyValue { value: Some(V::StringValue("a".into())) },
                AnyValue { value: Some(V::StringValue("b".into())) },
            ],
        };
        assert_eq!(single_string_in_array(&arr.encode_to_vec()), None);
        assert_eq!(single_string_in_array(&[]), None);
    }
}
