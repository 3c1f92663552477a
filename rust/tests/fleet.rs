//! A fleet answers like one collector: every vector of `tests/field/` and `tests/scenarios/`
//! through routers (`mode: route`) and several collectors behind them (each identifying what is
//! routed to it by route key, then pooling what is routed to it by id), in several ring layouts,
//! gives every resource the id, type and pooled attributes one engine gives it. The end-to-end
//! test (`tests/e2e/test_fleet.py`) runs the same comparison through built collectors.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;
use resourceequality::Engine;
use serde_json::Value as J;
use std::collections::BTreeMap;

const NOW: u64 = 1_800_000_000;

/// Each resource's attributes after processing, by label.
type Answers = BTreeMap<String, Vec<KeyValue>>;

fn config(vector: &J, mode: &str) -> Vec<u8> {
    let mut c = vector.get("config").cloned().unwrap_or_else(|| J::Object(Default::default()));
    c["mode"] = J::String(mode.into());
    // Small engines: a vector holds a few entities, and this test makes thousands of engines.
    c["max_entities"] = J::from(1000);
    // Every collector of this fleet has seen every source (`warmup_...` below tests the warm-up).
    c["warmup"] = J::from("0s");
    c.to_string().into_bytes()
}

fn engines(vector: &J, mode: &str, n: usize) -> Vec<Engine> {
    (0..n).map(|_| Engine::from_json(&config(vector, mode)).unwrap()).collect()
}

fn batches(vector: &J) -> impl Iterator<Item = (String, Vec<(String, Resource)>)> + '_ {
    vector["batches"].as_array().unwrap().iter().map(|b| {
        let entries = b.as_array().unwrap();
        let resources = entries.iter().map(|e| (e["label"].as_str().unwrap().to_owned(), entry_resource(e))).collect();
        (batch_partition(entries), resources)
    })
}

fn process(engine: &Engine, partition: &str, resources: &[(String, Resource)], out: &mut Answers) {
    let request = batch(resources.iter().map(|(_, r)| r.clone()));
    let answer = upserts(&engine.process_partition(partition.as_bytes(), &request, NOW).unwrap());
    for ((label, r), u) in resources.iter().zip(&answer) {
        out.insert(label.clone(), apply(r, u));
    }
}

fn one_collector(vector: &J) -> Answers {
    let engine = Engine::from_json(&config(vector, "enrich")).unwrap();
    let mut out = Answers::new();
    for (partition, resources) in batches(vector) {
        process(&engine, &partition, &resources, &mut out);
    }
    out
}

/// Which of `n` collectors a route key goes to in ring layout `layout` (a stand-in for the
/// load_balancing exporter's ring, whose layout depends on the endpoints' names).
fn collector_of(route: &str, layout: u64, n: usize) -> usize {
    (xxhash_rust::xxh3::xxh3_64_with_seed(route.as_bytes(), layout) % n as u64) as usize
}

/// Sends `resources` (labelled, with the attributes `key` to route by) to the `stage` engine of
/// the collector the ring gives each, in order, and returns every resource's answer.
fn stage(stage: &[Engine], key: &str, layout: u64, partition: &str, resources: Vec<(String, Resource)>) -> Answers {
    let mut to: Vec<Vec<(String, Resource)>> = vec![Vec::new(); stage.len()];
    for (label, r) in resources {
        let route = get_str(&r.attributes, key).unwrap_or_else(|| panic!("{label} has no {key}")).to_owned();
        to[collector_of(&route, layout, stage.len())].push((label, r));
    }
    let mut out = Answers::new();
    for (engine, resources) in stage.iter().zip(&to) {
        if !resources.is_empty() {
            process(engine, partition, resources, &mut out);
        }
    }
    out
}

