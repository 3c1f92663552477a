//! The one home of the protobuf field numbers and names the engine reads and writes: OTLP's
//! (opentelemetry-proto), and the names of the entity events. The Go processor's copy
//! (`go-processor/internal/engine/fields_generated.go`) is generated from `FIELDS` and `EVENTS`
//! (`rust/tests/generated.rs`); the test below checks every number against opentelemetry-proto.

/// Wire type of a length-delimited field (strings, bytes, messages).
pub const LEN: u8 = 2;
/// Wire types of the other fields this engine meets.
pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const FIXED32: u8 = 5;

/// `LogsData.resource_logs`, `TracesData.resource_spans`, `MetricsData.resource_metrics`: the
/// entries of a request and of an answer.
pub const DATA_ENTRIES: u8 = 1;
/// `ResourceLogs.resource` (and `ResourceSpans`, `ResourceMetrics`).
pub const ENTRY_RESOURCE: u8 = 1;
pub const RESOURCE_LOGS_SCOPE_LOGS: u8 = 2;
pub const SCOPE_LOGS_SCOPE: u8 = 1;
pub const SCOPE_LOGS_LOG_RECORDS: u8 = 2;
pub const SCOPE_NAME: u8 = 1;

/// The processor's own fields of an entry (`ResourceLogs`), beside OTLP's, in numbers OTLP leaves
/// free (`include/WIRE.md`, "Held answers"). Request: the processor's cache key for the resource
/// (16 bytes), and the version of the answer it holds for that key (varint). Answer: the
/// version under which the engine stored this answer (varint), and the entry's status (varint,
/// `STATUS_*`), and the answer's lease (`ENTRY_LEASE`, a message of the `LEASE_*` fields, all
/// varints: `answers::lease`).
pub const ENTRY_LEASE: u8 = 12;
pub const ENTRY_KEY: u8 = 13;
pub const ENTRY_VERSION: u8 = 14;
pub const ENTRY_STATUS: u8 = 15;
/// `ENTRY_STATUS`: the answer the processor holds (the version it named) is still the answer.
pub const STATUS_HELD: u64 = 1;
/// `ENTRY_STATUS`: the engine has no valid answer for the key; send the resource's bytes.
pub const STATUS_RESEND: u64 = 2;
/// Every entry status by its name in Go (`statusHeld`), for the generated copy.
pub const STATUSES: &[(&str, u64)] = &[("Held", STATUS_HELD), ("Resend", STATUS_RESEND)];
pub const LEASE_CELL: u8 = 1;
pub const LEASE_STAMP: u8 = 2;
pub const LEASE_LINK_EPOCH: u8 = 3;
pub const LEASE_UNTIL: u8 = 4;
pub const LEASE_FILLED: u8 = 5;
pub const LEASE_MERGED: u8 = 6;
pub const LEASE_DEFAULTED: u8 = 7;
pub const LEASE_MISROUTED: u8 = 8;

pub const RESOURCE_ATTRIBUTES: u8 = 1;
pub const RESOURCE_ENTITY_REFS: u8 = 3;

pub const KEY_VALUE_KEY: u8 = 1;
pub const KEY_VALUE_VALUE: u8 = 2;
/// `ArrayValue.values` and `KeyValueList.values`.
pub const LIST_VALUES: u8 = 1;

pub const ANY_STRING: u8 = 1;
pub const ANY_BOOL: u8 = 2;
pub const ANY_INT: u8 = 3;
pub const ANY_DOUBLE: u8 = 4;
pub const ANY_ARRAY: u8 = 5;
pub const ANY_KVLIST: u8 = 6;
pub const ANY_BYTES: u8 = 7;

pub const ENTITY_REF_SCHEMA_URL: u8 = 1;
pub const ENTITY_REF_TYPE: u8 = 2;
pub const ENTITY_REF_ID_KEYS: u8 = 3;
pub const ENTITY_REF_DESCRIPTION_KEYS: u8 = 4;

pub const LOG_RECORD_TIME: u8 = 1;
pub const LOG_RECORD_ATTRIBUTES: u8 = 6;
pub const LOG_RECORD_OBSERVED_TIME: u8 = 11;
pub const LOG_RECORD_EVENT_NAME: u8 = 12;

