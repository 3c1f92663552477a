//go:build cgo

package resourceequalityprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// scenario is one vector of tests/scenarios/ (shared with the Rust engine and the e2e tests).
type scenario struct {
	Name    string            `json:"name"`
	Config  map[string]any    `json:"config"`
	Batches [][]labelledAttrs `json:"batches"`
	Expect  struct {
		SameID      [][2]string               `json:"same_id"`
		DifferentID [][2]string               `json:"different_id"`
		Type        map[string]string         `json:"type"`
		Attributes  map[string]map[string]any `json:"attributes"`
		Absent      map[string][]string       `json:"absent"`
	} `json:"expect"`
}

type labelledAttrs struct {
	Label string `json:"label"`
	// Partition is the tenant header of the entry's request (so one per batch).
	Partition  string         `json:"partition"`
	Attributes map[string]any `json:"attributes"`
	EntityRefs []vectorRef    `json:"entity_refs"`
}

// vectorRef is an entity ref a resource declares, as the k8scluster receiver writes them.
type vectorRef struct {
	Type            string   `json:"type"`
	IDKeys          []string `json:"id_keys"`
	DescriptionKeys []string `json:"description_keys"`
}

// loadScenarios reads the scenario vectors and the field corpus (tests/field, resources as real
// emitters write them; sources.json there is their provenance, not a vector).
func loadScenarios(t testing.TB) []scenario {
	scenarios, err := filepath.Glob(filepath.Join("..", "..", "tests", "scenarios", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(scenarios), 45, "scenario vectors under tests/scenarios")
	field, err := filepath.Glob(filepath.Join("..", "..", "tests", "field", "*.json"))
	require.NoError(t, err)
	var files []string
	files = append(files, scenarios...)
	for _, f := range field {
		if filepath.Base(f) != "sources.json" {
			files = append(files, f)
		}
	}
	require.Greater(t, len(files), len(scenarios), "field corpus under tests/field")
	var out []scenario
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var s scenario
		require.NoError(t, dec.Decode(&s), f)
		out = append(out, s)
	}
	return out
}

// putValue writes a vector's JSON value as the pdata value the Rust runner builds.
func putValue(v pcommon.Value, j any) {
	switch x := j.(type) {
	case string:
		v.SetStr(x)
	case bool:
		v.SetBool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			v.SetInt(i)
		} else {
			f, _ := x.Float64()
			v.SetDouble(f)
		}
	case []any:
		s := v.SetEmptySlice()
		for _, e := range x {
			putValue(s.AppendEmpty(), e)
		}
	case map[string]any:
		// In key order, as the Rust runner's JSON maps are: encodings must not depend on Go's
		// map iteration order (tests/wire compares bytes).
		m := v.SetEmptyMap()
		for _, k := range slices.Sorted(maps.Keys(x)) {
			putValue(m.PutEmpty(k), x[k])
		}
	}
}

func valueOf(j any) pcommon.Value {
	v := pcommon.NewValueEmpty()
	putValue(v, j)
	return v
}

// signalProcessors are one processor id created for traces, logs and metrics, as three
// pipelines of one collector would.
type signalProcessors struct {
	traces  processor.Traces
	logs    processor.Logs
	metrics processor.Metrics
	tsink   *consumertest.TracesSink
	lsink   *consumertest.LogsSink
	msink   *consumertest.MetricsSink
}

func newSignalProcessors(t *testing.T, name string, cfg *Config) *signalProcessors {
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	f := NewFactory()
	sp := &signalProcessors{tsink: new(consumertest.TracesSink), lsink: new(consumertest.LogsSink), msink: new(consumertest.MetricsSink)}
	var err error
	sp.traces, err = f.CreateTraces(ctx, set, cfg, sp.tsink)
	require.NoError(t, err)
	sp.logs, err = f.CreateLogs(ctx, set, cfg, sp.lsink)
	require.NoError(t, err)
	sp.metrics, err = f.CreateMetrics(ctx, set, cfg, sp.msink)
	require.NoError(t, err)
	for _, c := range []component.Component{sp.traces, sp.logs, sp.metrics} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{sp.traces, sp.logs, sp.metrics} {
			require.NoError(t, c.Shutdown(ctx))
		}
	})
	return sp
}

// sendAttrs pushes resources with these attributes as signal (0 traces, 1 logs, 2 metrics), one
// record each, and returns the resources' attributes as they came out.
func (sp *signalProcessors) sendAttrs(t *testing.T, signal int, attrs []map[string]any) []pcommon.Map {
	entries := make([]labelledAttrs, len(attrs))
	for i, a := range attrs {
		entries[i].Attributes = a
	}
	return sp.sendEntries(context.Background(), t, signal, entries)
}

