#!/usr/bin/env python3
"""Cost as work grows: the collector's CPU per item under pipelines B (resourceequality) and C
(transform), as in compare_pipelines.py, against the number of live entities (pods the engine
holds: 1k, 10k, 100k, 1M), drawn as a PNG.

Each run first sends every pod once (compare_pipelines.py's warm-up, not measured: the engine
learns them, as a collector that has run for a while has), then measures workload (b)'s shape (1
resource per 10 items, spans, logs and metrics mixed, 150k items/s) over at least one whole cycle
of the pods, so that the measured resources are all seen before. B's `max_entities` is 1.25 x
the pods, as the README advises. `make bench-entities` runs it (about 12 minutes).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_pipelines as cp  # noqa: E402

SIZES = [1_000, 10_000, 100_000, 1_000_000]
PIPELINES = "BC"


def workload(pods: int) -> dict:
    w = dict(cp.WORKLOADS["b"])
    w.update(pods=pods, items=max(w["items"], pods * w["per_resource"]), max_entities=pods * 5 // 4)
    return w


def plot(results: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    labels = {"B": "B: resourceequality", "C": "C: transform (SHA-256 of k8s.pod.uid)"}
    for p in PIPELINES:
        xs = [int(n) for n in results]
        ys = [statistics.median(r["cpu_us_per_item"] for r in results[n][p]) for n in results]
        ax.plot(xs, ys, marker="o", label=labels[p])
    ax.set_xscale("log")
    ax.set_xlabel("live entities (pods)")
    ax.set_ylabel("collector CPU per item (µs)")
    ax.set_ylim(bottom=0)
    ax.set_title("Cost per item as entities grow (workload b's shape, 150k items/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collector", default=str(cp.ROOT / "build" / "otelcol-resourceequality"))
    ap.add_argument("--loadgen", default=str(cp.ROOT / ".tools" / "bin" / "loadgen"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--png", default=str(cp.ROOT / "tests" / "load" / "cost_by_entities.png"))
    ap.add_argument("--json", default=str(cp.ROOT / "build" / "bench-entities.json"))
    ap.add_argument("--report", help="draw the plot of an earlier run's JSON and exit")
    args = ap.parse_args()
    if args.report:
        results = json.loads(Path(args.report).read_text())
    else:
        workdir = cp.ROOT / "build" / "bench-entities"
        workdir.mkdir(parents=True, exist_ok=True)
        results = {}
        for n in map(int, args.sizes.split(",")):
            for r in range(args.rounds):
                for p in PIPELINES[r % 2:] + PIPELINES[: r % 2]:
                    res = cp.run_once(args.collector, args.loadgen, p, workload(n), workdir)
                    results.setdefault(str(n), {}).setdefault(p, []).append(res)
                    print(f"{n} pods round {r + 1} {p}: {res['cpu_us_per_item']:.3f} us CPU/item", flush=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    print("| live entities | B: CPU µs/item | C: CPU µs/item | B/C |\n|---:|---:|---:|---:|")
    for n, per in results.items():
        b, c = (statistics.median(x["cpu_us_per_item"] for x in per[p]) for p in PIPELINES)
        print(f"| {int(n):,} | {b:.3f} | {c:.3f} | {cp.ratio(per, 'B', 'C'):.3f} |")
    plot(results, Path(args.png))
    print(f"\nplot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
