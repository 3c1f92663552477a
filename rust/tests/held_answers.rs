//! The held-answers contract (`include/WIRE.md`, "Held answers" and "Leases"), through a client
//! that does what the processor does: it keys each resource, holds the answers the engine stores,
//! applies them under their leases (reading the engine's held view) or names them instead of
//! sending the resource, and sends the bytes again when asked. Every answer it ends up applying
//! must be the answer the plain contract gives for the same bytes at the same moment (in a batch,
//! with the resources it was asked to resend last).

mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use prost::encoding::{decode_varint, encode_varint};
use resourceequality::Engine;
use resourceequality::wire::fields::{
    DATA_ENTRIES, ENTRY_KEY, ENTRY_LEASE, ENTRY_RESOURCE, ENTRY_STATUS, ENTRY_VERSION, LEASE_CELL, LEASE_LINK_EPOCH,
    LEASE_STAMP, LEASE_UNTIL, LEN, STATUS_HELD, STATUS_RESEND, VARINT, key,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Acquire;

const NOW: u64 = 1_800_000_000;

/// What the processor keeps: answers by key, with their versions and leases.
#[derive(Default)]
struct Client {
    held: HashMap<u128, Held>,
    /// Entries sent without their resource in the last exchange, and resent after; resources
    /// answered under their leases, without asking.
    named: usize,
    resent: usize,
    leased: usize,
}

struct Held {
    version: u64,
    upserts: Vec<KeyValue>,
    lease: Lease,
}

/// A lease's fields (`include/WIRE.md`, "Leases"), as far as this client checks them.
#[derive(Default, Clone, Copy, PartialEq, Debug)]
struct Lease {
    cell: Option<(usize, u64)>,
    link_epoch: Option<u64>,
    until: u64,
}

impl Lease {
    fn read(mut b: &[u8]) -> Lease {
        let (mut l, mut cell, mut stamp) = (Lease::default(), None, 0);
        while !b.is_empty() {
            let tag = b[0];
            b = &b[1..];
            assert_eq!(tag & 7, VARINT, "every lease field is a varint");
            let v = decode_varint(&mut b).unwrap();
            match tag >> 3 {
                t if t == LEASE_CELL => cell = Some(v as usize),
                t if t == LEASE_STAMP => stamp = v,
                t if t == LEASE_LINK_EPOCH => l.link_epoch = Some(v),
                t if t == LEASE_UNTIL => l.until = v,
                _ => {}
            }
        }
        l.cell = cell.map(|c| (c, stamp));
        l
    }

    /// Whether the answer may be applied at `now` without asking, as the processor decides.
    fn holds(&self, e: &Engine, now: u64) -> bool {
        let v = e.held_view();
        now < self.until
            && self.cell.is_none_or(|(c, stamp)| v.cells[c].load(Acquire) == stamp)
            && self.link_epoch.is_none_or(|epoch| v.link_epoch.load(Acquire) == epoch)
    }
}

/// An entry's own fields as the answer carries them.
#[derive(Default)]
struct Entry {
    resource: Option<Resource>,
    version: u64,
    status: u64,
    lease: Option<Lease>,
}

fn entries(answer: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut b = answer;
    while !b.is_empty() {
        assert_eq!(b[0], key(DATA_ENTRIES, LEN));
        b = &b[1..];
        let len = decode_varint(&mut b).unwrap() as usize;
        let (mut entry, rest) = b.split_at(len);
        b = rest;
        let mut e = Entry::default();
        while !entry.is_empty() {
            let tag = entry[0];
            entry = &entry[1..];
            match (tag >> 3, tag & 7) {
                (t, LEN) if t == ENTRY_RESOURCE => {
                    let len = decode_varint(&mut entry).unwrap() as usize;
                    e.resource = Some(Resource::decode(&entry[..len]).unwrap());
                    entry = &entry[len..];
                }
                (t, VARINT) if t == ENTRY_VERSION => e.version = decode_varint(&mut entry).unwrap(),
                (t, VARINT) if t == ENTRY_STATUS => e.status = decode_varint(&mut entry).unwrap(),
                (t, LEN) if t == ENTRY_LEASE => {
                    let len = decode_varint(&mut entry).unwrap() as usize;
                    e.lease = Some(Lease::read(&entry[..len]));
                    entry = &entry[len..];
                }
                other => panic!("unexpected field {other:?} in an answer entry"),
            }
        }
        out.push(e);
    }
    out
}

/// A request entry: the resource (when sent), its key, and the version held (0: none).
fn request_entry(out: &mut Vec<u8>, resource: Option<&Resource>, k: u128, version: u64) {
    let mut entry = Vec::new();
    if let Some(r) = resource {
        entry.push(key(ENTRY_RESOURCE, LEN));
        encode_varint(r.encoded_len() as u64, &mut entry);
        r.encode(&mut entry).unwrap();
    }
    entry.extend_from_slice(&[key(ENTRY_KEY, LEN), 16]);
    entry.extend_from_slice(&k.to_le_bytes());
    if version != 0 {
        entry.push(key(ENTRY_VERSION, VARINT));
        encode_varint(version, &mut entry);
    }
    out.push(key(DATA_ENTRIES, LEN));
    encode_varint(entry.len() as u64, out);
    out.extend_from_slice(&entry);
}

/// The processor's key: here any hash of the bytes that differs per resource will do.
fn key_of(r: &Resource) -> u128 {
    xxhash_rust::xxh3::xxh3_128_with_seed(&r.encode_to_vec(), 0x5eed)
}

impl Client {
    /// One batch through the contract: the upserts applied to each resource.
    fn send(&mut self, e: &Engine, resources: &[Resource], now: u64) -> Vec<Vec<KeyValue>> {
        let keys: Vec<u128> = resources.iter().map(key_of).collect();
        let mut upserts = vec![Vec::new(); resources.len()];
        // Under their leases, up to the first resource with no answer held.
        self.leased = 0;
        let mut sent = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match self.held.get(k) {
                Some(h) if sent.is_empty() && h.lease.holds(e, now) => {
                    upserts[i] = h.upserts.clone();
                    self.leased += 1;
                }
                _ => sent.push(i),
            }
        }
        if sent.is_empty() {
            return upserts;
        }
        let mut request = Vec::new();
        for &i in &sent {
            match self.held.get(&keys[i]) {
                Some(h) => request_entry(&mut request, None, keys[i], h.version),
                None => request_entry(&mut request, Some(&resources[i]), keys[i], 0),
            }
        }
        let answer = entries(&e.process(&request, now).unwrap());
        assert_eq!(answer.len(), sent.len());
        let mut resend = Vec::new();
        self.named = 0;
        for (j, entry) in answer.into_iter().enumerate() {
            let i = sent[j];
            let named = !request_has_resource(&request, j);
            self.named += usize::from(named);
            match entry.status {
                0 => upserts[i] = self.keep(keys[i], entry),
                STATUS_HELD => {
                    assert!(named, "held answers a named entry");
                    let h = self.held.get_mut(&keys[i]).unwrap();
                    // A touch renews the lease; without one the lease held is unchanged.
                    if let Some(lease) = entry.lease {
                        assert_eq!((lease.cell, lease.link_epoch), (h.lease.cell, h.lease.link_epoch));
                        h.lease = lease;
                    }
                    upserts[i] = h.upserts.clone();
                }
                STATUS_RESEND => resend.push(i),
                s => panic!("unknown status {s}"),
            }
        }
        self.resent = resend.len();
        if !resend.is_empty() {
            let mut request = Vec::new();
            for &i in &resend {
                request_entry(&mut request, Some(&resources[i]), keys[i], 0);
            }
            for (&i, entry) in resend.iter().zip(entries(&e.process(&request, now).unwrap())) {
                assert_eq!(entry.status, 0, "a resource sent whole gets an answer");
                upserts[i] = self.keep(keys[i], entry);
            }
        }
        upserts
    }

    fn keep(&mut self, k: u128, entry: Entry) -> Vec<KeyValue> {
        let upserts = entry.resource.map(|r| r.attributes).unwrap_or_default();
        if entry.version != 0 {
            let lease = entry.lease.expect("an answer stored under a version carries its lease");
            self.held.insert(k, Held { version: entry.version, upserts: upserts.clone(), lease });
        }
        upserts
    }
}

