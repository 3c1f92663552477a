"""The README's Quick start as a newcomer runs it: the collector on examples/local.yaml (`make
run`) and examples/send/worked_example.py (`make send-example`), real SDK clients over OTLP/HTTP.
The debug output shows the worked example: the log agent's log joins the pod (the SDK's id) and
gains its pod-level attributes and no SDK or process ones; the deployment gets an id of its own."""

import re
import subprocess
import sys

from harness import ROOT, ports, wait_for

POD_ID = "2a990f7b84773adb8723a911e435e71d"  # README, Worked example
DEPLOYMENT_ID = "df3ccce9ac710e5d47fdbde1547d9844"


def local_config(p: dict) -> str:
    """examples/local.yaml as written, on free ports and with a health check for the harness."""
    text = (ROOT / "examples" / "local.yaml").read_text()
    text = text.replace("localhost:4317", f"localhost:{p['grpc']}").replace("localhost:4318", f"localhost:{p['http']}")
    text = text.replace("\nservice:\n", "\nservice:\n  extensions: [health_check]\n")
    return f"extensions:\n  health_check:\n    endpoint: 127.0.0.1:{p['health']}\n" + text


def resources(log: str, kind: str) -> list[dict]:
    """The resource attributes of every `kind` (ResourceLog, ResourceSpans, ResourceMetrics) the
    debug exporter printed."""
    out = []
    for block in log.split(f"{kind} #")[1:]:
        attrs = block.split("Resource attributes:", 1)[1].split("Scope", 1)[0]
        out.append(dict(re.findall(r"-> ([\w.]+): \w+\((.*)\)", attrs)))
    return out


def test_the_quick_start_shows_the_worked_example(collectors):
    p = ports("grpc", "http")
    c = collectors("quick-start", local_config(p), p)
    sent = subprocess.run([sys.executable, str(ROOT / "examples" / "send" / "worked_example.py"),
                           "--endpoint", f"http://localhost:{p['http']}"], capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    wait_for(lambda: all(k in c.log_path.read_text() for k in ("ResourceLog #", "ResourceSpans #", "ResourceMetrics #")),
             what="the debug exporter printing all three signals")
    log = c.log_path.read_text()
    [agent], [sdk], [ksm] = resources(log, "ResourceLog"), resources(log, "ResourceSpans"), resources(log, "ResourceMetrics")
    assert sdk["resource.id"] == agent["resource.id"] == POD_ID
    assert (agent["service.name"], agent["k8s.deployment.name"], agent["k8s.node.name"]) == \
        ("checkout", "checkout", "ip-10-0-1-17.ec2.internal"), agent
    assert not {k for k in agent if k.startswith(("process.", "telemetry.sdk.", "container.id"))}, agent
    assert (ksm["resource.id"], ksm["resource.type"]) == (DEPLOYMENT_ID, "k8s.deployment")
    assert "k8s.pod.uid" not in ksm
