"""A fleet answers like one collector: every vector of tests/field/ and tests/scenarios/ through
the shipped examples/two-tier fleet (2 tier-1 routers, 2 tier-2 collectors, each source pinned to
one router) in several ring layouts gives every resource exactly the id, type and pooled
attributes one collector gives it, but for the README's one limit: a resource known only by a
contained entity's identity (a container.id) keeps its own identity (rust/tests/fleet.rs checks
that answer exactly)."""

import json
import threading
import time
import zlib
from pathlib import Path

from fleet import new_tier2, start_fleet, start_router, start_tier2
from harness import ROOT, SIGNALS, otlp_receiver, ports, post, read_output, request, service, service_extensions, wait_for

VECTORS = sorted((ROOT / "tests" / "scenarios").glob("*.json")) + sorted(
    p for p in (ROOT / "tests" / "field").glob("*.json") if p.name != "sources.json"
)
LAYOUTS = 3  # ring layouts (each fleet's ports differ) for the vectors without a config of their own
CONFIG_LAYOUTS = 2  # and for each group of vectors that sets engine keys
HEADER = "x-scope-orgid"  # the example's tenant header; vectors that name partitions use it too
OWN = {"resource.id", "resource.type", "resource.name"}
BUILTIN_RULES = json.loads((ROOT / "rust" / "rules" / "builtin.json").read_text())


def promotions(rules: list) -> set:
    """Promotions as the rules declare them: (a contained type, a type it is promoted into)."""
    return {(r["type"], t) for r in rules for t in r.get("promote_to", [])}


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


def own_identities(collectors, tmp_path: Path, name: str, engine: dict, vectors: list, labels: set) -> dict:
    """Each labelled resource's answer when it is the only resource a fresh collector has seen:
    the identity its own keys give. Returns label -> resource."""
    entries = {f"{stem}:{r['label']}": (stem, r) for stem, vector in vectors for batch in vector["batches"]
               for r in batch}
    own = {}
    for i, label in enumerate(sorted(labels)):
        stem, entry = entries[label]
        own.update(one_collector(collectors, tmp_path, f"{name}-{i}", engine, [(stem, {"batches": [[entry]]})]))
    return own


def test_a_fleet_answers_every_vector_like_one_collector(collectors, tmp_path):
    groups: dict = {}
    for path in VECTORS:
        vector = json.loads(path.read_text())
        groups.setdefault(json.dumps(engine_of(vector), sort_keys=True), []).append((path.stem, vector))
    failures, limits, layouts, compared = [], set(), set(), 0
    for g, (key, vectors) in enumerate(sorted(groups.items())):
        engine = json.loads(key)
        promoted_types = promotions(BUILTIN_RULES + engine.get("rules", []))
        reference = one_collector(collectors, tmp_path, f"one-{g}", engine, vectors)
        limited = []  # (label, layout, the fleet's answer) that may be the limit
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
                promoted = (got.get("resource.type"), want.get("resource.type")) in promoted_types
                if promoted and {k for k in differs if k in got} <= OWN:
                    limited.append((label, layout, got))
                    continue
                failures.append(f"{label} (layout {layout}): " + ", ".join(
                    f"{k}: one collector {want.get(k)!r}, fleet {got.get(k)!r}" for k in sorted(differs)))
        # Its own identity: the one its own keys give, not another entity's of its type.
        own = own_identities(collectors, tmp_path, f"own-{g}", engine, vectors, {label for label, _, _ in limited})
        for label, layout, got in limited:
            if all(got.get(k) == own[label].get(k) for k in OWN):
                limits.add(label)
            else:
                failures.append(f"{label} (layout {layout}): " + ", ".join(
                    f"{k}: its own {own[label].get(k)!r}, fleet {got.get(k)!r}" for k in sorted(OWN)))
    assert not failures, f"{len(failures)} difference(s):\n" + "\n".join(failures)
    assert len(layouts) > len(groups), "the layouts put resources on different tier-2 collectors"
    print(f"{compared} resource answers compared over {LAYOUTS} layouts: all equal one collector's, "
          f"but those of {len(limits)} resource(s) known only by a contained identity: {sorted(limits)}")


MEMBERSHIP = ["azure_vms_and_an_onprem_host_with_one_name", "neg_k8s_events_never_their_reporting_node",
              "hosts_every_detector", "k8s_pod_every_source"]
WARMUP = 2.0  # seconds: in this test every source reports every cycle, well within it


