//! Shared helpers for the integration tests: the scenario vectors of `tests/scenarios/` as
//! OTLP messages, built with opentelemetry-proto's prost types (a decoder independent of the
//! engine's own zero-copy reader).
#![allow(dead_code)]

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, KeyValue, KeyValueList, any_value::Value as V,
};
use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value as J;
use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// JSON value of a vector to an OTLP value: strings, integers, floats, booleans, arrays, maps.
pub fn any_value(v: &J) -> AnyValue {
    let value = match v {
        J::String(s) => V::StringValue(s.clone()),
        J::Bool(b) => V::BoolValue(*b),
        J::Number(n) if n.is_i64() => V::IntValue(n.as_i64().unwrap()),
        J::Number(n) => V::DoubleValue(n.as_f64().unwrap()),
        J::Array(a) => V::ArrayValue(ArrayValue { values: a.iter().map(any_value).collect() }),
        J::Object(o) => V::KvlistValue(KeyValueList { values: o.iter().map(|(k, v)| kv(k, any_value(v))).collect() }),
        J::Null => return AnyValue { value: None },
    };
    AnyValue { value: Some(value) }
}

pub fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.into(), value: Some(value), ..Default::default() }
}

pub fn resource(attrs: &serde_json::Map<String, J>) -> Resource {
    Resource { attributes: attrs.iter().map(|(k, v)| kv(k, any_value(v))).collect(), ..Default::default() }
}

/// A vector entry's resource: its `attributes` and its declared `entity_refs` (`type`,
/// `id_keys`, `description_keys`), as the k8scluster receiver writes them.
pub fn entry_resource(entry: &J) -> Resource {
    Resource { entity_refs: entity_refs(&entry["entity_refs"]), ..resource(entry["attributes"].as_object().unwrap()) }
}

/// The partition a vector's batch is sent in: the `partition` its entries name (the tenant
/// header of their request, so one per batch), or "" when they name none.
pub fn batch_partition(entries: &[J]) -> String {
    let partition = |e: &J| e["partition"].as_str().unwrap_or("").to_owned();
    let first = entries.first().map(partition).unwrap_or_default();
    assert!(entries.iter().all(|e| partition(e) == first), "the entries of one batch share one partition");
    first
}

/// A vector's `entity_refs` (absent: none).
pub fn entity_refs(refs: &J) -> Vec<EntityRef> {
    let strings =
        |v: &J| -> Vec<String> { v.as_array().into_iter().flatten().map(|s| s.as_str().unwrap().to_owned()).collect() };
    let declared = refs.as_array().into_iter().flatten();
    declared
        .map(|e| EntityRef {
            r#type: e["type"].as_str().unwrap().into(),
            id_keys: strings(&e["id_keys"]),
            description_keys: strings(&e["description_keys"]),
            ..Default::default()
        })
        .collect()
}

/// A batch as the processor sends it: one `ResourceLogs` per resource, resources only.
pub fn batch(resources: impl IntoIterator<Item = Resource>) -> Vec<u8> {
    LogsData {
        resource_logs: resources
            .into_iter()
            .map(|r| ResourceLogs { resource: Some(r), ..Default::default() })
            .collect(),
    }
    .encode_to_vec()
}

/// The engine's answer: per input resource, the attributes to upsert.
pub fn upserts(output: &[u8]) -> Vec<Vec<KeyValue>> {
    LogsData::decode(output)
        .expect("engine output is valid LogsData")
        .resource_logs
        .into_iter()
        .map(|rl| rl.resource.map(|r| r.attributes).unwrap_or_default())
        .collect()
}

/// Applies upserts to a resource's attributes the way the processor does.
pub fn apply(resource: &Resource, upserts: &[KeyValue]) -> Vec<KeyValue> {
    let mut attrs = resource.attributes.clone();
    for u in upserts {
        match attrs.iter_mut().find(|a| a.key == u.key) {
            Some(a) => a.value = u.value.clone(),
            None => attrs.push(u.clone()),
        }
    }
    attrs
}

pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref())
}

pub fn get_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match get(attrs, key)?.value.as_ref()? {
        V::StringValue(s) => Some(s),
        _ => None,
    }
}

fn vectors_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.file_name().is_some_and(|n| n != "sources.json"))
        .collect();
    files.sort();
    files
}

/// The scenario vectors of `tests/scenarios/`.
pub fn scenario_files() -> Vec<PathBuf> {
    vectors_in("tests/scenarios")
}

/// The field corpus of `tests/field/`: resources as real emitters write them, each naming its
/// source in `tests/field/sources.json`.
pub fn field_files() -> Vec<PathBuf> {
    vectors_in("tests/field")
}
