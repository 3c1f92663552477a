//! Reading a request: the resources of an OTLP `LogsData`/`TracesData`/`MetricsData`, each as a
//! view that borrows from the input (`ResourceView`).

use crate::resource::{Attr, EntityRefView, ResourceView, Value};
use crate::wire::fields::*;
use crate::wire::reader::{Field, Fields, WireError};

/// One entry of a request: its encoded `Resource`, when it carries one, and the processor's
/// fields (`include/WIRE.md`, "Held answers").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry<'a> {
    pub resource: Option<&'a [u8]>,
    /// The processor's cache key for the resource: a hash it computed, which the engine uses
    /// only to find an answer it gave before, never to identify.
    pub key: Option<u128>,
    /// The version of the answer the processor holds for `key` (0: none).
    pub held: u64,
}

/// Calls `f` with every entry of a `LogsData`/`TracesData`/`MetricsData`, in order.
pub fn for_each_entry<'a>(
    batch: &'a [u8],
    mut f: impl FnMut(Entry<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut top = Fields::new(batch);
    while let Some((tag, field)) = top.next_field()? {
        let Field::Len(entry) = field else {
            if tag == DATA_ENTRIES {
                return Err(WireError("resource entry is not a message"));
            }
            continue;
        };
        if tag != DATA_ENTRIES {
            continue;
        }
        let mut out = Entry::default();
        let mut fields = Fields::new(entry);
        while let Some((tag, field)) = fields.next_field()? {
            match (tag, field) {
                (ENTRY_RESOURCE, Field::Len(r)) => out.resource = Some(r),
                (ENTRY_KEY, Field::Len(k)) => {
                    let k: [u8; 16] = k.try_into().map_err(|_| WireError("entry key is not 16 bytes"))?;
                    out.key = Some(u128::from_le_bytes(k));
                }
                (ENTRY_VERSION, Field::Varint(v)) => out.held = v,
                (ENTRY_RESOURCE, _) => return Err(WireError("resource is not a message")),
                (ENTRY_KEY | ENTRY_VERSION, _) => return Err(WireError("entry field has the wrong wire type")),
                _ => {}
            }
        }
        f(out)?;
    }
    Ok(())
}

/// Calls `f` with the encoded `Resource` of every entry of a `LogsData`/`TracesData`/`MetricsData`,
/// in order. An entry without a resource yields an empty slice.
pub fn for_each_resource<'a>(
    batch: &'a [u8],
    mut f: impl FnMut(&'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    for_each_entry(batch, |entry| f(entry.resource.unwrap_or_default()))
}

/// Decodes one encoded `Resource` into `out` (cleared first).
pub fn read_resource<'a>(resource: &'a [u8], out: &mut ResourceView<'a>) -> Result<(), WireError> {
    out.attrs.clear();
    out.entity_refs.clear();
    let mut fields = Fields::new(resource);
    while let Some((tag, field)) = fields.next_field()? {
        match (tag, field) {
            (RESOURCE_ATTRIBUTES, Field::Len(kv)) => out.attrs.push(read_key_value(kv)?),
            (RESOURCE_ENTITY_REFS, Field::Len(er)) => out.entity_refs.push(read_entity_ref(er)?),
            (RESOURCE_ATTRIBUTES | RESOURCE_ENTITY_REFS, _) => {
                return Err(WireError("resource field has the wrong wire type"));
            }
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
            (KEY_VALUE_KEY, Field::Len(k)) => attr.key = k,
            (KEY_VALUE_VALUE, Field::Len(v)) => {
                attr.raw_value = v;
                attr.value = read_any_value(v)?;
            }
            (KEY_VALUE_KEY | KEY_VALUE_VALUE, _) => return Err(WireError("key/value field has the wrong wire type")),
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
            (ANY_STRING, Field::Len(s)) => Value::Str(s),
            (ANY_BOOL, Field::Varint(b)) => Value::Bool(b != 0),
            (ANY_INT, Field::Varint(i)) => Value::Int(i as i64),
            (ANY_DOUBLE, Field::Fixed64(d)) => Value::Double(f64::from_bits(d)),
            (ANY_ARRAY, Field::Len(a)) => Value::Array(a),
            (ANY_KVLIST, Field::Len(l)) => Value::KvList(l),
            (ANY_BYTES, Field::Len(b)) => Value::Bytes(b),
            (ANY_STRING..=ANY_BYTES, _) => return Err(WireError("value field has the wrong wire type")),
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
            (ENTITY_REF_TYPE, Field::Len(t)) => out.entity_type = t,
            (ENTITY_REF_ID_KEYS, Field::Len(k)) => out.id_keys.push(k),
            (ENTITY_REF_DESCRIPTION_KEYS, Field::Len(k)) => out.description_keys.push(k),
            (ENTITY_REF_SCHEMA_URL..=ENTITY_REF_DESCRIPTION_KEYS, Field::Len(_)) => {}
            (ENTITY_REF_SCHEMA_URL..=ENTITY_REF_DESCRIPTION_KEYS, _) => {
                return Err(WireError("entity ref field has the wrong wire type"));
            }
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

/// The single string of a one-element `ArrayValue`, if it is exactly that.
pub(super) fn single_string_in_array(array: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    let mut fields = Fields::new(array);
    while let Ok(Some((tag, field))) = fields.next_field() {
        if tag != LIST_VALUES {
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

/// The encoded values of an `ArrayValue` (or the encoded `KeyValue`s of a `KeyValueList`), as far
/// as they read.
pub fn list_values(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut fields = Fields::new(list);
    std::iter::from_fn(move || {
        loop {
            match fields.next_field() {
                Ok(Some((LIST_VALUES, Field::Len(v)))) => return Some(v),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    })
}