/// Whether the request's i-th entry carried its resource.
fn request_has_resource(request: &[u8], i: usize) -> bool {
    let logs = LogsData::decode(request).unwrap();
    logs.resource_logs.get(i).is_some_and(|rl: &ResourceLogs| rl.resource.is_some())
}

/// Sends one resource through the client and, on an engine fed the same history, through the
/// plain contract, and checks that both apply the same attributes.
struct Twin {
    held: Engine,
    plain: Engine,
    client: Client,
}

impl Twin {
    fn new(config: &str) -> Twin {
        Twin {
            held: Engine::from_json(config.as_bytes()).unwrap(),
            plain: Engine::from_json(config.as_bytes()).unwrap(),
            client: Client::default(),
        }
    }

    fn send(&mut self, attrs: serde_json::Value, now: u64) -> Vec<KeyValue> {
        let r = resource(attrs.as_object().unwrap());
        let via_held = apply(&r, &self.client.send(&self.held, std::slice::from_ref(&r), now)[0]);
        let plain = apply(&r, &upserts(&self.plain.process(&batch([r.clone()]), now).unwrap())[0]);
        assert_eq!(via_held, plain, "held and plain answers differ for {attrs}");
        via_held
    }
}

#[test]
fn a_resource_seen_again_is_leased_then_named_and_its_held_answer_confirmed() {
    let mut t = Twin::new("{}");
    let pod = json!({"k8s.pod.uid": "u1", "k8s.pod.name": "web-1", "service.name": "api"});
    let first = t.send(pod.clone(), NOW);
    assert_eq!(t.client.named, 0);
    assert_eq!(first, t.send(pod.clone(), NOW + 9));
    assert_eq!(t.client.leased, 1, "applied under its lease, without asking");
    let again = t.send(pod.clone(), NOW + 10);
    assert_eq!((t.client.leased, t.client.named), (0, 1), "a touch is due: sent as its key and version only");
    assert_eq!(t.client.resent, 0);
    assert_eq!(first, again);
    assert_eq!(t.send(pod, NOW + 19), first);
    assert_eq!(t.client.leased, 1, "the lease was renewed with the touch");
}

