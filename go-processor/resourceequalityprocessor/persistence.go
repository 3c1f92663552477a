package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// snapshotKey is where the engine's state lives in the storage extension.
const snapshotKey = "resourceequality_state"

// persistence snapshots an engine's state to a storage extension periodically and at
// shutdown, and restores it at start, so that a restart does not forget what was learnt.
// Ids never depend on it: it only keeps pooled attributes and learnt links.
type persistence struct {
	client   storage.Client
	engine   *engine
	logger   *zap.Logger
	interval time.Duration
	stopCh   chan struct{}
	done     chan struct{}
}

func startPersistence(ctx context.Context, host component.Host, storageID, owner component.ID, e *engine, interval time.Duration, logger *zap.Logger) (*persistence, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("storage extension %q is not configured in the service's extensions", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", storageID)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, owner, "")
	if err != nil {
		return nil, fmt.Errorf("storage extension %q: %w", storageID, err)
	}
	p := &persistence{client: client, engine: e, logger: logger, interval: interval, stopCh: make(chan struct{}), done: make(chan struct{})}
	p.restore(ctx)
	go p.loop()
	return p, nil
}

// restore never fails the start: a missing, truncated, corrupt or older snapshot starts empty
// with one warning.
func (p *persistence) restore(ctx context.Context) {
	data, err := p.client.Get(ctx, snapshotKey)
	switch {
	case err != nil:
		p.logger.Warn("Could not read the saved resourceequality state; starting empty", zap.Error(err))
	case data == nil:
		p.logger.Info("No saved resourceequality state; starting empty")
	default:
		if err := p.engine.restore(data); err != nil {
			p.logger.Warn("Saved resourceequality state is unusable; starting empty", zap.Error(err), zap.Int("bytes", len(data)))
			return
		}
		st, _ := p.engine.stats()
		p.logger.Info("Restored resourceequality state", zap.Int64("entities", st["entities"]), zap.Int64("links", st["links"]), zap.Int("bytes", len(data)))
	}
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
			if err := p.save(context.Background()); err != nil {
				p.logger.Warn("Could not save the resourceequality state", zap.Error(err))
			}
		}
	}
}

func (p *persistence) save(ctx context.Context) error {
	data, err := p.engine.snapshot()
	if err != nil {
		return err
	}
	return p.client.Set(ctx, snapshotKey, data)
}

// stop ends the periodic snapshots, writes a last one and closes the storage client.
func (p *persistence) stop(ctx context.Context) error {
	close(p.stopCh)
	<-p.done
	return errors.Join(p.save(ctx), p.client.Close(ctx))
}
