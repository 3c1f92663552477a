package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config configures the processor. Every key but mode, storage and snapshot_interval belongs to
// the engine and passes to it as the user wrote it: the engine (rust/src/config.rs) owns those keys'
// defaults, ranges and messages, so they are stated once. The README lists every key.
type Config struct {
	// Engine holds the engine's keys (id_attribute, pooling, rules, max_entities, ttl, ...) as
	// written; unset keys take the engine's defaults.
	Engine map[string]any `mapstructure:",remain"`
	// Storage is the id of a storage extension (e.g. file_storage) used to persist the state.
	Storage *component.ID `mapstructure:"storage"`
	// SnapshotInterval is how often the state is written to Storage (also written at shutdown).
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`
	// Mode is enrich (write ids and pooled attributes) or observe (run the engine on every
	// batch, report what it would do in the metrics, and change no resource).
	Mode string `mapstructure:"mode"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() component.Config {
	return &Config{SnapshotInterval: time.Minute, Mode: modeEnrich}
}

var errSnapshotInterval = errors.New("snapshot_interval must be positive when storage is set")

const (
	modeEnrich  = "enrich"
	modeObserve = "observe"
)

// Validate checks the configuration: the processor's own keys here, the engine's by the engine
// itself (without building its state), so that `otelcol validate` rejects a bad rule with the
// engine's message before anything starts.
func (c *Config) Validate() error {
	if c.Storage != nil && c.SnapshotInterval <= 0 {
		return errSnapshotInterval
	}
	if c.Mode != modeEnrich && c.Mode != modeObserve {
		return fmt.Errorf("mode must be %s or %s, not %q", modeEnrich, modeObserve, c.Mode)
	}
	cfg, err := c.engineConfig()
	if err != nil {
		return err
	}
	_, err = checkEngineConfig(cfg)
	return err
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
	IDAttribute   string          `json:"id_attribute"`
	TypeAttribute string          `json:"type_attribute"`
	NameAttribute string          `json:"name_attribute"`
	RuleAttribute string          `json:"rule_attribute"`
	Partition     partitionConfig `json:"partition"`
}

func parseEffectiveConfig(b []byte) (effectiveConfig, error) {
	var e effectiveConfig
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("the engine's effective configuration is not JSON: %w", err)
	}
	return e, nil
}
