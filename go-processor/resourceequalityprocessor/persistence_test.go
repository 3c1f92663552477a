//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"errors"
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

// memStorage is a storage extension keeping one map in memory, shared by its clients. openErr
// and setErr make it fail as a real storage does (a corrupt database file, a full disk).
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu      sync.Mutex
	data    map[string][]byte
	openErr error
	setErr  error
}

func (m *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.openErr != nil {
		return nil, m.openErr
	}
	return &memClient{s: m}, nil
}

func (m *memStorage) fail(openErr, setErr error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.openErr, m.setErr = openErr, setErr
}

func (m *memStorage) saved() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data[snapshotKey]) > 0
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
	if c.s.setErr != nil {
		return c.s.setErr
	}
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

// A storage that cannot be opened (bbolt's "invalid database" for a garbage or truncated file, a
// read-only directory) starts the processor empty with one warning; it keeps trying, and saves
// once the storage opens.
func TestUnopenableStorageFailsOpen(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}, openErr: errors.New("invalid database")}
	core, logs := observer.New(zapcore.InfoLevel)
	p, stop := startWithStorage(t, st, core)
	defer stop()
	out := sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"})
	_, ok := out.ResourceLogs().At(0).Resource().Attributes().Get("resource.id")
	assert.True(t, ok, "processes")
	time.Sleep(200 * time.Millisecond) // ten snapshot intervals
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "one warning for a run of failures")
	assert.Contains(t, logs.FilterLevelExact(zapcore.WarnLevel).All()[0].Message, "Could not open")
	st.fail(nil, nil)
	require.Eventually(t, st.saved, 5*time.Second, 10*time.Millisecond, "saved once the storage opens")
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("again").Len() == 1 }, 5*time.Second, 10*time.Millisecond)
}

// A storage that cannot be written (a full disk) warns once for a run of failures, and shutdown
// still succeeds, telling the last failure.
func TestUnwritableStorageWarnsOnceAndShutsDownCleanly(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}, setErr: errors.New("write /var/lib/otelcol/file_storage/x: no space left on device")}
	core, logs := observer.New(zapcore.InfoLevel)
	p, _ := startWithStorage(t, st, core)
	sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"})
	time.Sleep(200 * time.Millisecond) // ten snapshot intervals
	assert.Equal(t, 1, logs.FilterMessageSnippet("Could not save").Len(), "one warning for a run of failures")
	require.NoError(t, p.shutdown(context.Background()), "shutdown succeeds")
	assert.Equal(t, 1, logs.FilterMessageSnippet("Could not save").Len())
	assert.Equal(t, 1, logs.FilterMessageSnippet("not saved at shutdown").Len(), "the last save's failure is told")
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
