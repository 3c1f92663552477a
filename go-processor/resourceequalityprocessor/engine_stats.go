package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// observe is a metric callback that reports one stat of the engine's (engine_metrics_generated.go
// registers one per stat that is a metric of its own).
func observe(read func() (engine.Stats, error), stat func(engine.Stats) int64) metric.Int64Callback {
	return func(_ context.Context, o metric.Int64Observer) error {
		if st, err := read(); err == nil {
			o.Observe(stat(st))
		}
		return nil
	}
}

// part is one stat of a metric broken down by an attribute: the attribute's value and the stat.
type part struct {
	value string
	stat  func(engine.Stats) int64
}

// observeParts is a metric callback that reports several stats of the engine's as one metric,
// each with its value of attribute (fills_refused by reason).
func observeParts(read func() (engine.Stats, error), attr string, parts []part) metric.Int64Callback {
	sets := make([]metric.ObserveOption, len(parts))
	for i, p := range parts {
		sets[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String(attr, p.value)))
	}
	return func(_ context.Context, o metric.Int64Observer) error {
		if st, err := read(); err == nil {
			for i, p := range parts {
				o.Observe(p.stat(st), sets[i])
			}
		}
		return nil
	}
}

// statsMaxAge is how long one read of the engine's stats serves the metric callbacks: one
// collection calls every callback, and a read walks the engine's entities once.
const statsMaxAge = time.Second

// cachedStats serves the latest read of read for statsMaxAge.
func cachedStats(read func() (engine.Stats, error)) func() (engine.Stats, error) {
	var mu sync.Mutex
	var last engine.Stats
	var at time.Time
	return func() (engine.Stats, error) {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < statsMaxAge {
			return last, nil
		}
		st, err := read()
		if err != nil {
			return engine.Stats{}, err
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
