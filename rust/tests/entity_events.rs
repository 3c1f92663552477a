//! Entity events: what the reporter says of the entities the engine learnt, decoded as the
//! OTLP log records a receiver publishes.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, LogsData};
use prost::Message;
use resourceequality::Engine;
use serde_json::json;
use std::collections::BTreeMap;

const T0: u64 = 1_800_000_000;
const UID: &str = "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01";

fn send(e: &Engine, attrs: serde_json::Value, now: u64) {
    e.process(&batch([resource(attrs.as_object().unwrap())]), now).unwrap();
}

fn events(e: &Engine, now: u64, interval: u64) -> Vec<LogRecord> {
    let bytes = e.entity_events(now, interval);
    if bytes.is_empty() {
        return Vec::new();
    }
    let data = LogsData::decode(bytes.as_slice()).unwrap();
    let scope = &data.resource_logs[0].scope_logs[0];
    assert_eq!(scope.scope.as_ref().unwrap().name, "resourceequality");
    scope.log_records.clone()
}

fn attr<'a>(r: &'a LogRecord, key: &str) -> Option<&'a V> {
    r.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string_map(v: Option<&V>) -> BTreeMap<String, String> {
    let Some(V::KvlistValue(list)) = v else { return BTreeMap::new() };
    list.values.iter().filter_map(|kv: &KeyValue| Some((kv.key.clone(), as_str(kv.value.as_ref()?)?))).collect()
}

fn as_str(v: &AnyValue) -> Option<String> {
    match v.value.as_ref()? {
        V::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn of_type<'a>(records: &'a [LogRecord], t: &str) -> Vec<&'a LogRecord> {
    records.iter().filter(|r| matches!(attr(r, "entity.type"), Some(V::StringValue(s)) if s == t)).collect()
}

/// (relationship type, target type, target identity) of a state event.
fn relationships(r: &LogRecord) -> Vec<(String, String, BTreeMap<String, String>)> {
    let Some(V::ArrayValue(a)) = attr(r, "entity.relationships") else { return Vec::new() };
    a.values
        .iter()
        .map(|v| {
            let Some(V::KvlistValue(m)) = &v.value else { panic!("a relationship is a map") };
            let get = |k: &str| m.values.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.clone());
            let s = |k: &str| as_str(&get(k).unwrap()).unwrap();
            (s("relationship.type"), s("entity.type"), string_map(get("entity.id").and_then(|a| a.value).as_ref()))
        })
        .collect()
}

fn pod_sdk() -> serde_json::Value {
    json!({"k8s.pod.uid": UID, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": "shop",
        "k8s.replicaset.name": "checkout-7d9f", "k8s.deployment.name": "checkout",
        "k8s.node.name": "ip-10-0-1-17.ec2.internal", "service.name": "checkout", "telemetry.sdk.language": "python"})
}

#[test]
fn the_seed_pod_agent_and_deployment_are_described_with_relationships() {
    let e = Engine::from_json(b"{}").unwrap();
    assert!(events(&e, T0, 300).is_empty(), "nothing learnt yet");
    send(&e, pod_sdk(), T0);
    send(&e, json!({"k8s.pod.uid": UID, "k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f-x2k4p"}), T0);
    send(&e, json!({"k8s.namespace.name": "shop", "k8s.deployment.name": "checkout"}), T0);
    let records = events(&e, T0, 300);
    assert!(records.iter().all(|r| r.event_name == "entity.state"));
    let [pod] = of_type(&records, "k8s.pod")[..] else { panic!("one pod: {records:?}") };
    assert_eq!(string_map(attr(pod, "entity.id")), BTreeMap::from([("k8s.pod.uid".into(), UID.into())]));
    let description = string_map(attr(pod, "entity.description"));
    assert_eq!(description["k8s.node.name"], "ip-10-0-1-17.ec2.internal");
    assert_eq!(description["resource.id"].len(), 32, "the id the processor writes joins telemetry to the entity");
    assert!(!description.contains_key("telemetry.sdk.language"), "only what the pod pools");
    let mut rels = relationships(pod);
    rels.sort();
    let id = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(
        rels,
        vec![
            ("part_of".into(), "k8s.namespace".into(), id(&[("k8s.namespace.name", "shop")])),
            (
                "part_of".into(),
                "k8s.replicaset".into(),
                id(&[("k8s.namespace.name", "shop"), ("k8s.replicaset.name", "checkout-7d9f")])
            ),
            ("scheduled_on".into(), "k8s.node".into(), id(&[("k8s.node.name", "ip-10-0-1-17.ec2.internal")])),
        ]
    );
    assert!(matches!(attr(pod, "entity.report.interval"), Some(V::IntValue(300))));
    let [deployment] = of_type(&records, "k8s.deployment")[..] else { panic!("one deployment") };
    assert_eq!(
        relationships(deployment),
        vec![("part_of".into(), "k8s.namespace".into(), id(&[("k8s.namespace.name", "shop")]))]
    );
    assert_eq!(pod.time_unix_nano, T0 * 1_000_000_000);
}