#[test]
fn a_held_answer_the_state_outgrew_is_replaced_not_confirmed() {
    let mut t = Twin::new("{}");
    let sparse = json!({"k8s.pod.uid": "u1"});
    assert_eq!(get_str(&t.send(sparse.clone(), NOW), "service.name"), None);
    t.send(json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    let filled = t.send(sparse.clone(), NOW);
    assert_eq!(get_str(&filled, "service.name"), Some("api"));
    assert_eq!(t.client.resent, 1, "the engine had no valid answer: it asked for the bytes");
    // Ambiguous now: the fill must go, whichever way the answer comes.
    t.send(json!({"k8s.pod.uid": "u1", "service.name": "envoy"}), NOW);
    assert_eq!(get_str(&t.send(sparse, NOW), "service.name"), None);
}

#[test]
fn an_entity_forgotten_or_a_state_restored_asks_for_the_bytes_again() {
    let mut t = Twin::new(r#"{"ttl": "60s"}"#);
    let sparse = json!({"k8s.pod.uid": "u1"});
    t.send(json!({"k8s.pod.uid": "u1", "service.name": "api"}), NOW);
    assert_eq!(get_str(&t.send(sparse.clone(), NOW), "service.name"), Some("api"));
    assert_eq!(get_str(&t.send(sparse.clone(), NOW + 120), "service.name"), None);
    assert_eq!(t.client.resent, 1);
    let snapshot = t.held.snapshot(NOW + 120);
    t.held.restore(&snapshot, NOW + 120).unwrap();
    t.plain.restore(&t.plain.snapshot(NOW + 120), NOW + 120).unwrap();
    t.send(sparse, NOW + 120);
    assert_eq!((t.client.named, t.client.resent), (1, 1), "a restored engine holds no answers");
}

#[test]
fn a_status_answers_only_entries_sent_without_their_resource() {
    let e = Engine::from_json(b"{}").unwrap();
    let r = resource(json!({"k8s.pod.uid": "u1"}).as_object().unwrap());
    let k = key_of(&r);
    // The bytes with a version the engine never gave: answered whole, with a version of its own.
    let mut request = Vec::new();
    request_entry(&mut request, Some(&r), k, 12345);
    let answer = entries(&e.process(&request, NOW).unwrap());
    assert_eq!(answer[0].status, 0);
    assert!(answer[0].resource.is_some() && answer[0].version != 0);
    // A key the engine has never seen, without bytes: resend.
    let mut request = Vec::new();
    request_entry(&mut request, None, k ^ 1, 1);
    assert_eq!(entries(&e.process(&request, NOW).unwrap())[0].status, STATUS_RESEND);
    assert_eq!(e.stats().resources_processed, 1, "a resource asked for again is counted when it comes");
}

#[test]
fn a_key_only_finds_answers_ids_come_from_the_bytes() {
    // Two engines, two different keys for the same bytes: the same id.
    let r = resource(json!({"k8s.pod.uid": "u1", "k8s.pod.name": "web-1"}).as_object().unwrap());
    let ids: Vec<_> = [1u128, 2u128 << 100]
        .into_iter()
        .map(|k| {
            let e = Engine::from_json(b"{}").unwrap();
            let mut request = Vec::new();
            request_entry(&mut request, Some(&r), k, 0);
            let entry = entries(&e.process(&request, NOW).unwrap()).remove(0);
            get_str(&entry.resource.unwrap().attributes, "resource.id").map(str::to_owned)
        })
        .collect();
    assert!(ids[0].is_some());
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn every_resource_of_a_batch_seen_again_is_leased_or_named() {
    let e = Engine::from_json(b"{}").unwrap();
    let pods: Vec<Resource> = [
        json!({"k8s.pod.uid": "u-1", "k8s.pod.name": "api-0", "k8s.namespace.name": "prod", "service.name": "api"}),
        json!({"k8s.pod.uid": "u-2", "k8s.pod.name": "web-0", "k8s.namespace.name": "prod", "service.name": "web"}),
    ]
    .iter()
    .map(|a| resource(a.as_object().unwrap()))
    .collect();
    let mut client = Client::default();
    let first = client.send(&e, &pods, NOW);
    assert_eq!(client.send(&e, &pods, NOW), first);
    assert_eq!((client.leased, client.resent), (2, 0));
    assert_eq!(client.send(&e, &pods, NOW + 10), first);
    assert_eq!((client.named, client.resent), (2, 0));
}

#[test]
fn leases_stop_at_the_first_resource_the_engine_computes() {
    let e = Engine::from_json(b"{}").unwrap();
    let sparse = resource(json!({"k8s.pod.uid": "u1"}).as_object().unwrap());
    let rich = resource(json!({"k8s.pod.uid": "u1", "service.name": "api"}).as_object().unwrap());
    let mut client = Client::default();
    client.send(&e, std::slice::from_ref(&sparse), NOW);
    // The rich resource, new, comes first: the sparse one's answer is the engine's to confirm,
    // after the rich one has changed its pool, and it is filled.
    let got = client.send(&e, &[rich, sparse], NOW);
    assert_eq!(client.leased, 0);
    assert_eq!(get_str(&got[1], "service.name"), Some("api"));
}

/// A resource the engine asks to be resent is computed in the second request, after the rest of
/// its batch (`include/WIRE.md`, "Held answers", order): the batch is answered as the plain
/// contract answers it with the resent resources last, which may differ from its own order.
#[test]
fn a_resent_resource_is_answered_after_the_rest_of_its_batch() {
    let config = br#"{"ttl": "40s"}"#;
    let (held, in_order, resent_last) =
        (Engine::from_json(config).unwrap(), Engine::from_json(config).unwrap(), Engine::from_json(config).unwrap());
    let r = |attrs: serde_json::Value| resource(attrs.as_object().unwrap());
    let u2 = r(json!({"k8s.namespace.name": "prod", "k8s.pod.name": "web-0", "k8s.pod.uid": "u2"}));
    let u1 = r(json!({"k8s.namespace.name": "prod", "k8s.pod.name": "web-0", "k8s.pod.uid": "u1"}));
    let by_name = r(json!({"k8s.namespace.name": "prod", "k8s.pod.name": "web-0", "service.name": "api"}));
    let mut client = Client::default();
    let id = |kvs: &[KeyValue]| get_str(kvs, "resource.id").map(str::to_owned);
    let plain = |e: &Engine, rs: &[Resource], now: u64| -> Vec<Option<String>> {
        upserts(&e.process(&batch(rs.to_vec()), now).unwrap()).iter().map(|u| id(u)).collect()
    };
    // u2 names web-0, and its link expires; then u1 names it, and by_name joins u1 through it.
    for (rs, now) in [(vec![u2.clone()], NOW), (vec![u1], NOW + 50), (vec![by_name.clone()], NOW + 50)] {
        client.send(&held, &rs, now);
        plain(&in_order, &rs, now);
        plain(&resent_last, &rs, now);
    }
    // u2 again, its answer past its refresh: resent, and computed after by_name.
    let got: Vec<_> = client.send(&held, &[u2.clone(), by_name.clone()], NOW + 55).iter().map(|u| id(u)).collect();
    assert_eq!(client.resent, 1);
    let mut last = plain(&resent_last, &[by_name.clone(), u2.clone()], NOW + 55);
    last.reverse();
    assert_eq!(got, last);
    assert_ne!(got, plain(&in_order, &[u2, by_name], NOW + 55), "in its own order, u2 makes web-0 ambiguous first");
}
