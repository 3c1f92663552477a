//! The engine reads `tests/wire/request.bin` (which the Go processor writes) as
//! `tests/wire/resources.json` describes it, and answers it with `tests/wire/answer.bin` byte for
//! byte; the answer decodes to the upserts `resources.json` lists. `include/WIRE.md` is the
//! contract. `RE_UPDATE_WIRE=1` rewrites the answer and the listed upserts (after Go's request).

mod common;

use common::*;
use opentelemetry_proto::tonic::logs::v1::LogsData;
use prost::Message;
use resourceequality::Engine;
use serde_json::{Value as J, json};

/// `[key, value]` of resources.json as a KeyValue.
fn pair(p: &J) -> opentelemetry_proto::tonic::common::v1::KeyValue {
    kv(p[0].as_str().unwrap(), any_value(&p[1]))
}

/// An AnyValue as resources.json writes it (the inverse of `any_value`).
fn json_value(v: &opentelemetry_proto::tonic::common::v1::AnyValue) -> J {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    match v.value.as_ref() {
        Some(V::StringValue(s)) => json!(s),
        Some(V::IntValue(i)) => json!(i),
        Some(V::BoolValue(b)) => json!(b),
        Some(V::DoubleValue(d)) => json!(d),
        Some(V::ArrayValue(a)) => J::Array(a.values.iter().map(json_value).collect()),
        Some(V::KvlistValue(l)) => {
            J::Object(l.values.iter().map(|kv| (kv.key.clone(), json_value(kv.value.as_ref().unwrap()))).collect())
        }
        _ => panic!("resources.json has no bytes, string-table or empty values"),
    }
}

fn wire_path(name: &str) -> std::path::PathBuf {
    repo_root().join("tests/wire").join(name)
}

#[test]
fn golden_request_and_answer() {
    let mut golden: J = serde_json::from_slice(&std::fs::read(wire_path("resources.json")).unwrap()).unwrap();
    let request = std::fs::read(wire_path("request.bin")).unwrap();

    // The request is the resources, attributes in order, refs included.
    let decoded = LogsData::decode(&request[..]).expect("request.bin is LogsData");
    let resources = golden["resources"].as_array().unwrap();
    assert_eq!(decoded.resource_logs.len(), resources.len());
    for (rl, want) in decoded.resource_logs.iter().zip(resources) {
        let got = rl.resource.as_ref().unwrap();
        let attrs: Vec<_> = want["attributes"].as_array().unwrap().iter().map(pair).collect();
        assert_eq!(got.attributes, attrs);
        assert_eq!(got.entity_refs, entity_refs(&want["entity_refs"]));
        assert!(rl.scope_logs.is_empty(), "entries carry resources only");
    }

    let answer = Engine::from_json(b"{}").unwrap().process(&request, 1_800_000_000).unwrap();
    let upserts = upserts(&answer);
    if std::env::var_os("RE_UPDATE_WIRE").is_some() {
        std::fs::write(wire_path("answer.bin"), &answer).unwrap();
        for (r, u) in golden["resources"].as_array_mut().unwrap().iter_mut().zip(&upserts) {
            r["upserts"] = u.iter().map(|kv| json!([kv.key, json_value(kv.value.as_ref().unwrap())])).collect();
        }
        std::fs::write(wire_path("resources.json"), serde_json::to_string_pretty(&golden).unwrap() + "\n").unwrap();
    }
    assert_eq!(answer, std::fs::read(wire_path("answer.bin")).unwrap(), "answer.bin is not the engine's answer");
    for (u, r) in upserts.iter().zip(golden["resources"].as_array().unwrap()) {
        let want: Vec<_> = r["upserts"].as_array().expect("resources.json lists upserts").iter().map(pair).collect();
        assert_eq!(*u, want);
    }
}