#[test]
fn only_changes_are_reported_between_full_reports() {
    let e = Engine::from_json(b"{}").unwrap();
    assert!(events(&e, T0 - 1, 300).is_empty(), "the first call starts tracking");
    send(&e, pod_sdk(), T0);
    assert_eq!(events(&e, T0, 300).len(), 1);
    send(&e, pod_sdk(), T0 + 1);
    assert!(events(&e, T0 + 1, 300).is_empty(), "nothing changed");
    send(&e, json!({"k8s.pod.uid": UID, "k8s.statefulset.name": "x"}), T0 + 2);
    send(&e, json!({"k8s.node.name": "node-9"}), T0 + 2);
    let changed = events(&e, T0 + 2, 300);
    assert_eq!(changed.len(), 2, "the pod's description changed and a node appeared");
    assert_eq!(events(&e, T0 + 300, 300).len(), 2, "the periodic report says everything again");
}

#[test]
fn no_relationship_from_an_ambiguous_value() {
    let e = Engine::from_json(b"{}").unwrap();
    assert!(events(&e, T0, 300).is_empty());
    send(&e, pod_sdk(), T0);
    send(&e, json!({"k8s.pod.uid": UID, "k8s.node.name": "another-node"}), T0);
    let records = events(&e, T0, 300);
    let [pod] = of_type(&records, "k8s.pod")[..] else { panic!("one pod") };
    assert!(!string_map(attr(pod, "entity.description")).contains_key("k8s.node.name"));
    assert!(relationships(pod).iter().all(|(t, _, _)| t != "scheduled_on"), "{:?}", relationships(pod));
}

/// The SDKs' fallback service name (`unknown_service:java`) names no service: an instance of an
/// unconfigured app is described, but is part of no `service` entity, which every unconfigured
/// Java app of the tenant would otherwise share. A configured app's instance is part of its own.
#[test]
fn no_service_named_by_the_fallback_service_name() {
    let e = Engine::from_json(b"{}").unwrap();
    assert!(events(&e, T0, 300).is_empty());
    let instance = |name: &str, id: &str| json!({"service.name": name, "service.instance.id": id});
    send(&e, instance("unknown_service:java", "a1"), T0);
    send(&e, instance("checkout", "b1"), T0);
    let records = events(&e, T0, 300);
    let part_of = |id: &str| {
        let [r] = of_type(&records, "service.instance")
            .into_iter()
            .filter(|r| string_map(attr(r, "entity.id")).get("service.instance.id").map(String::as_str) == Some(id))
            .collect::<Vec<_>>()[..]
        else {
            panic!("one instance {id}")
        };
        relationships(r).into_iter().filter(|(t, _, _)| t == "part_of").map(|(_, _, id)| id).collect::<Vec<_>>()
    };
    assert_eq!(part_of("a1"), Vec::<BTreeMap<String, String>>::new());
    assert_eq!(part_of("b1"), [BTreeMap::from([("service.name".to_string(), "checkout".to_string())])]);
}

#[test]
fn forgotten_entities_are_deleted_with_their_reason() {
    let e = Engine::from_json(br#"{"ttl": "10s"}"#).unwrap();
    assert!(events(&e, T0 - 5, 5).is_empty());
    send(&e, pod_sdk(), T0);
    assert_eq!(events(&e, T0, 5).len(), 1);
    let later = events(&e, T0 + 30, 5);
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].event_name, "entity.delete");
    assert!(matches!(attr(&later[0], "entity.delete.reason"), Some(V::StringValue(s)) if s == "expired"));
    assert_eq!(string_map(attr(&later[0], "entity.id")), BTreeMap::from([("k8s.pod.uid".into(), UID.into())]));

    let small = Engine::from_json(br#"{"max_entities": 1}"#).unwrap();
    assert!(events(&small, T0 - 5, 5).is_empty());
    send(&small, pod_sdk(), T0);
    assert_eq!(events(&small, T0, 5).len(), 1);
    send(&small, json!({"k8s.pod.uid": "another", "k8s.node.name": "n"}), T0 + 1);
    let evicted = events(&small, T0 + 5, 5);
    let deletes: Vec<_> = evicted.iter().filter(|r| r.event_name == "entity.delete").collect();
    assert_eq!(deletes.len(), 1);
    assert!(matches!(attr(deletes[0], "entity.delete.reason"), Some(V::StringValue(s)) if s == "evicted"));
}

