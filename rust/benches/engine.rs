//! Engine throughput: decode + match + pool, per resource, for batches of 1/10/100/1000
//! resources of 15 attributes on warm indexes of 1k, 100k and 1M entities.
//! `hit`: resources of entities already in the index (the steady state of a pipeline), walking
//! the whole index (at most 100k distinct resources, so the encoded batches fit in memory);
//! `miss`: resources of entities never seen (new pods; the index is full and evicts).
//! Run with `make bench-engine` (or `cargo bench -p resourceequality --bench engine`).

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use resourceequality::Engine;
use std::hint::black_box;
use std::time::Duration;

pub const NOW: u64 = 1_800_000_000;

/// The benchmark pod (`tests/load/bench_pod.json`, which `rust/tests/bench_pod.rs` checks this
/// against): a pod resource as an SDK reports it, 15 attributes.
pub fn pod(i: u64) -> Resource {
    let s = |k: &str, v: String| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(V::StringValue(v)) }),
        ..Default::default()
    };
    let int = |k: &str, v: i64| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(V::IntValue(v)) }),
        ..Default::default()
    };
    let deployment = format!("svc-{}", i % 500);
    Resource {
        attributes: vec![
            s("k8s.pod.uid", format!("{:08x}-1b7d-4c55-9a0e-{:012x}", i >> 32, i & 0xffff_ffff)),
            s("k8s.pod.name", format!("{deployment}-7d9f-{i:06}")),
            s("k8s.namespace.name", format!("ns-{}", i % 40)),
            s("k8s.node.name", format!("ip-10-0-{}-{}.ec2.internal", i % 200, i % 250)),
            s("k8s.deployment.name", deployment.clone()),
            s("k8s.replicaset.name", format!("{deployment}-7d9f")),
            s("service.name", deployment.clone()),
            s("service.version", "1.4.2".into()),
            s("container.name", "app".into()),
            s("cloud.provider", "aws".into()),
            s("cloud.region", "us-east-1".into()),
            s("cloud.account.id", "123456789012".into()),
            s("telemetry.sdk.language", "go".into()),
            s("telemetry.sdk.version", "1.38.0".into()),
            int("process.pid", 1 + (i % 30000) as i64),
        ],
        ..Default::default()
    }
}

pub fn encode(resources: impl IntoIterator<Item = Resource>) -> Vec<u8> {
    LogsData {
        resource_logs: resources
            .into_iter()
            .map(|r| ResourceLogs { resource: Some(r), ..Default::default() })
            .collect(),
    }
    .encode_to_vec()
}

/// Pre-encoded batches of known entities that together cover the index (up to 100k
/// resources), in an order unrelated to insertion.
pub fn hit_batches(entities: u64, batch: u64) -> Vec<Vec<u8>> {
    let distinct = entities.min(100_000);
    (0..distinct.div_ceil(batch))
        .map(|b| encode((0..batch).map(|j| pod(((b * batch + j) * 7919) % entities))))
        .collect()
}

/// An engine that has learnt `entities` pods. `max_entities` leaves 25% headroom: the bound is
/// enforced per shard, so an index sized exactly to its working set keeps ~99% of it resident
/// and churns the rest (the README's sizing advice).
pub fn warm(entities: u64) -> Engine {
    let capacity = entities + entities / 4;
    let engine = Engine::from_json(format!(r#"{{"max_entities": {capacity}}}"#).as_bytes()).unwrap();
    for chunk in (0..entities).collect::<Vec<_>>().chunks(1000) {
        engine.process(&encode(chunk.iter().map(|i| pod(*i))), NOW).unwrap();
    }
    engine
}

fn bench(c: &mut Criterion) {
    // RE_BENCH_INDEXES=100000 (comma-separated) runs a subset of the index sizes.
    let sizes: Vec<u64> = std::env::var("RE_BENCH_INDEXES")
        .map(|v| v.split(',').map(|s| s.trim().parse().expect("index size")).collect())
        .unwrap_or_else(|_| vec![1_000, 100_000, 1_000_000]);
    for entities in sizes {
        let engine = warm(entities);
        let mut group = c.benchmark_group(format!("index_{entities}"));
        group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
        // Every hit benchmark before any miss benchmark: misses insert new pods, which would
        // evict the warm set and turn later "hits" into misses.
        for batch in [1u64, 10, 100, 1000] {
            group.throughput(Throughput::Elements(batch));
            let batches = hit_batches(entities, batch);
            let mut n = 0;
            // One answer buffer for every batch, as the processor passes its pooled buffer
            // (`re_engine_process`): a fresh one per batch would time the allocator.
            let mut answer = Vec::new();
            group.bench_function(BenchmarkId::new("hit", batch), |bench| {
                bench.iter(|| {
                    n = (n + 1) % batches.len();
                    engine.process_into(black_box(&batches[n]), NOW, &mut answer).unwrap();
                    black_box(answer.len())
                })
            });
        }
        let mut next = entities * 10;
        for batch in [1u64, 10, 100, 1000] {
            group.throughput(Throughput::Elements(batch));
            group.bench_function(BenchmarkId::new("miss", batch), |bench| {
                bench.iter_batched(
                    || {
                        next += batch;
                        encode((next - batch..next).map(pod))
                    },
                    |bytes| black_box(engine.process(&bytes, NOW).unwrap()),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
