package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// Config configures the processor. Every key but storage and snapshot_interval belongs to the
// engine and passes to it as the user wrote it: the engine (rust/src/config.rs) owns those keys'
// defaults, ranges and messages (mode among them), so they are stated once. The README lists
// every key.
type Config struct {
	// Engine holds the engine's keys (id_attribute, pooling, rules, max_entities, ttl, ...) as
	// written; unset keys take the engine's defaults.
	Engine map[string]any `mapstructure:",remain"`
	// Storage is the id of a storage extension (e.g. file_storage) used to persist the state.
	Storage *component.ID `mapstructure:"storage"`
	// SnapshotInterval is how often the state is written to Storage (also written at shutdown).
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`
	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() component.Config {
	return &Config{SnapshotInterval: time.Minute}
}

var errSnapshotInterval = errors.New("snapshot_interval must be positive when storage is set")

// The engine's modes the processor acts on (the engine owns the list: rust/src/config.rs).
const (
	// modeObserve: the engine answers as in enrich mode; the processor applies nothing.
	modeObserve = "observe"
	// modeRoute: the engine keeps no state, so there is nothing to store.
	modeRoute = "route"
)

var errStorageInRouteMode = errors.New("storage has no use in mode route: a router keeps no state; remove storage, or use it on the collectors the routers send to")

// Validate checks the configuration: the processor's own keys here, the engine's by the engine
// itself (without building its state), so that `otelcol validate` rejects a bad rule with the
// engine's message before anything starts.
func (c *Config) Validate() error {
	if c.Storage != nil && c.SnapshotInterval <= 0 {
		return errSnapshotInterval
	}
	cfg, err := c.engineConfig()
	if err != nil {
		return err
	}
	effective, err := engine.CheckConfig(cfg)
	if err != nil {
		return err
	}
	e, err := parseEffectiveConfig(effective)
	if err != nil {
		return err
	}
	if c.Storage != nil && e.Mode == modeRoute {
		return errStorageInRouteMode
	}
	return nil
}

// engineConfig is the JSON the engine takes: the engine's keys as written.
func (c *Config) engineConfig() ([]byte, error) {
	if len(c.Engine) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(c.Engine)
	if err != nil {
		return nil, fmt.Errorf("the configuration cannot be expressed as JSON: %w", err)
	}
	return b, nil
}

// effectiveConfig is the part of the engine's effective configuration (every default filled
// in) that the processor reads.
type effectiveConfig struct {
	IDAttribute   string `json:"id_attribute"`
	TypeAttribute string `json:"type_attribute"`
	NameAttribute string `json:"name_attribute"`
	RuleAttribute string `json:"rule_attribute"`
	// RouteAttribute is written by the engine in mode route, an output key like the others.
	RouteAttribute string          `json:"route_attribute"`
	Mode           string          `json:"mode"`
	Partition      partitionConfig `json:"partition"`
}

func parseEffectiveConfig(b []byte) (effectiveConfig, error) {
	var e effectiveConfig
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("the engine's effective configuration is not JSON: %w", err)
	}
	return e, nil
}
