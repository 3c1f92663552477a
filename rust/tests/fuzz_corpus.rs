//! Replays the committed fuzz corpora (rust/fuzz/corpus/<target>/) through the same entry
//! points as the fuzz targets, on the stable toolchain: every input found by fuzzing stays a
//! regression test even where cargo-fuzz (nightly) is not installed.

mod common;

use resourceequality::Engine;
use std::path::Path;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = common::repo_root().join("rust/fuzz/corpus").join(target);
    let mut inputs: Vec<_> =
        std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    inputs.sort();
    inputs.iter().filter(|p: &&std::path::PathBuf| Path::is_file(p)).map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn process_corpus() {
    let engine = Engine::from_json(br#"{"max_entities": 1000}"#).unwrap();
    let tenants = Engine::from_json(
        br#"{"max_entities": 1000, "partition": {"attribute": "service.namespace", "default": "x"}}"#,
    )
    .unwrap();
    let inputs = corpus("process");
    for input in &inputs {
        for engine in [&engine, &tenants] {
            if let Ok(answer) = engine.process(input, 1_800_000_000) {
                resourceequality::wire::for_each_resource(&answer, |_| Ok(())).expect("well-formed answer");
            }
        }
    }
    eprintln!("{} process inputs replayed", inputs.len());
}

#[test]
fn config_corpus() {
    for input in corpus("config") {
        if let Err(e) = Engine::from_json(&input) {
            assert!(!e.0.is_empty());
        }
    }
}

#[test]
fn snapshot_corpus() {
    for input in corpus("snapshot") {
        let engine = Engine::from_json(br#"{"max_entities": 100}"#).unwrap();
        let before = engine.snapshot(1_800_000_000);
        if engine.restore(&input, 1_800_000_000).is_err() {
            assert_eq!(engine.snapshot(1_800_000_000), before);
        }
    }
}
