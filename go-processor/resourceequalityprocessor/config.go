package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
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

// minSnapshotInterval is the shortest snapshot_interval: a snapshot walks every entity, and the
// collector reads a bare number as nanoseconds (`snapshot_interval: 60` would snapshot without
// pause and burn a core).
const minSnapshotInterval = time.Second

// processorKeys are the keys the processor reads itself (the engine reads the others).
var processorKeys = []string{"snapshot_interval", "storage"}

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
	if c.SnapshotInterval < minSnapshotInterval {
		return fmt.Errorf("snapshot_interval: expected a duration of at least %v, such as 1m; got %v (a bare number is read as nanoseconds)", minSnapshotInterval, c.SnapshotInterval)
	}
	if err := c.checkKeys(); err != nil {
		return err
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

// checkKeys refuses a top-level key neither the processor nor the engine reads, naming every key
// there is (the engine's from its defaults, so the list is the engine's own) and the nearest.
func (c *Config) checkKeys() error {
	defaults, err := engine.CheckConfig([]byte("{}"))
	if err != nil {
		return err
	}
	var engineKeys map[string]json.RawMessage
	if err := json.Unmarshal(defaults, &engineKeys); err != nil {
		return fmt.Errorf("the engine's effective configuration is not JSON: %w", err)
	}
	known := append([]string{}, processorKeys...)
	for k := range engineKeys {
		known = append(known, k)
	}
	sort.Strings(known)
	for k := range c.Engine {
		if _, ok := engineKeys[k]; ok {
			continue
		}
		hint := ""
		if near := nearest(k, known); near != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", near)
		}
		return fmt.Errorf("%s: unknown key%s; the processor takes %s", k, hint, strings.Join(known, ", "))
	}
	return nil
}

// nearest is the key of known within two edits of k, if one is.
func nearest(k string, known []string) string {
	best, bestDistance := "", 3
	for _, candidate := range known {
		if d := editDistance(k, candidate); d < bestDistance {
			best, bestDistance = candidate, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current := make([]int, len(b)+1)
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous = current
	}
	return previous[len(b)]
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
	MaxEntities    uint64          `json:"max_entities"`
}

func parseEffectiveConfig(b []byte) (effectiveConfig, error) {
	var e effectiveConfig
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("the engine's effective configuration is not JSON: %w", err)
	}
	return e, nil
}
