//! Freezes the id function: for each resource in `tests/vectors/ids.json`, the id and type the
//! engine assigns must stay exactly as recorded. A change here changes every id users stored.
//! To record a deliberate change (a new id scheme version), run with `RE_UPDATE_IDS=1`.

mod common;

use common::*;
use resourceequality::Engine;
use serde_json::{Value as J, json};

#[test]
fn ids_are_frozen() {
    let path = repo_root().join("tests/vectors/ids.json");
    let mut vectors: J = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let update = std::env::var_os("RE_UPDATE_IDS").is_some();
    let mut failures = Vec::new();
    for v in vectors.as_array_mut().unwrap() {
        // A fresh engine per vector: a frozen id must not depend on learnt state.
        // A vector with a partition is processed in that partition (a tenant's header).
        let partition = v["partition"].as_str().unwrap_or("");
        let config: &[u8] = if partition.is_empty() { b"{}" } else { br#"{"partition":{"metadata":"x-scope-orgid"}}"# };
        let engine = Engine::from_json(config).unwrap();
        let r = resource(v["attributes"].as_object().unwrap());
        let out = engine.process_partition(partition.as_bytes(), &batch([r.clone()]), 1_800_000_000).unwrap();
        let attrs = apply(&r, &upserts(&out)[0]);
        let got = json!({"id": get_str(&attrs, "resource.id"), "type": get_str(&attrs, "resource.type")});
        if update {
            v["id"] = got["id"].clone();
            v["type"] = got["type"].clone();
        } else if got["id"] != v["id"] || got["type"] != v["type"] {
            failures.push(format!("{}: got {got}, frozen {} {}", v["attributes"], v["type"], v["id"]));
        }
    }
    if update {
        std::fs::write(&path, serde_json::to_string_pretty(&vectors).unwrap() + "\n").unwrap();
    }
    assert!(failures.is_empty(), "ids changed:\n{}", failures.join("\n"));
}
