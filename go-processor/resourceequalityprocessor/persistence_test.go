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

// memStorage is a storage extension keeping one map in memory, shared by its clients. openErr,
// getErr and setErr make it fail as a real storage does (a corrupt database file, a failed read,
// a full disk); a non-nil hang makes Set wait until it is closed, whatever its context (a
// storage on a mount that stopped answering, which does not honour cancellation).
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu      sync.Mutex
	data    map[string][]byte
	openErr error
	getErr  error
	setErr  error
	hang    chan struct{}
	waited  chan struct{} // closed when the first Set waits on hang
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
	if c.s.getErr != nil {
		return nil, c.s.getErr
	}
	return c.s.data[k], nil
}

func (c *memClient) Set(_ context.Context, k string, v []byte) error {
	if c.s.hang != nil {
		c.s.mu.Lock()
		select {
		case <-c.s.waited:
		default:
			close(c.s.waited)
		}
		c.s.mu.Unlock()
		<-c.s.hang
	}
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

// A saved state that could not be read at the start (a failed read; the same holds for a storage
// that opens late, its lock still held by the previous process) is read and restored once it
// can be, and never overwritten before. Before, the periodic saves wrote the new, nearly empty
// state over it, and the next run had lost the pod's service.name.
func TestAStateThatCouldNotBeReadIsRestoredNotOverwritten(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}}
	core, logs := observer.New(zapcore.InfoLevel)
	p, stop := startWithStorage(t, st, core)
	sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"})
	stop()
	require.True(t, st.saved())

	st.mu.Lock()
	st.getErr = errors.New("read /var/lib/otelcol/file_storage/x: input/output error")
	st.mu.Unlock()
	p, stop = startWithStorage(t, st, core)
	sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-2", "service.name": "other"})
	time.Sleep(100 * time.Millisecond) // five snapshot intervals, each read failing
	assert.Equal(t, 1, logs.FilterMessageSnippet("Could not read").Len(), "one warning for a run of failures")
	st.mu.Lock()
	st.getErr = nil
	st.mu.Unlock()
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Restored").Len() == 1 }, 5*time.Second, 10*time.Millisecond)
	out := sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1"})
	_, ok := out.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.True(t, ok, "the saved state is restored once it can be read")
	stop()

	p, stop = startWithStorage(t, st, core)
	defer stop()
	out = sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1"})
	_, ok = out.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.True(t, ok, "and survives into the next run")
}

// A periodic save stuck in a storage that stopped answering does not hold the shutdown past its
// deadline. Before, shutdown waited for it without end.
func TestShutdownEndsAtItsDeadlineWhenASaveHangs(t *testing.T) {
	st := &memStorage{data: map[string][]byte{}, hang: make(chan struct{}), waited: make(chan struct{})}
	defer close(st.hang)
	core, logs := observer.New(zapcore.InfoLevel)
	p, _ := startWithStorage(t, st, core)
	sendLogs(t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"})
	<-st.waited // a periodic save is waiting in Set
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.shutdown(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("shutdown waited for the hung save past its deadline")
	}
	assert.Equal(t, 1, logs.FilterMessageSnippet("did not answer before the shutdown's deadline").Len(), "the lost save is told")
}
