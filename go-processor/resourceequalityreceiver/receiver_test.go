//go:build cgo

package resourceequalityreceiver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityreceiver/internal/metadata"
)

const uid = "6f1c2a4e-1b7d-4c55-9a0e-3f2d8c1b7e01"

// startPipeline creates processor id's engine (as a logs processor) and the receiver reading it.
func startPipeline(t *testing.T, name string) (consumerLogs func(plog.Logs), sink *consumertest.LogsSink) {
	ctx := context.Background()
	pset := processortest.NewNopSettings(component.MustNewType("resourceequality"))
	pset.ID = component.MustNewIDWithName("resourceequality", name)
	pf := resourceequalityprocessor.NewFactory()
	proc, err := pf.CreateLogs(ctx, pset, pf.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, proc.Start(ctx, componenttest.NewNopHost()))
	cfg := createDefaultConfig().(*Config)
	cfg.Processor = pset.ID
	sink = new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(ctx, receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, rcv.Shutdown(ctx))
		require.NoError(t, proc.Shutdown(ctx))
	})
	return func(ld plog.Logs) { require.NoError(t, proc.ConsumeLogs(ctx, ld)) }, sink
}

func logsOf(resources ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	for _, attrs := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		_ = rl.Resource().Attributes().FromRaw(attrs)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("l")
	}
	return ld
}

// event is the part of an entity event that does not depend on time.
type event struct {
	Name          string         `json:"name"`
	Attributes    map[string]any `json:"attributes"`
	HasTimestamps bool           `json:"has_timestamps"`
}

func events(sink *consumertest.LogsSink) []event {
	var out []event
	for _, ld := range sink.AllLogs() {
		forEachRecord(ld, func(lr plog.LogRecord) {
			attrs := lr.Attributes().AsRaw()
			if d, ok := attrs["entity.description"].(map[string]any); ok {
				d["resource.id"] = "<id>"
			}
			out = append(out, event{lr.EventName(), attrs, lr.Timestamp() != 0 && lr.ObservedTimestamp() != 0})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Attributes["entity.type"].(string) < out[j].Attributes["entity.type"].(string)
	})
	return out
}

// The seed's pod (its SDK and a log agent) and its deployment (kube-state-metrics) come out as
// entity.state events with ids, descriptions and relationships: testdata/seed_events.json;
// RE_UPDATE_EVENTS=1 renews it.
func TestSeedEntitiesAreEmittedAsStateEvents(t *testing.T) {
	send, sink := startPipeline(t, "seed_events")
	send(logsOf(
		map[string]any{"k8s.pod.uid": uid, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": "shop",
			"k8s.replicaset.name": "checkout-7d9f", "k8s.deployment.name": "checkout", "k8s.node.name": "ip-10-0-1-17.ec2.internal",
			"service.name": "checkout", "telemetry.sdk.language": "python"},
		map[string]any{"k8s.pod.uid": uid, "k8s.pod.name": "checkout-7d9f-x2k4p", "k8s.namespace.name": "shop"},
		map[string]any{"k8s.namespace.name": "shop", "k8s.deployment.name": "checkout"},
	))
	require.Eventually(t, func() bool { return len(events(sink)) >= 2 }, 5*time.Second, 50*time.Millisecond)
	got, err := json.MarshalIndent(events(sink), "", "  ")
	require.NoError(t, err)
	golden := filepath.Join("testdata", "seed_events.json")
	if os.Getenv("RE_UPDATE_EVENTS") != "" {
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o600))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

func TestStartFailsWithoutTheProcessor(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Processor = component.MustNewIDWithName("resourceequality", "absent")
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.ErrorContains(t, rcv.Start(context.Background(), componenttest.NewNopHost()), "no processor resourceequality/absent")
	require.NoError(t, rcv.Shutdown(context.Background()))
}

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, c := range []struct {
		name    string
		want    *Config
		errText string
	}{
		{"resourceequality", createDefaultConfig().(*Config), ""},
		{"resourceequality/custom", &Config{Processor: component.MustNewIDWithName("resourceequality", "tier2"), ReportInterval: time.Minute}, ""},
		{"resourceequality/bad_interval", nil, "report_interval must be at least 1s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(c.name)
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if c.errText != "" {
				require.ErrorContains(t, cfg.(*Config).Validate(), c.errText)
				return
			}
			require.NoError(t, cfg.(*Config).Validate())
			require.Equal(t, c.want, cfg)
		})
	}
}

func TestSplitKeepsEveryRecordInBoundedBatches(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("resourceequality")
	for range 2500 {
		sl.LogRecords().AppendEmpty().SetEventName("entity.state")
	}
	batches := split(ld, 1000)
	require.Len(t, batches, 3)
	total := 0
	for _, b := range batches {
		require.LessOrEqual(t, b.LogRecordCount(), 1000)
		require.Equal(t, "resourceequality", b.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())
		total += b.LogRecordCount()
	}
	require.Equal(t, 2500, total)
}
