//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// memStorage is a storage extension keeping one map in memory, shared by its clients.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

func (m *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return &memClient{s: m}, nil
}

type memClient struct{ s *memStorage }

func (c *memClient) Get(_ context.Context, k string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.data[k], nil
}

func (c *memClient) Set(_ context.Context, k string, v []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.data[k] = append([]byte(nil), v...)
	return nil
}

func (c *memClient) Delete(_ context.Context, k string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.data, k)
	return nil
}

func (c *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = c.Get(ctx, op.Key)
		case storage.Set:
			_ = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = c.Delete(ctx, op.Key)
		}
	}
	return nil
}

func (*memClient) Close(context.Context) error { return nil }

type hostWithStorage struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h hostWithStorage) GetExtensions() map[component.ID]component.Component { return h.ext }

var storageID = component.MustNewID("file_storage")

func startWithStorage(t *testing.T, st *memStorage, core zapcore.Core) (*resourceEqualityProcessor, func()) {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "persist")
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID
	cfg.SnapshotInterval = 20 * time.Millisecond
	p, err := newProcessor(set, cfg)
	require.NoError(t, err)
	host := hostWithStorage{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{storageID: st}}
	require.NoError(t, p.start(context.Background(), host))
	return p, func() { require.NoError(t, p.shutdown(context.Background())) }
}

func sendLogs(t *testing.T, p *resourceEqualityProcessor, attrs map[string]any) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, rl.Resource().Attributes().FromRaw(attrs))
	rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	out, err := p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	return out
}

// What one run learnt, the next run knows: periodically saved and at shutdown.
func TestStateSurvivesARestart(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}}
	core, logs := observer.New(zapcore.InfoLevel)
	p, stop := startWithStorage(t, st, core)
	sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api", "k8s.node.name": "n-1"})
	require.Eventually(t, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.data[snapshotKey]) > 0
	}, 5*time.Second, 10*time.Millisecond, "periodic snapshot")
	stop()
	assert.Equal(t, 1, logs.FilterMessageSnippet("No saved resourceequality state").Len())

	p, stop = startWithStorage(t, st, core)
	defer stop()
	assert.Equal(t, 1, logs.FilterMessageSnippet("Restored resourceequality state").Len())
	out := sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1"})
	attrs := out.ResourceLogs().At(0).Resource().Attributes()
	v, ok := attrs.Get("service.name")
	require.True(t, ok, "enriched from the restored state")
	assert.Equal(t, "api", v.Str())
}

// A missing, truncated, corrupt or foreign snapshot starts empty with one warning, never fails.
func TestUnusableSnapshotStartsEmpty(t *testing.T) {
	for name, data := range map[string][]byte{
		"truncated": []byte("RESQSNAP\x01\x00"),
		"foreign":   []byte("not a snapshot at all"),
		"newer":     append([]byte("RESQSNAP\x63\x00\x00\x00"), make([]byte, 24)...),
	} {
		t.Run(name, func(t *testing.T) {
			st := &memStorage{data: map[string][]byte{snapshotKey: data}}
			core, logs := observer.New(zapcore.WarnLevel)
			p, stop := startWithStorage(t, st, core)
			defer stop()
			require.Equal(t, 1, logs.Len())
			assert.Contains(t, logs.All()[0].Message, "unusable; starting empty")
			out := sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1"})
			_, ok := out.ResourceLogs().At(0).Resource().Attributes().Get("resource.id")
			assert.True(t, ok, "and works")
		})
	}
}

// Storage named in the config but missing from the service fails the start clearly.
func TestMissingStorageExtensionFailsStart(t *testing.T) {
	set := processortest.NewNopSettings(metadata.Type)
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = p.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `storage extension "file_storage" is not configured`)
	require.NoError(t, p.Shutdown(context.Background()))
}

var _ extension.Extension = (*memStorage)(nil)
