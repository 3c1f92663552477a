"""A distribution of the user's own takes the processor by `gomod:`, as any contrib component.

The test writes the ocb manifest a user would (the OTLP receiver, this processor, the debug
exporter), with the processor's Go module and the engine's platform module copied out of the
repository as a module registry serves them (each module's own files, nothing around them: no
`target/`, no `include/`), named by `replaces:`. It builds the distribution with no cargo on the
PATH, runs it, sends a pod's resource over OTLP and reads its id in the debug exporter's output.
"""

import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from harness import ROOT, free_port, post, request

BUILDER = os.environ.get("BUILDER", str(ROOT / ".tools" / "bin" / "builder"))
MODULE = "github.com/resourceequality/resourceequality/go-processor"
PLATFORM = f"{MODULE}/platform/linux-amd64"
POD_UID = "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01"


def pinned(module: str) -> str:
    """The `gomod:` line of collector-builder.yaml for a module: the versions have one owner."""
    text = (ROOT / "collector-builder.yaml").read_text()
    found = re.search(rf"^\s*- gomod: ({re.escape(module)} v\S+)$", text, re.M)
    assert found, f"collector-builder.yaml names {module}"
    return found.group(1)


def version() -> str:
    """The release: the engine's version (rust/Cargo.toml), which the modules carry."""
    return re.search(r'^version = "(.+)"$', (ROOT / "rust" / "Cargo.toml").read_text(), re.M).group(1)


def published(module_dir: Path, into: Path) -> Path:
    """A module's directory as a registry serves it: its files, without nested modules."""

    def nested(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if Path(directory, n) != module_dir and (Path(directory, n) / "go.mod").exists()]

    shutil.copytree(module_dir, into, ignore=nested)
    return into


def without_cargo() -> dict:
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "cargo").exists()]
    env = {**os.environ, "PATH": os.pathsep.join(path), "CGO_ENABLED": "1"}
    assert shutil.which("cargo", path=env["PATH"]) is None
    return env


def test_a_user_manifest_takes_the_processor_by_gomod(tmp_path):
    library = ROOT / "go-processor" / "platform" / "linux-amd64" / "libresourceequality.a"
    assert library.exists(), "make engine-module builds the engine into its platform's module"
    modules = tmp_path / "modules"
    processor = published(ROOT / "go-processor", modules / "go-processor")
    platform = published(ROOT / "go-processor" / "platform" / "linux-amd64", modules / "platform-linux-amd64")
    manifest = tmp_path / "builder.yaml"
    manifest.write_text(f"""
dist:
  module: example.com/my-otelcol
  name: my-otelcol
  output_path: {tmp_path / "dist"}
  cgo_enabled: true
receivers:
  - gomod: {pinned("go.opentelemetry.io/collector/receiver/otlpreceiver")}
processors:
  - gomod: {MODULE} v{version()}
    import: {MODULE}/resourceequalityprocessor
exporters:
  - gomod: {pinned("go.opentelemetry.io/collector/exporter/debugexporter")}
providers:
  - gomod: {pinned("go.opentelemetry.io/collector/confmap/provider/envprovider")}
  - gomod: {pinned("go.opentelemetry.io/collector/confmap/provider/fileprovider")}
replaces:
  - {MODULE} => {processor}
  - {PLATFORM} => {platform}
""")
    started = time.time()
    build = subprocess.run([BUILDER, "--config", str(manifest)], env=without_cargo(), capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    print(f"\nuser manifest built without cargo in {time.time() - started:.0f}s")

    http = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"""
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{http}
processors:
  resourceequality:
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [resourceequality]
      exporters: [debug]
""")
    log = tmp_path / "my-otelcol.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(tmp_path / "dist" / "my-otelcol"), "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http}/", timeout=1)
            except urllib.error.HTTPError:
                break  # listening
            except OSError:
                assert time.time() < deadline, log.read_text()
                time.sleep(0.1)
        pod = {"k8s.pod.uid": POD_UID, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": "shop"}
        post(http, "logs", request("logs", [("pod", pod, None)]))
        deadline = time.time() + 20
        while "resource.id" not in log.read_text() and time.time() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(20)
    output = log.read_text()
    ids = re.findall(r"-> resource\.id: Str\((\w+)\)", output)
    types = re.findall(r"-> resource\.type: Str\(([\w.]+)\)", output)
    assert ids and types == ["k8s.pod"], output
    print(f"my-otelcol gave the pod id {ids[0]}, type {types[0]}")
