//! Calls whose clocks are not monotonic: the processor's goroutines read the wall clock each,
//! so calls reach the engine a second out of order, and a wall clock can step back. No call may
//! then read what a later one freed, nor lose what an earlier one kept.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, LogsData};
use prost::Message;
use resourceequality::Engine;
use serde_json::json;

const T0: u64 = 1_800_000_000;

fn send(e: &Engine, attrs: serde_json::Value, now: u64) -> Vec<KeyValue> {
    let r = resource(attrs.as_object().unwrap());
    apply(&r, &upserts(&e.process(&batch([r.clone()]), now).unwrap())[0])
}

fn event_names(e: &Engine, now: u64, interval: u64) -> Vec<String> {
    let bytes = e.entity_events(now, interval);
    if bytes.is_empty() {
        return Vec::new();
    }
    let records: Vec<LogRecord> =
        LogsData::decode(bytes.as_slice()).unwrap().resource_logs[0].scope_logs[0].log_records.clone();
    records.into_iter().map(|r| r.event_name).collect()
}

/// A report that finds an entity expired deletes it; a batch whose clock read a second earlier
/// then makes it anew, and the next events announce it, instead of it living on unannounced.
#[test]
fn an_entity_the_report_deleted_is_announced_again_when_a_batch_a_second_behind_sees_it() {
    let e = Engine::from_json(br#"{"ttl": "10s"}"#).unwrap();
    assert!(event_names(&e, T0 - 5, 5).is_empty());
    let pod = json!({"k8s.pod.uid": "u1", "k8s.pod.name": "p", "service.name": "api"});
    send(&e, pod.clone(), T0);
    assert_eq!(event_names(&e, T0, 5), ["entity.state"]);
    assert_eq!(event_names(&e, T0 + 11, 5), ["entity.delete"]);
    send(&e, pod, T0 + 10);
    assert_eq!(event_names(&e, T0 + 12, 5), ["entity.state"]);
}

/// Pods' node, told once by one source, filled into the SDK's resource that keeps coming, after a
/// step back of the wall clock (`step`) or not: what is filled at the end.
fn node_filled_after(step: bool) -> Option<String> {
    // A 160 s TTL: answers are touched every 10 s and refreshed every 40 s.
    let e = Engine::from_json(br#"{"ttl": "160s"}"#).unwrap();
    let (before, after) = (T0 + 1000, if step { T0 + 100 } else { T0 + 1000 });
    send(&e, json!({"k8s.pod.uid": "u1", "k8s.node.name": "n1"}), before - 10);
    let sdk = json!({"k8s.pod.uid": "u1", "service.name": "api"});
    assert_eq!(get_str(&send(&e, sdk.clone(), before), "k8s.node.name"), Some("n1"));
    // A resource of the pod not seen before, after the step: it touches the entity.
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "api", "k8s.node.name": "n1"}), after);
    for t in (10..=300).step_by(10) {
        assert_eq!(get_str(&send(&e, sdk.clone(), after + t), "k8s.node.name"), Some("n1"));
    }
    send(&e, json!({"k8s.pod.uid": "u1", "k8s.pod.name": "p"}), after + 305);
    get_str(&send(&e, sdk, after + 310), "k8s.node.name").map(str::to_owned)
}

/// After the wall clock steps back, the SDK's cached answer, stamped in the future, is never due a
/// touch; the entity it reads must not age from the earlier time meanwhile and expire in use.
#[test]
fn an_answer_in_use_keeps_its_entity_after_the_clock_steps_back() {
    assert_eq!(node_filled_after(false).as_deref(), Some("n1"), "no step");
    assert_eq!(node_filled_after(true).as_deref(), Some("n1"), "a step back of 900 s");
}
