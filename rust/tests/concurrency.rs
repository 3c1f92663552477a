//! Many threads on one engine: ids stay stable and pooling stays correct.

mod common;

use common::*;
use resourceequality::Engine;
use serde_json::json;
use std::sync::Arc;

#[test]
fn concurrent_batches_give_stable_ids() {
    let engine = Arc::new(Engine::from_json(br#"{"max_entities": 50000}"#).unwrap());
    let pods = 2000;
    let reference: Vec<String> = (0..pods)
        .map(|i| {
            let e = Engine::from_json(b"{}").unwrap();
            let r = resource(json!({"k8s.pod.uid": format!("uid-{i}")}).as_object().unwrap());
            get_str(&apply(&r, &upserts(&e.process(&batch([r.clone()]), 0).unwrap())[0]), "resource.id")
                .unwrap()
                .to_owned()
        })
        .collect();
    let reference = Arc::new(reference);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (engine, reference) = (engine.clone(), reference.clone());
            std::thread::spawn(move || {
                for round in 0..20 {
                    let ids: Vec<usize> = (0..100).map(|j| (t * 131 + round * 17 + j * 7) % pods).collect();
                    let rs: Vec<_> = ids
                        .iter()
                        .map(|i| {
                            let attrs = if (i + round) % 2 == 0 {
                                json!({"k8s.pod.uid": format!("uid-{i}"), "k8s.pod.name": format!("pod-{i}"), "k8s.namespace.name": "ns"})
                            } else {
                                json!({"k8s.pod.uid": format!("uid-{i}")})
                            };
                            resource(attrs.as_object().unwrap())
                        })
                        .collect();
                    let ups = upserts(&engine.process(&batch(rs.clone()), 1_800_000_000).unwrap());
                    for ((i, r), u) in ids.iter().zip(&rs).zip(&ups) {
                        let out = apply(r, u);
                        assert_eq!(get_str(&out, "resource.id"), Some(reference[*i].as_str()));
                        if let Some(name) = get_str(&out, "k8s.pod.name") {
                            assert_eq!(name, format!("pod-{i}"), "pooled from the right entity");
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(engine.stats().resources_processed, 8 * 20 * 100);
}
