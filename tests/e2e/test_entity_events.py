"""Entity events from the built collector: the processor in the telemetry pipelines and the
resourceequality receiver in a logs pipeline of its own, both writing with the file exporter.
A pod seen by its SDK (the Python SDK) and a log agent (telemetrygen), and the node, replicaset,
deployment and namespace as kubeletstats and kube-state-metrics report them, come out as
entity.state events whose ids, descriptions and relationships are checked; every relationship
names an entity that has events of its own. A short TTL produces entity.delete (expired).
Nothing is lost from the telemetry pipelines meanwhile."""

import subprocess

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import (SIGNALS, TELEMETRYGEN, otlp_receiver, ports, post, read_entity_events, read_output, request,
                     service, service_extensions, wait_for)

UID = "0b1e0000-0000-4000-8000-0000000e7e11"
NODE, NS, RS, DEPLOYMENT = "ip-10-0-1-17.ec2.internal", "shop", "checkout-7d9f", "checkout"
POD = {"k8s.pod.uid": UID, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": NS,
       "k8s.replicaset.name": RS, "k8s.deployment.name": DEPLOYMENT, "k8s.node.name": NODE, "service.name": "checkout"}
# As kubeletstats and kube-state-metrics (k8s_cluster) describe the pod's surroundings.
SURROUNDINGS = [
    ("node", {"k8s.node.name": NODE}),
    ("replicaset", {"k8s.namespace.name": NS, "k8s.replicaset.name": RS, "k8s.deployment.name": DEPLOYMENT}),
    ("deployment", {"k8s.namespace.name": NS, "k8s.deployment.name": DEPLOYMENT}),
    ("namespace", {"k8s.namespace.name": NS}),
]


def config(p: dict, telemetry, entities, ttl: str = "1h", report_interval: str = "5m") -> str:
    pipelines = {s: (["otlp"], ["resourceequality"], ["file/telemetry"]) for s in SIGNALS}
    pipelines["logs/entities"] = (["resourceequality"], [], ["file/entities"])
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
  resourceequality:
    processor: resourceequality
    report_interval: {report_interval}
processors:
  resourceequality:
    ttl: {ttl}
exporters:
  file/telemetry:
    path: {telemetry}
  file/entities:
    path: {entities}
    flush_interval: 100ms
""" + service(pipelines)


def send_pod(p: dict) -> int:
    provider = TracerProvider(resource=Resource.create(POD))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{p['grpc']}", insecure=True)))
    for name in ("GET /cart", "POST /checkout"):
        with provider.get_tracer("e2e").start_as_current_span(name):
            pass
    provider.shutdown()
    args = [TELEMETRYGEN, "logs", "--otlp-insecure", "--otlp-endpoint", f"127.0.0.1:{p['grpc']}", "--logs", "3",
            "--service", "log-agent", "--otlp-attributes", f'k8s.pod.uid="{UID}"']
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return 2 + 3


def latest_states(events: list[dict]) -> dict:
    """(entity type, frozen id) -> the latest entity.state event."""
    return {(e["entity.type"], frozenset(e["entity.id"].items())): e for e in events if e["name"] == "entity.state"}


def test_a_pod_and_its_surroundings_become_entity_events(collectors, tmp_path):
    p = ports("grpc", "http")
    telemetry, entities = tmp_path / "telemetry.json", tmp_path / "entities.json"
    c = collectors("entities", config(p, telemetry, entities), p)
    sent = send_pod(p)
    for i, (label, attrs) in enumerate(SURROUNDINGS):
        post(p["http"], "metrics", request("metrics", [(label, attrs)]))
    sent += len(SURROUNDINGS)
    types = {"k8s.pod", "k8s.node", "k8s.replicaset", "k8s.deployment", "k8s.namespace"}
    wait_for(lambda: types <= {t for t, _ in latest_states(read_entity_events(entities))}, what="entity events")
    c.stop()
    assert len(read_output(telemetry)) == sent, "nothing lost from the telemetry pipelines"

    states = latest_states(read_entity_events(entities))
    by_type = {t: e for (t, _), e in states.items()}
    pod = by_type["k8s.pod"]
    assert pod["entity.id"] == {"k8s.pod.uid": UID}
    assert pod["entity.description"]["k8s.node.name"] == NODE
    assert len(pod["entity.description"]["resource.id"]) == 32
    assert pod["entity.report.interval"] == 300
    relationships = {(r["relationship.type"], r["entity.type"]): r["entity.id"] for r in pod["entity.relationships"]}
    assert relationships == {
        ("scheduled_on", "k8s.node"): {"k8s.node.name": NODE},
        ("part_of", "k8s.replicaset"): {"k8s.namespace.name": NS, "k8s.replicaset.name": RS},
        ("part_of", "k8s.namespace"): {"k8s.namespace.name": NS},
    }
    rs = {(r["relationship.type"], r["entity.type"]) for r in by_type["k8s.replicaset"]["entity.relationships"]}
    assert rs == {("part_of", "k8s.deployment"), ("part_of", "k8s.namespace")}
    # The graph closes: every relationship names an entity that has events of its own.
    known = set(states)
    for e in states.values():
        for r in e.get("entity.relationships", []):
            assert (r["entity.type"], frozenset(r["entity.id"].items())) in known, (e["entity.type"], r)
    print("\n" + "\n".join(f"{t}: id {dict(i)} -> {[(r['relationship.type'], r['entity.type']) for r in e.get('entity.relationships', [])]}"
                           for (t, i), e in sorted(states.items(), key=lambda kv: kv[0][0])))


def test_an_entity_not_seen_for_the_ttl_is_deleted_as_expired(collectors, tmp_path):
    p = ports("grpc", "http")
    entities = tmp_path / "entities.json"
    c = collectors("expiry", config(p, tmp_path / "telemetry.json", entities, ttl="2s", report_interval="1s"), p)
    post(p["http"], "traces", request("traces", [("pod", {"k8s.pod.uid": UID, "k8s.node.name": NODE})]))

    def deleted():
        return [e for e in read_entity_events(entities) if e["name"] == "entity.delete"]

    gone = wait_for(deleted, timeout=15, what="entity.delete")
    c.stop()
    assert gone[0]["entity.type"] == "k8s.pod" and gone[0]["entity.id"] == {"k8s.pod.uid": UID}
    assert gone[0]["entity.delete.reason"] == "expired"
    states = [e for e in read_entity_events(entities) if e["name"] == "entity.state"]
    assert states and states[0]["entity.report.interval"] == 1, "announced before it was deleted"
