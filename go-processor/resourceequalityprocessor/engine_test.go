//go:build cgo

package resourceequalityprocessor

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadatatest"
)

// An answer that does not fit the caller's scratch comes back whole from the engine's own
// buffer; either way the answer is a copy the scratch does not alias.
func TestEngineAnswerInScratchOrOverflow(t *testing.T) {
	e, err := engine.New([]byte("{}"))
	require.NoError(t, err)
	defer e.Close()
	ld := plog.NewLogs()
	for range 3 {
		richResource(ld.ResourceLogs().AppendEmpty().Resource())
	}
	rl := ld.ResourceLogs()
	req := engine.AppendRequest(nil, rl.Len(), func(i int) pcommon.Resource { return rl.At(i).Resource() }, nil)

	scratch := make([]byte, 64<<10)
	fits, err := e.Process("", req, scratch)
	require.NoError(t, err)
	require.NotEmpty(t, fits)
	clear(scratch)
	assert.NotEqual(t, 0, fits[0], "the answer must not alias the scratch")

	for _, size := range []int{0, 1, len(fits) - 1, len(fits)} {
		got, err := e.Process("", req, make([]byte, size))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(fits, got), "scratch of %d bytes", size)
	}
}

// Engine errors carry their kind: a refused configuration, a malformed batch and a corrupt
// snapshot are told apart with errors.Is, and the message is the engine's own.
func TestEngineErrorsHaveKinds(t *testing.T) {
	_, err := engine.New([]byte(`{"max_entities": 0}`))
	require.ErrorIs(t, err, engine.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "max_entities")

	e, err := engine.New([]byte("{}"))
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Process("", []byte{0x0a, 0xff}, nil)
	require.ErrorIs(t, err, engine.ErrInvalidInput)
	err = e.Restore([]byte("not a snapshot"))
	require.ErrorIs(t, err, engine.ErrInvalidSnapshot)
	var ee *engine.Error
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 4, ee.Status())
}

// Every engine metric that metadata.yaml defines (generated from rust/src/stats.rs) is
// reported, with the engine's value, and the engine's stats name every one.
func TestEveryEngineMetricIsReported(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	set.ID = component.NewIDWithName(metadata.Type, "engine_metrics")
	p, err := NewFactory().CreateLogs(context.Background(), set, createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	ld := plog.NewLogs()
	richResource(ld.ResourceLogs().AppendEmpty().Resource())
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))

	metadataYAML, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	generated := regexp.MustCompile(`(?m)^    processor_resourceequality_(\w+):\n      # generated from rust/src/stats.rs`).FindAllSubmatch(metadataYAML, -1)
	require.NotEmpty(t, generated)
	for _, m := range generated {
		name := string(m[1])
		_, err := tel.GetMetric("otelcol_processor_resourceequality_" + name)
		assert.NoError(t, err, "%s is reported", name)
	}
	entities, err := tel.GetMetric("otelcol_processor_resourceequality_entities")
	require.NoError(t, err)
	assert.Equal(t, int64(1), entities.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}
