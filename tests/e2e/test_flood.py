"""Bounded memory: a flood of distinct pod uids at full speed (pod churn, or a client sending
garbage identities) keeps the collector's RSS under a bound that follows from max_entities;
evictions are counted in the processor's metrics; the collector keeps serving correctly.

The short version runs in `make test`; `make soak` runs the full one (FLOOD_PODS=1000000,
FLOOD_MAX_ENTITIES=100000) and prints the figures."""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

from harness import (ROOT, file_storage, free_port, otlp_receiver, ports, post, read_output, request, service,
                     service_extensions, wait_for)

LOADGEN = os.environ.get("LOADGEN", str(ROOT / ".tools" / "bin" / "loadgen"))
PODS = int(os.environ.get("FLOOD_PODS", "100000"))
MAX_ENTITIES = int(os.environ.get("FLOOD_MAX_ENTITIES", "10000"))
# Documented bound (README, Reliability): the collector's own RSS when idle (measured at start: it
# is mostly the binary's pages, and grows with the components a distribution has), plus what a
# flood's requests cost the Go side while they are decoded (73 MiB: the bound was 160 MiB when
# the distribution's idle RSS was 87 MiB), plus, per max_entities, the engine's entity, link and
# cached answer (~0.8 KiB measured) with Go and allocator slack.
REQUESTS_MIB = 73
PER_ENTITY_KIB = 4


def config(p, out) -> str:
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
processors:
  resourceequality:
    max_entities: {MAX_ENTITIES}
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000000
  file:
    path: {out}
""" + service({"logs": (["otlp"], ["resourceequality"], ["debug"]), "traces": (["otlp"], ["resourceequality"], ["file"])},
              metrics_port=p["metrics"], log_level="warn")


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.M))


def test_flood_of_distinct_pods_keeps_memory_bounded(collectors, tmp_path):
    p = ports("grpc", "http")
    p["metrics"] = free_port()
    c = collectors("flood", config(p, tmp_path / "out.json"), p)
    idle = rss_mib(c.proc.pid)
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(c.proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.time()
    try:
        out = subprocess.run([LOADGEN, "-endpoint", f"127.0.0.1:{p['grpc']}", "-signal", "logs", "-flood",
                              "-resources-per-request", "100", "-items-per-resource", "1", "-items", str(PODS),
                              "-workers", "2"], capture_output=True, text=True, timeout=1800)
    finally:
        done.set()
        sampler.join()
    assert out.returncode == 0, out.stdout + out.stderr
    seconds = time.time() - t0

    bound = idle + REQUESTS_MIB + MAX_ENTITIES * PER_ENTITY_KIB / 1024
    entities = metric(p["metrics"], "otelcol_processor_resourceequality_entities")
    evictions = metric(p["metrics"], "otelcol_processor_resourceequality_evictions")
    print(f"\nflood: {PODS} distinct pods in {seconds:.1f}s ({PODS / seconds:.0f}/s), max_entities={MAX_ENTITIES}, "
          f"peak RSS {peak[0]:.0f} MiB (bound {bound:.0f} MiB), entities {entities:.0f}, evictions {evictions:.0f}")
    assert peak[0] < bound, f"peak RSS {peak[0]:.0f} MiB over the bound {bound:.0f} MiB"
    assert entities <= MAX_ENTITIES
    assert evictions >= PODS - MAX_ENTITIES, "evictions are counted"

    # Still serving, and still right: a rich and a sparse resource of a new pod meet.
    rich = {"k8s.pod.uid": "after-flood", "service.name": "api"}
    post(p["http"], "traces", request("traces", [("rich", rich), ("sparse", {"k8s.pod.uid": "after-flood"})]))
    c.stop()
    records = {r.label: r.resource for r in read_output(tmp_path / "out.json")}
    assert records["sparse"]["service.name"] == "api"
    assert records["sparse"]["resource.id"] == records["rich"]["resource.id"]


# The junk-key flood of issue 27: pods whose attribute keys are junk, out of the pooling scope and
# long (phase A) or in scope and many (phase B). `make soak` runs the probe's full size.
JUNK_A_REQUESTS = int(os.environ.get("JUNK_A_REQUESTS", "10"))
JUNK_A_KEYS = int(os.environ.get("JUNK_A_KEYS", "4000"))
JUNK_B_REQUESTS = int(os.environ.get("JUNK_B_REQUESTS", "5"))
JUNK_B_KEYS = int(os.environ.get("JUNK_B_KEYS", "1000"))
# The key tables' bound (README, Reliability): per shard max(4096, 4 × its entities) keys of at
# most 256 bytes, about 400 bytes each with the table's own overhead.
KEY_TABLE_MIB = 16 * 4096 * 400 / 2**20


def logs_to_file(p, out, processor: str | None, include_metadata: bool = False) -> str:
    """A logs pipeline from the otlp receiver through resourceequality (`processor`: its settings,
    indented as under it; None: no processor at all) to the file exporter."""
    processors = "" if processor is None else f"""
