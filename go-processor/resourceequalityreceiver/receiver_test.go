//go:build cgo

package resourceequalityreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
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

// Each tenant's entity events are sent on as that tenant's: in their own batch, with the
// tenant's header in the client metadata, which headers_setter forwards as it forwards the
// tenant's data. Two tenants' pods of one uid are told apart. Before, every event was sent in
// one batch with no metadata at all.
func TestEachTenantsEventsAreSentAsThatTenants(t *testing.T) {
	ctx := context.Background()
	pset := processortest.NewNopSettings(component.MustNewType("resourceequality"))
	pset.ID = component.MustNewIDWithName("resourceequality", "tenants")
	pf := resourceequalityprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "tenants.yaml"))
	require.NoError(t, err)
	require.NoError(t, cm.Unmarshal(pcfg))
	proc, err := pf.CreateLogs(ctx, pset, pcfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, proc.Start(ctx, componenttest.NewNopHost()))
	cfg := createDefaultConfig().(*Config)
	cfg.Processor = pset.ID
	sink := new(tenantSink)
	rcv, err := NewFactory().CreateLogs(ctx, receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
	defer func() {
		require.NoError(t, rcv.Shutdown(ctx))
		require.NoError(t, proc.Shutdown(ctx))
	}()
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		tctx := client.NewContext(ctx, client.Info{Metadata: client.NewMetadata(map[string][]string{"x-scope-orgid": {tenant}})})
		require.NoError(t, proc.ConsumeLogs(tctx, logsOf(map[string]any{"k8s.pod.uid": uid, "k8s.node.name": "node-of-" + tenant})))
	}
	require.Eventually(t, func() bool { return len(sink.got()) >= 2 }, 5*time.Second, 50*time.Millisecond)
	got := sink.got()
	require.Len(t, got, 2, "one batch per tenant")
	for _, b := range got {
		require.Len(t, b.nodes, 1, "%+v", b)
		require.Equal(t, "node-of-"+b.tenant, b.nodes[0], "a tenant's batch holds its own pod only")
		require.Equal(t, b.tenant, b.resourceTenant)
	}
}

// tenantSink keeps, per batch, the tenant of its context's metadata, the tenant its resource
// names, and the k8s.node.name of each event's description.
type tenantSink struct {
	mu      sync.Mutex
	batches []tenantBatch
}

type tenantBatch struct {
	tenant, resourceTenant string
	nodes                  []string
}

func (s *tenantSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *tenantSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b := tenantBatch{tenant: strings.Join(client.FromContext(ctx).Metadata.Get("x-scope-orgid"), ",")}
	if v, ok := ld.ResourceLogs().At(0).Resource().Attributes().Get("x-scope-orgid"); ok {
		b.resourceTenant = v.Str()
	}
	forEachRecord(ld, func(lr plog.LogRecord) {
		if d, ok := lr.Attributes().AsRaw()["entity.description"].(map[string]any); ok {
			b.nodes = append(b.nodes, fmt.Sprint(d["k8s.node.name"]))
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return nil
}

func (s *tenantSink) got() []tenantBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tenantBatch(nil), s.batches...)
}
