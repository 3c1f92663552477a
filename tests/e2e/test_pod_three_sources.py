"""A pod seen by three real sources: the OpenTelemetry Python SDK inside it (spans, logs and
metrics over OTLP/gRPC), the collector's own filelog receiver reading the pod's log files from a
/var/log/pods tree (CRI-O and Docker formats, two containers), and deployment-level metrics as
kube-state-metrics reports them (namespace and deployment name only)."""

import json
import logging
import uuid

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import otlp_receiver, ports, read_output, service, service_extensions, wait_for

UID = str(uuid.uuid4())
NS, POD, NODE, DEPLOYMENT = "shop", "checkout-7d9f-x2k4p", "ip-10-0-1-17.ec2.internal", "checkout"
POD_RESOURCE = {
    "service.name": "checkout",
    "service.version": "1.4.2",
    "service.instance.id": f"{POD}-app",
    "k8s.pod.uid": UID,
    "k8s.pod.name": POD,
    "k8s.namespace.name": NS,
    "k8s.deployment.name": DEPLOYMENT,
    "k8s.node.name": NODE,
    "k8s.container.name": "app",
    "container.id": "c0ffee0123456789",
    "process.pid": 4242,
    "process.runtime.name": "cpython",
}


def config(p, out, logs_dir) -> str:
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
  filelog:
    include: [{logs_dir}/*/*/*.log]
    include_file_path: true
    start_at: beginning
    poll_interval: 100ms
    operators:
      - type: container
processors:
  resourceequality:
exporters:
  file:
    path: {out}
    flush_interval: 100ms
""" + service({
        "traces": (["otlp"], ["resourceequality"], ["file"]),
        "metrics": (["otlp"], ["resourceequality"], ["file"]),
        "logs": (["otlp", "filelog"], ["resourceequality"], ["file"]),
    })


def send_with_sdk(grpc_port: int) -> None:
    endpoint = f"127.0.0.1:{grpc_port}"
    resource = Resource.create(POD_RESOURCE)  # adds telemetry.sdk.* as a real SDK does

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = tracer_provider.get_tracer("e2e")
    for route in ("GET /cart", "POST /checkout", "GET /health"):
        with tracer.start_as_current_span(route):
            pass
    tracer_provider.shutdown()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True)))
    logger = logging.getLogger("e2e.sdk")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))
    logger.warning("payment took long")
    logger.warning("payment done")
    logger_provider.shutdown()

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=60_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter_provider.get_meter("e2e").create_counter("checkout.requests").add(3)
    meter_provider.shutdown()

    # kube-state-metrics: the deployment, by namespace and name only.
    ksm_reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=60_000)
    ksm = MeterProvider(resource=Resource({"k8s.namespace.name": NS, "k8s.deployment.name": DEPLOYMENT}), metric_readers=[ksm_reader])
    ksm.get_meter("kube-state-metrics").create_counter("kube_deployment_status_replicas").add(2)
    ksm.shutdown()


def write_pod_logs(logs_dir) -> int:
    """The kubelet's layout: /var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log."""
    pod_dir = logs_dir / f"{NS}_{POD}_{UID}"
    (pod_dir / "app").mkdir(parents=True)
    (pod_dir / "logshipper").mkdir(parents=True)
    crio = [f"2026-11-21T10:00:0{i}.000000000+00:00 stdout F app line {i}" for i in range(3)]
    docker = [json.dumps({"log": f"shipper line {i}\n", "stream": "stderr", "time": f"2026-11-21T10:00:0{i}.0Z"}) for i in range(2)]
    (pod_dir / "app" / "0.log").write_text("\n".join(crio) + "\n")
    (pod_dir / "logshipper" / "0.log").write_text("\n".join(docker) + "\n")
    return len(crio) + len(docker)


def test_pod_seen_by_sdk_log_files_and_kube_state_metrics(collectors, tmp_path):
    p = ports("grpc")
    out = tmp_path / "out.json"
    logs_dir = tmp_path / "var" / "log" / "pods"
    logs_dir.mkdir(parents=True)
    c = collectors("pod", config(p, out, logs_dir), p)

    send_with_sdk(p["grpc"])
    wait_for(lambda: len(read_output(out)) >= 3 + 2 + 1 + 1, what="SDK telemetry exported")
    file_lines = write_pod_logs(logs_dir)
    wait_for(lambda: sum(1 for r in read_output(out) if "log.file.path" in r.resource or "k8s.container.restart_count" in r.resource)
             >= file_lines, what="pod log files read")
    c.stop()
    records = read_output(out)

    sdk = [r for r in records if r.resource.get("telemetry.sdk.language") == "python" and "k8s.pod.uid" in r.resource]
    files = [r for r in records if "k8s.container.restart_count" in r.resource]
    ksm = [r for r in records if r.resource.get("k8s.deployment.name") == DEPLOYMENT and "k8s.pod.uid" not in r.resource
           and r.signal == "metrics" and "telemetry.sdk.language" not in r.resource]

    # Nothing lost: 3 spans, 2 SDK logs, 1 SDK data point, 5 file lines, 1 deployment data point.
    assert sorted(r.signal for r in sdk) == ["logs"] * 2 + ["metrics"] + ["traces"] * 3
    assert len(files) == file_lines
    assert len(ksm) == 1
    assert len(records) == 6 + file_lines + 1

    # Every pod source shares one id and the type k8s.pod.
    pod_ids = {r.resource["resource.id"] for r in sdk + files}
    assert len(pod_ids) == 1, pod_ids
    assert {r.resource["resource.type"] for r in sdk + files} == {"k8s.pod"}

    # The file logs gained the SDK's pod-level attributes, and the app container's file logs its
    # service; the logshipper container's never gain the app container's service...
    for r in files:
        if r.resource["k8s.container.name"] == "app":
            assert r.resource["service.name"] == "checkout"
            assert r.resource["service.version"] == "1.4.2"
        else:
            assert "service.name" not in r.resource and "service.version" not in r.resource, r.resource
        assert r.resource["k8s.deployment.name"] == DEPLOYMENT
        assert r.resource["k8s.node.name"] == NODE
        # ...and nothing container- or SDK-level crossed between the containers.
        for key in ("container.id", "process.pid", "process.runtime.name", "service.instance.id",
                    "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version"):
            assert key not in r.resource, (key, r.resource)
    containers = {r.resource["k8s.container.name"] for r in files}
    assert containers == {"app", "logshipper"}, "each file keeps its own container name"

    # The deployment metrics are the deployment: their own id, nothing from the pod.
    assert ksm[0].resource["resource.type"] == "k8s.deployment"
    assert ksm[0].resource["resource.id"] not in pod_ids
    assert "service.name" not in ksm[0].resource and "k8s.node.name" not in ksm[0].resource