processors:
  resourceequality:
{processor}"""
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p, include_metadata=include_metadata)}{processors}
exporters:
  file:
    path: {out}
""" + service({"logs": (["otlp"], [] if processor is None else ["resourceequality"], ["file"])},
              metrics_port=p["metrics"], log_level="warn")


def junk_config(p, out) -> str:
    return logs_to_file(p, out, "    max_entities: 10000\n    ttl: 30s")


def send_junk_keys(c, port: int, idle: float) -> float:
    """Sends both phases of junk keys, one request at a time; returns the collector's peak RSS
    growth over `idle`, in MiB."""
    peak = idle
    pad = "x" * 1990
    for r in range(JUNK_A_REQUESTS):
        attrs = {"k8s.pod.uid": f"junk-a-{r}", **{f"junk.{r}.{i}.{pad}": "v" for i in range(JUNK_A_KEYS)}}
        post(port, "logs", request("logs", [(f"a{r}", attrs)]))
        peak = max(peak, rss_mib(c.proc.pid))
    for r in range(JUNK_B_REQUESTS):
        pods = [(f"b{r}-{n}", {"k8s.pod.uid": f"junk-b-{r}-{n}",
                              **{f"k8s.pod.label.j{r}_{n}_{i}": "v" for i in range(JUNK_B_KEYS)}}) for n in range(200)]
        post(port, "logs", request("logs", pods))
        peak = max(peak, rss_mib(c.proc.pid))
    return peak - idle


def test_junk_key_flood_keeps_memory_bounded_and_pooling_for_everyone_else(collectors, tmp_path):
    # Requests of 7 to 8 MB cost the collector itself, decoding and exporting them, more than the
    # flood's 73 MiB, whether this processor is in the pipeline or not (85 to 107 MiB over idle,
    # measured). So the bound is what the same collector grows by without the processor, plus
    # what the processor may hold: its entities and its key tables.
    base = ports("grpc", "http")
    base["metrics"] = free_port()
    b = collectors("junk-baseline", logs_to_file(base, tmp_path / "baseline.json", None), base)
    baseline = send_junk_keys(b, base["http"], rss_mib(b.proc.pid))
    b.stop()

    p = ports("grpc", "http")
    p["metrics"] = free_port()
    c = collectors("junk", junk_config(p, tmp_path / "junk.json"), p)
    idle = rss_mib(c.proc.pid)
    growth = send_junk_keys(c, p["http"], idle)

    # Everyone else still pools new keys: 200 new pods, each with a new in-scope key.
    rich = [(f"rich-{n}", {"k8s.pod.uid": f"after-{n}", "service.name": f"svc-{n}", f"k8s.pod.label.new_{n}": "yes"})
            for n in range(200)]
    post(p["http"], "logs", request("logs", rich))
    post(p["http"], "logs", request("logs", [(f"sparse-{n}", {"k8s.pod.uid": f"after-{n}"}) for n in range(200)]))
    growth = max(growth, rss_mib(c.proc.pid) - idle)
    refused = metric(p["metrics"], "otelcol_processor_resourceequality_attributes_not_pooled")
    c.stop()
    records = {r.label: r.resource for r in read_output(tmp_path / "junk.json")}
    pooled = sum(records[f"sparse-{n}"].get(f"k8s.pod.label.new_{n}") == "yes"
                 and records[f"sparse-{n}"].get("service.name") == f"svc-{n}" for n in range(200))
    bound = baseline + 10000 * PER_ENTITY_KIB / 1024 + KEY_TABLE_MIB
    print(f"\njunk keys: {JUNK_A_REQUESTS} requests of {JUNK_A_KEYS} 2,000-byte keys, {JUNK_B_REQUESTS} of 200 pods x "
          f"{JUNK_B_KEYS} in-scope keys: peak RSS growth {growth:.0f} MiB (without the processor {baseline:.0f} MiB; "
          f"bound {bound:.0f} MiB), {refused:.0f} attributes not pooled, new pods pooled {pooled}/200")
    assert pooled == 200
    assert growth < bound, f"peak RSS growth {growth:.0f} MiB over the bound {bound:.0f} MiB"
    assert refused > 0, "what the bounds refused is counted"


# The tenant flood of issue 27: a client inventing tenant header values, 5 pods each, while a quiet
# tenant waits. `make soak` runs the probe's size (40,000 tenants).
TENANT_FLOOD = int(os.environ.get("TENANT_FLOOD", "3000"))


def tenant_config(p, out) -> str:
    return logs_to_file(p, out, "    max_entities: 10000\n    partition: {metadata: x-scope-orgid}", include_metadata=True)


