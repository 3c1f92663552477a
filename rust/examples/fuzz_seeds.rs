//! Writes the seed inputs of the fuzz corpora (rust/fuzz/corpus/<target>/seed-*) from the
//! scenario vectors: each batch as OTLP bytes (process), the engine configurations of the docs
//! (config), and the snapshot of an engine that learnt every vector (snapshot).
//! Run with `cargo run --release -p resourceequality --example fuzz_seeds`.

#[path = "../tests/common/mod.rs"]
mod common;

use resourceequality::Engine;
use std::fs;

fn main() {
    let root = common::repo_root().join("rust/fuzz/corpus");
    let engine = Engine::from_json(b"{}").unwrap();
    let mut n = 0;
    for path in common::scenario_files() {
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for (i, batch) in v["batches"].as_array().unwrap().iter().enumerate() {
            let resources =
                batch.as_array().unwrap().iter().map(|r| common::resource(r["attributes"].as_object().unwrap()));
            let bytes = common::batch(resources);
            engine.process(&bytes, 1_800_000_000).unwrap();
            let stem = path.file_stem().unwrap().to_string_lossy();
            fs::write(root.join("process").join(format!("seed-{stem}-{i}")), bytes).unwrap();
            n += 1;
        }
    }
    let configs = [
        "{}".to_string(),
        r#"{"id_attribute":"entity.id","name_attribute":"","pooling":{"enabled":true,"include":["team"],"exclude":["k8s.pod.annotation.*"]},"disabled_rules":["exact_match"],"max_entities":5000,"ttl":"10m"}"#.into(),
        r#"{"rules":[{"name":"billing_account","type":"billing.account","when":[{"key":"cloud.provider","equals":"aws","or_absent":true}],"unless_present":["service.name"],"derive":[{"attribute":"billing.account.id","from":"billing.arns","strip_prefix":"arn:"}],"identity":[["billing.account.id"],["billing.account.name","billing.org|billing.organization","k8s.cluster.uid|k8s.cluster.name?"]],"display_name":["billing.account.name"],"pool":["billing.*"],"promote_to":["k8s.pod"]}]}"#.into(),
        format!(r#"{{"rules":{},"disabled_rules":[]}}"#, "[]"),
    ];
    for (i, c) in configs.iter().enumerate() {
        fs::write(root.join("config").join(format!("seed-{i}")), c).unwrap();
    }
    fs::write(root.join("snapshot").join("seed-all-vectors"), engine.snapshot(1_800_000_000)).unwrap();
    println!("{n} process seeds, {} config seeds, 1 snapshot seed", configs.len());
}
