#!/usr/bin/env python3
"""Whole-collector cost of resourceequality: CPU seconds per million items, measured from the
collector process (/proc/<pid>/stat), for pipelines run in the same session, alternating:

  A  otlp -> batch -> exporter                      (baseline)
  B  otlp -> resourceequality -> batch -> exporter
  C  otlp -> transform -> batch -> exporter         (OTTL sets an id from k8s.pod.uid: the closest
                                                     thing a user can configure today)

and five workloads driven by tests/load/loadgen over OTLP/gRPC on loopback:

  a  1 resource per 100 spans, 100 pods
  b  1 resource per 10 items, 10,000 pods, spans + logs + metrics mixed
  c  1 resource per item (worst case), 10,000 pods
  d  a realistic node: 1,000 pods, each seen as its SDK's spans and metrics (rich), its logs
     through a host log agent (sparse, gaining pod attributes), and kubeletstats' pod and two
     containers (tests/load/loadgen: `-signal node`); 1 resource per 10 items
  e  churn: b, with a tenth of the pods replaced (new uids, as a rollout does) every 2 s
     (`-churn-every 2s`), so that misses weigh; `--workloads e` (not in the default abcd)

and a variant B' of pipeline B with a tenant partition (the X-Scope-OrgID header the load
generator sends, include_metadata) and the entity events receiver publishing to the same
exporter, so that their cost shows (`--pipelines ABCB'`; `B'` is measured on request); and a
variant N of pipeline B without the name attribute (`name_attribute: ""`), which writes the two
attributes C writes: pdata decodes the load generator's pod resource (15 attributes) into an
attribute slice with room for 17, so B's third attribute reallocates the slice where C's two do
not, and N shows what that costs (`--pipelines ABCN`).

And the stages of a fleet (README, Scaling): R, a router (`mode: route`, tier 1), and T, both
stages of a tier-2 collector in one pipeline (`mode: identify`, then `mode: pool`, which pools by
the ids identify wrote), so that T/A is tier 2's processing without the hop between its stages
(the hop is one more OTLP export and receive: about A) (`--pipelines ART`).

The load is offered at a fixed rate per workload (open loop, about half of what pipeline B takes
at most on the development machine), so that every pipeline does the same work at the same pace:
driven flat out, a slower pipeline also runs at a lower throughput, where the collector's fixed
costs per second weigh more per item, and the load generator competes for the same cores.
`--rate-scale 0` drives every run flat out instead.

Each run starts a collector and first sends it every distinct resource of the workload at least
once, flat out and not measured (`loadgen -every-resource-once`), so that (a)-(d) measure a collector that
has seen its pods, as one that has run for a while has: the engine learning 10,000 pods and the
heap growing to its working size are a start's cost, not a steady one (in half-length runs they
moved B/C on (b) from 1.05 to 1.10). (e) measures misses in steady state: pods replaced while it
runs. `--cold` measures from the collector's start instead.

Each (workload, pipeline) is run ROUNDS times in rotated order; the table reports medians, and
ratios as the median of each round's ratio (the runs of a round are adjacent in time). `make
bench-load` runs it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from ports import free_port  # noqa: E402 (the e2e tests' ports, one owner)

CLK_TCK = os.sysconf("SC_CLK_TCK")

TENANTS = "B'"

PROCESSORS = {
    "A": "[batch]",
    "B": "[resourceequality, batch]",
    "C": "[transform, batch]",
    TENANTS: "[resourceequality/tenants, batch]",
    "N": "[resourceequality/noname, batch]",
    "R": "[resourceequality/route, batch]",
    "T": "[resourceequality/identify, resourceequality/pool, batch]",
}

WORKLOADS = {
    "a": dict(signal="traces", pods=100, per_resource=100, per_request=1, items=3_000_000, rate=200_000),
    "b": dict(signal="mixed", pods=10_000, per_resource=10, per_request=10, items=1_500_000, rate=150_000),
    "c": dict(signal="logs", pods=10_000, per_resource=1, per_request=100, items=600_000, rate=50_000),
    "d": dict(signal="node", pods=1_000, per_resource=10, per_request=10, items=1_500_000, rate=150_000),
    # Churn: b's shape, a tenth of the pods replaced (new uids, as a rollout does) every 2 s, so
    # that the engine's misses weigh.
    "e": dict(signal="mixed", pods=10_000, per_resource=10, per_request=10, items=1_500_000, rate=150_000,
              churn_every="2s"),
}


def config(processors: str, grpc: int, health: int, max_entities: int = 0) -> str:
    entities = processors.startswith("[resourceequality/tenants")
    events = """
  resourceequality:
    processor: resourceequality/tenants""" if entities else ""
    events_pipeline = """
    logs/entities: {receivers: [resourceequality], exporters: [debug]}""" if entities else ""
    return f"""
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
        include_metadata: true{events}
