//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// benchLogs is a batch of 1000 log records spread over `resources` pod resources of 15
// attributes, as an SDK in each pod reports them.
func benchLogs(resources int) plog.Logs {
	ld := plog.NewLogs()
	per := 1000 / resources
	for r := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		a := rl.Resource().Attributes()
		dep := fmt.Sprintf("svc-%d", r%50)
		a.PutStr("k8s.pod.uid", fmt.Sprintf("%08x-1b7d-4c55-9a0e-%012x", r, r*7919))
		a.PutStr("k8s.pod.name", fmt.Sprintf("%s-7d9f-%06d", dep, r))
		a.PutStr("k8s.namespace.name", "shop")
		a.PutStr("k8s.node.name", fmt.Sprintf("ip-10-0-1-%d.ec2.internal", r%200))
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
		a.PutInt("process.pid", int64(1+r))
		lr := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range per {
			lr.AppendEmpty().Body().SetStr(fmt.Sprintf("record %d", i))
		}
	}
	return ld
}

func benchProcessors(b *testing.B) map[string]processor.Logs {
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "bench")
	re, err := NewFactory().CreateLogs(ctx, set, createDefaultConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	passThrough, err := processorhelper.NewLogs(ctx, set, createDefaultConfig(), consumertest.NewNop(),
		func(_ context.Context, ld plog.Logs) (plog.Logs, error) { return ld, nil })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = re.Shutdown(ctx) })
	return map[string]processor.Logs{"passthrough": passThrough, "resourceequality": re}
}

// BenchmarkProcessLogs: ns per batch of 1000 records and per resource, against a pass-through
// processor in the same run. Each iteration gets a fresh copy of the batch (outside the timer),
// as each batch from a receiver is fresh, while the same resources repeat across batches.
func BenchmarkProcessLogs(b *testing.B) {
	procs := benchProcessors(b)
	for _, resources := range []int{1, 10, 100, 1000} {
		template := benchLogs(resources)
		for _, name := range []string{"passthrough", "resourceequality"} {
			p := procs[name]
			b.Run(fmt.Sprintf("resources=%d/%s", resources, name), func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for range b.N {
					b.StopTimer()
					ld := plog.NewLogs()
					template.CopyTo(ld)
					b.StartTimer()
					if err := p.ConsumeLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*resources), "ns/resource")
			})
		}
	}
}

// BenchmarkCgoRoundTrip: the fixed cost of one call into the engine (one empty resource entry).
func BenchmarkCgoRoundTrip(b *testing.B) {
	e, err := newEngine([]byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	in := []byte{0x0a, 0x00}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.process(in); err != nil {
			b.Fatal(err)
		}
	}
}
