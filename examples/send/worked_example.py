"""Sends the README's worked example to a collector: one pod seen by three sources, in order.

1. the OpenTelemetry SDK inside the pod: spans, with the pod's full resource;
2. a host log agent reading /var/log/pods: logs, with only the pod's uid, name, namespace and
   container (`Resource(...)`, not `Resource.create(...)`, which would add an SDK's attributes);
3. kube-state-metrics: a metric of the pod's deployment (namespace and deployment name only).

Run the collector (`make run`), then `make send-example` (or `.venv/bin/python
examples/send/worked_example.py --endpoint http://localhost:4318`). In the collector's debug
output the log agent's resource gains `resource.id`, `service.name`, `k8s.deployment.name` and
`k8s.node.name` from the SDK's, and the deployment gets an id of its own.
"""

import argparse
import logging

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

# The pod of tests/scenarios/seed_eks_pod_sdk_and_log_agent.json (the README's worked example).
UID = "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01"
SDK = {
    "service.name": "checkout",
    "service.version": "1.4.2",
    "k8s.pod.uid": UID,
    "k8s.pod.name": "checkout-7d9f-x2k4p",
    "k8s.namespace.name": "shop",
    "k8s.deployment.name": "checkout",
    "k8s.replicaset.name": "checkout-7d9f",
    "k8s.node.name": "ip-10-0-1-17.ec2.internal",
    "container.name": "app",
    "container.id": "c0ffee01",
    "process.pid": 42,
    "process.runtime.name": "cpython",
    "service.instance.id": "checkout-7d9f-x2k4p-app",
}
LOG_AGENT = {"k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.pod.uid": UID, "container.name": "app"}
KUBE_STATE_METRICS = {"k8s.namespace.name": "shop", "k8s.deployment.name": "checkout"}


def send(endpoint: str) -> None:
    tracer_provider = TracerProvider(resource=Resource.create(SDK))  # adds telemetry.sdk.*, as an SDK does
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    with tracer_provider.get_tracer("checkout").start_as_current_span("POST /checkout"):
        pass
    tracer_provider.shutdown()

    logger_provider = LoggerProvider(resource=Resource(LOG_AGENT))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")))
    logger = logging.getLogger("log-agent")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))
    logger.warning("payment provider slow: 1.8s")
    logger_provider.shutdown()

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
    meter_provider = MeterProvider(resource=Resource(KUBE_STATE_METRICS), metric_readers=[reader])
    meter_provider.get_meter("kube-state-metrics").create_gauge("kube_deployment_status_replicas_available").set(3)
    meter_provider.shutdown()  # exports once


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://localhost:4318", help="the collector's OTLP/HTTP endpoint")
    send(parser.parse_args().endpoint)
    print("sent: the SDK's span, the log agent's log, kube-state-metrics' metric")
