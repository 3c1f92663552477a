//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// soakDuration is 2 s in `make test` and set by RE_SOAK (e.g. 5m) in `make soak`.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("RE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err)
		return d
	}
	return 2 * time.Second
}

// Several pipelines share one engine; many goroutines send rich and sparse resources of the
// same pods through traces, logs and metrics at once. Ids stay stable, pooled values stay right,
// nothing is lost, and there is no race or deadlock (run under -race).
func TestSoakSharedEngine(t *testing.T) {
	sp := newSignalProcessors(t, "soak", createDefaultConfig().(*Config))
	const pods = 500
	wantID := make([]string, pods)
	for i := range pods {
		out := sp.sendAttrs(t, 0, []map[string]any{rich(i)})
		v, _ := out[0].Get("resource.id")
		wantID[i] = v.Str()
	}
	deadline := time.Now().Add(soakDuration(t))
	var batches atomic.Int64
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			ctx := context.Background()
			for n := 0; time.Now().Before(deadline); n++ {
				pod := (g*7919 + n*31) % pods
				attrs := rich(pod)
				if n%2 == 0 {
					attrs = map[string]any{"k8s.pod.uid": attrs["k8s.pod.uid"]}
				}
				var got pcommon.Map
				var records, want int
				switch n % 3 {
				case 0:
					td := ptrace.NewTraces()
					rs := td.ResourceSpans().AppendEmpty()
					putAttrs(rs.Resource().Attributes(), attrs)
					rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
					want = 1
					if !assert.NoError(t, sp.traces.ConsumeTraces(ctx, td)) {
						return
					}
					got, records = rs.Resource().Attributes(), td.SpanCount()
				case 1:
					ld := plog.NewLogs()
					rl := ld.ResourceLogs().AppendEmpty()
					putAttrs(rl.Resource().Attributes(), attrs)
					rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
					rl.ScopeLogs().At(0).LogRecords().AppendEmpty()
					want = 2
					if !assert.NoError(t, sp.logs.ConsumeLogs(ctx, ld)) {
						return
					}
					got, records = rl.Resource().Attributes(), ld.LogRecordCount()
				default:
					md := pmetric.NewMetrics()
					rm := md.ResourceMetrics().AppendEmpty()
					putAttrs(rm.Resource().Attributes(), attrs)
					rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
					want = 1
					if !assert.NoError(t, sp.metrics.ConsumeMetrics(ctx, md)) {
						return
					}
					got, records = rm.Resource().Attributes(), md.DataPointCount()
				}
				if !assert.Equal(t, want, records, "nothing lost") {
					return
				}
				id, _ := got.Get("resource.id")
				if !assert.Equal(t, wantID[pod], id.Str(), "stable id") {
					return
				}
				svc, ok := got.Get("service.name")
				if !assert.True(t, ok, "sparse resources are filled") {
					return
				}
				if !assert.Equal(t, fmt.Sprintf("svc-%d", pod%20), svc.Str(), "from the right pod") {
					return
				}
				batches.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("soak: %d batches through one shared engine in %s, every one checked", batches.Load(), soakDuration(t))
}

func rich(pod int) map[string]any {
	return map[string]any{
		"k8s.pod.uid":         fmt.Sprintf("soak-%04d", pod),
		"k8s.pod.name":        fmt.Sprintf("web-%d", pod),
		"k8s.namespace.name":  "soak",
		"service.name":        fmt.Sprintf("svc-%d", pod%20),
		"k8s.deployment.name": fmt.Sprintf("svc-%d", pod%20),
	}
}
