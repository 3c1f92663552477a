//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// putBenchPod writes the benchmark pod number i (tests/load/bench_pod.json, which
// TestBenchPodIsTheSharedOne checks this against): a pod as an SDK reports it, 15 attributes.
func putBenchPod(i int64, a pcommon.Map) {
	dep := fmt.Sprintf("svc-%d", i%500)
	a.PutStr("k8s.pod.uid", fmt.Sprintf("%08x-1b7d-4c55-9a0e-%012x", i>>32, i&0xffffffff))
	a.PutStr("k8s.pod.name", fmt.Sprintf("%s-7d9f-%06d", dep, i))
	a.PutStr("k8s.namespace.name", fmt.Sprintf("ns-%d", i%40))
	a.PutStr("k8s.node.name", fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i%200, i%250))
	a.PutStr("k8s.deployment.name", dep)
	a.PutStr("k8s.replicaset.name", dep+"-7d9f")
	a.PutStr("service.name", dep)
	a.PutStr("service.version", "1.4.2")
	a.PutStr("container.name", "app")
	a.PutStr("cloud.provider", "aws")
	a.PutStr("cloud.region", "us-east-1")
	a.PutStr("cloud.account.id", "123456789012")
	a.PutStr("telemetry.sdk.language", "go")
	a.PutStr("telemetry.sdk.version", "1.38.0")
	a.PutInt("process.pid", 1+i%30000)
}

// TestBenchPodIsTheSharedOne checks putBenchPod against the examples of tests/load/bench_pod.json,
// the one definition of the benchmark pod.
func TestBenchPodIsTheSharedOne(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "tests", "load", "bench_pod.json"))
	require.NoError(t, err)
	var doc struct {
		Pods []struct {
			I          int64   `json:"i"`
			Attributes [][]any `json:"attributes"`
		} `json:"pods"`
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	require.NotEmpty(t, doc.Pods)
	for _, pod := range doc.Pods {
		a := pcommon.NewMap()
		putBenchPod(pod.I, a)
		var got [][]any
		for k, v := range a.All() {
			got = append(got, []any{k, v.AsRaw()})
		}
		want, _ := json.Marshal(pod.Attributes)
		have, _ := json.Marshal(got)
		require.JSONEq(t, string(want), string(have), "pod %d", pod.I)
	}
}

// benchLogs is a batch of 1000 log records spread over `resources` benchmark pods, as an SDK in
// each pod reports them.
func benchLogs(resources int) plog.Logs {
	ld := plog.NewLogs()
	per := 1000 / resources
	for r := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		a := rl.Resource().Attributes()
		putBenchPod(int64(r), a)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range per {
			lr.AppendEmpty().Body().SetStr(fmt.Sprintf("record %d", i))
		}
	}
	return ld
}

// benchProcessor is a resourceequality logs processor named name, on cfg, shut down after b.
func benchProcessor(b *testing.B, name string, cfg component.Config) processor.Logs {
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	p, err := NewFactory().CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Shutdown(ctx) })
	return p
}

func benchProcessors(b *testing.B) map[string]processor.Logs {
	passThrough, err := processorhelper.NewLogs(context.Background(), processortest.NewNopSettings(metadata.Type),
		createDefaultConfig(), consumertest.NewNop(),
		func(_ context.Context, ld plog.Logs) (plog.Logs, error) { return ld, nil })
	require.NoError(b, err)
	return map[string]processor.Logs{"passthrough": passThrough, "resourceequality": benchProcessor(b, "bench", createDefaultConfig())}
}

// BenchmarkProcessLogs: ns per batch of 1000 records and per resource, against a pass-through
// processor in the same run. Each batch is a fresh copy (as each batch from a receiver is), while
// the same resources repeat across batches.
func BenchmarkProcessLogs(b *testing.B) {
	procs := benchProcessors(b)
	for _, resources := range []int{1, 10, 100, 1000} {
		template := benchLogs(resources)
		for _, name := range []string{"passthrough", "resourceequality"} {
			p := procs[name]
			b.Run(fmt.Sprintf("resources=%d/%s", resources, name), func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				onFreshCopies(b, func(int) plog.Logs { return template }, func(ld plog.Logs) {
					if err := p.ConsumeLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*resources), "ns/resource")
			})
		}
	}
}

// BenchmarkProcessLogsManyPods: batches of 1000 pods, one log record each, cycling through
// 100,000 pods on an engine sized for them (max_entities 125,000, as the README advises), so that
// the processor's table of held answers is as full as in a collector holding that many; every pod
// is sent once before timing. ns and allocations per batch (BenchmarkProcessLogs' pods all fit in
// a sliver of the default table).
func BenchmarkProcessLogsManyPods(b *testing.B) {
	const pods, perBatch = 100_000, 1000
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Engine = map[string]any{"max_entities": pods * 5 / 4}
	p := benchProcessor(b, "bench_many", cfg)
	batches := make([]plog.Logs, pods/perBatch)
	for i := range batches {
		ld := plog.NewLogs()
		for r := range perBatch {
			rl := ld.ResourceLogs().AppendEmpty()
			putBenchPod(int64(i*perBatch+r), rl.Resource().Attributes())
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("record")
		}
		batches[i] = ld
	}
	for _, ld := range batches {
		fresh := plog.NewLogs()
		ld.CopyTo(fresh)
		require.NoError(b, p.ConsumeLogs(ctx, fresh))
	}
	b.ReportAllocs()
	b.ResetTimer()
	onFreshCopies(b, func(i int) plog.Logs { return batches[i%len(batches)] }, func(ld plog.Logs) {
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/resource")
}

// onFreshCopies runs fn b.N times, the i-th time on a fresh copy of template(i). The copies are
// made in chunks with the timer stopped, followed by a collection, so that neither the copying
// nor the garbage it leaves is timed; what fn allocates is (with the collections it causes).
func onFreshCopies(b *testing.B, template func(int) plog.Logs, fn func(plog.Logs)) {
	const chunk = 64
	copies := make([]plog.Logs, chunk)
	for done := 0; done < b.N; done += chunk {
		b.StopTimer()
		n := min(chunk, b.N-done)
		for i := range n {
			copies[i] = plog.NewLogs()
			template(done + i).CopyTo(copies[i])
		}
		runtime.GC()
		b.StartTimer()
		for i := range n {
			fn(copies[i])
		}
	}
}

// BenchmarkCgoRoundTrip: the fixed cost of one call into the engine (one empty resource entry),
// including the copy of the answer into memory the caller owns.
func BenchmarkCgoRoundTrip(b *testing.B) {
	e, err := engine.New([]byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	in := []byte{0x0a, 0x00}
	scratch := make([]byte, 4096)
	// The engine's first answer lays out its result cache (tens of MB at the default
	// max_entities, about 10 ms): a cost of the engine's start, not of a round trip.
	if _, err := e.Process("", in, scratch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Process("", in, scratch); err != nil {
			b.Fatal(err)
		}
	}
}
