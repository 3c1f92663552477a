//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadatatest"
)

// In observe mode every batch passes unchanged, while the metrics say what enrich mode would
// have done: resources by the type they would get, entities by type, their variants, fills.
func TestObserveModeChangesNothingAndCounts(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	set.ID = component.NewIDWithName(metadata.Type, "observe")
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.Engine = map[string]any{"mode": modeObserve}
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.Equal(t, 1, logs.FilterMessage(observeModeMessage).Len(), "an observing processor says so as it starts")
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })

	ld := plog.NewLogs()
	rich := ld.ResourceLogs().AppendEmpty().Resource().Attributes()
	rich.PutStr("k8s.pod.uid", "u-1")
	rich.PutStr("k8s.node.name", "node-3")
	rich.PutStr("k8s.deployment.name", "api")
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("k8s.pod.uid", "u-1")
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("k8s.node.name", "node-1")
	sent := plog.NewLogs()
	ld.CopyTo(sent)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))

	got := sink.AllLogs()[0]
	want, err := (&plog.ProtoMarshaler{}).MarshalLogs(sent)
	require.NoError(t, err)
	out, err := (&plog.ProtoMarshaler{}).MarshalLogs(got)
	require.NoError(t, err)
	assert.Equal(t, want, out, "observe mode changes no byte")

	resources, err := tel.GetMetric("otelcol_processor_resourceequality_resources")
	require.NoError(t, err)
	byType := map[string]int64{}
	for _, dp := range resources.Data.(metricdata.Sum[int64]).DataPoints {
		typ, _ := dp.Attributes.Value(attribute.Key("entity_type"))
		byType[typ.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"k8s.pod": 2, "k8s.node": 1}, byType)
	filled, err := tel.GetMetric("otelcol_processor_resourceequality_attributes_filled")
	require.NoError(t, err)
	assert.Positive(t, filled.Data.(metricdata.Sum[int64]).DataPoints[0].Value, "what enrich would have filled")
	variants, err := tel.GetMetric("otelcol_processor_resourceequality_resource_variants")
	require.NoError(t, err)
	assert.Equal(t, int64(3), variants.Data.(metricdata.Gauge[int64]).DataPoints[0].Value, "two variants of the pod, one of the node")
	entities, err := tel.GetMetric("otelcol_processor_resourceequality_entities_by_type")
	require.NoError(t, err)
	entitiesByType := map[string]int64{}
	for _, dp := range entities.Data.(metricdata.Gauge[int64]).DataPoints {
		typ, _ := dp.Attributes.Value(attribute.Key("entity_type"))
		entitiesByType[typ.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{"k8s.pod": 1, "k8s.node": 1}, entitiesByType)
}
