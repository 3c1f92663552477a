"""Runs the built collector and talks OTLP to it: the shared harness of the end-to-end tests.

Every collector listens on loopback ports chosen at run time and writes what it exports with the
file exporter, which the tests read back. Nothing here mocks the collector: it is the binary
`make` builds, with stock receivers and exporters.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from ports import free_port  # noqa: F401 (the tests take it from here)

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR = os.environ.get("COLLECTOR", str(ROOT / "build" / "otelcol-resourceequality"))
EXPLAIN = os.environ.get("EXPLAIN", str(ROOT / "build" / "explain"))
TELEMETRYGEN = os.environ.get("TELEMETRYGEN", str(ROOT / ".tools" / "bin" / "telemetrygen"))
SIGNALS = ("traces", "logs", "metrics")


@dataclass
class Collector:
    """One collector process on a config generated for free ports."""

    name: str
    workdir: Path
    config: str
    ports: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 30) -> "Collector":
        cfg = self.workdir / f"{self.name}.yaml"
        cfg.write_text(self.config)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [COLLECTOR, "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
        )
        deadline = time.time() + timeout
        url = f"http://127.0.0.1:{self.ports['health']}/"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def stop(self, timeout: float = 20) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self.proc = None

    def kill9(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def ports(*names: str) -> dict:
    return {n: free_port() for n in ("health", *names)}


def service_extensions(p: dict) -> str:
    return f"""
extensions:
  health_check:
    endpoint: 127.0.0.1:{p['health']}
"""


def file_storage(directory) -> str:
    """The file_storage extension's section (under `extensions:`), keeping its files in `directory`."""
    return f"""  file_storage:
    directory: {directory}
    create_directory: true
"""


def otlp_receiver(p: dict, include_metadata: bool = False, auth: str | None = None) -> str:
    """The otlp receiver on the ports of `p` that are named grpc and http; with
    `include_metadata`, requests' headers become client metadata; with `auth`, that
    authenticator extension authenticates them."""
    extra = "\n        include_metadata: true" if include_metadata else ""
    if auth:
        extra += f"\n        auth:\n          authenticator: {auth}"
    protocols = "".join(f"""
      {proto}:
        endpoint: 127.0.0.1:{p[proto]}{extra}""" for proto in ("grpc", "http") if proto in p)
    return f"""
  otlp:
    protocols:{protocols}"""


def service(pipelines: dict, extensions=("health_check",), metrics_port=None, log_level=None) -> str:
    """The service section: pipelines maps a signal to (receivers, processors, exporters). The
    collector's own metrics are off unless a Prometheus port is given."""
    if metrics_port is None:
        metrics = """
    metrics:
      level: none"""
    else:
        metrics = f"""
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics_port}"""
    logs = f"""
    logs:
      level: {log_level}""" if log_level else ""
    lines = "".join(
        f"""
    {signal}: {{receivers: [{', '.join(r)}], processors: [{', '.join(pr)}], exporters: [{', '.join(e)}]}}"""
        for signal, (r, pr, e) in pipelines.items()
    )
    return f"""
service:
  extensions: [{', '.join(extensions)}]
  telemetry:{logs}{metrics}
  pipelines:{lines}
"""


# ---- OTLP requests --------------------------------------------------------------------------


def any_value(v) -> common_pb2.AnyValue:
    """A vector's JSON value as OTLP: the same mapping as the Rust and Go runners."""
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    if isinstance(v, str):
        return common_pb2.AnyValue(string_value=v)
    if isinstance(v, list):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=key_values(v)))
    raise TypeError(v)


def key_values(attrs: dict) -> list:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def resource(attrs: dict, entity_refs: list | None = None) -> resource_pb2.Resource:
    """A resource with its attributes and declared entity refs (a vector's `entity_refs`)."""
    refs = [
        common_pb2.EntityRef(type=r["type"], id_keys=r["id_keys"], description_keys=r.get("description_keys", []))
        for r in entity_refs or []
    ]
    return resource_pb2.Resource(attributes=key_values(attrs), entity_refs=refs)


