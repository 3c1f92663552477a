//! Tenant isolation: nothing one partition sends changes what another partition's resources
//! are given, through pooled values, links, container values or cached answers, in either
//! direction, before and after a snapshot is restored. The scenario vectors `tenant_*` check
//! the same through every layer; these tests add what a vector cannot express.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use resourceequality::Engine;
use serde_json::{Value as J, json};

const NOW: u64 = 1_800_000_000;
const CONFIG: &[u8] = br#"{"partition": {"metadata": "x-scope-orgid"}}"#;
const UID: &str = "5b0c1f3e-8a2d-4e6f-9b1a-7c3d2e4f6a80";

fn send(engine: &Engine, partition: &str, attrs: J) -> Vec<KeyValue> {
    let r = resource(attrs.as_object().unwrap());
    let out = engine.process_partition(partition.as_bytes(), &batch([r.clone()]), NOW).unwrap();
    apply(&r, &upserts(&out)[0])
}

fn rich(node: &str) -> J {
    json!({"k8s.pod.uid": UID, "k8s.pod.name": "web-0", "k8s.namespace.name": "shop", "k8s.node.name": node,
        "container.id": "c1", "k8s.container.name": "app", "service.name": format!("svc-{node}")})
}

/// What the other partition could have given: the pooled node, and the container's service.
fn gained(attrs: &[KeyValue]) -> (Option<&str>, Option<&str>) {
    (get_str(attrs, "k8s.node.name"), get_str(attrs, "service.name"))
}

#[test]
fn two_partitions_with_one_pod_share_nothing_in_either_direction() {
    for (first, second) in [("a", "b"), ("b", "a")] {
        let e = Engine::from_json(CONFIG).unwrap();
        send(&e, first, rich(first));
        // The second partition's sparse resources: by uid, by name (a link), by container id
        // (a promotion link); each sent twice, the second time answerable from the cache.
        for _ in 0..2 {
            for sparse in [json!({"k8s.pod.uid": UID}), json!({"k8s.pod.name": "web-0", "k8s.namespace.name": "shop"})]
            {
                assert_eq!(gained(&send(&e, second, sparse.clone())), (None, None), "{second} gained from {first}");
            }
            let container = send(&e, second, json!({"container.id": "c1"}));
            assert_eq!(get_str(&container, "resource.type"), Some("container"), "{second} promoted by {first}");
            assert_eq!(gained(&container), (None, None));
        }
        // And the first partition still has its own, unpoisoned by the second's resources.
        let own = send(&e, first, json!({"k8s.pod.uid": UID, "k8s.container.name": "app"}));
        let (node, service) = (first.to_string(), format!("svc-{first}"));
        assert_eq!(gained(&own), (Some(node.as_str()), Some(service.as_str())));
    }
}

#[test]
fn a_planted_value_never_reaches_the_other_partition() {
    let e = Engine::from_json(CONFIG).unwrap();
    send(&e, "a", rich("node-a"));
    send(&e, "b", rich("node-planted"));
    let a = send(&e, "a", json!({"k8s.pod.uid": UID, "k8s.container.name": "app"}));
    assert_eq!(gained(&a), (Some("node-a"), Some("svc-node-a")), "a's values stay unambiguous in a");
    let b = send(&e, "b", json!({"k8s.pod.uid": UID, "k8s.container.name": "app"}));
    assert_eq!(gained(&b), (Some("node-planted"), Some("svc-node-planted")));
    assert_ne!(get_str(&a, "resource.id"), get_str(&b, "resource.id"));
}

#[test]
fn partitions_stay_apart_across_a_snapshot() {
    let before = Engine::from_json(CONFIG).unwrap();
    send(&before, "a", rich("node-a"));
    send(&before, "b", rich("node-b"));
    let after = Engine::from_json(CONFIG).unwrap();
    after.restore(&before.snapshot(NOW), NOW).unwrap();
    for p in ["a", "b"] {
        let got = send(&after, p, json!({"k8s.pod.uid": UID}));
        assert_eq!(get_str(&got, "k8s.node.name"), Some(format!("node-{p}").as_str()));
        let by_name = send(&after, p, json!({"k8s.pod.name": "web-0", "k8s.namespace.name": "shop"}));
        assert_eq!(get_str(&by_name, "k8s.node.name"), Some(format!("node-{p}").as_str()), "{p}'s link restored");
    }
    assert_eq!(gained(&send(&after, "c", json!({"k8s.pod.uid": UID}))), (None, None));
}

