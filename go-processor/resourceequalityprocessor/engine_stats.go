package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
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

// statsMaxAge is how long one read of the engine's stats serves the metric callbacks: one
// collection calls every callback, and a read walks the engine's entities once.
const statsMaxAge = time.Second

// cachedStats serves the latest read of read for statsMaxAge.
func cachedStats(read func() (engineStats, error)) func() (engineStats, error) {
	var mu sync.Mutex
	var last engineStats
	var at time.Time
	return func() (engineStats, error) {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && time.Since(at) < statsMaxAge {
			return last, nil
		}
		st, err := read()
		if err != nil {
			return nil, err
		}
		last, at = st, time.Now()
		return st, nil
	}
}

// registerEntitiesByType reports the engine's entities per type; types beyond
// maxTypeAttributes are folded into "other", so that declared types cannot grow the metric.
func registerEntitiesByType(tb *metadata.TelemetryBuilder, read func() (map[string]int64, error)) error {
	return tb.RegisterProcessorResourceequalityEntitiesByTypeCallback(func(_ context.Context, o metric.Int64Observer) error {
		byType, err := read()
		if err != nil {
			return nil
		}
		other := int64(0)
		n := 0
		for typ, count := range byType {
			if n >= maxTypeAttributes {
				other += count
				continue
			}
			n++
			o.Observe(count, metric.WithAttributeSet(attribute.NewSet(attribute.String("entity_type", typ))))
		}
		if other > 0 {
			o.Observe(other, metric.WithAttributeSet(attribute.NewSet(attribute.String("entity_type", "other"))))
		}
		return nil
	})
}
