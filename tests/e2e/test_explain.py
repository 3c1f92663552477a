"""The newcomer's path, as the README tells it: run the collector with
examples/explain/collector.yaml, which captures what its receiver gets with the stock file
exporter; send a pod's telemetry from three real sources (the OpenTelemetry Python SDK inside
the pod, a log agent's logs by telemetrygen, and the pod's deployment as kube-state-metrics
reports it, namespace and name only);
then run build/explain on the capture. It must say the log joined the pod and gained the
node from the SDK's spans, and keep the deployment apart."""

import json
import subprocess

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import EXPLAIN, ROOT, TELEMETRYGEN, ports, post, request

CONFIG = ROOT / "examples" / "explain" / "collector.yaml"
UID = "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01"
POD = {"k8s.pod.uid": UID, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": "shop",
       "k8s.deployment.name": "checkout", "k8s.node.name": "ip-10-0-1-17.ec2.internal", "k8s.container.name": "app",
       "service.name": "checkout"}


def telemetrygen(signal: str, port: int, service: str, attributes: dict) -> None:
    args = [TELEMETRYGEN, signal, "--otlp-insecure", "--otlp-endpoint", f"127.0.0.1:{port}", f"--{signal}", "1",
            "--service", service]
    for k, v in attributes.items():
        args += ["--otlp-attributes", f'{k}="{v}"']
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def explain(*args: str) -> str:
    done = subprocess.run([EXPLAIN, "--config", str(CONFIG), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_capture_with_the_file_exporter_then_explain(collectors, tmp_path):
    p = ports("grpc", "http")
    capture = tmp_path / "capture.json"
    env = {"HEALTH_ENDPOINT": f"127.0.0.1:{p['health']}", "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['grpc']}",
           "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['http']}", "CAPTURE_FILE": str(capture)}
    c = collectors("capture", CONFIG.read_text(), p, env)
    provider = TracerProvider(resource=Resource.create(POD))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{p['grpc']}", insecure=True)))
    with provider.get_tracer("e2e").start_as_current_span("GET /cart"):
        pass
    provider.shutdown()
    telemetrygen("logs", p["grpc"], "log-agent", {"k8s.pod.uid": UID, "k8s.pod.name": POD["k8s.pod.name"],
                                                  "k8s.namespace.name": "shop", "k8s.container.name": "app"})
    deployment = {"k8s.namespace.name": "shop", "k8s.deployment.name": "checkout"}
    post(p["http"], "metrics", request("metrics", [("kube_deployment_status_replicas", deployment)]))
    c.stop()

    table = explain(str(capture))
    print("\n" + table)
    assert "matched     rule k8s_pod" in table
    assert "summary: 3 distinct resources -> 2 entities" in table

    report = json.loads(explain("--json", str(capture)))
    by_service = {r["attributes"].get("service.name"): r for r in report["resources"]}
    sdk, agent, ksm = by_service["checkout"], by_service["log-agent"], by_service[None]
    assert agent["id"] == sdk["id"] and agent["type"] == "k8s.pod"
    node = {p["key"]: p for p in agent["pooled"]}["k8s.node.name"]
    assert node["value"] == POD["k8s.node.name"] and node["from"] == [sdk["resource"]], node
    assert ksm["type"] == "k8s.deployment" and ksm["id"] != sdk["id"]
    refused = {r["key"]: r["reason"] for r in agent["refused"]}
    assert refused.get("telemetry.sdk.language") == "out of scope", refused