/// Every field number above by its name in Go (`fieldDataEntries`), for the generated copy.
pub const FIELDS: &[(&str, u8)] = &[
    ("DataEntries", DATA_ENTRIES),
    ("EntryResource", ENTRY_RESOURCE),
    ("ResourceLogsScopeLogs", RESOURCE_LOGS_SCOPE_LOGS),
    ("ScopeLogsScope", SCOPE_LOGS_SCOPE),
    ("ScopeLogsLogRecords", SCOPE_LOGS_LOG_RECORDS),
    ("ScopeName", SCOPE_NAME),
    ("EntryLease", ENTRY_LEASE),
    ("LeaseCell", LEASE_CELL),
    ("LeaseStamp", LEASE_STAMP),
    ("LeaseLinkEpoch", LEASE_LINK_EPOCH),
    ("LeaseUntil", LEASE_UNTIL),
    ("LeaseFilled", LEASE_FILLED),
    ("LeaseMerged", LEASE_MERGED),
    ("LeaseDefaulted", LEASE_DEFAULTED),
    ("LeaseMisrouted", LEASE_MISROUTED),
    ("EntryKey", ENTRY_KEY),
    ("EntryVersion", ENTRY_VERSION),
    ("EntryStatus", ENTRY_STATUS),
    ("ResourceAttributes", RESOURCE_ATTRIBUTES),
    ("ResourceEntityRefs", RESOURCE_ENTITY_REFS),
    ("KeyValueKey", KEY_VALUE_KEY),
    ("KeyValueValue", KEY_VALUE_VALUE),
    ("ListValues", LIST_VALUES),
    ("AnyString", ANY_STRING),
    ("AnyBool", ANY_BOOL),
    ("AnyInt", ANY_INT),
    ("AnyDouble", ANY_DOUBLE),
    ("AnyArray", ANY_ARRAY),
    ("AnyKvList", ANY_KVLIST),
    ("AnyBytes", ANY_BYTES),
    ("EntityRefSchemaURL", ENTITY_REF_SCHEMA_URL),
    ("EntityRefType", ENTITY_REF_TYPE),
    ("EntityRefIDKeys", ENTITY_REF_ID_KEYS),
    ("EntityRefDescriptionKeys", ENTITY_REF_DESCRIPTION_KEYS),
    ("LogRecordTime", LOG_RECORD_TIME),
    ("LogRecordAttributes", LOG_RECORD_ATTRIBUTES),
    ("LogRecordObservedTime", LOG_RECORD_OBSERVED_TIME),
    ("LogRecordEventName", LOG_RECORD_EVENT_NAME),
];

/// The event names of entity events (specification `entities/entity-events.md`).
pub const EVENT_STATE: &str = "entity.state";
pub const EVENT_DELETE: &str = "entity.delete";
/// Every event name by its name in Go (`eventState`), for the generated copy.
pub const EVENTS: &[(&str, &str)] = &[("State", EVENT_STATE), ("Delete", EVENT_DELETE)];

