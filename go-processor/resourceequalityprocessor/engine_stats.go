package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"go.opentelemetry.io/otel/metric"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// engineStats are an engine's counters and gauges by name: the fields of re_stats, which
// rust/src/stats.rs defines once. The engine metrics of metadata.yaml are generated from the
// same definition, so no counter is named here.
type engineStats map[string]int64

// statsOf reads a re_stats value (any struct of integer fields) by field name.
func statsOf(v reflect.Value) engineStats {
	out := make(engineStats, v.NumField())
	for i := range v.NumField() {
		out[v.Type().Field(i).Name] = int64(v.Field(i).Uint())
	}
	return out
}

// registerEngineMetrics registers, for every stat that metadata.yaml makes a metric of, a
// callback reporting it. mdatagen names the registration of processor_resourceequality_<stat>
// RegisterProcessorResourceequality<Stat>Callback; a stat without one is not a metric of its
// own (rust/src/stats.rs says which).
func registerEngineMetrics(tb *metadata.TelemetryBuilder, names []string, read func() (engineStats, error)) error {
	var errs []error
	builder := reflect.ValueOf(tb)
	for _, name := range names {
		register := builder.MethodByName("RegisterProcessorResourceequality" + camelCase(name) + "Callback")
		if !register.IsValid() {
			continue
		}
		callback := metric.Int64Callback(func(_ context.Context, o metric.Int64Observer) error {
			if st, err := read(); err == nil {
				o.Observe(st[name])
			}
			return nil
		})
		if err, _ := register.Call([]reflect.Value{reflect.ValueOf(callback)})[0].Interface().(error); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// camelCase turns a stat's snake_case name into mdatagen's CamelCase.
func camelCase(name string) string {
	parts := strings.Split(name, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
