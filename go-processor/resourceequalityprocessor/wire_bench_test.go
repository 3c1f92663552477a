//go:build cgo

package resourceequalityprocessor

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// The pieces of one batch of 100 pod resources: encoding the request, the engine call, and
// applying the answer (on a fresh copy each time, outside the timer).
func BenchmarkBatchPieces(b *testing.B) {
	ld := benchLogs(100)
	rl := ld.ResourceLogs()
	at := func(i int) pcommon.Resource { return rl.At(i).Resource() }
	e, err := engine.New([]byte("{}"))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	req := engine.AppendRequest(nil, rl.Len(), at, nil)
	scratch := make([]byte, 64<<10)
	answer, err := e.Process("", req, scratch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, len(req))
		b.ReportAllocs()
		for b.Loop() {
			buf = engine.AppendRequest(buf[:0], rl.Len(), at, nil)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/resource")
	})
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Process("", req, scratch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/resource")
	})
	b.Run("apply", func(b *testing.B) {
		keys := engine.NewKeyInterner()
		b.ReportAllocs()
		onFreshCopies(b, func(int) plog.Logs { return ld }, func(fresh plog.Logs) {
			frl := fresh.ResourceLogs()
			if err := engine.ApplyAnswer(answer, 100, func(i int) pcommon.Resource { return frl.At(i).Resource() }, keys, "", nil); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/resource")
	})
}