def request(signal_name: str, resources: list[tuple]):
    """One OTLP export request with one record per resource (label, attributes[, entity refs]);
    the record carries the label (span name, log body, metric name) so the output can be
    matched to the input."""
    resources = [(r[0], resource(*r[1:])) for r in resources]
    if signal_name == "traces":
        req = trace_service_pb2.ExportTraceServiceRequest()
        for label, res in resources:
            rs = req.resource_spans.add(resource=res)
            span = rs.scope_spans.add().spans.add(name=label, trace_id=os.urandom(16), span_id=os.urandom(8))
            span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
    elif signal_name == "logs":
        req = logs_service_pb2.ExportLogsServiceRequest()
        for label, res in resources:
            rl = req.resource_logs.add(resource=res)
            rl.scope_logs.add().log_records.add(body=common_pb2.AnyValue(string_value=label), time_unix_nano=time.time_ns())
    else:
        req = metrics_service_pb2.ExportMetricsServiceRequest()
        for label, res in resources:
            rm = req.resource_metrics.add(resource=res)
            m = rm.scope_metrics.add().metrics.add(name=label)
            m.gauge.data_points.add(as_int=1, time_unix_nano=time.time_ns())
    return req


def post(port: int, signal_name: str, req, headers: dict | None = None) -> None:
    r = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal_name}",
        data=req.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", **(headers or {})},
    )
    with urllib.request.urlopen(r, timeout=10) as resp:
        assert resp.status == 200, resp.status


# ---- reading the file exporter's output -----------------------------------------------------


def attr_value(v: dict):
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [attr_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: attr_value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    return None


@dataclass
class Record:
    """One exported record (span, log record or data point) with its resource."""

    signal: str
    label: str
    resource: dict


def read_output(path: Path) -> list[Record]:
    """Every record of a file exporter's JSON output."""
    out = []
    if not path.exists():
        return out
    text = path.read_text()
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # still being written
    for line in lines:
        if not line.strip():
            continue
        doc = json.loads(line)
        for rs in doc.get("resourceSpans", []):
            res = {a["key"]: attr_value(a.get("value", {})) for a in rs.get("resource", {}).get("attributes", [])}
            for ss in rs.get("scopeSpans", []):
                out += [Record("traces", s.get("name", ""), res) for s in ss.get("spans", [])]
        for rl in doc.get("resourceLogs", []):
            res = {a["key"]: attr_value(a.get("value", {})) for a in rl.get("resource", {}).get("attributes", [])}
            for sl in rl.get("scopeLogs", []):
                out += [Record("logs", attr_value(r.get("body", {})) or "", res) for r in sl.get("logRecords", [])]
        for rm in doc.get("resourceMetrics", []):
            res = {a["key"]: attr_value(a.get("value", {})) for a in rm.get("resource", {}).get("attributes", [])}
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                        out += [Record("metrics", m.get("name", ""), res) for _ in m.get(kind, {}).get("dataPoints", [])]
    return out


# ---- the collector's own metrics ------------------------------------------------------------


def scrape_series(port: int) -> list[tuple[str, dict, float]]:
    """Every sample of the collector's Prometheus endpoint: (name, labels, value)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    series = []
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            series.append((m.group(1), labels, float(m.group(3))))
    return series


def scrape(port: int) -> dict:
    """The collector's metrics, each summed over its labels."""
    totals: dict[str, float] = {}
    for name, _, value in scrape_series(port):
        totals[name] = totals.get(name, 0) + value
    return totals


def wait_for(predicate, timeout: float = 20, interval: float = 0.1, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def read_entity_events(path: Path) -> list[dict]:
    """The entity events a file exporter wrote: event name and attributes of each log record."""
    events = []
    if not path.exists():
        return events
    for line in path.read_text().splitlines():
        for rl in json.loads(line).get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for r in sl.get("logRecords", []):
                    attrs = {kv["key"]: attr_value(kv.get("value", {})) for kv in r.get("attributes", [])}
                    events.append({"name": r.get("eventName", ""), **attrs})
    return events
