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
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// stage is one processor of a fleet's stage (mode), on a fresh engine of its own.
func stage(t *testing.T, name, mode string) func(plog.Logs) plog.Logs {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	cfg := createDefaultConfig().(*Config)
	cfg.Engine = map[string]any{"mode": mode, "warmup": "0s"}
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return func(ld plog.Logs) plog.Logs {
		sink.Reset()
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		return sink.AllLogs()[0]
	}
}

func logsOf(resources ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	for _, attrs := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		if err := rl.Resource().Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	}
	return ld
}

func attrsOf(ld plog.Logs, i int) map[string]any {
	return ld.ResourceLogs().At(i).Resource().Attributes().AsRaw()
}

// The three stages through the processor: a router writes the route key only (the same for a
// pod's rich and name-only resources), the identify stage writes id and type only (the name-only
// resource joins the uid through the link), and the pool stage fills it as one collector does.
func TestTheStagesOfAFleet(t *testing.T) {
	route, identify, pool := stage(t, "route", "route"), stage(t, "identify", "identify"), stage(t, "pool", "pool")
	rich := map[string]any{"k8s.pod.uid": "u-1", "k8s.pod.name": "web-0", "k8s.namespace.name": "shop", "k8s.node.name": "n-1"}
	byName := map[string]any{"k8s.pod.name": "web-0", "k8s.namespace.name": "shop"}

	routed := route(logsOf(rich, byName))
	for i, sent := range []map[string]any{rich, byName} {
		got := attrsOf(routed, i)
		assert.Len(t, got, len(sent)+1, "a router adds the route key and nothing else")
		assert.Regexp(t, "^[0-9a-f]{32}$", got["resource.route"])
	}
	assert.Equal(t, attrsOf(routed, 0)["resource.route"], attrsOf(routed, 1)["resource.route"], "what may meet, meets")

	identified := identify(routed)
	for i := range 2 {
		got := attrsOf(identified, i)
		assert.Equal(t, "k8s.pod", got["resource.type"])
		assert.NotContains(t, got, "resource.name", "the pool stage names")
	}
	assert.Equal(t, attrsOf(identified, 0)["resource.id"], attrsOf(identified, 1)["resource.id"], "the name joins the uid")
	assert.NotContains(t, attrsOf(identified, 1), "k8s.node.name", "the identify stage pools nothing")

	pooled := pool(identified)
	assert.Equal(t, "n-1", attrsOf(pooled, 1)["k8s.node.name"], "the pool stage fills as one collector does")
	assert.Equal(t, "web-0", attrsOf(pooled, 1)["resource.name"])
	assert.Equal(t, attrsOf(identified, 1)["resource.id"], attrsOf(pooled, 1)["resource.id"], "and keeps the id")
}
