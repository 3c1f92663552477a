package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config configures the processor. Every key, with its default, is documented in the README.
type Config struct {
	// IDAttribute receives the entity id (32 lowercase hex characters).
	IDAttribute string `mapstructure:"id_attribute"`
	// TypeAttribute receives the entity type, e.g. k8s.pod.
	TypeAttribute string `mapstructure:"type_attribute"`
	// NameAttribute receives a display name; empty disables it. An existing value is kept.
	NameAttribute string `mapstructure:"name_attribute"`
	// Pooling fills sparse resources with attributes richer sources of the same entity reported.
	Pooling PoolingConfig `mapstructure:"pooling"`
	// DisabledRules names built-in rules that are not used.
	DisabledRules []string `mapstructure:"disabled_rules"`
	// Rules are custom rules in the engine's rule schema, tried before the built-in rules.
	Rules []map[string]any `mapstructure:"rules"`
	// MaxEntities bounds the entities (and, separately, the links) kept in memory.
	MaxEntities int `mapstructure:"max_entities"`
	// TTL is how long an entity or link is remembered after it was last seen.
	TTL time.Duration `mapstructure:"ttl"`
	// Storage is the id of a storage extension (e.g. file_storage) used to persist the state.
	Storage *component.ID `mapstructure:"storage"`
	// SnapshotInterval is how often the state is written to Storage (also written at shutdown).
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PoolingConfig configures attribute pooling.
type PoolingConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Include adds key patterns (key, prefix.*, *) to every rule's pooling scope.
	Include []string `mapstructure:"include"`
	// Exclude removes key patterns from every rule's pooling scope.
	Exclude []string `mapstructure:"exclude"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() component.Config {
	return &Config{
		IDAttribute:      "resource.id",
		TypeAttribute:    "resource.type",
		NameAttribute:    "resource.name",
		Pooling:          PoolingConfig{Enabled: true},
		MaxEntities:      100_000,
		TTL:              time.Hour,
		SnapshotInterval: time.Minute,
	}
}

var (
	errTTL              = errors.New("ttl must be at least 1s")
	errMaxEntities      = errors.New("max_entities must be at least 1")
	errSnapshotInterval = errors.New("snapshot_interval must be positive when storage is set")
)

// Validate checks the configuration, asking the engine to check the rules, so that
// `otelcol validate` rejects a bad rule with the engine's message before anything starts.
func (c *Config) Validate() error {
	if c.TTL < time.Second {
		return errTTL
	}
	if c.MaxEntities < 1 {
		return errMaxEntities
	}
	if c.Storage != nil && c.SnapshotInterval <= 0 {
		return errSnapshotInterval
	}
	cfg, err := c.engineConfig()
	if err != nil {
		return err
	}
	e, err := newEngine(cfg)
	if err != nil {
		return err
	}
	e.Close()
	return nil
}

// engineConfig is the JSON the engine takes (rust/src/config.rs).
func (c *Config) engineConfig() ([]byte, error) {
	type pooling struct {
		Enabled bool     `json:"enabled"`
		Include []string `json:"include,omitempty"`
		Exclude []string `json:"exclude,omitempty"`
	}
	type engineConfig struct {
		IDAttribute   string           `json:"id_attribute"`
		TypeAttribute string           `json:"type_attribute"`
		NameAttribute string           `json:"name_attribute"`
		Pooling       pooling          `json:"pooling"`
		DisabledRules []string         `json:"disabled_rules,omitempty"`
		Rules         []map[string]any `json:"rules,omitempty"`
		MaxEntities   int              `json:"max_entities"`
		TTLSeconds    int64            `json:"ttl_seconds"`
	}
	b, err := json.Marshal(engineConfig{
		IDAttribute:   c.IDAttribute,
		TypeAttribute: c.TypeAttribute,
		NameAttribute: c.NameAttribute,
		Pooling:       pooling{Enabled: c.Pooling.Enabled, Include: c.Pooling.Include, Exclude: c.Pooling.Exclude},
		DisabledRules: c.DisabledRules,
		Rules:         c.Rules,
		MaxEntities:   c.MaxEntities,
		TTLSeconds:    int64(math.Ceil(c.TTL.Seconds())),
	})
	if err != nil {
		return nil, fmt.Errorf("rules cannot be expressed as JSON: %w", err)
	}
	return b, nil
}
