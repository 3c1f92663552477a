//! The benchmark pod is defined once, by `tests/load/bench_pod.json`; the criterion harness's
//! `pod` (rust/benches/engine.rs) is checked against its examples here, as the Go benchmark's
//! and the load generator's are in their own tests.

mod common;

#[allow(dead_code)]
#[path = "../benches/engine.rs"]
mod bench;

use opentelemetry_proto::tonic::common::v1::any_value::Value as V;

#[test]
fn the_criterion_pod_is_the_shared_one() {
    let text = std::fs::read_to_string(common::repo_root().join("tests/load/bench_pod.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for example in doc["pods"].as_array().unwrap() {
        let i = example["i"].as_u64().unwrap();
        let got: Vec<serde_json::Value> = bench::pod(i)
            .attributes
            .into_iter()
            .map(|kv| {
                let value = match kv.value.and_then(|v| v.value) {
                    Some(V::StringValue(s)) => serde_json::json!(s),
                    Some(V::IntValue(n)) => serde_json::json!(n),
                    other => panic!("{}: {other:?} is neither a string nor an int", kv.key),
                };
                serde_json::json!([kv.key, value])
            })
            .collect();
        assert_eq!(serde_json::Value::Array(got), example["attributes"], "pod {i}");
    }
}
