"""The image in a real container runtime (`make image-test`; not in `make test`: it needs root and
podman). The container runs as the image says (binary /otelcol-resourceequality, user 10001, its
default configuration), takes OTLP on a published port, and the processor's output, printed by
the debug exporter, shows the pod's three sources joined under one id and the log filled."""

import os
import re
import subprocess
import time
import urllib.request

import pytest

from harness import free_port, post, request

IMAGE = os.environ.get("IMAGE", "localhost/otelcol-resourceequality:latest")
POD = {"k8s.pod.uid": "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01", "k8s.pod.name": "checkout-7d9f-x2k4p",
       "k8s.namespace.name": "shop"}

pytestmark = pytest.mark.image


def podman(*args: str) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def logs(name: str) -> str:
    """What the container printed (the collector logs, and the debug exporter prints, to stderr)."""
    done = subprocess.run(["podman", "logs", name], capture_output=True, text=True)
    return done.stdout + done.stderr


def test_the_image_runs_the_processor_as_its_user_and_joins_a_pod():
    config = podman("image", "inspect", IMAGE, "--format", "{{.Config.User}} {{json .Config.Entrypoint}}")
    assert config == '10001:10001 ["/otelcol-resourceequality"]', config
    http, health = free_port(), free_port()
    name = f"re-image-test-{os.getpid()}"
    podman("run", "--runtime", "runc", "-d", "--name", name, "-p", f"127.0.0.1:{http}:4318",
           "-p", f"127.0.0.1:{health}:13133", IMAGE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.time() < deadline, logs(name)
                time.sleep(0.2)
        assert podman("exec", name, "id", "-u") == "10001"
        sdk = {**POD, "k8s.container.name": "app", "service.name": "checkout", "k8s.node.name": "node-7"}
        post(http, "traces", request("traces", [("sdk", sdk, None)]))
        time.sleep(1)  # the log agent's record comes after the SDK's spans were pooled
        log_agent = {"k8s.pod.uid": POD["k8s.pod.uid"], "k8s.container.name": "app"}
        post(http, "logs", request("logs", [("log_agent", log_agent, None)]))
        deadline = time.time() + 20
        while logs(name).count("resource.id") < 2 and time.time() < deadline:
            time.sleep(0.2)
        output = logs(name)
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    ids = re.findall(r"-> resource\.id: Str\((\w+)\)", output)
    assert len(ids) == 2 and ids[0] == ids[1], output
    log = output[output.rindex("ResourceLog"):]
    assert "-> service.name: Str(checkout)" in log and "-> k8s.node.name: Str(node-7)" in log, log
    print(f"\nimage {IMAGE}: spans and log joined as {ids[0]}; the log gained service.name and k8s.node.name")
