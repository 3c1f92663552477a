//! The result cache must never serve an answer that the state has outgrown: each test sends the
//! same resource bytes before and after something changes, and checks the second answer.

mod common;

use common::*;
use resourceequality::Engine;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn send(engine: &Engine, attrs: serde_json::Value, now: u64) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    let r = resource(attrs.as_object().unwrap());
    apply(&r, &upserts(&engine.process(&batch([r.clone()]), now).unwrap())[0])
}

#[test]
fn a_sparse_resource_seen_again_after_its_rich_source_is_filled() {
    let e = Engine::from_json(b"{}").unwrap();
    let sparse = json!({"k8s.pod.uid": "u1"});
    assert_eq!(get_str(&send(&e, sparse.clone(), NOW), "service.name"), None);
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    assert_eq!(get_str(&send(&e, sparse, NOW), "service.name"), Some("api"));
}

#[test]
fn a_value_becoming_ambiguous_stops_being_filled() {
    let e = Engine::from_json(b"{}").unwrap();
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    let sparse = json!({"k8s.pod.uid": "u1"});
    assert_eq!(get_str(&send(&e, sparse.clone(), NOW), "service.name"), Some("api"));
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "envoy"}), NOW);
    assert_eq!(get_str(&send(&e, sparse, NOW), "service.name"), None);
}

#[test]
fn a_container_seen_again_after_its_pod_showed_it_is_promoted() {
    let e = Engine::from_json(b"{}").unwrap();
    let container = json!({"container.id": "c1"});
    assert_eq!(get_str(&send(&e, container.clone(), NOW), "resource.type"), Some("container"));
    let pod = send(&e, json!({"k8s.pod.uid": "u1", "container.id": "c1", "k8s.pod.name": "p"}), NOW);
    let again = send(&e, container.clone(), NOW);
    assert_eq!(get_str(&again, "resource.type"), Some("k8s.pod"));
    assert_eq!(get_str(&again, "resource.id"), get_str(&pod, "resource.id"));
    // ...and back to itself once another pod claims the container (the link is ambiguous).
    send(&e, json!({"k8s.pod.uid": "u2", "container.id": "c1"}), NOW);
    assert_eq!(get_str(&send(&e, container, NOW), "resource.type"), Some("container"));
}

#[test]
fn an_entity_forgotten_and_relearnt_is_not_served_from_old_answers() {
    let e = Engine::from_json(br#"{"ttl": "60s"}"#).unwrap();
    let sparse = json!({"k8s.pod.uid": "u1"});
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    assert_eq!(get_str(&send(&e, sparse.clone(), NOW), "service.name"), Some("api"));
    // After the TTL the entity is forgotten: the same bytes get a fresh answer, without fills.
    assert_eq!(get_str(&send(&e, sparse, NOW + 120), "service.name"), None);
}

#[test]
fn answers_are_refreshed_so_links_do_not_expire_while_resources_keep_coming() {
    let e = Engine::from_json(br#"{"ttl": "40s"}"#).unwrap();
    let pod = json!({"k8s.pod.uid": "u1", "k8s.namespace.name": "ns", "k8s.pod.name": "p", "container.id": "c1"});
    let id = get_str(&send(&e, pod.clone(), NOW), "resource.id").unwrap().to_owned();
    // The pod keeps coming every 5 s for 5 minutes (answers are reused for up to 10 s between
    // refreshes); its alias and container links must live on.
    for t in (5..=300).step_by(5) {
        send(&e, pod.clone(), NOW + t);
    }
    let by_name = send(&e, json!({"k8s.namespace.name": "ns", "k8s.pod.name": "p"}), NOW + 300);
    assert_eq!(get_str(&by_name, "resource.id"), Some(id.as_str()));
    let by_container = send(&e, json!({"container.id": "c1"}), NOW + 300);
    assert_eq!(get_str(&by_container, "resource.id"), Some(id.as_str()));
}

#[test]
fn identical_resources_in_one_batch_get_identical_answers() {
    let e = Engine::from_json(b"{}").unwrap();
    let r = resource(json!({"k8s.pod.uid": "u1", "service.name": "api"}).as_object().unwrap());
    let ups = upserts(&e.process(&batch(vec![r.clone(); 50]), NOW).unwrap());
    assert_eq!(ups.len(), 50);
    assert!(ups.iter().all(|u| u == &ups[0]));
    assert_eq!(e.stats().resources_processed, 50);
}

#[test]
fn an_entity_evicted_for_room_stops_being_filled_at_once() {
    let e = Engine::from_json(br#"{"max_entities": 4}"#).unwrap();
    let sparse = json!({"k8s.pod.uid": "u1"});
    send(&e, json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    assert_eq!(get_str(&send(&e, sparse.clone(), NOW), "service.name"), Some("api"));
    for i in 0..64 {
        send(&e, json!({"k8s.pod.uid": format!("other-{i}"), "service.name": "x"}), NOW);
    }
    // The eviction made the answers that read the entity's pool stale, within the second too:
    // the same bytes make a new entity, with nothing to fill from.
    assert_eq!(get_str(&send(&e, sparse.clone(), NOW), "service.name"), None);
    assert_eq!(get_str(&send(&e, sparse, NOW + 1), "service.name"), None);
}

#[test]
fn new_entities_leave_the_answers_of_entities_sharing_their_cells_valid() {
    // 64 change-stamp cells (the fewest) for 400 entities: every new entity shares a cell with
    // older ones, and no answer has read a new entity's pool, so it changes no cell.
    let e = Engine::from_json(br#"{"max_entities": 1000}"#).unwrap();
    let old: Vec<_> = (0..200).map(|i| json!({"k8s.pod.uid": format!("old-{i}"), "service.name": "api"})).collect();
    for r in &old {
        send(&e, r.clone(), NOW);
    }
    for i in 0..200 {
        send(&e, json!({"k8s.pod.uid": format!("new-{i}"), "service.name": "web"}), NOW);
    }
    let before = e.stats().cache_misses;
    for r in &old {
        assert_eq!(get_str(&send(&e, r.clone(), NOW), "service.name"), Some("api"));
    }
    assert_eq!(e.stats().cache_misses, before, "the old entities' answers were all still valid");
}

#[test]
fn a_change_to_an_entity_sharing_a_cell_only_recomputes() {
    // With max_entities 1 every entity shares few cells: answers are recomputed more often, but
    // stay exactly what a fresh engine computes.
    let e = Engine::from_json(br#"{"max_entities": 1}"#).unwrap();
    for round in 0..3 {
        for i in 0..8 {
            let rich = json!({"k8s.pod.uid": format!("u{i}"), "service.name": format!("s{i}-{round}")});
            let fresh = Engine::from_json(br#"{"max_entities": 1}"#).unwrap();
            assert_eq!(send(&e, rich.clone(), NOW), send(&fresh, rich, NOW));
        }
    }
}
