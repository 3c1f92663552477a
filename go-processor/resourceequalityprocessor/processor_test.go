//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// One processor id in a traces, a logs and a metrics pipeline: spans, then logs, then metrics
// of one pod come out with one id, and the sparse ones gain the SDK's pod-level attributes.
// The SDK names its container, as the logs do: service.name belongs to a container, and
// reaches a resource naming a container only from a source naming the same one.
func TestSignalsOfOnePodShareOneEngine(t *testing.T) {
	sp := newSignalProcessors(t, "cross_signal", createDefaultConfig().(*Config))
	spans := sp.sendAttrs(t, 0, []map[string]any{{
		"k8s.pod.uid": "u-1", "k8s.pod.name": "api-0", "k8s.namespace.name": "prod", "container.name": "api",
		"service.name": "api", "k8s.node.name": "node-3", "process.pid": "12",
	}})[0]
	logs := sp.sendAttrs(t, 1, []map[string]any{{"k8s.pod.uid": "u-1", "container.name": "api"}})[0]
	metrics := sp.sendAttrs(t, 2, []map[string]any{{"k8s.namespace.name": "prod", "k8s.pod.name": "api-0"}})[0]
	id, _ := spans.Get("resource.id")
	for _, m := range []struct {
		name string
		get  func(string) (string, bool)
	}{
		{"logs", getter(logs)},
		{"metrics", getter(metrics)},
	} {
		got, _ := m.get("resource.id")
		assert.Equal(t, id.Str(), got, m.name)
		typ, _ := m.get("resource.type")
		assert.Equal(t, "k8s.pod", typ, m.name)
		svc, _ := m.get("service.name")
		assert.Equal(t, "api", svc, m.name)
		node, _ := m.get("k8s.node.name")
		assert.Equal(t, "node-3", node, m.name)
		_, hasPid := m.get("process.pid")
		assert.False(t, hasPid, "%s: process.pid is not pod-level", m.name)
	}
}

func getter(m pcommon.Map) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m.Get(k)
		if !ok {
			return "", false
		}
		return v.AsString(), true
	}
}

func newLogsProcessor(t *testing.T, name string, core zapcore.Core) (*resourceEqualityProcessor, *consumertest.LogsSink, func()) {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	if core != nil {
		set.Logger = zap.New(core)
	}
	p, err := newProcessor(set, createDefaultConfig().(*Config))
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	return p, sink, func() { require.NoError(t, p.shutdown(context.Background())) }
}

func podLogs(uid string, records int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("k8s.pod.uid", uid)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range records {
		lr.AppendEmpty().Body().SetStr(fmt.Sprint(i))
	}
	return ld
}

// Fail open: an engine failure leaves the batch unchanged, counts the error and logs it once
// per interval, not once per batch.
func TestEngineFailurePassesBatchUnchanged(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	p, _, done := newLogsProcessor(t, "fail_open", core)
	defer done()
	p.process = func(_ string, _, _ []byte) ([]byte, error) { return nil, errors.New("injected engine failure") }
	for range 5 {
		in := podLogs("u-1", 3)
		want := plog.NewLogs()
		in.CopyTo(want)
		out, err := p.processLogs(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, want, out, "batch passes unchanged")
	}
	assert.Equal(t, 1, logs.Len(), "one log line per interval, not per batch")
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "injected engine failure")

	// A malformed answer is a failure too, never a partial application.
	p.process = func(_ string, _, _ []byte) ([]byte, error) { return []byte{0x0a, 0x00, 0x0a, 0x00}, nil }
	in := podLogs("u-2", 1)
	want := plog.NewLogs()
	in.CopyTo(want)
	out, err := p.processLogs(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, want, out)
}

// The resources metric's entity types are bounded (types come from the data, entity references
// included): past maxTypeAttributes, new types fold into "other" and the options stop growing.
func TestEntityTypesFoldIntoOtherPastTheBound(t *testing.T) {
	p, _, done := newLogsProcessor(t, "type_fold", nil)
	defer done()
	pod := p.typeOption("k8s.pod")
	for i := range maxTypeAttributes + 50 {
		p.typeOption(fmt.Sprintf("type-%d", i))
	}
	held := 0
	p.types.Range(func(any, any) bool { held++; return true })
	assert.Equal(t, maxTypeAttributes+1, held, "the first %d types, and other", maxTypeAttributes)
	other, ok := p.types.Load("other")
	require.True(t, ok)
	assert.Equal(t, pod, p.typeOption("k8s.pod"), "a type met before the bound keeps its own")
	assert.Equal(t, other, p.typeOption("type-1000"))
}

func TestErrorLogSuppressionCount(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	l := &errorLog{logger: zap.New(core), interval: 20 * time.Millisecond}
	for range 10 {
		l.log(errors.New("x"))
	}
	time.Sleep(30 * time.Millisecond)
	l.log(errors.New("x"))
	require.Equal(t, 2, logs.Len())
	assert.EqualValues(t, 9, logs.All()[1].ContextMap()["failures_not_logged_since_last"])
}

// Many goroutines send batches through one engine; ids stay stable (run under -race).
func TestConcurrentBatches(t *testing.T) {
	p, _, done := newLogsProcessor(t, "concurrent", nil)
	defer done()
	reference := map[string]string{}
	for i := range 50 {
		uid := fmt.Sprintf("uid-%d", i)
		out, err := p.processLogs(context.Background(), podLogs(uid, 1))
		require.NoError(t, err)
		v, _ := out.ResourceLogs().At(0).Resource().Attributes().Get("resource.id")
		reference[uid] = v.Str()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				uid := fmt.Sprintf("uid-%d", (g*7+i)%50)
				out, err := p.processLogs(context.Background(), podLogs(uid, 2))
				if !assert.NoError(t, err) {
					return
				}
				v, _ := out.ResourceLogs().At(0).Resource().Attributes().Get("resource.id")
				assert.Equal(t, reference[uid], v.Str())
			}
		}()
	}
	wg.Wait()
}

// The engine is shared per id, refcounted, and freed at the last shutdown only.
func TestSharedEngineLifecycle(t *testing.T) {
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "lifecycle")
	cfg := createDefaultConfig().(*Config)
	f := NewFactory()
	a, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	b, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	engines.mu.Lock()
	handle := engines.byKey[set.ID]
	require.Equal(t, 2, handle.users)
	engines.mu.Unlock()
	shared := handle.Unwrap()
	require.NoError(t, a.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, b.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, a.Shutdown(ctx), "shutdown twice is harmless")
	_, err = shared.engine.Stats()
	require.NoError(t, err, "still alive for the other pipeline")
	require.NoError(t, b.Shutdown(ctx))
	_, err = shared.engine.Stats()
	require.ErrorIs(t, err, engine.ErrClosed)

	other := *cfg
	other.Engine = map[string]any{"max_entities": 7}
	c, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateLogs(ctx, set, &other, consumertest.NewNop())
	require.ErrorContains(t, err, "different configuration")
	require.NoError(t, c.Shutdown(ctx))
}
