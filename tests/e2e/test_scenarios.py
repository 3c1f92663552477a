"""Every scenario vector of tests/scenarios/ and of the field corpus tests/field/ through the built
collector (OTLP/HTTP in, file out): the seed scenarios, their negative twins, one vector per
built-in rule, and resources as real emitters write them. Batch i of a vector is
sent as traces, logs or metrics (i mod 3), so pooling crosses signals as in production. Also:
nothing is lost, and ids are stable across a restart."""

import json
from pathlib import Path

import pytest

from harness import ROOT, SIGNALS, any_value, otlp_receiver, ports, post, read_output, request, service, service_extensions

VECTORS = sorted((ROOT / "tests" / "scenarios").glob("*.json")) + sorted(
    p for p in (ROOT / "tests" / "field").glob("*.json") if p.name != "sources.json"
)


def tenant_header(engine: dict | None) -> str | None:
    """The request header a vector's partitions travel in (partition.metadata), if any."""
    return ((engine or {}).get("partition") or {}).get("metadata")


def config(p: dict, out: Path, engine: dict | None = None) -> str:
    # A vector's config is the engine's keys, which the processor passes as written; JSON is YAML.
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p, include_metadata=tenant_header(engine) is not None)}
processors:
  resourceequality: {json.dumps(engine) if engine else ""}
exporters:
  file:
    path: {out}
""" + service({s: (["otlp"], ["resourceequality"], ["file"]) for s in SIGNALS})


def run_vector(collectors, tmp_path: Path, vector: dict, name: str) -> dict:
    """Sends a vector's batches through a fresh collector; returns label -> output resource."""
    p = ports("http")
    out = tmp_path / f"{name}.json"
    c = collectors(name, config(p, out, vector.get("config")), p)
    sent = 0
    header = tenant_header(vector.get("config"))
    for i, batch in enumerate(vector["batches"]):
        resources = [(r["label"], r["attributes"], r.get("entity_refs")) for r in batch]
        partitions = {r.get("partition", "") for r in batch}
        assert len(partitions) == 1, "the entries of one batch share one partition"
        partition = partitions.pop()
        headers = {header: partition} if partition else {}
        assert header or not partition, "a vector that names partitions sets partition.metadata"
        post(p["http"], SIGNALS[i % 3], request(SIGNALS[i % 3], resources), headers)
        sent += len(resources)
    c.stop()
    records = read_output(out)
    assert len(records) == sent, f"nothing lost: {sent} records in, {len(records)} out"
    return {r.label: r.resource for r in records}


def same(a, b) -> bool:
    return any_value(a) == any_value(b)


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_through_the_collector(collectors, tmp_path, path):
    vector = json.loads(path.read_text())
    out = run_vector(collectors, tmp_path, vector, path.stem)
    expect = vector["expect"]
    ids = {label: res.get("resource.id") for label, res in out.items()}
    failures = []
    for a, b in expect.get("same_id", []):
        if ids[a] is None or ids[a] != ids[b]:
            failures.append(f"{a} and {b} should share an id: {ids[a]} vs {ids[b]}")
    for a, b in expect.get("different_id", []):
        if ids[a] == ids[b]:
            failures.append(f"{a} and {b} must NOT share an id (false merge): {ids[a]}")
    for label, typ in expect.get("type", {}).items():
        if out[label].get("resource.type") != typ:
            failures.append(f"{label}: type {out[label].get('resource.type')}, expected {typ}")
    for label, attrs in expect.get("attributes", {}).items():
        for k, v in attrs.items():
            if k not in out[label] or not same(out[label][k], v):
                failures.append(f"{label}: {k} = {out[label].get(k)!r}, expected {v!r}")
    for label, keys in expect.get("absent", {}).items():
        for k in keys:
            if k in out[label]:
                failures.append(f"{label}: {k} must not be filled, got {out[label][k]!r}")
    assert not failures, "\n".join(failures)


SEEDS = [p for p in VECTORS if p.stem.startswith(("seed_", "neg_"))]


def test_ids_are_stable_across_a_restart(collectors, tmp_path):
    """Stop and start the collector, resend: identical ids (they depend on no state)."""
    for path in SEEDS:
        vector = json.loads(path.read_text())
        first = run_vector(collectors, tmp_path, vector, f"{path.stem}-first")
        second = run_vector(collectors, tmp_path, vector, f"{path.stem}-second")
        for label in first:
            assert first[label]["resource.id"] == second[label]["resource.id"], (path.stem, label)
            assert first[label]["resource.type"] == second[label]["resource.type"], (path.stem, label)
