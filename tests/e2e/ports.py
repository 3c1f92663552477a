"""Loopback ports for the collectors the tests and the load harness start.

Ports come from below the kernel's ephemeral range. A port the kernel handed out for bind(0)
is free only until the next outgoing connection, which may be given the same one before the
collector binds it (a fleet test lost a health_check port that way). No outgoing connection is
given a port below the range, and each port is handed out once per process.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_FLOOR = _ephemeral_floor()
_handed_out: set[int] = set()
_rng = random.Random(os.getpid())


def free_port() -> int:
    low = max(1024, _EPHEMERAL_FLOOR - 16384)
    if _EPHEMERAL_FLOOR - low < 1024:  # no room below the range on this host: the kernel's choice
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for _ in range(1000):
        port = _rng.randrange(low, _EPHEMERAL_FLOOR)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in [{low}, {_EPHEMERAL_FLOOR})")