// sendEntries is sendAttrs for vector entries, which may declare entity refs, in a request
// whose context is ctx.
func (sp *signalProcessors) sendEntries(ctx context.Context, t *testing.T, signal int, attrs []labelledAttrs) []pcommon.Map {
	var out []pcommon.Map
	switch signal {
	case 0:
		td := ptrace.NewTraces()
		for _, a := range attrs {
			rs := td.ResourceSpans().AppendEmpty()
			putResource(rs.Resource(), a)
			rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
		}
		sp.tsink.Reset()
		require.NoError(t, sp.traces.ConsumeTraces(ctx, td))
		got := sp.tsink.AllTraces()[0]
		require.Equal(t, len(attrs), got.SpanCount(), "nothing lost")
		for i := 0; i < got.ResourceSpans().Len(); i++ {
			out = append(out, got.ResourceSpans().At(i).Resource().Attributes())
		}
	case 1:
		ld := plog.NewLogs()
		for _, a := range attrs {
			rl := ld.ResourceLogs().AppendEmpty()
			putResource(rl.Resource(), a)
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("l")
		}
		sp.lsink.Reset()
		require.NoError(t, sp.logs.ConsumeLogs(ctx, ld))
		got := sp.lsink.AllLogs()[0]
		require.Equal(t, len(attrs), got.LogRecordCount(), "nothing lost")
		for i := 0; i < got.ResourceLogs().Len(); i++ {
			out = append(out, got.ResourceLogs().At(i).Resource().Attributes())
		}
	default:
		md := pmetric.NewMetrics()
		for _, a := range attrs {
			rm := md.ResourceMetrics().AppendEmpty()
			putResource(rm.Resource(), a)
			m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			m.SetName("m")
			m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
		}
		sp.msink.Reset()
		require.NoError(t, sp.metrics.ConsumeMetrics(ctx, md))
		got := sp.msink.AllMetrics()[0]
		require.Equal(t, len(attrs), got.DataPointCount(), "nothing lost")
		for i := 0; i < got.ResourceMetrics().Len(); i++ {
			out = append(out, got.ResourceMetrics().At(i).Resource().Attributes())
		}
	}
	return out
}

func putAttrs(m pcommon.Map, attrs map[string]any) {
	for k, v := range attrs {
		putValue(m.PutEmpty(k), v)
	}
}

func putResource(r pcommon.Resource, e labelledAttrs) {
	putAttrs(r.Attributes(), e.Attributes)
	putEntityRefs(r, e.EntityRefs)
}

func putEntityRefs(r pcommon.Resource, refs []vectorRef) {
	for _, ref := range refs {
		er := entity.ResourceEntityRefs(r).AppendEmpty()
		er.SetType(ref.Type)
		er.IdKeys().Append(ref.IDKeys...)
		er.DescriptionKeys().Append(ref.DescriptionKeys...)
	}
}

// requestContext is the context a receiver with include_metadata gives a batch of the vector:
// its entries' partition as the header the vector's config names.
func (s scenario) requestContext(t *testing.T, batch []labelledAttrs) context.Context {
	ctx := context.Background()
	if len(batch) == 0 || batch[0].Partition == "" {
		return ctx
	}
	for _, e := range batch {
		require.Equal(t, batch[0].Partition, e.Partition, "the entries of one batch share one partition")
	}
	partition, _ := s.Config["partition"].(map[string]any)
	key, ok := partition["metadata"].(string)
	require.True(t, ok, "%s: a vector that names partitions sets partition.metadata", s.Name)
	metadata := client.NewMetadata(map[string][]string{key: {batch[0].Partition}})
	return client.NewContext(ctx, client.Info{Metadata: metadata})
}

// TestScenarioVectors runs every vector through the processor. Batch i of a vector goes
// through the traces, logs or metrics processor (i mod 3) of one processor id, so pooling
// crosses signals as it does in a collector.
func TestScenarioVectors(t *testing.T) {
	for _, s := range loadScenarios(t) {
		t.Run(s.Name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			// A vector's config is the engine's keys, which the processor passes as written.
			cfg.Engine = s.Config
			sp := newSignalProcessors(t, s.Name, cfg)
			out := map[string]pcommon.Map{}
			for i, batch := range s.Batches {
				got := sp.sendEntries(s.requestContext(t, batch), t, i%3, batch)
				for j, r := range batch {
					out[r.Label] = got[j]
				}
			}
			id := func(l string) string {
				v, ok := out[l].Get("resource.id")
				if !ok {
					return ""
				}
				return v.Str()
			}
			for _, p := range s.Expect.SameID {
				require.NotEmpty(t, id(p[0]), p[0])
				require.Equal(t, id(p[0]), id(p[1]), "%s and %s should share an id", p[0], p[1])
			}
			for _, p := range s.Expect.DifferentID {
				require.NotEqual(t, id(p[0]), id(p[1]), "%s and %s must not share an id (false merge)", p[0], p[1])
			}
			for l, typ := range s.Expect.Type {
				v, _ := out[l].Get("resource.type")
				require.Equal(t, typ, v.Str(), "type of %s", l)
			}
			for l, attrs := range s.Expect.Attributes {
				for k, want := range attrs {
					got, ok := out[l].Get(k)
					require.True(t, ok, "%s lacks %s", l, k)
					require.True(t, valueOf(want).Equal(got), "%s: %s = %s, want %v", l, k, got.AsString(), want)
				}
			}
			for l, keys := range s.Expect.Absent {
				for _, k := range keys {
					if v, ok := out[l].Get(k); ok {
						t.Errorf("%s: %s must not be filled, got %s", l, k, fmt.Sprint(v.AsRaw()))
					}
				}
			}
		})
	}
}
