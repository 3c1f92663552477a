"""Observe mode through the built collector: the field corpus (resources as real emitters write
them) goes through two pipelines fed by one receiver, one with the processor in observe mode and
one without any processor. Their outputs are equal byte for byte, while the processor's metrics
say what enrich mode would have done: resources by type, entities by type, variants, fills."""

import json
from pathlib import Path

from harness import (ROOT, SIGNALS, free_port, otlp_receiver, ports, post, request, scrape, scrape_series, service,
                     service_extensions, wait_for)

FIELD = sorted(p for p in (ROOT / "tests" / "field").glob("*.json") if p.name != "sources.json")


def config(p: dict, observed: Path, untouched: Path) -> str:
    pipelines = {}
    for s in SIGNALS:
        pipelines[s] = (["otlp"], ["resourceequality"], ["file/observed"])
        pipelines[f"{s}/untouched"] = (["otlp"], [], ["file/untouched"])
    return service_extensions(p) + f"""
receivers:{otlp_receiver(p)}
processors:
  resourceequality:
    mode: observe
exporters:
  file/observed:
    path: {observed}
  file/untouched:
    path: {untouched}
""" + service(pipelines, metrics_port=p["metrics"])


def test_observe_mode_changes_no_byte_and_the_metrics_move(collectors, tmp_path):
    p = ports("http")
    p["metrics"] = free_port()
    observed, untouched = tmp_path / "observed.json", tmp_path / "untouched.json"
    c = collectors("observe", config(p, observed, untouched), p)
    sent = 0
    for path in FIELD:
        for i, batch in enumerate(json.loads(path.read_text())["batches"]):
            resources = [(r["label"], r["attributes"], r.get("entity_refs")) for r in batch]
            post(p["http"], SIGNALS[i % 3], request(SIGNALS[i % 3], resources))
            sent += len(resources)
    m = wait_for(lambda: (lambda m: m if m.get("otelcol_processor_resourceequality_resources", 0) >= sent else None)(
        scrape(p["metrics"])), what="every resource counted")
    series = scrape_series(p["metrics"])
    c.stop()

    assert observed.read_bytes() == untouched.read_bytes(), "observe mode changes no byte"
    assert observed.stat().st_size > 0

    def by_type(name: str) -> dict:
        return {labels["entity_type"]: v for n, labels, v in series if n == name}

    resources = by_type("otelcol_processor_resourceequality_resources")
    entities = by_type("otelcol_processor_resourceequality_entities_by_type")
    assert sum(resources.values()) == sent
    assert resources["k8s.pod"] > entities["k8s.pod"] >= 1, "several resources per pod"
    assert m["otelcol_processor_resourceequality_attributes_filled"] > 0, "what enrich mode would fill"
    assert m["otelcol_processor_resourceequality_resource_variants"] > m["otelcol_processor_resourceequality_entities"]
    assert m["otelcol_processor_resourceequality_merges"] > 0, "resources joined through a link"
    assert m.get("otelcol_processor_resourceequality_engine_errors", 0) == 0
    refused = {labels["reason"]: v for n, labels, v in series if n == "otelcol_processor_resourceequality_fills_refused"}
    assert set(refused) == {"ambiguous", "container_scoped", "out_of_scope"}, "what enrich mode would not fill, by reason"
    assert refused["container_scoped"] > 0, "sidecars of the corpus' pods are not given their app's service"
    print(f"\nfield corpus in observe mode: {sent} resources -> {int(m['otelcol_processor_resourceequality_entities'])} "
          f"entities, {int(m['otelcol_processor_resourceequality_resource_variants'])} variants, "
          f"{int(m['otelcol_processor_resourceequality_attributes_filled'])} attributes would be filled, "
          f"{int(m['otelcol_processor_resourceequality_merges'])} joined through a link, "
          f"{int(m.get('otelcol_processor_resourceequality_ambiguous_attributes', 0))} ambiguous; fills refused: "
          + ", ".join(f"{int(refused[r])} {r}" for r in sorted(refused)))
    for t in sorted(resources):
        print(f"  {t}: {int(resources[t])} resources, {int(entities.get(t, 0))} entities")
