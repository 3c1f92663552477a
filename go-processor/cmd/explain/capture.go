package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// batch is one record of a capture (one request, as the file exporter wrote it), and a label
// for each of its resources.
type batch struct {
	labels []string
	add    func(ex *engine.Explainer, partition string) error
}

// readCapture reads a file exporter's OTLP JSON output (one TracesData, LogsData or
// MetricsData object per line; any whitespace between objects is accepted) and calls each for
// every record in order.
func readCapture(path string, each func(batch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for record := 1; ; record++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			if record == 1 {
				return fmt.Errorf("%s: %w", path, errEmptyCapture)
			}
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: record %d: not JSON: %w", path, record, err)
		}
		b, err := parseRecord(raw, fmt.Sprintf("%s record %d", path, record))
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", path, record, err)
		}
		if err := each(b); err != nil {
			return fmt.Errorf("%s: record %d: %w", path, record, err)
		}
	}
}

var (
	errEmptyCapture = errors.New("no records: expected the file exporter's OTLP JSON")
	errNotOTLP      = errors.New("not OTLP JSON: expected an object with resourceSpans, resourceLogs or resourceMetrics")
)

func parseRecord(raw json.RawMessage, where string) (batch, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return batch{}, errNotOTLP
	}
	label := func(signal string, n int) []string {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = fmt.Sprintf("%s, %s resource %d", where, signal, i+1)
		}
		return labels
	}
	switch {
	case keys["resourceSpans"] != nil:
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
		if err != nil {
			return batch{}, fmt.Errorf("%w: %v", errNotOTLP, err)
		}
		return batch{label("traces", td.ResourceSpans().Len()), func(ex *engine.Explainer, p string) error {
			return ex.AddTraces(td, p)
		}}, nil
	case keys["resourceLogs"] != nil:
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(raw)
		if err != nil {
			return batch{}, fmt.Errorf("%w: %v", errNotOTLP, err)
		}
		return batch{label("logs", ld.ResourceLogs().Len()), func(ex *engine.Explainer, p string) error {
			return ex.AddLogs(ld, p)
		}}, nil
	case keys["resourceMetrics"] != nil:
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(raw)
		if err != nil {
			return batch{}, fmt.Errorf("%w: %v", errNotOTLP, err)
		}
		return batch{label("metrics", md.ResourceMetrics().Len()), func(ex *engine.Explainer, p string) error {
			return ex.AddMetrics(md, p)
		}}, nil
	}
	return batch{}, errNotOTLP
}