def test_adding_a_tier2_replica_while_data_flows(collectors, tmp_path):
    """Sources report every cycle. A third tier-2 collector joins (it starts, the others restart
    with it in their pool list, new routers list it and take over): route keys and entities move.
    At no time does any resource get another entity's id, and every answer converges to one
    collector's within the warm-up and a cycle."""
    vectors = [(stem, json.loads((ROOT / "tests" / "field" / f"{stem}.json").read_text())) for stem in MEMBERSHIP]
    # One collector's steady answers: its second pass, as sources report again and again.
    twice = [(f"{n}|{stem}", v) for n in (0, 1) for stem, v in vectors]
    reference = {label.split("|", 1)[1]: r
                 for label, r in one_collector(collectors, tmp_path, "one", {}, twice).items() if label.startswith("1|")}
    truth = {label: r["resource.id"] for label, r in reference.items()}
    sources = [(f"{stem}:{r['label']}", r.get("source", r["label"]), r["attributes"], r.get("entity_refs"), SIGNALS[i % 3])
               for stem, v in vectors for i, b in enumerate(v["batches"]) for r in b]

    fleet = start_fleet(collectors, tmp_path, warmup=f"{WARMUP}s")
    routers = [p for _, p in fleet.routers]
    cycle, stop, started = [0], threading.Event(), {}

    def report():
        while not stop.is_set():
            started[cycle[0]] = time.monotonic()
            for label, source, attrs, refs, signal in sources:
                try:
                    post(routers[zlib.crc32(source.encode()) % len(routers)]["http"], signal,
                         request(signal, [(f"{cycle[0]}|{label}", attrs, refs)]))
                except OSError:
                    pass  # a router being replaced: the source reports again next cycle
            cycle[0] += 1
            time.sleep(0.2)

    def equal(answers):
        return len(answers) == len(reference) and all(
            {k: v for k, v in answers[label].items() if k != "resource.route"} == reference[label] for label in reference)

    def answered_by_cycle(outputs) -> dict:
        by_cycle: dict = {}
        for records in outputs:
            for rec in records:
                n, label = rec.label.split("|", 1)
                by_cycle.setdefault(int(n), {})[label] = rec.resource
        return by_cycle

    sender = threading.Thread(target=report)
    sender.start()
    try:
        # The fleet answers as one collector does once its warm-up is over: join only when a
        # whole cycle has come out equal (how soon depends on how fast the collectors start).
        time.sleep(WARMUP)
        steady = time.monotonic() + WARMUP + 30
        while not any(equal(a) for a in answered_by_cycle(fleet.outputs()).values()):
            assert time.monotonic() < steady, "the fleet never answered one whole cycle as one collector"
            time.sleep(0.5)
        joined = cycle[0]
        c = new_tier2(tmp_path, "tier2-c")
        everyone = fleet.tier2 + [c]
        start_tier2(collectors, tmp_path, c, everyone, None, f"{WARMUP}s")
        earlier = []
        for t in fleet.tier2:
            t.collector.stop()
            earlier.append(read_output(t.out))  # a file exporter starts its file afresh
            t.out = t.out.with_name("out-after.json")
            start_tier2(collectors, tmp_path, t, everyone, None, f"{WARMUP}s")
        new_routers = [start_router(collectors, f"tier1-{n}-3", everyone, None) for n in "ab"]
        routers[:] = [p for _, p in new_routers]
        for r, _ in fleet.routers:
            r.stop()
        switched = cycle[0]
        time.sleep(WARMUP + 6)
    finally:
        stop.set()
        sender.join()
    time.sleep(1)
    for r, _ in new_routers:
        r.stop()
    fleet.routers = []
    fleet.tier2 = everyone
    fleet.stop()

    by_cycle = answered_by_cycle(earlier + fleet.outputs())
    assert any(rec.label for rec in fleet.outputs()[2]), "the new replica pools a share"
    # Never another entity's id: an id one collector gives only to other resources.
    owner = {}
    for label, i in truth.items():
        owner.setdefault(i, set()).add(label)
    false_merges = [(n, label, r["resource.id"]) for n, answers in by_cycle.items() for label, r in answers.items()
                    if r["resource.id"] in owner and label not in owner[r["resource.id"]]]
    assert not false_merges, f"false merges: {false_merges[:5]}"
    # Converged: from some cycle on, every answer is one collector's.
    complete = sorted(n for n in by_cycle if n < cycle[0] - 1)
    if not any(equal(by_cycle[n]) for n in complete if n < joined):
        n = complete[len([m for m in complete if m < joined]) - 1]
        diff = {label: (by_cycle[n].get(label), reference[label]) for label in reference
                if {k: v for k, v in by_cycle[n].get(label, {}).items() if k != "resource.route"} != reference[label]}
        raise AssertionError(f"cycle {n} differs from one collector: {diff}")
    converged = next(n for n in complete if n >= switched and all(equal(by_cycle[m]) for m in complete if m >= n))
    print(f"a third tier-2 collector joined at cycle {joined}, routers switched at cycle {switched}: answers equal "
          f"one collector's again from cycle {converged}, {started[converged] - started[switched]:.1f}s after the "
          f"switch (warm-up {WARMUP}s); no false merge in {sum(len(a) for a in by_cycle.values())} answers")
