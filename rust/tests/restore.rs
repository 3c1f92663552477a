//! What a restore keeps is what the running engine would have kept: the newest entities, each
//! whole, with no time later than the restoring clock's, and no pool larger than pooling makes.
//! A snapshot is written by another process, perhaps another build, and read from a file anyone
//! with access to the storage could have written.

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use resourceequality::Engine;
use serde_json::{Value as J, json};

const NOW: u64 = 1_800_000_000;

fn send_at(engine: &Engine, attrs: J, now: u64) -> Vec<KeyValue> {
    let r = resource(attrs.as_object().unwrap());
    let out = engine.process(&batch([r.clone()]), now).unwrap();
    apply(&r, &upserts(&out)[0])
}

fn pod(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn label(i: usize) -> String {
    format!("k8s.pod.label.l{i}")
}

/// An operator lowers `max_entities` (a reload saves the state and restores it into the new
/// engine). The newest entities are kept, each with every value and every key its sources
/// disagreed on; before, entities evicted while restoring left their keys in the key table, and
/// the survivors lost their values silently (1 of 1000 kept its label), the mark of a key's
/// disagreement among them, so that one new source's value was then filled.
#[test]
fn a_smaller_engine_keeps_the_newest_entities_whole() {
    let big = Engine::from_json(br#"{"max_entities": 100000}"#).unwrap();
    let pods = 20_000;
    let seen = |i: usize| NOW - 3_000 + (i / 10) as u64; // the newest last
    for i in 0..pods {
        send_at(&big, json!({"k8s.pod.uid": pod(i), label(i): "v", "service.name": "s"}), seen(i));
    }
    let newest = pods - 1;
    send_at(&big, json!({"k8s.pod.uid": pod(newest), label(newest): "other"}), seen(newest));
    let small = Engine::from_json(br#"{"max_entities": 1000}"#).unwrap();
    let restored = small.restore(&big.snapshot(NOW), NOW).unwrap();
    assert!((900..=1000).contains(&restored), "restored {restored} into a table of 1000");
    assert_eq!(small.stats().evictions, 0, "a restore evicts nothing it restored");
    for i in (pods - 200..pods).rev() {
        let got = send_at(&small, json!({"k8s.pod.uid": pod(i)}), NOW);
        assert_eq!(get_str(&got, "service.name"), Some("s"), "pod {i}: one of the newest 200 was not kept");
        let want = if i == newest { None } else { Some("v") };
        assert_eq!(get_str(&got, &label(i)), want, "pod {i}: a value lost, or a disagreement forgotten");
    }
    send_at(&small, json!({"k8s.pod.uid": pod(newest), label(newest): "v"}), NOW);
    let got = send_at(&small, json!({"k8s.pod.uid": pod(newest)}), NOW);
    assert_eq!(get_str(&got, &label(newest)), None, "the sources' disagreement outlives the restart");
}

/// A snapshot written by a clock 30 days ahead: its entities count as seen now, and expire a
/// TTL later; before, they lived until the restoring clock caught up with the writer's.
#[test]
fn a_snapshot_from_a_clock_ahead_expires_on_this_one() {
    let config = br#"{"ttl": "1h"}"#;
    let before = Engine::from_json(config).unwrap();
    let ahead = NOW + 30 * 86_400;
    send_at(
        &before,
        json!({"k8s.pod.uid": pod(1), "k8s.pod.name": "api-0", "k8s.namespace.name": "shop", "service.name": "api"}),
        ahead,
    );
    let after = Engine::from_json(config).unwrap();
    assert_eq!(after.restore(&before.snapshot(ahead), NOW).unwrap(), 1);
    let sparse = send_at(&after, json!({"k8s.pod.uid": pod(1)}), NOW + 60);
    assert_eq!(get_str(&sparse, "service.name"), Some("api"), "restored");
    let by_name = send_at(&after, json!({"k8s.pod.name": "api-0", "k8s.namespace.name": "shop"}), NOW + 7_200);
    assert_ne!(get_str(&by_name, "resource.id"), get_str(&sparse, "resource.id"), "the name's link outlived its TTL");
    let later = send_at(&after, json!({"k8s.pod.uid": pod(1)}), NOW + 10 * 86_400);
    assert_eq!(get_str(&later, "service.name"), None, "the entity outlived its TTL");
}

/// A snapshot of one entity whose pool repeats a key `n` times, each value `value_len` bytes,
/// in the format `state::snapshot` writes, with a valid checksum (anyone who can write the file
/// can compute one).
fn crafted(n: usize, value_len: usize) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u64.to_le_bytes());
    body.extend_from_slice(&7u128.to_le_bytes());
    body.extend_from_slice(&((NOW - 1_577_836_800) as u32).to_le_bytes());
    body.extend_from_slice(&(n as u32).to_le_bytes());
    for _ in 0..n {
        body.extend_from_slice(&1u32.to_le_bytes());
        body.push(b'k');
        body.push(0);
        body.extend_from_slice(&(value_len as u32).to_le_bytes());
        body.extend(std::iter::repeat_n(b'v', value_len));
    }
    body.extend_from_slice(&0u32.to_le_bytes()); // containers
    body.extend_from_slice(&0u64.to_le_bytes()); // links
    let mut out = b"RESQSNAP".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
    out
}

/// Pools no pooling makes are refused whole: one key repeated 100,000 times (before, restored
/// in time quadratic in the count: 1.7 s for 1 MB), or a 64 MiB value (before, held whole,
/// against a bound of 16 KiB per entity). A pool within the bounds is restored.
#[test]
fn a_crafted_pool_beyond_the_bounds_is_refused_whole() {
    for (n, value_len) in [(100_000, 0), (1, 64 << 20), (200, 100)] {
        let e = Engine::from_json(b"{}").unwrap();
        assert_eq!(e.restore(&crafted(n, value_len), NOW).unwrap(), 0, "{n} x {value_len} bytes");
        assert_eq!(e.pooled_bytes(), 0, "{n} x {value_len} bytes");
    }
    let e = Engine::from_json(b"{}").unwrap();
    assert_eq!(e.restore(&crafted(1, 100), NOW).unwrap(), 1);
    assert!(e.pooled_bytes() > 100);
}

/// Tenants' entities restored from a snapshot count against one group (the snapshot does not
/// keep partitions) only until their tenant sees them again: then each counts against its own
/// tenant's share, and another tenant churning past the bound evicts its own entities, not
/// theirs. Before, restored entities stayed in the one group, and the churn evicted the quiet
/// tenants' pods though they were seen again.
#[test]
fn restored_entities_count_against_their_tenant_once_it_sees_them_again() {
    let config = br#"{"partition": {"metadata": "x-scope-orgid"}, "max_entities": 2000}"#;
    let send = |e: &Engine, tenant: &str, attrs: J| {
        let r = resource(attrs.as_object().unwrap());
        apply(&r, &upserts(&e.process_partition(tenant.as_bytes(), &batch([r.clone()]), NOW).unwrap())[0])
    };
    let tenants = ["t0", "t1", "t2", "t3", "t4"];
    let before = Engine::from_json(config).unwrap();
    for (t, name) in tenants.iter().enumerate() {
        for i in 0..300 {
            send(&before, name, json!({"k8s.pod.uid": pod(t * 1000 + i), "service.name": "shop"}));
        }
    }
    let e = Engine::from_json(config).unwrap();
    e.restore(&before.snapshot(NOW), NOW).unwrap();
    for (t, name) in tenants.iter().enumerate() {
        for i in 0..300 {
            send(&e, name, json!({"k8s.pod.uid": pod(t * 1000 + i), "service.name": "shop"}));
        }
    }
    for i in 0..20_000 {
        send(&e, "churning", json!({"k8s.pod.uid": pod(1_000_000 + i), "service.name": "churn"}));
    }
    for (t, name) in tenants.iter().enumerate() {
        for i in 0..300 {
            let got = send(&e, name, json!({"k8s.pod.uid": pod(t * 1000 + i)}));
            assert_eq!(get_str(&got, "service.name"), Some("shop"), "{name}'s pod {i} lost to another tenant's churn");
        }
    }
}

/// A restored engine evicts as the running one would: under pressure, the least recently seen
/// restored entities go first. Before, the newest went in first, at the front of the clock's
/// queue, and were the first evicted.
#[test]
fn a_restored_engine_evicts_its_least_recently_seen_first() {
    let config = br#"{"max_entities": 1000}"#;
    let before = Engine::from_json(config).unwrap();
    let seen = |i: usize| NOW - 3_000 + (i / 2) as u64;
    for i in 0..1000 {
        send_at(&before, json!({"k8s.pod.uid": pod(i), "service.name": "s"}), seen(i));
    }
    let after = Engine::from_json(config).unwrap();
    after.restore(&before.snapshot(NOW), NOW).unwrap();
    for i in 0..300 {
        send_at(&after, json!({"k8s.pod.uid": pod(10_000 + i), "service.name": "new"}), NOW);
    }
    for i in 800..1000 {
        let got = send_at(&after, json!({"k8s.pod.uid": pod(i)}), NOW);
        assert_eq!(get_str(&got, "service.name"), Some("s"), "pod {i}, among the 200 most recently seen, was evicted");
    }
}