/// The first byte of a field with a one-byte key: number and wire type.
pub const fn key(field: u8, wire_type: u8) -> u8 {
    field << 3 | wire_type
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value::Value as V,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, LogsData, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    /// The field numbers a message with exactly one field set puts on the wire.
    fn first_field(m: &impl Message) -> u8 {
        let b = m.encode_to_vec();
        assert!(b[0] < 0x80, "a one-byte key");
        b[0] >> 3
    }

    #[test]
    fn every_field_number_is_opentelemetry_protos() {
        let s = |v: &str| AnyValue { value: Some(V::StringValue(v.into())) };
        let kv = KeyValue { key: "k".into(), value: None, ..Default::default() };
        assert_eq!(first_field(&LogsData { resource_logs: vec![ResourceLogs::default()] }), DATA_ENTRIES);
        assert_eq!(
            first_field(&ResourceLogs { resource: Some(Resource::default()), ..Default::default() }),
            ENTRY_RESOURCE
        );
        assert_eq!(
            first_field(&ResourceLogs { scope_logs: vec![ScopeLogs::default()], ..Default::default() }),
            RESOURCE_LOGS_SCOPE_LOGS
        );
        assert_eq!(
            first_field(&ScopeLogs { scope: Some(InstrumentationScope::default()), ..Default::default() }),
            SCOPE_LOGS_SCOPE
        );
        assert_eq!(
            first_field(&ScopeLogs { log_records: vec![LogRecord::default()], ..Default::default() }),
            SCOPE_LOGS_LOG_RECORDS
        );
        assert_eq!(first_field(&InstrumentationScope { name: "n".into(), ..Default::default() }), SCOPE_NAME);
        assert_eq!(first_field(&Resource { attributes: vec![kv.clone()], ..Default::default() }), RESOURCE_ATTRIBUTES);
        assert_eq!(
            first_field(&Resource { entity_refs: vec![EntityRef::default()], ..Default::default() }),
            RESOURCE_ENTITY_REFS
        );
        assert_eq!(first_field(&kv), KEY_VALUE_KEY);
        assert_eq!(
            first_field(&KeyValue { key: String::new(), value: Some(s("v")), ..Default::default() }),
            KEY_VALUE_VALUE
        );
        assert_eq!(first_field(&ArrayValue { values: vec![s("v")] }), LIST_VALUES);
        assert_eq!(first_field(&KeyValueList { values: vec![kv.clone()] }), LIST_VALUES);
        let any = |v: V| first_field(&AnyValue { value: Some(v) });
        assert_eq!(any(V::StringValue(String::new())), ANY_STRING);
        assert_eq!(any(V::BoolValue(true)), ANY_BOOL);
        assert_eq!(any(V::IntValue(1)), ANY_INT);
        assert_eq!(any(V::DoubleValue(1.0)), ANY_DOUBLE);
        assert_eq!(any(V::ArrayValue(ArrayValue::default())), ANY_ARRAY);
        assert_eq!(any(V::KvlistValue(KeyValueList::default())), ANY_KVLIST);
        assert_eq!(any(V::BytesValue(vec![])), ANY_BYTES);
        assert_eq!(first_field(&EntityRef { schema_url: "u".into(), ..Default::default() }), ENTITY_REF_SCHEMA_URL);
        assert_eq!(first_field(&EntityRef { r#type: "t".into(), ..Default::default() }), ENTITY_REF_TYPE);
        assert_eq!(first_field(&EntityRef { id_keys: vec!["k".into()], ..Default::default() }), ENTITY_REF_ID_KEYS);
        assert_eq!(
            first_field(&EntityRef { description_keys: vec!["k".into()], ..Default::default() }),
            ENTITY_REF_DESCRIPTION_KEYS
        );
        assert_eq!(first_field(&LogRecord { time_unix_nano: 1, ..Default::default() }), LOG_RECORD_TIME);
        assert_eq!(
            first_field(&LogRecord { attributes: vec![kv.clone()], ..Default::default() }),
            LOG_RECORD_ATTRIBUTES
        );
        assert_eq!(
            first_field(&LogRecord { observed_time_unix_nano: 1, ..Default::default() }),
            LOG_RECORD_OBSERVED_TIME
        );
        assert_eq!(first_field(&LogRecord { event_name: "e".into(), ..Default::default() }), LOG_RECORD_EVENT_NAME);
    }

    #[test]
    fn the_entry_fields_of_our_own_are_free_in_every_otlp_entry() {
        let mut entry = Vec::new();
        for tag in [ENTRY_KEY, ENTRY_VERSION, ENTRY_STATUS] {
            entry.extend_from_slice(&[key(tag, VARINT), 1]);
        }
        entry.extend_from_slice(&[key(ENTRY_LEASE, LEN), 2, key(LEASE_UNTIL, VARINT), 1]);
        // Unknown to OTLP (ResourceSpans and ResourceMetrics number their fields as
        // ResourceLogs does): the message decodes them as nothing.
        assert_eq!(ResourceLogs::decode(&entry[..]).unwrap(), ResourceLogs::default());
    }

    #[test]
    fn the_go_names_list_every_field_once() {
        let names: std::collections::BTreeSet<_> = FIELDS.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), FIELDS.len());
    }
}
