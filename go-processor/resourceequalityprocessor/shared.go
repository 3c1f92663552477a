package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// sharedEngine is the one engine of a configured processor id, as a component: every pipeline
// that uses resourceequality/x gets the same one (engines shares it), so that spans, logs,
// metrics and profiles of an entity pool into one index. Start restores the persisted state
// and starts periodic snapshots; Shutdown writes the last snapshot and frees the engine.
type sharedEngine struct {
	id     component.ID
	config string
	cfg    *Config
	engine *engine.Engine
	// answers holds the engine's answers as ready values, for every pipeline using it.
	answers *engine.Answers
	// effective is the engine's configuration with its defaults filled in.
	effective effectiveConfig
	logger    *zap.Logger
	// stats reports the engine's own counters and gauges (registered once per engine), read
	// through readStats: one read serves a whole collection.
	stats       *metadata.TelemetryBuilder
	readStats   func() (engine.Stats, error)
	persistence *persistence
}

// engines holds the engine of every processor id in use.
var engines sharedComponents[component.ID, *sharedEngine]

// acquireEngine returns a handle on the processor id's engine, made at its first use. Each
// handle is shut down once.
func acquireEngine(set processor.Settings, cfg *Config) (*sharedComponent[component.ID, *sharedEngine], error) {
	json, err := cfg.engineConfig()
	if err != nil {
		return nil, err
	}
	return engines.loadOrStore(set.ID,
		func() (*sharedEngine, error) { return newSharedEngine(set, cfg, json) },
		func(s *sharedEngine) error {
			if s.config != string(json) {
				return fmt.Errorf("%s is already in use with a different configuration", set.ID)
			}
			return nil
		})
}

// heldAnswersFor is how many answers the processor holds for an engine of maxEntities: two per
// entity, as the engine's own result cache keeps (its resources' variants), up to 4M (32 MiB of
// slots; the answers themselves are about 200 bytes each).
func heldAnswersFor(maxEntities uint64) int {
	return int(min(2*maxEntities, 1<<22))
}

// observeModeMessage is logged when an observing processor starts, so that an operator who reads
// the log knows that nothing is changed, and where to look instead.
const observeModeMessage = "resourceequality is in mode observe: it identifies and pools but changes no telemetry; " +
	"its metrics (otelcol_processor_resourceequality_*, on the collector's own telemetry endpoint) count what mode " +
	"enrich would do, and the explain tool says why for each resource"

func newSharedEngine(set processor.Settings, cfg *Config, json []byte) (*sharedEngine, error) {
	effectiveJSON, err := engine.CheckConfig(json)
	if err != nil {
		return nil, err
	}
	effective, err := parseEffectiveConfig(effectiveJSON)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(json)
	if err != nil {
		return nil, err
	}
	s := &sharedEngine{
		id: set.ID, config: string(json), cfg: cfg, engine: e, effective: effective, logger: set.Logger,
		answers: engine.NewAnswers(heldAnswersFor(effective.MaxEntities), effective.TypeAttribute, e),
	}
	if s.stats, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		e.Close()
		return nil, err
	}
	if effective.Mode == modeObserve {
		set.Logger.Info(observeModeMessage)
	}
	s.readStats = cachedStats(s.engine.Stats)
	err = registerEngineMetrics(s.stats, s.readStats)
	if err == nil {
		err = registerEntitiesByType(s.stats, s.engine.EntitiesByType)
	}
	if err != nil {
		s.stats.Shutdown()
		e.Close()
		return nil, err
	}
	return s, nil
}

// Start restores the persisted state, if storage is configured, and starts periodic snapshots.
func (s *sharedEngine) Start(ctx context.Context, host component.Host) error {
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

// Shutdown writes a final snapshot, if storage is configured, and frees the engine.
func (s *sharedEngine) Shutdown(ctx context.Context) error {
	if s.persistence != nil {
		s.persistence.stop(ctx)
	}
	s.stats.Shutdown()
	s.engine.Close()
	return nil
}