processors:
  batch:
  resourceequality:{f"{chr(10)}    max_entities: {max_entities}" if max_entities else ""}
  resourceequality/noname:
    name_attribute: ""
  resourceequality/route:
    mode: route
  resourceequality/identify:
    mode: identify
    warmup: 0s
  resourceequality/pool:
    mode: pool
  resourceequality/tenants:
    partition:
      metadata: x-scope-orgid
  transform:
    error_mode: ignore
    trace_statements:
      - set(resource.attributes["resource.id"], SHA256(resource.attributes["k8s.pod.uid"])) where resource.attributes["k8s.pod.uid"] != nil
      - set(resource.attributes["resource.type"], "k8s.pod") where resource.attributes["k8s.pod.uid"] != nil
    log_statements:
      - set(resource.attributes["resource.id"], SHA256(resource.attributes["k8s.pod.uid"])) where resource.attributes["k8s.pod.uid"] != nil
      - set(resource.attributes["resource.type"], "k8s.pod") where resource.attributes["k8s.pod.uid"] != nil
    metric_statements:
      - set(resource.attributes["resource.id"], SHA256(resource.attributes["k8s.pod.uid"])) where resource.attributes["k8s.pod.uid"] != nil
      - set(resource.attributes["resource.type"], "k8s.pod") where resource.attributes["k8s.pod.uid"] != nil
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000000
service:
  extensions: [health_check]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces: {{receivers: [otlp], processors: {processors}, exporters: [debug]}}
    logs: {{receivers: [otlp], processors: {processors}, exporters: [debug]}}
    metrics: {{receivers: [otlp], processors: {processors}, exporters: [debug]}}{events_pipeline}
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def run_once(collector: str, loadgen: str, pipeline: str, workload: dict, workdir: Path, warm: bool = True) -> dict:
    grpc, health = free_port(), free_port()
    cfg = workdir / f"{pipeline}.yaml"
    cfg.write_text(config(PROCESSORS[pipeline], grpc, health, workload.get("max_entities", 0)))
    log = open(workdir / f"{pipeline}.log", "ab")
    proc = subprocess.Popen([collector, "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health}/", timeout=1)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"collector did not start: {(workdir / f'{pipeline}.log').read_text()[-2000:]}")
                time.sleep(0.05)
        time.sleep(0.5)

        def load(*args: str) -> str:
            return subprocess.run(
                [loadgen, "-endpoint", f"127.0.0.1:{grpc}", "-signal", workload["signal"], "-pods", str(workload["pods"]),
                 "-items-per-resource", str(workload["per_resource"]),
                 "-resources-per-request", str(workload["per_request"]), "-workers", "4",
                 "-headers", "x-scope-orgid=tenant-1", *args],
                capture_output=True, text=True, check=True, timeout=1800,
            ).stdout

        if warm:
            load("-every-resource-once")  # flat out, not measured
            time.sleep(1)
        before = cpu_seconds(proc.pid)
        t0 = time.time()
        out = load("-items", str(workload["items"]), "-rate", str(workload["rate"]),
                   "-churn-every", workload.get("churn_every", "0"))
        time.sleep(0.5)  # let the batch processor flush
        cpu = cpu_seconds(proc.pid) - before
        wall = time.time() - t0
        stats = dict(kv.split("=") for kv in out.split())
        items = int(stats["items"])
        return {"cpu_seconds": cpu, "items": items, "cpu_us_per_item": cpu / items * 1e6, "wall_seconds": wall,
                "items_per_second": float(stats["items_per_second"])}
    finally:
        proc.terminate()
        proc.wait(30)


