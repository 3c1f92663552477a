//! A batch's working memory is kept for the next batch (`engine::work`): a lone miss no longer
//! pays for making it, and nothing of one batch reaches the next, even a batch that failed half
//! way through a resource.

mod common;
#[path = "common/counting_alloc.rs"]
#[allow(dead_code)]
mod counting_alloc;

use common::*;
use counting_alloc::allocations;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use resourceequality::Engine;

const NOW: u64 = 1_800_000_000;

fn s(key: &str, value: &str) -> KeyValue {
    kv(key, AnyValue { value: Some(V::StringValue(value.into())) })
}

/// A pod as an SDK reports it, in a container: uid, name, namespace, container and service.
fn pod(i: u32) -> Resource {
    Resource {
        attributes: vec![
            s("k8s.pod.uid", &format!("6f1d3c2a-0000-4000-8000-{i:012}")),
            s("k8s.pod.name", &format!("cart-7d9f-{i}")),
            s("k8s.namespace.name", "shop"),
            s("k8s.container.name", "app"),
            s("service.name", "cart"),
            s("service.version", "1.4.2"),
        ],
        ..Default::default()
    }
}

/// A length-delimited protobuf field.
fn field(number: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2];
    prost::encoding::encode_varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

fn answer(engine: &Engine, r: &Resource) -> Vec<KeyValue> {
    let ups = upserts(&engine.process(&batch([r.clone()]), NOW).unwrap());
    apply(r, &ups[0])
}

#[test]
fn nothing_of_one_batch_reaches_the_next() {
    let used = Engine::from_json(b"{}").unwrap();
    // A batch that fills every part of the working memory: attributes, an entity reference,
    // values pooled and filled, a display name.
    let mut declared = pod(1);
    declared.entity_refs = entity_refs(&serde_json::json!([
        {"type": "service", "id_keys": ["service.name"], "description_keys": ["service.version"]}
    ]));
    let mut sparse = pod(2);
    sparse.attributes.truncate(2);
    used.process(&batch([declared, pod(2), sparse, pod(3)]), NOW).unwrap();
    // A batch that fails inside a resource: one attribute decoded, then a field of the wrong
    // wire type (attributes as a varint).
    let mut broken = Resource { attributes: vec![s("k8s.pod.uid", "half-read")], ..Default::default() }.encode_to_vec();
    broken.extend_from_slice(&[1 << 3, 1]);
    assert!(used.process(&field(1, &field(1, &broken)), NOW).is_err());
    // The next batch is answered as by an engine that saw nothing before.
    let fresh = Engine::from_json(b"{}").unwrap();
    for r in [pod(9), Resource { attributes: vec![s("host.name", "node-1")], ..Default::default() }] {
        assert_eq!(answer(&used, &r), answer(&fresh, &r));
    }
}

#[test]
fn a_lone_miss_does_not_make_working_memory() {
    let engine = Engine::from_json(br#"{"max_entities": 64}"#).unwrap();
    // Past the bound, so that each new pod evicts one, as in a long-running collector.
    for i in 0..200 {
        engine.process(&batch([pod(i)]), NOW).unwrap();
    }
    let mut answer = Vec::new();
    let mut most = 0;
    for i in 1000..1100 {
        let bytes = batch([pod(i)]);
        let before = allocations();
        engine.process_into(&bytes, NOW, &mut answer).unwrap();
        most = most.max(allocations() - before);
    }
    // What a new entity keeps, and nothing else: its node and its alias link's, its pool, its
    // container (list, tags, pool). Working memory made anew would add about thirty more.
    assert!(most <= 6, "a new pod's batch made {most} allocations");
}
