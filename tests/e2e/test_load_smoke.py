"""Load smoke: telemetrygen drives traces, logs and metrics with Kubernetes resource attributes
through the processor for 20 s. No export fails, nothing is lost, and the collector's own
metrics show the processor's counters moving."""

import subprocess

from harness import TELEMETRYGEN, free_port, otlp_receiver, ports, scrape, service, service_extensions, wait_for

DURATION = "20s"
POD = ['k8s.pod.uid="7e57a11c-0000-4000-8000-000000000001"', 'k8s.namespace.name="load"']
RICH = POD + ['k8s.pod.name="load-0"', 'k8s.deployment.name="load"', 'k8s.node.name="node-1"']


def config(p) -> str:
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
processors:
  resourceequality:
  batch:
exporters:
  debug:
    verbosity: basic
""" + service({s: (["otlp"], ["resourceequality", "batch"], ["debug"]) for s in ("traces", "logs", "metrics")},
              metrics_port=p["metrics"], log_level="warn")


def telemetrygen(signal: str, port: int, attributes: list[str]) -> subprocess.Popen:
    args = [TELEMETRYGEN, signal, "--otlp-insecure", "--otlp-endpoint", f"127.0.0.1:{port}",
            "--duration", DURATION, "--rate", "300", "--workers", "2", "--service", f"load-{signal}"]
    for a in attributes:
        args += ["--otlp-attributes", a]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_telemetrygen_load_through_the_processor(collectors):
    p = ports("grpc")
    p["metrics"] = free_port()
    collectors("load", config(p), p)
    gens = [telemetrygen("traces", p["grpc"], RICH), telemetrygen("logs", p["grpc"], POD), telemetrygen("metrics", p["grpc"], POD)]
    for g in gens:
        out, _ = g.communicate(timeout=120)
        assert g.returncode == 0, out
        errors = [line for line in out.splitlines() if "\tERROR\t" in line or "failed to export" in line.lower()]
        assert not errors, "\n".join(errors)

    units = ("spans", "log_records", "metric_points")

    def drained():
        m = scrape(p["metrics"])
        done = all(m.get(f"otelcol_exporter_sent_{u}", 0) >= m.get(f"otelcol_receiver_accepted_{u}", 1) for u in units)
        return m if done else None

    m = wait_for(drained, timeout=10, what="the batch processor to drain")
    for signal, unit in (("spans", "spans"), ("log_records", "log_records"), ("metric_points", "metric_points")):
        accepted = m.get(f"otelcol_receiver_accepted_{unit}", 0)
        assert accepted > 1000, (signal, accepted)
        assert m.get(f"otelcol_receiver_refused_{unit}", 0) == 0, signal
        assert m.get(f"otelcol_exporter_send_failed_{unit}", 0) == 0, signal
        assert m.get(f"otelcol_exporter_sent_{unit}", 0) == accepted, f"nothing lost: {signal}"
    assert m.get("otelcol_processor_resourceequality_resources", 0) > 100
    assert m.get("otelcol_processor_resourceequality_attributes_filled", 0) > 0, "sparse logs/metrics filled"
    assert m.get("otelcol_processor_resourceequality_engine_errors", 0) == 0
    assert m.get("otelcol_processor_resourceequality_entities", 0) >= 1
