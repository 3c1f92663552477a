package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// snapshotKey is where the engine's state lives in the storage extension.
const snapshotKey = "resourceequality_state"

// persistence snapshots an engine's state to a storage extension periodically and at
// shutdown, and restores it at start, so that a restart does not forget what was learnt.
// Ids never depend on it: it only keeps pooled attributes and learnt links. It fails open: a
// storage that cannot be opened (a corrupt or truncated database, a read-only directory, a full
// disk) or written never stops the collector. The processor starts empty, says so once, and keeps
// trying at every interval. It never overwrites a saved state it could not read: a storage that
// opens late (the previous process still held its lock) or failed one read is read, and its
// state restored, before anything is saved.
type persistence struct {
	storage  storage.Extension
	storeID  component.ID
	owner    component.ID
	client   storage.Client // nil until the storage could be opened
	engine   *engine.Engine
	logger   *zap.Logger
	interval time.Duration
	// read is set once the saved state was read (restored, or found absent or unusable); until
	// then nothing is saved.
	read bool
	// failing is set by the first failure of a run of them (told at warn level, the rest at
	// debug) and cleared by the next success (told at info level).
	failing bool
	// running is the periodic saves' context, cancelled at shutdown so that a save stuck in a
	// storage that honours it ends.
	running context.Context
	cancel  context.CancelFunc
	stopCh  chan struct{}
	done    chan struct{}
}

// startPersistence fails only for a configuration error: the storage extension is not in the
// service, or is not a storage extension.
func startPersistence(ctx context.Context, host component.Host, storageID, owner component.ID, e *engine.Engine, interval time.Duration, logger *zap.Logger) (*persistence, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("storage extension %q is not configured in the service's extensions", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", storageID)
	}
	p := &persistence{storage: se, storeID: storageID, owner: owner, engine: e, logger: logger, interval: interval, stopCh: make(chan struct{}), done: make(chan struct{})}
	p.running, p.cancel = context.WithCancel(context.Background())
	if !p.open(ctx) || !p.restore(ctx) {
		p.logger.Info("Starting with an empty resourceequality state; the saved state is restored, and the state saved, once the storage can be read")
	}
	go p.loop()
	return p, nil
}

// open gets a storage client, unless there is one; false when the storage cannot be opened.
func (p *persistence) open(ctx context.Context) bool {
	if p.client != nil {
		return true
	}
	client, err := p.storage.GetClient(ctx, component.KindProcessor, p.owner, "")
	if err != nil {
		p.failed("Could not open the resourceequality state's storage", fmt.Errorf("storage extension %q: %w", p.storeID, err))
		return false
	}
	p.client = client
	return true
}

// failed tells the first failure of a run at warn level and the rest at debug level.
func (p *persistence) failed(msg string, err error) {
	if p.failing {
		p.logger.Debug(msg, zap.Error(err))
		return
	}
	p.failing = true
	p.logger.Warn(msg+"; will keep trying at every snapshot_interval", zap.Error(err))
}

// restore reads the saved state into the engine, replacing what the engine holds (a restore
// after the start replaces minutes of learning with the saved state, which the next save would
// otherwise have overwritten). It never fails the start: a missing, truncated, corrupt or older
// snapshot starts empty with one warning. Returns whether the saved state was read.
func (p *persistence) restore(ctx context.Context) bool {
	data, err := p.client.Get(ctx, snapshotKey)
	if err != nil {
		p.failed("Could not read the saved resourceequality state; nothing is saved over it until it is read", err)
		return false
	}
	p.read = true
	switch {
	case data == nil:
		p.logger.Info("No saved resourceequality state; starting empty")
	default:
		n := len(data)
		err := p.engine.Restore(data)
		data = nil // dead before the release, or the release keeps it
		releaseSnapshot(n)
		if err != nil {
			p.logger.Warn("Saved resourceequality state is unusable; starting empty", zap.Error(err), zap.Int("bytes", n))
			return true
		}
		st, _ := p.engine.Stats()
		p.logger.Info("Restored resourceequality state", zap.Int64("entities", st.Entities), zap.Int64("links", st.Links), zap.Int("bytes", n))
	}
	return true
}

func (p *persistence) loop() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-t.C:
			if p.running.Err() == nil { // a tick beside the stop: the shutdown saves
				p.save(p.running)
			}
		}
	}
}

// save writes a snapshot, opening the storage and reading the saved state first if it could not
// so far.
func (p *persistence) save(ctx context.Context) {
	if !p.open(ctx) || (!p.read && !p.restore(ctx)) {
		return
	}
	data, err := p.engine.Snapshot()
	if err == nil {
		err = p.client.Set(ctx, snapshotKey, data)
	}
	n := len(data)
	data = nil // dead before the release, or the release keeps it
	releaseSnapshot(n)
	if err != nil {
		p.failed("Could not save the resourceequality state", err)
		return
	}
	if p.failing {
		p.failing = false
		p.logger.Info("Saved the resourceequality state again", zap.Int("bytes", n))
	}
}

// releasedSnapshotBytes is the snapshot size from which its buffers are given back to the system
// as soon as they are written or restored. A snapshot is copied whole between the engine, the Go
// heap and the storage; without this the copies of a large state stayed in the process (the Go
// runtime returns freed memory gradually), and RSS grew to several times the state's size.
const releasedSnapshotBytes = 16 << 20

func releaseSnapshot(n int) {
	if n >= releasedSnapshotBytes {
		debug.FreeOSMemory()
	}
}

// stop ends the periodic snapshots, writes a last one and closes the storage client. A failure
// is told, never returned: the collector shuts down cleanly whatever the storage does.
//
// A storage that stopped answering holds it for at most shutdownSaveTimeout (or the shutdown's
// own deadline, if earlier: the collector gives none by default). A save or close still running
// then is left to end on its own; the engine it reads waits for it before it is freed.
func (p *persistence) stop(ctx context.Context) {
	p.cancel()
	close(p.stopCh)
	ctx, cancel := context.WithTimeout(ctx, shutdownSaveTimeout)
	defer cancel()
	last := make(chan struct{})
	go func() {
		defer close(last)
		<-p.done
		if !p.read {
			// A state never read is not saved over; reading it now would only write it back.
			p.logger.Warn("The resourceequality state was not saved at shutdown: the saved state could not be read, and is kept")
			return
		}
		p.save(ctx)
		if p.failing {
			p.logger.Warn("The resourceequality state was not saved at shutdown; the next start begins with the last state saved, if any")
		}
		if p.client != nil {
			if err := p.client.Close(ctx); err != nil {
				p.logger.Warn("Could not close the resourceequality state's storage", zap.Error(err))
			}
		}
	}()
	select {
	case <-last:
	case <-ctx.Done():
		p.logger.Warn("The resourceequality state's storage did not answer before the shutdown's deadline; the next start begins with the last state saved, if any", zap.Error(ctx.Err()))
	}
}

// shutdownSaveTimeout bounds how long a shutdown waits for the storage.
const shutdownSaveTimeout = 10 * time.Second
