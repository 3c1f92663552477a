"""State that survives a crash: with file_storage, the engine's state is snapshotted every
snapshot_interval. Learn a pod's rich resource, kill -9 the collector after the interval, start it
again on the same storage, send only the sparse resource: it comes out enriched."""

import subprocess
import time

from harness import (COLLECTOR, SIGNALS, file_storage, otlp_receiver, ports, post, read_output, request, service,
                     service_extensions)

RICH = {"k8s.pod.uid": "5e7f0000-0000-4000-8000-00000000abcd", "k8s.pod.name": "api-0", "k8s.namespace.name": "prod",
        "service.name": "api", "k8s.node.name": "node-9", "k8s.deployment.name": "api"}
SPARSE = {"k8s.pod.uid": RICH["k8s.pod.uid"]}


def config(p, out, storage) -> str:
    return service_extensions(p) + file_storage(storage) + f"""receivers:{otlp_receiver(p)}
processors:
  resourceequality:
    storage: file_storage
    snapshot_interval: 1s
exporters:
  file:
    path: {out}
""" + service({s: (["otlp"], ["resourceequality"], ["file"]) for s in ("traces", "logs")},
              extensions=("health_check", "file_storage"))


def test_kill_minus_nine_after_a_snapshot_keeps_what_was_learnt(collectors, tmp_path):
    storage = tmp_path / "storage"
    p = ports("http")
    first = collectors("first", config(p, tmp_path / "first.json", storage), p)
    post(p["http"], "traces", request("traces", [("rich", RICH)]))
    time.sleep(2.5)  # past the 1 s snapshot interval
    first.kill9()

    p2 = ports("http")
    second = collectors("second", config(p2, tmp_path / "second.json", storage), p2)
    assert "Restored resourceequality state" in second.log_path.read_text()
    post(p2["http"], SIGNALS[1], request("logs", [("sparse", SPARSE)]))
    second.stop()
    [out] = read_output(tmp_path / "second.json")
    for key in ("service.name", "k8s.node.name", "k8s.deployment.name", "k8s.pod.name"):
        assert out.resource[key] == RICH[key], key
    assert out.resource["resource.type"] == "k8s.pod"


def test_without_the_snapshot_the_sparse_resource_is_not_enriched(collectors, tmp_path):
    """The control: a fresh storage directory knows nothing."""
    p = ports("http")
    c = collectors("fresh", config(p, tmp_path / "fresh.json", tmp_path / "empty-storage"), p)
    post(p["http"], "logs", request("logs", [("sparse", SPARSE)]))
    c.stop()
    [out] = read_output(tmp_path / "fresh.json")
    assert "service.name" not in out.resource


def _damage(storage, how: str) -> None:
    files = [f for f in storage.iterdir() if f.is_file()]
    assert files, "file_storage wrote its database"
    for f in files:
        if how == "garbage":
            f.write_bytes(b"\xde\xad\xbe\xef" * 4096)
        else:  # truncated to one page
            f.write_bytes(f.read_bytes()[:4096])


def test_a_damaged_storage_file_starts_empty_and_shuts_down_cleanly(collectors, tmp_path):
    """A database file overwritten with garbage or truncated to 4096 bytes: file_storage cannot open
    it ("invalid database"). The collector starts anyway, empty, says so once, processes, and
    exits 0 at shutdown."""
    for how in ("garbage", "truncated"):
        storage = tmp_path / f"storage-{how}"
        p = ports("http")
        first = collectors(f"first-{how}", config(p, tmp_path / f"first-{how}.json", storage), p)
        post(p["http"], "traces", request("traces", [("rich", RICH)]))
        first.stop()
        _damage(storage, how)

        p2 = ports("http")
        second = collectors(f"second-{how}", config(p2, tmp_path / f"second-{how}.json", storage), p2)
        post(p2["http"], "logs", request("logs", [("sparse", SPARSE)]))
        time.sleep(2.5)  # two snapshot intervals, each failing again
        proc = second.proc
        second.stop()
        assert proc.returncode == 0, second.log_tail()
        log = second.log_path.read_text()
        assert log.count("Could not open the resourceequality state's storage") == 1, log
        assert "not saved at shutdown" in log
        [out] = read_output(tmp_path / f"second-{how}.json")
        assert out.resource["resource.type"] == "k8s.pod"
        assert "service.name" not in out.resource, "started empty"


def test_a_storage_extension_missing_from_the_service_stops_the_start_with_its_name(tmp_path):
    """`storage: file_storage` without file_storage among the service's extensions is a configuration
    error, not a storage fault: `otelcol validate` cannot see it (a component's check sees its own
    settings only), so the start fails with a message that names the extension."""
    p = ports("http")
    path = tmp_path / "config.yaml"
    path.write_text(config(p, tmp_path / "out.json", tmp_path / "storage").replace(
        'extensions: [health_check, file_storage]', 'extensions: [health_check]'))
    assert "extensions: [health_check]" in path.read_text()
    validate = subprocess.run([COLLECTOR, "validate", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert validate.returncode == 0, validate.stderr
    run = subprocess.run([COLLECTOR, "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert 'storage extension "file_storage" is not configured in the service\'s extensions' in run.stderr, run.stderr
