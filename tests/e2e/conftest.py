import os
from pathlib import Path

import pytest

from harness import COLLECTOR, Collector


def pytest_configure(config):
    if not Path(COLLECTOR).exists():
        raise pytest.UsageError(f"{COLLECTOR} is missing: run `make` first (or `make e2e`)")


@pytest.fixture
def collectors(tmp_path):
    """Starts collectors for a test and stops them afterwards, showing their logs on failure."""
    started: list[Collector] = []

    def start(name: str, config: str, ports: dict, env: dict | None = None) -> Collector:
        c = Collector(name=name, workdir=tmp_path, config=config, ports=ports, env=env or {})
        started.append(c)
        return c.start()

    yield start
    for c in started:
        try:
            c.stop()
        except Exception:  # noqa: BLE001 - report the remaining collectors' teardown anyway
            print(c.log_tail())
            raise