def test_tenant_flood_keeps_memory_bounded_and_the_quiet_tenant_pooled(collectors, tmp_path):
    p = ports("grpc", "http")
    p["metrics"] = free_port()
    c = collectors("tenants", tenant_config(p, tmp_path / "tenants.json"), p)
    idle = rss_mib(c.proc.pid)
    quiet = {"x-scope-orgid": "quiet"}
    post(p["http"], "logs", request("logs", [(f"rich-{n}", {"k8s.pod.uid": f"quiet-{n}", "service.name": f"svc-{n}"})
                                             for n in range(100)]), quiet)
    peak = 0.0
    for t in range(TENANT_FLOOD):
        pods = [(f"noise-{t}-{n}", {"k8s.pod.uid": f"noise-{n}", "service.name": "noise"}) for n in range(5)]
        post(p["http"], "logs", request("logs", pods), {"x-scope-orgid": f"invented-{t}"})
        if t % 100 == 0:
            peak = max(peak, rss_mib(c.proc.pid))
    post(p["http"], "logs", request("logs", [(f"sparse-{n}", {"k8s.pod.uid": f"quiet-{n}"}) for n in range(100)]), quiet)
    peak = max(peak, rss_mib(c.proc.pid))
    served = metric(p["metrics"], "otelcol_processor_resourceequality_partitions")
    overflow = metric(p["metrics"], "otelcol_processor_resourceequality_partition_overflow_resources")
    c.stop()
    records = {r.label: r.resource for r in read_output(tmp_path / "tenants.json")}
    pooled = sum(records[f"sparse-{n}"].get("service.name") == f"svc-{n}" for n in range(100))
    identified = sum(bool(records[f"noise-{t}-0"].get("resource.id")) for t in range(TENANT_FLOOD))
    bound = idle + REQUESTS_MIB + 10000 * PER_ENTITY_KIB / 1024
    print(f"\ntenant flood: {TENANT_FLOOD} invented tenants x 5 pods: peak RSS {peak:.0f} MiB (bound {bound:.0f} MiB), "
          f"tenants served {served:.0f}, overflow resources {overflow:.0f}, quiet tenant pooled {pooled}/100")
    assert pooled == 100, "the quiet tenant keeps its pooled values"
    assert identified == TENANT_FLOOD, "every invented tenant's resources still get an id"
    assert peak < bound, f"peak RSS {peak:.0f} MiB over the bound {bound:.0f} MiB"
    assert overflow >= 5 * (TENANT_FLOOD - 1000), "what found no place is counted"


# Memory across reloads (issue 27): a state restored at each SIGHUP reload. `make soak` runs the
# probe's size (260,000 entities, 10 reloads).
RELOAD_PODS = int(os.environ.get("RELOAD_PODS", "100000"))
RELOADS = int(os.environ.get("RELOADS", "4"))


def reload_config(p, storage) -> str:
    return service_extensions(p) + file_storage(storage) + f"""receivers:{otlp_receiver(p)}
processors:
  resourceequality:
    max_entities: {RELOAD_PODS * 5 // 4}
    storage: file_storage
    snapshot_interval: 1h
exporters:
  debug:
    verbosity: basic
    sampling_initial: 1
    sampling_thereafter: 1000000
""" + service({"logs": (["otlp"], ["resourceequality"], ["debug"])}, extensions=("health_check", "file_storage"),
              metrics_port=p["metrics"], log_level="info")


def test_reloads_give_the_last_states_memory_back(collectors, tmp_path):
    p = ports("grpc")
    p["metrics"] = free_port()
    c = collectors("reload", reload_config(p, tmp_path / "storage"), p)
    out = subprocess.run([LOADGEN, "-endpoint", f"127.0.0.1:{p['grpc']}", "-signal", "logs", "-flood",
                          "-resources-per-request", "100", "-items-per-resource", "1", "-items", str(RELOAD_PODS),
                          "-workers", "2"], capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout + out.stderr
    learnt = rss_mib(c.proc.pid)
    after = []
    for n in range(1, RELOADS + 1):
        c.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: c.log_path.read_text().count("Restored resourceequality state") == n, timeout=120,
                 what=f"reload {n} restored")
        wait_for(lambda: metric(p["metrics"], "otelcol_processor_resourceequality_entities") >= RELOAD_PODS * 0.99,
                 timeout=60, what="the restored entities reported")
        after.append(rss_mib(c.proc.pid))
    print(f"\nreloads: {RELOAD_PODS} entities learnt, RSS {learnt:.0f} MiB; after each of {RELOADS} reloads: "
          + ", ".join(f"{r:.0f}" for r in after) + " MiB")
    # A restored state holds no cached answers, so it is smaller than the learnt one; what a reload
    # must not do is keep the last state's memory (before: 3.6x after 1 reload, 7.4x after 8).
    assert max(after) < learnt * 1.3, f"RSS after reloads {max(after):.0f} MiB, learnt {learnt:.0f} MiB"
