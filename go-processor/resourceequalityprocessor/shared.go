package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// sharedEngine is the one engine of a configured processor id. Every pipeline that uses
// resourceequality/x gets the same one, so that spans, logs, metrics and profiles of an entity
// pool into one index. It is reference-counted and freed at the last shutdown.
type sharedEngine struct {
	id     component.ID
	config string
	cfg    *Config
	engine *engine
	// effective is the engine's configuration with its defaults filled in.
	effective effectiveConfig
	refs      int
	started   bool
	logger    *zap.Logger
	// stats reports the engine's own counters and gauges (registered once per engine).
	stats       *metadata.TelemetryBuilder
	persistence *persistence
}

var engines = struct {
	sync.Mutex
	byID map[component.ID]*sharedEngine
}{byID: map[component.ID]*sharedEngine{}}

func acquireEngine(set processor.Settings, cfg *Config) (*sharedEngine, error) {
	json, err := cfg.engineConfig()
	if err != nil {
		return nil, err
	}
	engines.Lock()
	defer engines.Unlock()
	if s, ok := engines.byID[set.ID]; ok {
		if s.config != string(json) {
			return nil, fmt.Errorf("%s is already in use with a different configuration", set.ID)
		}
		s.refs++
		return s, nil
	}
	effectiveJSON, err := checkEngineConfig(json)
	if err != nil {
		return nil, err
	}
	effective, err := parseEffectiveConfig(effectiveJSON)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(json)
	if err != nil {
		return nil, err
	}
	s := &sharedEngine{id: set.ID, config: string(json), cfg: cfg, engine: e, effective: effective, refs: 1, logger: set.Logger}
	if s.stats, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		e.Close()
		return nil, err
	}
	if err := s.registerStats(); err != nil {
		s.stats.Shutdown()
		e.Close()
		return nil, err
	}
	engines.byID[set.ID] = s
	return s, nil
}

func (s *sharedEngine) registerStats() error {
	return registerEngineMetrics(s.stats, engineStatNames(), s.engine.stats)
}

// start runs once per engine, at the first Start of any pipeline using it: it restores the
// persisted state, if storage is configured, and starts periodic snapshots.
func (s *sharedEngine) start(ctx context.Context, host component.Host) error {
	engines.Lock()
	defer engines.Unlock()
	if s.started {
		return nil
	}
	s.started = true
	if s.cfg.Storage == nil {
		return nil
	}
	p, err := startPersistence(ctx, host, *s.cfg.Storage, s.id, s.engine, s.cfg.SnapshotInterval, s.logger)
	if err != nil {
		return err
	}
	s.persistence = p
	return nil
}

// release drops one reference; the last one writes a final snapshot and frees the engine.
func (s *sharedEngine) release(ctx context.Context) error {
	engines.Lock()
	s.refs--
	last := s.refs == 0
	if last && engines.byID[s.id] == s {
		delete(engines.byID, s.id)
	}
	engines.Unlock()
	if !last {
		return nil
	}
	var err error
	if s.persistence != nil {
		err = s.persistence.stop(ctx)
	}
	s.stats.Shutdown()
	s.engine.Close()
	return err
}