#[test]
fn a_full_change_queue_is_counted_and_repaired_by_the_report() {
    // The queue holds max_entities entities; an evicted entity's place is freed when drained.
    let e = Engine::from_json(br#"{"max_entities": 2}"#).unwrap();
    assert!(events(&e, T0, 60).is_empty());
    for i in 0..3 {
        send(&e, json!({"k8s.pod.uid": format!("u{i}"), "k8s.node.name": "n"}), T0);
    }
    assert_eq!(e.stats().entity_changes_dropped, 1, "u2 found the queue full (u0 evicted, still queued)");
    assert_eq!(events(&e, T0 + 1, 60).len(), 1, "u1 only: u0 is gone, u2 was dropped");
    let report = events(&e, T0 + 60, 60);
    let names: Vec<&str> = report.iter().map(|r| r.event_name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "entity.state").count(), 2, "the report covers u2");
    assert_eq!(names.iter().filter(|n| **n == "entity.delete").count(), 0, "u0 was never announced");
}

/// Per tenant: each partition's events are one `ResourceLogs` whose resource names the tenant
/// under the partition's source (here the `x-scope-orgid` header), so that the receiver sends
/// each tenant's events with that tenant's header. Two tenants' pods of one uid are told apart,
/// and one tenant's pod deleted is not told as the other's. Before, every event shared one empty
/// resource: two `entity.state` records of one `(entity.type, entity.id)`, a's and b's, and a's
/// delete deleted b's pod in any backend.
#[test]
fn each_tenants_events_are_sent_as_that_tenants() {
    let e = Engine::from_json(br#"{"partition": {"metadata": "x-scope-orgid"}, "ttl": "1m"}"#).unwrap();
    let _ = e.entity_events(T0, 300);
    let send_as = |tenant: &str, attrs: serde_json::Value, now: u64| {
        e.process_partition(tenant.as_bytes(), &batch([resource(attrs.as_object().unwrap())]), now).unwrap();
    };
    send_as("tenant-a", json!({"k8s.pod.uid": UID, "k8s.node.name": "node-a", "service.name": "secret-a"}), T0);
    send_as("tenant-b", json!({"k8s.pod.uid": UID, "k8s.node.name": "node-b"}), T0);
    send_as("", json!({"k8s.pod.uid": UID, "k8s.node.name": "node-default"}), T0);
    // Per partition: the tenant the resource names, and the event names and node of each record.
    let by_tenant = |now: u64, interval: u64| {
        let data = LogsData::decode(e.entity_events(now, interval).as_slice()).unwrap();
        let mut out = BTreeMap::new();
        for rl in &data.resource_logs {
            let attrs = &rl.resource.as_ref().unwrap().attributes;
            let tenant = get_str(attrs, "x-scope-orgid").map(str::to_owned);
            assert!(attrs.len() <= 1, "{attrs:?}");
            let records: Vec<(String, Option<String>)> = rl.scope_logs[0]
                .log_records
                .iter()
                .map(|r| {
                    let d = attr(r, "entity.description").and_then(|v| match v {
                        V::KvlistValue(l) => l
                            .values
                            .iter()
                            .find(|kv| kv.key == "k8s.node.name")
                            .and_then(|kv| as_str(kv.value.as_ref()?)),
                        _ => None,
                    });
                    (r.event_name.clone(), d)
                })
                .collect();
            assert!(out.insert(tenant, records).is_none(), "one ResourceLogs per tenant");
        }
        out
    };
    let state = |node: &str| vec![("entity.state".to_string(), Some(node.to_string()))];
    let expected = BTreeMap::from([
        (None, state("node-default")),
        (Some("tenant-a".to_string()), state("node-a")),
        (Some("tenant-b".to_string()), state("node-b")),
    ]);
    assert_eq!(by_tenant(T0 + 1, 300), expected);
    // a's pod expires while b's and the default's are seen again: a's delete is a's alone.
    send_as("tenant-b", json!({"k8s.pod.uid": UID}), T0 + 50);
    send_as("", json!({"k8s.pod.uid": UID}), T0 + 50);
    send_as("tenant-b", json!({"k8s.pod.uid": UID}), T0 + 100);
    send_as("", json!({"k8s.pod.uid": UID}), T0 + 100);
    let later = by_tenant(T0 + 130, 100); // a full report: a's pod unseen for 130 s, the TTL 60
    assert_eq!(later[&Some("tenant-a".to_string())], vec![("entity.delete".to_string(), None)]);
    assert_eq!(later[&Some("tenant-b".to_string())], state("node-b"));
    assert_eq!(later[&None], state("node-default"));
}