# The table's columns after the workload: a pipeline's median CPU per item, or the ratio of two.
COLUMNS = ["A", "B", "C", ("B", "A"), ("C", "A"), ("B", "C"), TENANTS, (TENANTS, "A"), "N", ("N", "A"), ("N", "C"),
           "R", ("R", "A"), "T", ("T", "A"), ("T", "B")]


def ratio(per: dict, x: str, y: str) -> float:
    """The median of the per-round ratios x/y: the runs of a round are adjacent in time, so
    pairing them cancels the machine's slow drift."""
    return statistics.median(a["cpu_us_per_item"] / b["cpu_us_per_item"] for a, b in zip(per[x], per[y]))


def table(results: dict) -> str:
    """Medians per pipeline, and ratios as `ratio` computes them; "-" for pipelines not run."""
    head = ["workload"] + [f"{c}: CPU µs/item" if isinstance(c, str) else f"{c[0]}/{c[1]}" for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w, per in results.items():
        cells = [w]
        for c in COLUMNS:
            pipelines = [c] if isinstance(c, str) else list(c)
            if not all(p in per for p in pipelines):
                cells.append("-")
            elif isinstance(c, str):
                cells.append(f"{statistics.median(x['cpu_us_per_item'] for x in per[c]):.3f}")
            else:
                cells.append(f"{ratio(per, *c):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(results: dict, workload: str) -> dict:
    """B/A and B/C of one workload, as the table computes them."""
    return {f"{x}/{y}": ratio(results[workload], x, y) for x, y in (("B", "A"), ("B", "C"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collector", default=str(ROOT / "build" / "otelcol-resourceequality"))
    ap.add_argument("--loadgen", default=str(ROOT / ".tools" / "bin" / "loadgen"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="abcd")
    ap.add_argument("--pipelines", default="ABC", help="of A, B, C, B' (written B'), N, R and T")
    ap.add_argument("--check", type=float, help="fail when B/C on any workload exceeds this")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply item counts (shorter or longer runs)")
    ap.add_argument("--rate-scale", type=float, default=1.0, help="multiply offered rates (0: flat out)")
    ap.add_argument("--cold", action="store_true",
                    help="measure from the collector's start, without the warm-up pass")
    ap.add_argument("--report", help="print the table of an earlier run's JSON and exit")
    ap.add_argument("--json", default=str(ROOT / "build" / "bench-load.json"))
    args = ap.parse_args()
    if args.report:
        print(table(json.loads(Path(args.report).read_text())))
        return 0
    workdir = ROOT / "build" / "bench-load"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for w in args.workloads:
        workload = dict(WORKLOADS[w], items=int(WORKLOADS[w]["items"] * args.scale),
                        rate=WORKLOADS[w]["rate"] * args.rate_scale)
        order = [p + "'" if args.pipelines[i + 1:i + 2] == "'" else p
                 for i, p in enumerate(args.pipelines) if p != "'"]
        for r in range(args.rounds):
            for pipeline in order[r % len(order):] + order[: r % len(order)]:
                res = run_once(args.collector, args.loadgen, pipeline, workload, workdir, warm=not args.cold)
                results.setdefault(w, {}).setdefault(pipeline, []).append(res)
                print(f"workload {w} round {r + 1} {pipeline}: {res['cpu_us_per_item']:.3f} us CPU/item, "
                      f"{res['items_per_second']:.0f} items/s", flush=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print()
    print(table(results))
    failed = False
    if args.check is not None:
        print()
        for w in args.workloads:
            got = ratios(results, w)["B/C"]
            verdict = "ok" if got <= args.check else "FAILED"
            failed = failed or got > args.check
            print(f"bench-check: B/C on workload {w} = {got:.3f} (limit {args.check}): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
