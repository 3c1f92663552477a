"""A fleet answers like one collector: every vector of tests/field/ and tests/scenarios/ through
the shipped examples/two-tier fleet (2 tier-1 routers, 2 tier-2 collectors, each source pinned to
one router) in several ring layouts gives every resource exactly the id, type and pooled
attributes one collector gives it, but for the README's one limit: a resource known only by a
container.id keeps its own identity (rust/tests/fleet.rs checks that answer exactly)."""

import json
import zlib
from pathlib import Path

from fleet import start_fleet
from harness import ROOT, SIGNALS, otlp_receiver, ports, post, read_output, request, service, service_extensions, wait_for

VECTORS = sorted((ROOT / "tests" / "scenarios").glob("*.json")) + sorted(
    p for p in (ROOT / "tests" / "field").glob("*.json") if p.name != "sources.json"
)
LAYOUTS = 3  # ring layouts (each fleet's ports differ) for the vectors without a config of their own
CONFIG_LAYOUTS = 2  # and for each group of vectors that sets engine keys
HEADER = "x-scope-orgid"  # the example's tenant header; vectors that name partitions use it too
OWN = {"resource.id", "resource.type", "resource.name"}


def engine_of(vector: dict) -> dict:
    """The engine keys a vector runs with on top of the example's."""
    return vector.get("config") or {}


def one_collector(collectors, tmp_path: Path, name: str, engine: dict, vectors: list) -> dict:
    """The reference: one collector with the example's partition and the vectors' keys, every
    batch in order. Returns label -> resource."""
    p = ports("http")
    out = tmp_path / f"{name}.json"
    keys = {"partition": {"metadata": HEADER}, **engine}
    config = service_extensions(p) + f"""
receivers:{otlp_receiver(p, include_metadata=True)}
processors:
  resourceequality: {json.dumps(keys)}
exporters:
  file:
    path: {out}
""" + service({s: (["otlp"], ["resourceequality"], ["file"]) for s in SIGNALS})
    c = collectors(name, config, p)
    for stem, vector in vectors:
        for i, batch in enumerate(vector["batches"]):
            resources = [(f"{stem}:{r['label']}", r["attributes"], r.get("entity_refs")) for r in batch]
            partition = batch[0].get("partition", "")
            post(p["http"], SIGNALS[i % 3], request(SIGNALS[i % 3], resources), {HEADER: partition} if partition else {})
    c.stop()
    return {r.label: r.resource for r in read_output(out)}


def through_fleet(collectors, tmp_path: Path, name: str, engine: dict, vectors: list):
    """The vectors through a fresh fleet, one resource at a time in the reference's order (each
    source through the router its name pins it to). Returns label -> resource, label -> tier-2."""
    fleet = start_fleet(collectors, tmp_path, engine=engine, prefix=f"{name}-")
    sent = 0
    for stem, vector in vectors:
        for i, batch in enumerate(vector["batches"]):
            for r in batch:
                source = r.get("source", r["label"])
                _, router = fleet.routers[zlib.crc32(source.encode()) % len(fleet.routers)]
                partition = r.get("partition", "")
                req = request(SIGNALS[i % 3], [(f"{stem}:{r['label']}", r["attributes"], r.get("entity_refs"))])
                post(router["http"], SIGNALS[i % 3], req, {HEADER: partition} if partition else {})
                sent += 1
                # The next resource leaves only when this one is out: one collector's order.
                wait_for(lambda: sum(len(o) for o in fleet.outputs()) >= sent, interval=0.01,
                         what=f"{stem}:{r['label']} out of the fleet")
    fleet.stop()
    answers, where = {}, {}
    for t, records in enumerate(fleet.outputs()):
        for rec in records:
            answers[rec.label] = {k: v for k, v in rec.resource.items() if k != "resource.route"}
            where[rec.label] = t
    assert len(answers) == sent, "nothing lost, nothing duplicated"
    return answers, where


def test_a_fleet_answers_every_vector_like_one_collector(collectors, tmp_path):
    groups: dict = {}
    for path in VECTORS:
        vector = json.loads(path.read_text())
        groups.setdefault(json.dumps(engine_of(vector), sort_keys=True), []).append((path.stem, vector))
    failures, limits, layouts, compared = [], set(), set(), 0
    for g, (key, vectors) in enumerate(sorted(groups.items())):
        engine = json.loads(key)
        reference = one_collector(collectors, tmp_path, f"one-{g}", engine, vectors)
        for layout in range(CONFIG_LAYOUTS if engine else LAYOUTS):
            fleet, where = through_fleet(collectors, tmp_path, f"fleet-{g}-{layout}", engine, vectors)
            layouts.add((g, tuple(sorted(where.items()))))
            for label, want in reference.items():
                compared += 1
                got = fleet[label]
                if got == want:
                    continue
                differs = {k for k in set(got) | set(want) if got.get(k) != want.get(k)}
                # The limit: its own id, type and name where one collector gives its pod's, and
                # nothing else the fleet gives that one collector does not.
                promoted = want.get("resource.type") in ("k8s.pod", "aws.ecs.task")
                if promoted and got.get("resource.type") == "container" and {k for k in differs if k in got} <= OWN:
                    limits.add(label)
                    continue
                failures.append(f"{label} (layout {layout}): " + ", ".join(
                    f"{k}: one collector {want.get(k)!r}, fleet {got.get(k)!r}" for k in sorted(differs)))
    assert not failures, f"{len(failures)} difference(s):\n" + "\n".join(failures)
    assert len(layouts) > len(groups), "the layouts put resources on different tier-2 collectors"
    print(f"{compared} resource answers compared over {LAYOUTS} layouts: all equal one collector's, "
          f"but those of {len(limits)} resource(s) known only by a container.id: {sorted(limits)}")
