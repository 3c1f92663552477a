"""Starts the shipped examples/two-tier fleet on this machine: tier-1 routers and tier-2
collectors (identify, then pool), each on loopback ports chosen at run time and set by the
environment variables the example reads. Shared by the fleet tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT, free_port, ports, read_output

TIER1 = (ROOT / "examples" / "two-tier" / "tier1.yaml").read_text()
TIER2 = (ROOT / "examples" / "two-tier" / "tier2.yaml").read_text()


def with_engine(config: str, engine: dict | None) -> str:
    """The example's config with `engine`'s keys added to every resourceequality processor (a
    vector's config: its partition replaces the example's)."""
    if not engine:
        return config
    if "partition" in engine:
        config = config.replace("    partition:\n      metadata: x-scope-orgid\n", "")
    extra = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in engine.items())
    for mode in ("route", "identify", "pool"):
        config = config.replace(f"    mode: {mode}\n", f"    mode: {mode}\n{extra}")
    return config


def with_endpoints(config: str, endpoints: list[str]) -> str:
    """The example's static resolver list (its two `${env:TIER2_...}` lines) replaced by
    `endpoints`: a fleet of another size."""
    lines = config.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if "${env:TIER2_" in line]
    assert len(at) == 2 and at[1] == at[0] + 1, "the example lists two tier-2 endpoints"
    indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
    return "".join(lines[: at[0]] + [f"{indent}- {e}\n" for e in endpoints] + lines[at[1] + 1 :])


@dataclass
class Tier2:
    name: str
    ports: dict
    out: Path
    entities: Path
    collector: object = None


@dataclass
class Fleet:
    routers: list  # (collector, ports)
    tier2: list  # Tier2

    def outputs(self) -> list:
        """Every record each tier-2 collector wrote, per collector."""
        return [read_output(t.out) for t in self.tier2]

    def stop(self) -> None:
        for c, _ in self.routers:
            c.stop()
        for t in self.tier2:
            t.collector.stop()


def tier2_env(t: Tier2, tmp_path: Path, pools: list[str], warmup: str) -> dict:
    env = {
        "HEALTH_ENDPOINT": f"127.0.0.1:{t.ports['health']}",
        "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{t.ports['grpc']}",
        "POOL_GRPC_ENDPOINT": f"127.0.0.1:{t.ports['pool']}",
        "STORAGE_DIR": str(tmp_path / t.name / "storage"),
        "OUTPUT_FILE": str(t.out),
        "ENTITIES_FILE": str(t.entities),
        "METRICS_PORT": str(free_port()),
        "WARMUP": warmup,
    }
    if len(pools) == 2:
        env["TIER2_A_POOL"], env["TIER2_B_POOL"] = pools
    return env


def start_tier2(collectors, tmp_path: Path, t: Tier2, all_tier2: list, engine: dict | None, warmup: str):
    pools = [f"127.0.0.1:{o.ports['pool']}" for o in all_tier2]
    config = with_engine(TIER2, engine)
    if len(pools) != 2:
        config = with_endpoints(config, pools)
    t.collector = collectors(t.name, config, t.ports, tier2_env(t, tmp_path, pools, warmup))
    return t


def start_router(collectors, name: str, all_tier2: list, engine: dict | None):
    p = ports("grpc", "http")
    identify = [f"127.0.0.1:{t.ports['grpc']}" for t in all_tier2]
    config = with_engine(TIER1, engine)
    env = {
        "HEALTH_ENDPOINT": f"127.0.0.1:{p['health']}",
        "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['grpc']}",
        "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['http']}",
        "METRICS_PORT": str(free_port()),
    }
    if len(identify) == 2:
        env["TIER2_A"], env["TIER2_B"] = identify
    else:
        config = with_endpoints(config, identify)
    return collectors(name, config, p, env), p


def new_tier2(tmp_path: Path, name: str) -> Tier2:
    return Tier2(name, ports("grpc", "pool"), tmp_path / name / "out.json", tmp_path / name / "entities.json")


def start_fleet(collectors, tmp_path: Path, routers: int = 2, tier2: int = 2, engine: dict | None = None,
                warmup: str = "0s", prefix: str = "") -> Fleet:
    """`routers` tier-1 and `tier2` tier-2 collectors of the shipped example, with `engine`'s keys
    added to every resourceequality processor."""
    t2 = [new_tier2(tmp_path, f"{prefix}tier2-{chr(97 + i)}") for i in range(tier2)]
    for t in t2:
        start_tier2(collectors, tmp_path, t, t2, engine, warmup)
    r = [start_router(collectors, f"{prefix}tier1-{chr(97 + i)}", t2, engine) for i in range(routers)]
    return Fleet(r, t2)
