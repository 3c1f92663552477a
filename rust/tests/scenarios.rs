//! Runs every scenario vector of `tests/scenarios/` and of the field corpus `tests/field/`
//! through the engine. The Go processor and the end-to-end tests run the same files.

mod common;

use common::*;
use resourceequality::Engine;
use serde_json::Value as J;
use std::collections::HashMap;

const NOW: u64 = 1_800_000_000;

fn run(path: &std::path::Path) -> Vec<String> {
    let s: J = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let name = s["name"].as_str().unwrap();
    let config = s.get("config").map(|c| c.to_string()).unwrap_or_else(|| "{}".into());
    let engine = Engine::from_json(config.as_bytes()).unwrap();
    let mut out: HashMap<String, Vec<opentelemetry_proto::tonic::common::v1::KeyValue>> = HashMap::new();
    for batch_spec in s["batches"].as_array().unwrap() {
        let entries = batch_spec.as_array().unwrap();
        let resources: Vec<_> = entries.iter().map(entry_resource).collect();
        let partition = batch_partition(entries);
        let result = engine.process_partition(partition.as_bytes(), &batch(resources.clone()), NOW).unwrap();
        let ups = upserts(&result);
        assert_eq!(ups.len(), resources.len(), "{name}: one result per resource");
        for ((e, r), u) in entries.iter().zip(&resources).zip(&ups) {
            out.insert(e["label"].as_str().unwrap().into(), apply(r, u));
        }
    }
    let mut failures = Vec::new();
    let mut fail = |m: String| failures.push(format!("{name}: {m}"));
    let id = |l: &str| get_str(&out[l], "resource.id").map(str::to_owned);
    let expect = &s["expect"];
    for pair in expect["same_id"].as_array().into_iter().flatten() {
        let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        if id(a).is_none() || id(a) != id(b) {
            fail(format!("{a} and {b} should share an id: {:?} vs {:?}", id(a), id(b)));
        }
    }
    for pair in expect["different_id"].as_array().into_iter().flatten() {
        let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        if id(a) == id(b) {
            fail(format!("{a} and {b} must NOT share an id (false merge): {:?}", id(a)));
        }
    }
    for (label, ty) in expect["type"].as_object().into_iter().flatten() {
        let got = get_str(&out[label], "resource.type");
        if got != ty.as_str() {
            fail(format!("{label}: type {got:?}, expected {ty}"));
        }
    }
    for (label, attrs) in expect["attributes"].as_object().into_iter().flatten() {
        for (k, v) in attrs.as_object().unwrap() {
            let got = get(&out[label], k);
            if got != Some(&any_value(v)) {
                fail(format!("{label}: {k} = {got:?}, expected {v}"));
            }
        }
    }
    for (label, keys) in expect["absent"].as_object().into_iter().flatten() {
        for k in keys.as_array().unwrap() {
            if let Some(v) = get(&out[label], k.as_str().unwrap()) {
                fail(format!("{label}: {k} must not be filled, got {v:?}"));
            }
        }
    }
    failures
}

/// Runs every vector of `files` (at least `least` of them) and fails with every failure.
fn all_hold(what: &str, files: Vec<std::path::PathBuf>, least: usize) {
    assert!(files.len() >= least, "expected the {what} vectors");
    let failures: Vec<String> = files.iter().flat_map(|f| run(f)).collect();
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
    eprintln!("{} {what} vectors passed", files.len());
}

#[test]
fn every_scenario_vector_holds() {
    all_hold("scenario", scenario_files(), 45);
}

#[test]
fn every_field_vector_holds() {
    all_hold("field", field_files(), 10);
}

/// Every resource of the field corpus names its emitter, and every emitter has provenance
/// (repository, path, version) and is used.
#[test]
fn every_field_resource_has_provenance() {
    let sources: J =
        serde_json::from_slice(&std::fs::read(repo_root().join("tests/field/sources.json")).unwrap()).unwrap();
    let sources = sources.as_object().unwrap();
    for (name, s) in sources {
        for k in ["repository", "path", "version"] {
            assert!(s[k].as_str().is_some_and(|v| !v.is_empty()), "sources.json: {name} lacks {k}");
        }
    }
    let mut used = std::collections::BTreeSet::new();
    for f in field_files() {
        let v: J = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for entry in v["batches"].as_array().unwrap().iter().flat_map(|b| b.as_array().unwrap()) {
            let source = entry["source"].as_str();
            assert!(
                source.is_some_and(|s| sources.contains_key(s)),
                "{}: {} names no source of sources.json",
                f.display(),
                entry["label"]
            );
            used.insert(source.unwrap().to_owned());
        }
    }
    let unused: Vec<_> = sources.keys().filter(|s| !used.contains(*s)).collect();
    assert!(unused.is_empty(), "sources.json lists sources no vector uses: {unused:?}");
}

#[test]
fn every_builtin_rule_has_a_vector() {
    let files: Vec<String> =
        scenario_files().iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for rule in resourceequality::builtin_rules() {
        assert!(files.contains(&format!("rule_{}", rule.name)), "no vector tests/scenarios/rule_{}.json", rule.name);
    }
}
