"""Real sources on this machine, as an agent runs them: the hostmetrics receiver (the host's own
CPU and memory), the Prometheus receiver scraping this collector's own metrics endpoint, and the
OpenTelemetry Python SDK of a service on the same host, all through resourcedetection (system:
every resource gains this host's name) and resourceequality.

What joins and what does not, as the README's Semantics say: every hostmetrics resource is one
`host` entity (identified by `host.name` when `host.id` is off, the system detector's default);
the service is a `service.instance` of its own, never swallowed by the host it runs on although
it carries the same `host.name`; and the self-scrape is the collector's own `service.instance`
(the receiver takes the instance id the collector publishes in `target_info`), a third entity."""

import re

import socket
import uuid

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import free_port, otlp_receiver, ports, read_output, service, service_extensions, wait_for


def config(p, out) -> str:
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
  host_metrics:
    collection_interval: 1s
    scrapers:
      cpu:
      memory:
  prometheus:
    config:
      scrape_configs:
        - job_name: otelcol-self
          scrape_interval: 1s
          static_configs:
            - targets: [127.0.0.1:{p['metrics']}]
processors:
  resource_detection:
    detectors: [system]
  resourceequality:
exporters:
  file:
    path: {out}
    flush_interval: 100ms
""" + service({
        "traces": (["otlp"], ["resource_detection", "resourceequality"], ["file"]),
        "metrics": (["host_metrics", "prometheus"], ["resource_detection", "resourceequality"], ["file"]),
    }, metrics_port=p["metrics"])


def test_host_service_and_self_scrape_on_one_host(collectors, tmp_path):
    p = ports("grpc")
    p["metrics"] = free_port()
    out = tmp_path / "out.json"
    c = collectors("real-sources", config(p, out), p)

    instance = str(uuid.uuid4())
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "service.instance.id": instance}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{p['grpc']}", insecure=True)))
    with provider.get_tracer("shop").start_as_current_span("GET /cart"):
        pass
    provider.shutdown()

    def sources():
        records = read_output(out)
        kinds = {"host": [r for r in records if r.label.startswith("system.")],
                 "scrape": [r for r in records if r.label.startswith("otelcol_")],
                 "sdk": [r for r in records if r.signal == "traces"]}
        return kinds if all(kinds.values()) else None

    found = wait_for(sources, timeout=30, what="host metrics, the self-scrape and the SDK's span")
    c.stop()
    hostname = socket.gethostname()
    host, scrape, sdk = (found[k] for k in ("host", "scrape", "sdk"))

    host_ids = {r.resource.get("resource.id") for r in host}
    assert len(host_ids) == 1 and None not in host_ids, "every hostmetrics resource is one host"
    assert {r.resource.get("resource.type") for r in host} == {"host"}
    assert {r.resource.get("host.name") for r in host} == {hostname}, "resourcedetection named the host"

    [span] = sdk
    assert span.resource["host.name"] == hostname, "the service runs on the same host"
    assert span.resource["resource.type"] == "service.instance"
    assert span.resource["resource.id"] not in host_ids, "the host does not swallow its services"

    # The collector names its own instance in its logs' resource.
    own = re.search(r'"service.instance.id": "([0-9a-f-]+)"', c.log_path.read_text()).group(1)
    scrape_ids = {r.resource.get("resource.id") for r in scrape}
    assert {r.resource.get("service.instance.id") for r in scrape} == {own}, "the collector's own instance"
    assert {r.resource.get("resource.type") for r in scrape} == {"service.instance"} and len(scrape_ids) == 1
    assert not scrape_ids & (host_ids | {span.resource["resource.id"]}), "neither the host nor the other service"
    print(f"\nhost {hostname}: {len(host)} host metric points -> host {next(iter(host_ids))}; "
          f"the SDK's span -> service.instance {span.resource['resource.id']}; "
          f"the self-scrape ({len(scrape)} points) -> the collector's service.instance {next(iter(scrape_ids))}")
