#!/usr/bin/env python3
"""Prints the engine benchmark as a Markdown table from criterion's estimates
(target/criterion/index_*/{hit,miss}/N/new/estimates.json): median time per batch and resources
per second, for each index size, path and batch size."""

import json
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = []
for est in sorted(root.glob("index_*/*/*/new/estimates.json")):
    batch = int(est.parent.parent.name)
    path = est.parent.parent.parent.name
    index = int(est.parent.parent.parent.parent.name.split("_")[1])
    ns = json.loads(est.read_text())["median"]["point_estimate"]
    rows.append((index, path, batch, ns))
print("| index (entities) | path | resources per batch | median time per batch | resources/s |")
print("|---:|---|---:|---:|---:|")
for index, path, batch, ns in sorted(rows):
    t = f"{ns / 1000:.1f} µs" if ns >= 1000 else f"{ns:.0f} ns"
    print(f"| {index:,} | {path} | {batch:,} | {t} | {batch / ns * 1e9:,.0f} |")
