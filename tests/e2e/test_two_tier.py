"""Scale-out on stock components, with the shipped examples/two-tier configs: two tier-1 routers
route by route key through the load_balancing exporter (static resolver) to two tier-2
collectors, which identify and then pool by id. A pod's spans sent to router A and its sparse
logs sent to router B meet on one tier-2 collector, and the logs come out enriched."""

from fleet import start_fleet
from harness import post, read_entity_events, read_output, request, wait_for


def start(collectors, tmp_path):
    """The fleet as the tests below use it: (router ports), (collector, ports, output) per tier 2."""
    fleet = start_fleet(collectors, tmp_path)
    return fleet.routers, [(t.collector, t.ports, t.out) for t in fleet.tier2]


def pod(i: int) -> dict:
    return {
        "k8s.pod.uid": f"00000000-0000-4000-8000-{i:012d}",
        "k8s.pod.name": f"web-{i}",
        "k8s.namespace.name": "shop",
        "k8s.node.name": f"node-{i % 7}",
        "service.name": f"web-{i % 5}",
        "k8s.deployment.name": f"web-{i % 5}",
    }


def test_two_tiers_route_by_id_and_pool(collectors, tmp_path):
    tier1, tier2 = start(collectors, tmp_path)
    (_, pa), (_, pb) = tier1
    outs = [out for _, _, out in tier2]
    everything = lambda: [r for out in outs for r in read_output(out)]  # noqa: E731

    # 100 pods' spans, half through each tier-1 collector.
    pods = range(100)
    for i in pods:
        port = pa["http"] if i % 2 == 0 else pb["http"]
        post(port, "traces", request("traces", [(f"span-{i}", pod(i))]))
    wait_for(lambda: len(everything()) >= 100, what="spans at tier 2")

    # Each pod's sparse logs through the *other* tier-1 collector than its spans.
    for i in pods:
        port = pb["http"] if i % 2 == 0 else pa["http"]
        post(port, "logs", request("logs", [(f"log-{i}", {"k8s.pod.uid": pod(i)["k8s.pod.uid"]})]))
    wait_for(lambda: len(everything()) >= 200, what="logs at tier 2")
    for c, _, _ in tier2:
        c.stop()
    for c, _ in tier1:
        c.stop()

    per_tier = [read_output(out) for out in outs]
    assert sum(len(r) for r in per_tier) == 200, "nothing lost, nothing duplicated"
    where = {}
    for t, records in enumerate(per_tier):
        for r in records:
            where.setdefault(r.resource["k8s.pod.uid"], set()).add(t)
    assert all(len(ts) == 1 for ts in where.values()), "every signal of a pod reaches one tier-2 collector"
    spread = [sum(1 for ts in where.values() if t in ts) for t in (0, 1)]
    assert min(spread) >= 20, f"pods spread over both tier-2 collectors: {spread}"

    # Each pod is published as an entity by the one tier-2 collector its signals reach.
    tier_events = [read_entity_events(tmp_path / name / "entities.json") for name in ("tier2-a", "tier2-b")]
    publishers = {}
    for t, events in enumerate(tier_events):
        for e in events:
            if e["name"] == "entity.state" and e["entity.type"] == "k8s.pod":
                publishers.setdefault(e["entity.id"]["k8s.pod.uid"], set()).add(t)
                node = {r["entity.type"]: r["entity.id"] for r in e["entity.relationships"]}["k8s.node"]
                i = int(e["entity.description"]["k8s.pod.name"].split("-")[1])
                assert node == {"k8s.node.name": pod(i)["k8s.node.name"]}
    assert len(publishers) == 100 and all(ts == where[uid] for uid, ts in publishers.items())

    for records in per_tier:
        by_label = {r.label: r.resource for r in records}
        for label, res in by_label.items():
            if not label.startswith("log-"):
                continue
            i = int(label.split("-")[1])
            span = by_label[f"span-{i}"]
            assert res["resource.id"] == span["resource.id"]
            assert res["resource.type"] == "k8s.pod"
            # Enriched on tier 2 from the spans that came through the other tier-1 collector.
            for key in ("service.name", "k8s.deployment.name", "k8s.node.name", "k8s.pod.name"):
                assert res[key] == pod(i)[key], (label, key)


TENANT_UID = "7a1e0000-0000-4000-8000-00000000beef"


def tenant_pod(tenant: str) -> dict:
    """One pod uid, name and namespace in both tenants; the pooled values differ."""
    return {"k8s.pod.uid": TENANT_UID, "k8s.pod.name": "web-0", "k8s.namespace.name": "shop",
            "k8s.node.name": f"node-{tenant}", "k8s.deployment.name": f"web-{tenant}"}


def test_two_tenants_stay_apart_across_both_tiers(collectors, tmp_path):
    """Two tenants (X-Scope-OrgID) report the same pod; each one's spans enter through one tier-1
    collector and its sparse logs through the other. Tier 1 forwards the header with the stock
    headers_setter extension, so on tier 2 each tenant's logs gain that tenant's values only."""
    tier1, tier2 = start(collectors, tmp_path)
    (_, pa), (_, pb) = tier1
    outs = [out for _, _, out in tier2]
    everything = lambda: [r for out in outs for r in read_output(out)]  # noqa: E731
    tenants = {"tenant-a": (pa, pb), "tenant-b": (pb, pa)}
    for tenant, (spans_via, _) in tenants.items():
        post(spans_via["http"], "traces", request("traces", [(f"span-{tenant}", tenant_pod(tenant))]),
             {"X-Scope-OrgID": tenant})
    wait_for(lambda: len(everything()) >= 2, what="spans at tier 2")
    for tenant, (_, logs_via) in tenants.items():
        post(logs_via["http"], "logs", request("logs", [(f"log-{tenant}", {"k8s.pod.uid": TENANT_UID})]),
             {"X-Scope-OrgID": tenant})
    wait_for(lambda: len(everything()) >= 4, what="logs at tier 2")
    for c, _, _ in tier2:
        c.stop()
    for c, _ in tier1:
        c.stop()

    out = {r.label: r.resource for r in everything()}
    assert len(out) == 4, "nothing lost, nothing duplicated"
    assert out["span-tenant-a"]["resource.id"] != out["span-tenant-b"]["resource.id"], "ids are per tenant"
    for tenant in tenants:
        log, span = out[f"log-{tenant}"], out[f"span-{tenant}"]
        assert log["resource.id"] == span["resource.id"], tenant
        for key in ("k8s.node.name", "k8s.deployment.name", "k8s.pod.name"):
            assert log.get(key) == tenant_pod(tenant)[key], (tenant, key, log.get(key))
