//! Zero-copy reading of the OTLP messages the processor sends, and writing of the results.
//!
//! `include/WIRE.md` specifies the request and the answer; `tests/wire_golden.rs` checks golden
//! bytes of both. Decoding requests into owned prost structs costs two allocations per attribute,
//! which alone would use most of the per-resource budget, so this module walks the wire format
//! with prost's varint primitives and hands out views that borrow from the input buffer.
//! `tests` compares every view with the same message decoded by opentelemetry-proto's prost types.

pub mod answer;
pub mod fields;
mod reader;
pub mod request;

pub use crate::wire::reader::WireError;

pub use crate::resource::{Attr, EntityRefView, ResourceView, Value};
pub use crate::wire::answer::{
    NO_VERSION, ResultWriter, leading_str_attr, put_bytes_field, put_str_attr, put_str_value,
};
pub use crate::wire::request::{Entry, for_each_entry, for_each_resource, list_values, read_any_value, read_resource};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::single_string_in_array;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, EntityRef, KeyValue, any_value::Value as V};
    use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    fn kv(key: &str, v: V) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
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
        w.end_resource(answer::NO_VERSION, &[]);
        w.end_resource(answer::NO_VERSION, &[]);
        let long = "x".repeat(300);
        w.attr_str(long.as_bytes(), long.as_bytes());
        w.end_resource(answer::NO_VERSION, &[]);
        let out = LogsData::decode(w.finish().as_slice()).unwrap();
        assert_eq!(out.resource_logs.len(), 3);
        let r0 = out.resource_logs[0].resource.as_ref().unwrap();
        assert_eq!(r0.attributes[0], kv("resource.id", V::StringValue("abc".into())));
        assert_eq!(r0.attributes[1], kv("n", V::IntValue(7)));
        assert!(out.resource_logs[1].resource.is_none());
        assert_eq!(out.resource_logs[2].resource.as_ref().unwrap().attributes[0].key, long);
    }

    #[test]
    fn versions_and_statuses_frame_entries_that_prost_reads() {
        use crate::wire::fields::*;
        use crate::wire::reader::{Field, Fields};
        let lease = [key(ENTRY_LEASE, LEN), 2, key(LEASE_UNTIL, VARINT), 5];
        let mut w = ResultWriter::new();
        w.attr_str(b"resource.id", b"abc");
        w.end_resource(300, &lease);
        w.put_status(STATUS_HELD, &lease);
        w.put_answer(&[], 7, &[]);
        w.put_answer_with(|b| put_str_attr(b, b"k", b"v"), 9, &lease);
        let out = w.finish();
        let logs = LogsData::decode(out.as_slice()).unwrap();
        assert_eq!(logs.resource_logs.len(), 4, "the entries' own fields are skipped by OTLP readers");
        assert_eq!(logs.resource_logs[0].resource.as_ref().unwrap().attributes[0].key, "resource.id");
        assert_eq!(logs.resource_logs[3].resource.as_ref().unwrap().attributes[0].key, "k");
        // Each entry's own fields, as the processor reads them.
        let mut own = Vec::new();
        let mut top = Fields::new(&out);
        while let Some((_, Field::Len(entry))) = top.next_field().unwrap() {
            let mut fields = Fields::new(entry);
            let mut seen = (0, 0, false);
            while let Some((tag, field)) = fields.next_field().unwrap() {
                match (tag, field) {
                    (ENTRY_VERSION, Field::Varint(v)) => seen.0 = v,
                    (ENTRY_STATUS, Field::Varint(v)) => seen.1 = v,
                    (ENTRY_LEASE, Field::Len(l)) => seen.2 = l == &lease[2..],
                    _ => {}
                }
            }
            own.push(seen);
        }
        assert_eq!(own, vec![(300, 0, true), (0, STATUS_HELD, true), (7, 0, false), (9, 0, true)]);
    }

    #[test]
    fn lengths_either_side_of_one_varint_byte_decode_with_prost() {
        for n in 118..=130 {
            let mut w = ResultWriter::new();
            let value = "v".repeat(n);
            w.attr_str(b"k", value.as_bytes());
            w.end_resource(answer::NO_VERSION, &[]);
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
