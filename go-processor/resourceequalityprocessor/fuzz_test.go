//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// FuzzProcessLogs sends random pdata (random bytes decoded as OTLP logs) through one processor:
// no panic, and nothing is dropped or added.
func FuzzProcessLogs(f *testing.F) {
	for _, s := range loadScenariosForFuzz(f) {
		f.Add(s)
	}
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "fuzz")
	p, err := newProcessor(set, createDefaultConfig().(*Config))
	require.NoError(f, err)
	f.Cleanup(func() { _ = p.shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, data []byte) {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return
		}
		records, resources := ld.LogRecordCount(), ld.ResourceLogs().Len()
		out, err := p.processLogs(context.Background(), ld)
		require.NoError(t, err)
		require.Equal(t, records, out.LogRecordCount())
		require.Equal(t, resources, out.ResourceLogs().Len())
	})
}

// loadScenariosForFuzz turns the scenario vectors into OTLP seeds.
func loadScenariosForFuzz(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, s := range loadScenarios(f) {
		for _, batch := range s.Batches {
			ld := plog.NewLogs()
			for _, r := range batch {
				rl := ld.ResourceLogs().AppendEmpty()
				putAttrs(rl.Resource().Attributes(), r.Attributes)
				rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(r.Label)
			}
			b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
			require.NoError(f, err)
			seeds = append(seeds, b)
		}
	}
	return seeds
}
