package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Explainer runs the engine that a processor configuration describes over captured telemetry
// and records why it decided what it did, for the explain tool (cmd/explain). The engine
// itself explains (rust/src/explain.rs); this only sends it the same requests the processor
// sends. Not for concurrent use; Close frees it.
type Explainer struct {
	ex      *explainer
	request []byte
}

// NewExplainer checks cfg (a *Config, as the collector unmarshals it) as the collector would
// and creates its engine.
func NewExplainer(cfg component.Config) (*Explainer, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, errors.New("not a resourceequality configuration")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	json, err := c.engineConfig()
	if err != nil {
		return nil, err
	}
	ex, err := newExplainer(json)
	if err != nil {
		return nil, err
	}
	return &Explainer{ex: ex}, nil
}

// AddTraces explains the resources of one batch of partition partition ("" when the batch's
// tenant is not known).
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
	e.request = appendRequest(e.request[:0], n, resourceAt, nil)
	return e.ex.add(partition, e.request)
}

// Report is every distinct resource's explanation and the summary, as JSON.
func (e *Explainer) Report() ([]byte, error) {
	return e.ex.report()
}

// Close frees the engine.
func (e *Explainer) Close() {
	e.ex.Close()
}
