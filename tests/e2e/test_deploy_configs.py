"""The deployment examples are collectors this distribution runs: every collector configuration in
examples/deploy (the image's default, the Helm chart's agent and gateway values, the Operator's
resource) passes `otelcol validate` with the built binary, and the distribution has every
component the official Helm chart's default configuration and presets name."""

import functools
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from harness import COLLECTOR, ROOT

DEPLOY = ROOT / "examples" / "deploy"

# The components the opentelemetry-collector chart configures by default (otlp, jaeger, zipkin,
# prometheus; memory_limiter, batch; debug; health_check) and injects with its presets
# (logsCollection: filelog, file_storage; hostMetrics: hostmetrics; kubeletMetrics: kubeletstats;
# kubernetesAttributes: k8sattributes; clusterMetrics: k8s_cluster; kubernetesEvents: k8sobjects or
# k8s_events; resourceDetection: resourcedetection), and what a gateway adds (load_balancing,
# headers_setter, otlp and otlphttp). Named as the chart writes them: it rewrites the deprecated
# names filelog and k8sattributes (rewriteDeprecatedComponentNames, on by default), in presets and
# in the user's configuration alike.
RENAMED_BY_THE_CHART = {"filelog": "file_log", "k8sattributes": "k8s_attributes"}
CHART_COMPONENTS = {
    "receivers": ["otlp", "jaeger", "zipkin", "prometheus", "file_log", "hostmetrics", "kubeletstats", "k8s_cluster",
                  "k8sobjects", "k8s_events"],
    "processors": ["memory_limiter", "batch", "k8s_attributes", "resourcedetection", "resourceequality"],
    "exporters": ["debug", "otlp", "otlphttp", "loadbalancing"],
    "extensions": ["health_check", "file_storage", "headers_setter"],
}


def collector_configs() -> list[tuple[str, dict, dict]]:
    """(name, configuration, environment) of each collector the examples deploy."""
    configs = [("image default", yaml.safe_load((DEPLOY / "image" / "config.yaml").read_text()), {})]
    for path in sorted((DEPLOY / "helm").glob("*.yaml")):
        values = yaml.safe_load(path.read_text())
        assert "config" not in values, f"{path.name}: the whole configuration goes in alternateConfig"
        configs.append((f"helm {path.stem}", values["alternateConfig"], environment(values.get("extraEnvs", []))))
    for path in sorted((DEPLOY / "operator").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())["spec"]
        configs.append((f"operator {path.stem}", spec["config"], environment(spec.get("env", []))))
    return configs


@functools.cache
def current_names() -> dict:
    """The distribution's component types by kind, by their current names (`components` lists no
    deprecated alias)."""
    out = subprocess.run([COLLECTOR, "components"], capture_output=True, text=True, check=True).stdout
    return {kind: set(re.findall(r"^\s+- name: (\S+)", section, re.M))
            for kind, section in re.findall(r"^(\w+):\n((?:\s+.*\n)+)", out, re.M)}


def environment(env: list[dict]) -> dict:
    """The variables the chart or the Operator sets, with a stand-in for those read from the pod."""
    chart = {"MY_POD_IP": "10.0.0.7"}
    return {**chart, **{e["name"]: e.get("value", "10.0.0.1") for e in env}}


@pytest.mark.parametrize("name,config,env", collector_configs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_deployed_configuration_validates(tmp_path, name, config, env):
    # What only a pod has stands in for itself here: the host's root mounted into the agent's pod
    # is this machine's root; the pod's service account (kubeletstats authenticates with it) is
    # none. `otelcol validate` creates every component, and so reads both.
    on_this_machine = yaml.safe_dump(config).replace("root_path: /hostfs", "root_path: /")
    on_this_machine = on_this_machine.replace("auth_type: serviceAccount", "auth_type: none")
    path = tmp_path / "config.yaml"
    path.write_text(on_this_machine)
    done = subprocess.run([COLLECTOR, "validate", "--config", str(path)], capture_output=True, text=True,
                          env={**os.environ, **env})
    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    assert "resourceequality" in config["processors"]
    # Current names only: a deprecated alias logs a warning at every start, and the chart rewrites
    # some (RENAMED_BY_THE_CHART), so that what it deploys would not be what is validated here.
    for kind in ("receivers", "processors", "exporters", "extensions"):
        old = [i for i in config.get(kind, {}) if i.split("/")[0] not in current_names()[kind]]
        assert not old, f"{name}: {kind} {old} are deprecated names; `otelcol components` lists the current ones"


def test_the_distribution_has_what_the_chart_names(tmp_path):
    # Each component by the name the chart writes, which may be a deprecated alias (`components`
    # lists only the new names): the collector refuses a name it lacks as an "unknown type" while
    # reading the configuration, before it checks any component's settings.
    for kind, names in CHART_COMPONENTS.items():
        for name in names:
            path = tmp_path / f"{kind}-{name}.yaml"
            path.write_text(yaml.safe_dump({kind: {name: None}, "service": {"pipelines": {}}}))
            done = subprocess.run([COLLECTOR, "validate", "--config", str(path)], capture_output=True, text=True)
            assert "unknown type" not in done.stderr, f"{kind} {name}: {done.stderr}"