#[test]
fn ids_carry_the_partition_and_the_unnamed_partition_keeps_plain_ids() {
    let plain = Engine::from_json(b"{}").unwrap();
    let e = Engine::from_json(CONFIG).unwrap();
    let sparse = || json!({"k8s.pod.uid": UID});
    let id = |attrs: Vec<KeyValue>| get_str(&attrs, "resource.id").unwrap().to_owned();
    let unpartitioned = id(send(&plain, "", sparse()));
    assert_eq!(id(send(&plain, "ignored", sparse())), unpartitioned, "no partitioning: the name is ignored");
    assert_eq!(id(send(&e, "", sparse())), unpartitioned, "the empty default partition has plain ids");
    let a = id(send(&e, "a", sparse()));
    assert_ne!(a, unpartitioned);
    assert_eq!(id(send(&Engine::from_json(CONFIG).unwrap(), "a", sparse())), a, "ids depend on no state");
    let named_default = Engine::from_json(br#"{"partition": {"auth": "subject", "default": "a"}}"#).unwrap();
    assert_eq!(id(send(&named_default, "", sparse())), a, "the default partition is a partition like any other");
}

#[test]
fn partitions_and_defaulted_resources_are_counted() {
    let e = Engine::from_json(CONFIG).unwrap();
    for p in ["a", "b", "", "a"] {
        send(&e, p, json!({"k8s.pod.uid": UID}));
    }
    send(&e, "", json!({"k8s.pod.uid": UID})); // answered from the cache, counted all the same
    let s = e.stats();
    assert_eq!(s.partitions, 3, "a, b and the default");
    assert_eq!(s.default_partition_resources, 2);
    let attribute = Engine::from_json(br#"{"partition": {"attribute": "k8s.cluster.name"}}"#).unwrap();
    for _ in 0..2 {
        send(&attribute, "", json!({"k8s.pod.uid": UID}));
        send(&attribute, "", json!({"k8s.pod.uid": UID, "k8s.cluster.name": "east"}));
    }
    assert_eq!(attribute.stats().default_partition_resources, 2);
    assert_eq!(attribute.stats().partitions, 2);
    assert_eq!(Engine::from_json(b"{}").unwrap().stats().partitions, 0);
}

/// Issue 27 item 5: a client inventing tenant names (here 2,000 of them, 5 pods each, against a
/// table of 2,000 entities) neither evicts a quiet tenant's entities nor its pooled values: the
/// invented tenants beyond `partition.max_partitions` are identified and passed statelessly.
#[test]
fn a_flood_of_invented_tenants_leaves_a_quiet_tenant_pooled() {
    let config = br#"{"partition": {"metadata": "x-scope-orgid", "max_partitions": 100}, "max_entities": 2000}"#;
    let e = Engine::from_json(config).unwrap();
    let pod = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    for i in 0..100 {
        send(&e, "quiet", json!({"k8s.pod.uid": pod(i), "k8s.pod.name": format!("web-{i}"), "service.name": "shop"}));
    }
    for t in 0..2_000 {
        for i in 0..5 {
            let got = send(&e, &format!("invented-{t}"), json!({"k8s.pod.uid": pod(i), "service.name": "junk"}));
            assert_eq!(
                get_str(&got, "resource.type"),
                Some("k8s.pod"),
                "every tenant's resources are still identified"
            );
        }
    }
    let pooled = (0..100)
        .filter(|&i| get_str(&send(&e, "quiet", json!({"k8s.pod.uid": pod(i)})), "service.name") == Some("shop"))
        .count();
    assert_eq!(pooled, 100, "the quiet tenant's sparse resources keep their pooled service.name");
    let stats = e.stats();
    assert!(stats.partitions <= 100, "{stats:?}");
    assert!(stats.partition_overflow_resources >= 5 * (2_000 - 100), "{stats:?}");
}

/// Issue 27 item 5, the other half: one tenant with a place churning through ten times
/// `max_entities` pods evicts its own least recently seen entities, not a quiet tenant's.
#[test]
fn a_tenant_churning_past_the_bound_evicts_its_own_entities() {
    let config = br#"{"partition": {"metadata": "x-scope-orgid"}, "max_entities": 2000}"#;
    let e = Engine::from_json(config).unwrap();
    let pod = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    for i in 0..100 {
        send(&e, "quiet", json!({"k8s.pod.uid": pod(i), "service.name": "shop"}));
    }
    for i in 0..20_000 {
        send(&e, "churning", json!({"k8s.pod.uid": pod(1_000_000 + i), "service.name": "churn"}));
    }
    let pooled = (0..100)
        .filter(|&i| get_str(&send(&e, "quiet", json!({"k8s.pod.uid": pod(i)})), "service.name") == Some("shop"))
        .count();
    assert_eq!(pooled, 100, "the quiet tenant's entities were not the ones evicted");
    assert!(e.stats().entities <= 2000);
}

/// A resource of a partition without a place, right after one that was given pooled values in
/// the same batch, is given nothing of them (the working memory of the batch is shared).
#[test]
fn a_resource_without_a_place_keeps_nothing_of_the_resource_before_it() {
    let e = Engine::from_json(br#"{"partition": {"attribute": "tenant", "max_partitions": 1}}"#).unwrap();
    let uid = json!(UID);
    let rich = resource(json!({"tenant": "a", "k8s.pod.uid": uid, "service.name": "a-secret"}).as_object().unwrap());
    e.process(&batch([rich]), NOW).unwrap();
    let a = resource(json!({"tenant": "a", "k8s.pod.uid": uid}).as_object().unwrap());
    let b = resource(json!({"tenant": "b", "k8s.pod.uid": uid}).as_object().unwrap());
    let out = e.process(&batch([a.clone(), b.clone()]), NOW).unwrap();
    let answers = upserts(&out);
    assert_eq!(get_str(&apply(&a, &answers[0]), "service.name"), Some("a-secret"));
    let got = apply(&b, &answers[1]);
    assert_eq!(get_str(&got, "service.name"), None, "b has no place and gets nothing, least of all a's");
    assert_eq!(get_str(&got, "resource.type"), Some("k8s.pod"));
    assert_eq!(e.stats().partition_overflow_resources, 1);
}

/// The partition attribute names a tenant as an identifying value does, whatever its type: a
/// tenant's resources are pooled with its own, and never with another tenant's or with the
/// unlabelled data of the default partition. Generated over every value type OTLP has.
#[test]
fn a_partition_attribute_of_any_type_keeps_its_tenant_apart() {
    let values = [
        json!(1),
        json!(2),
        json!("2"),
        json!(1.5),
        json!(true),
        json!([1]),
        json!({"t": 1}),
        json!("x".repeat(5000)),
        json!(""),
        json!(" "),
        json!("unknown"),
        json!("$(TENANT_ID)"),
        J::Null,
    ];
    // Resources whose partition is told (a string or an integer) are served with state, in the
    // tenant their text names; blank and absent ones in the default partition, with state; the
    // rest statelessly.
    let placeholder = |s: &str| s == "unknown" || s.starts_with("$(");
    let told =
        |v: &J| v.is_i64() || v.as_str().is_some_and(|s| !s.trim().is_empty() && s.len() < 5000 && !placeholder(s));
    let defaulted = |v: &J| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
    let tenant = |v: &J| if v.is_i64() { v.to_string() } else { v.as_str().unwrap_or_default().to_string() };
    for rich in &values {
        for sparse in &values {
            let e = Engine::from_json(br#"{"partition": {"attribute": "tenant.id"}}"#).unwrap();
            let with = |tenant: &J, attrs: J| {
                let mut attrs = attrs.as_object().unwrap().clone();
                if !tenant.is_null() {
                    attrs.insert("tenant.id".into(), tenant.clone());
                }
                attrs
            };
            let r = resource(&with(rich, json!({"k8s.pod.uid": UID, "k8s.node.name": "node-of-rich"})));
            e.process(&batch([r.clone()]), NOW).unwrap();
            let s = resource(&with(sparse, json!({"k8s.pod.uid": UID})));
            let out = e.process(&batch([s.clone()]), NOW).unwrap();
            let got = apply(&s, &upserts(&out)[0]);
            let same_tenant = (told(rich) && told(sparse) && tenant(rich) == tenant(sparse))
                || (defaulted(rich) && defaulted(sparse));
            let pooled = get_str(&got, "k8s.node.name") == Some("node-of-rich");
            assert_eq!(pooled, same_tenant, "rich {rich}, sparse {sparse}: {got:?}");
            assert_eq!(
                get_str(&got, "resource.type"),
                Some("k8s.pod"),
                "rich {rich}, sparse {sparse}: identified all the same"
            );
        }
    }
}
