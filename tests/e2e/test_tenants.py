"""Tenant isolation through the built collector, with stock components and real clients only.
Two tenants report the same pod (uid, name, namespace): tenant a's real values, and tenant b's
planted ones. The rich resources come from the OpenTelemetry Python SDK, the sparse ones (uid
only) from telemetrygen. A tenant is told apart by the otlp receiver's client metadata (the
X-Scope-OrgID header, include_metadata) or by its basicauth user. No value of one tenant may
appear in the other's output; each tenant's sparse resources gain that tenant's values."""

import base64
import subprocess

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import TELEMETRYGEN, otlp_receiver, ports, read_output, service, service_extensions

UID = "3c5d0000-0000-4000-8000-0000000c0ffe"
POD = {"k8s.pod.uid": UID, "k8s.pod.name": "checkout-0", "k8s.namespace.name": "shop"}
VALUES = {
    "a": {"k8s.node.name": "node-a", "k8s.deployment.name": "checkout", "cloud.account.id": "111111111111"},
    "b": {"k8s.node.name": "node-planted", "k8s.deployment.name": "planted", "cloud.account.id": "999999999999"},
}


# Per tenant: two spans from the SDK, one trace of a parent and a child span from telemetrygen.
SENT = 2 * (2 + 2)


def config(p: dict, out, partition: str, extensions: str = "", auth: str | None = None, storage=None) -> str:
    storage_ext = f"""
  file_storage:
    directory: {storage}
    create_directory: true""" if storage else ""
    return service_extensions(p) + extensions + storage_ext + f"""
receivers:{otlp_receiver(p, include_metadata=True, auth=auth)}
processors:
  resourceequality:
    partition: {partition}{"" if storage is None else '''
    storage: file_storage'''}
exporters:
  file:
    path: {out}
""" + service({"traces": (["otlp"], ["resourceequality"], ["file"])},
              extensions=("health_check", *([auth] if auth else []), *(["file_storage"] if storage else [])))


def sdk_rich(port: int, tenant: str, headers: dict) -> None:
    """The pod's own SDK, with the tenant's values, sends two spans."""
    resource = Resource.create({**POD, **VALUES[tenant], "service.name": f"rich-{tenant}"})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, headers=headers)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for name in ("GET /cart", "POST /checkout"):
        with provider.get_tracer("e2e").start_as_current_span(name):
            pass
    provider.shutdown()


def telemetrygen_sparse(port: int, tenant: str, headers: dict) -> None:
    """A source that knows only the pod uid sends one trace."""
    args = [TELEMETRYGEN, "traces", "--otlp-insecure", "--otlp-endpoint", f"127.0.0.1:{port}", "--traces", "1",
            "--service", f"sparse-{tenant}", "--otlp-attributes", f'k8s.pod.uid="{UID}"']
    for k, v in headers.items():
        args += ["--otlp-header", f'{k}="{v}"']
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def check_isolated(records) -> None:
    """Every record belongs to tenant a or b (by its service.name); none carries the other's
    values, and the sparse ones carry their own tenant's."""
    by_tenant = {"a": [], "b": []}
    for r in records:
        by_tenant[r.resource["service.name"].rsplit("-", 1)[1]].append(r.resource)
    for tenant, other in (("a", "b"), ("b", "a")):
        assert by_tenant[tenant], f"tenant {tenant}'s records came out"
        for res in by_tenant[tenant]:
            for key, value in VALUES[other].items():
                assert res.get(key) != value, f"tenant {tenant}'s {res['service.name']} got {key}={value} of {other}"
            sparse = res["service.name"].startswith("sparse-")
            for key, value in VALUES[tenant].items():
                if sparse:
                    assert res.get(key) == value, f"tenant {tenant}'s sparse resource lacks its own {key}"
    ids = {t: {r["resource.id"] for r in rs} for t, rs in by_tenant.items()}
    assert len(ids["a"]) == len(ids["b"]) == 1 and ids["a"] != ids["b"], ids


def header(tenant: str) -> dict:
    return {"x-scope-orgid": f"tenant-{tenant}"}


def test_a_planted_value_never_crosses_tenants_by_header(collectors, tmp_path):
    p = ports("grpc")
    out = tmp_path / "out.json"
    c = collectors("tenants", config(p, out, "{metadata: x-scope-orgid}"), p)
    for tenant in ("a", "b"):
        sdk_rich(p["grpc"], tenant, header(tenant))
    for tenant in ("a", "b"):
        telemetrygen_sparse(p["grpc"], tenant, header(tenant))
    c.stop()
    records = read_output(out)
    assert len(records) == SENT, "nothing lost"
    check_isolated(records)


def test_tenants_stay_apart_across_a_restart(collectors, tmp_path):
    """Rich resources before a restart, sparse ones after: the snapshot restores each tenant's
    values into that tenant only."""
    storage = tmp_path / "storage"
    p = ports("grpc")
    first = collectors("before", config(p, tmp_path / "before.json", "{metadata: x-scope-orgid}", storage=storage), p)
    for tenant in ("a", "b"):
        sdk_rich(p["grpc"], tenant, header(tenant))
    first.stop()
    p2 = ports("grpc")
    after = tmp_path / "after.json"
    second = collectors("after", config(p2, after, "{metadata: x-scope-orgid}", storage=storage), p2)
    assert "Restored resourceequality state" in second.log_path.read_text()
    for tenant in ("a", "b"):
        telemetrygen_sparse(p2["grpc"], tenant, header(tenant))
    second.stop()
    records = read_output(tmp_path / "before.json") + read_output(after)
    assert len(records) == SENT, "nothing lost"
    check_isolated(records)


USERS = {"a": ("alice", "alice-secret"), "b": ("bob", "bob-secret")}


def test_a_planted_value_never_crosses_authenticated_users(collectors, tmp_path):
    """The partition is the basicauth user: the same pod uid sent by two users stays two pods."""
    htpasswd = "\\n".join(f"{u}:{pw}" for u, pw in USERS.values())
    basicauth = f"""
  basicauth:
    htpasswd:
      inline: "{htpasswd}"
"""
    p = ports("grpc")
    out = tmp_path / "out.json"
    c = collectors("users", config(p, out, "{auth: username}", basicauth, auth="basicauth"), p)

    def credentials(tenant: str) -> dict:
        token = base64.b64encode(":".join(USERS[tenant]).encode()).decode()
        return {"authorization": f"Basic {token}"}

    for tenant in ("a", "b"):
        sdk_rich(p["grpc"], tenant, credentials(tenant))
    for tenant in ("a", "b"):
        telemetrygen_sparse(p["grpc"], tenant, credentials(tenant))
    c.stop()
    records = read_output(out)
    assert len(records) == SENT, "nothing lost"
    check_isolated(records)
