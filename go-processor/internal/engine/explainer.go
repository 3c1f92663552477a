package engine

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// AddTraces explains the resources of one batch of partition partition ("" when the batch's
// tenant is not known), sending the engine the same request the processor sends.
func (e *Explainer) AddTraces(td ptrace.Traces, partition string) error {
	rs := td.ResourceSpans()
	return e.add(partition, rs.Len(), func(i int) pcommon.Resource { return rs.At(i).Resource() })
}

// AddLogs is AddTraces for logs.
func (e *Explainer) AddLogs(ld plog.Logs, partition string) error {
	rl := ld.ResourceLogs()
	return e.add(partition, rl.Len(), func(i int) pcommon.Resource { return rl.At(i).Resource() })
}

// AddMetrics is AddTraces for metrics.
func (e *Explainer) AddMetrics(md pmetric.Metrics, partition string) error {
	rm := md.ResourceMetrics()
	return e.add(partition, rm.Len(), func(i int) pcommon.Resource { return rm.At(i).Resource() })
}

func (e *Explainer) add(partition string, n int, resourceAt func(int) pcommon.Resource) error {
	if n == 0 {
		return nil
	}
	e.request = AppendRequest(e.request[:0], n, resourceAt, nil)
	return e.addRequest(partition, e.request)
}