/// The vector through `routers` routers (each source's resources through one of them) and
/// `collectors` collectors, in ring layout `layout`. Answers without the route key.
fn fleet(vector: &J, routers: usize, collectors: usize, layout: u64) -> Answers {
    let routers = engines(vector, "route", routers);
    let identify = engines(vector, "identify", collectors);
    let pool = engines(vector, "pool", collectors);
    let sources: BTreeMap<String, String> = vector["batches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b.as_array().unwrap())
        .map(|e| (e["label"].as_str().unwrap().to_owned(), e["source"].as_str().unwrap_or("").to_owned()))
        .collect();
    let mut out = Answers::new();
    for (partition, resources) in batches(vector) {
        let mut routed = Vec::new();
        for (label, r) in resources {
            let router = &routers[collector_of(&sources[&label], 0, routers.len())];
            let mut answer = Answers::new();
            process(router, &partition, &[(label.clone(), r.clone())], &mut answer);
            routed.push((label.clone(), Resource { attributes: answer.remove(&label).unwrap(), ..r }));
        }
        let identified = stage(&identify, "resource.route", layout, &partition, routed.clone());
        let identified =
            routed.into_iter().map(|(l, r)| (l.clone(), Resource { attributes: identified[&l].clone(), ..r }));
        out.extend(stage(&pool, "resource.id", layout, &partition, identified.collect()));
    }
    for attrs in out.values_mut() {
        attrs.retain(|a| a.key != "resource.route");
    }
    out
}

/// The README's one limit: a resource whose only identity is a contained entity's (a
/// `container.id` alone) never meets its pod's resources, so it keeps the id, type and name its
/// own identity gives (as one collector gives it before it has seen its pod), gains nothing
/// else, and changes no other resource's answer.
fn promotion_only(vector: &J, label: &str, single: &[KeyValue], fleet: &[KeyValue]) -> bool {
    let entry = vector["batches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b.as_array().unwrap())
        .find(|e| e["label"] == label)
        .unwrap();
    let alone = Engine::from_json(&config(vector, "enrich")).unwrap();
    let mut own = Answers::new();
    process(
        &alone,
        &batch_partition(std::slice::from_ref(entry)),
        &[(label.to_owned(), entry_resource(entry))],
        &mut own,
    );
    let own = &own[label];
    // A promotion, as the rules declare them (the built-in rules and the vector's own): from a rule
    // with `promote_to` into one of its types.
    let own_rules: Vec<resourceequality::RuleSpec> =
        serde_json::from_value(vector["config"]["rules"].clone()).unwrap_or_default();
    let promoted = resourceequality::builtin_rules().iter().chain(&own_rules).any(|r| {
        get_str(own, "resource.type") == Some(r.entity_type.as_str())
            && r.promote_to.iter().any(|t| get_str(single, "resource.type") == Some(t.as_str()))
    });
    let fleet_is_own = ["resource.id", "resource.type", "resource.name"].iter().all(|k| get(fleet, k) == get(own, k));
    let nothing_else = fleet
        .iter()
        .all(|a| ["resource.id", "resource.type", "resource.name"].contains(&a.key.as_str()) || single.contains(a));
    promoted && fleet_is_own && nothing_else
}

#[test]
fn a_fleet_answers_every_vector_like_one_collector() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut limits = std::collections::BTreeSet::new();
    for file in field_files().into_iter().chain(scenario_files()) {
        let vector: J = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let name = vector["name"].as_str().unwrap().to_owned();
        let single = one_collector(&vector);
        for (routers, collectors) in [(2, 2), (2, 3), (3, 5)] {
            for layout in 0..4 {
                let fleet = fleet(&vector, routers, collectors, layout);
                for (label, want) in &single {
                    compared += 1;
                    let got = &fleet[label];
                    let mut w: Vec<_> = want.iter().map(|a| format!("{}={:?}", a.key, a.value)).collect();
                    let mut g: Vec<_> = got.iter().map(|a| format!("{}={:?}", a.key, a.value)).collect();
                    w.sort();
                    g.sort();
                    if w != g && promotion_only(&vector, label, want, got) {
                        limits.insert(format!("{name} {label}"));
                    } else if w != g {
                        let missing: Vec<_> = w.iter().filter(|x| !g.contains(x)).collect();
                        let extra: Vec<_> = g.iter().filter(|x| !w.contains(x)).collect();
                        failures.push(format!(
                            "{name} {label} ({routers}x{collectors}, layout {layout}): one collector only {missing:?}; fleet only {extra:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} difference(s):\n{}", failures.len(), failures.join("\n"));
    eprintln!(
        "{compared} resource answers compared: every one equals one collector's, but those of {} resource(s) \
         known only by a contained identity (a container.id), which keep their own identity: {limits:?}",
        limits.len()
    );
}

/// A new identify stage (a replica just added, to which route keys moved) follows no link for
/// `warmup`: by then every claimant of a name has reported, so it never joins a name to the first
/// of two hosts that claim it. Before, the name keeps its own identity; after, it joins as one
/// collector joins it.
#[test]
fn a_new_identify_stage_follows_no_link_during_its_warm_up() {
    let identify = Engine::from_json(br#"{"mode":"identify","warmup":"1m"}"#).unwrap();
    let router = Engine::from_json(br#"{"mode":"route"}"#).unwrap();
    let host = |attrs: &[(&str, &str)]| {
        let map: serde_json::Map<String, J> = attrs.iter().map(|(k, v)| (k.to_string(), J::from(*v))).collect();
        let r = resource(&map);
        let mut routed = Answers::new();
        process(&router, "", &[("r".into(), r.clone())], &mut routed);
        Resource { attributes: routed.remove("r").unwrap(), ..r }
    };
    let vm_a = host(&[("host.id", "vm-a"), ("host.name", "web-01")]);
    let vm_b = host(&[("host.id", "vm-b"), ("host.name", "web-01")]);
    let db = host(&[("host.id", "vm-c"), ("host.name", "db-01")]);
    let by_name = |name| host(&[("host.name", name)]);
    let id = |now: u64, r: &Resource| {
        let mut out = Answers::new();
        let request = batch([r.clone()]);
        let answer = upserts(&identify.process(&request, now).unwrap());
        out.insert("r".into(), apply(r, &answer[0]));
        get_str(&out["r"], "resource.id").unwrap().to_owned()
    };
    // A replica starts, and sees one claimant of web-01 and the name alone before the other.
    let vm_a_id = id(NOW, &vm_a);
    let db_id = id(NOW, &db);
    assert_ne!(id(NOW + 1, &by_name("web-01")), vm_a_id, "no link is followed during the warm-up");
    assert_ne!(id(NOW + 59, &by_name("db-01")), db_id, "not even one no other host claims");
    id(NOW + 30, &vm_b);
    assert_ne!(id(NOW + 61, &by_name("web-01")), vm_a_id, "after it, two claimants: web-01 joins neither");
    assert_eq!(id(NOW + 61, &by_name("db-01")), db_id, "after it, a name one host claims joins that host");
}

/// A resource whose tenant header was lost or changed between the tiers (an exporter that
/// merges batches drops the request's metadata) reaches tier 2 in a partition its router did
/// not route it in. Its route key says so, and it is served statelessly at both stages: given
/// nothing of the entity this partition knows by its keys, which is another tenant's, leaving
/// nothing in it, and recording no link that this partition's own resources would follow.
#[test]
fn a_resource_routed_under_another_tenant_takes_and_leaves_nothing_in_this_one() {
    let cfg = |mode: &str| format!(r#"{{"mode":"{mode}","warmup":"0s","partition":{{"metadata":"x"}}}}"#);
    let (router, identify, pool) = (
        Engine::from_json(cfg("route").as_bytes()).unwrap(),
        Engine::from_json(cfg("identify").as_bytes()).unwrap(),
        Engine::from_json(cfg("pool").as_bytes()).unwrap(),
    );
    let through = |routed_as: &str, arrived_as: &str, attrs: J| {
        let mut r = resource(attrs.as_object().unwrap());
        for (engine, partition) in [(&router, routed_as), (&identify, arrived_as), (&pool, arrived_as)] {
            let mut out = Answers::new();
            process(engine, partition, &[("r".into(), r.clone())], &mut out);
            r = Resource { attributes: out.remove("r").unwrap(), ..r };
        }
        r.attributes
    };
    let uid = "7a1e0000-0000-4000-8000-00000000beef";
    let pod = |uid: &str, extra: J| {
        let mut attrs = serde_json::json!({"k8s.pod.uid": uid, "k8s.pod.name": "web-0", "k8s.namespace.name": "shop"});
        attrs.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        attrs
    };
    let a = through("a", "a", pod(uid, serde_json::json!({"k8s.node.name": "node-a", "service.name": "svc-of-a"})));
    assert_eq!(get_str(&a, "service.name"), Some("svc-of-a"));
    // Tenant b's pod of the same uid, and another of b's pods of a's name, both arriving as a.
    let b = through("b", "a", serde_json::json!({"k8s.pod.uid": uid}));
    assert_eq!((get_str(&b, "service.name"), get_str(&b, "k8s.node.name")), (None, None), "b was given a's values");
    assert_eq!(get_str(&b, "resource.type"), Some("k8s.pod"), "identified all the same");
    let other_uid = "0b0b0000-0000-4000-8000-00000000cafe";
    through("b", "a", pod(other_uid, serde_json::json!({"k8s.node.name": "node-b", "service.name": "svc-of-b"})));
    assert_eq!(identify.stats().routes_mismatched, 2);
    assert_eq!(pool.stats().routes_mismatched, 2);
    // Tenant a's own sparse resources, by uid and by name, still get a's values and only a's.
    for sparse in [
        serde_json::json!({"k8s.pod.uid": uid}),
        serde_json::json!({"k8s.pod.name": "web-0", "k8s.namespace.name": "shop"}),
    ] {
        let got = through("a", "a", sparse.clone());
        assert_eq!(get_str(&got, "resource.id"), get_str(&a, "resource.id"), "{sparse}: a's name now leads to b's pod");
        assert_eq!(get_str(&got, "service.name"), Some("svc-of-a"), "{sparse}: {got:?}");
    }
}
