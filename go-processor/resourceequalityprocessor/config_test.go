//go:build cgo

package resourceequalityprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	storage := component.MustNewID("file_storage")
	tests := []struct {
		id       component.ID
		expected *Config
		errText  string
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig().(*Config)},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			expected: &Config{
				Engine: map[string]any{
					"id_attribute":   "entity.id",
					"type_attribute": "entity.type",
					"name_attribute": "",
					"pooling":        map[string]any{"enabled": true, "include": []any{"team"}, "exclude": []any{"k8s.pod.annotation.*"}},
					"disabled_rules": []any{"exact_match"},
					"rules": []any{map[string]any{
						"name": "billing_account", "type": "billing.account",
						"identity": []any{[]any{"billing.account.id"}}, "pool": []any{"billing.*"},
					}},
					"max_entities": 5000,
					"ttl":          "10m",
					"mode":         "observe",
				},
				Storage:          &storage,
				SnapshotInterval: 30 * time.Second,
			},
		},
		{id: component.NewIDWithName(metadata.Type, "bad_rule_unknown_key"), errText: "rules[0].colour: unknown key; rules[0] takes name, type,"},
		{id: component.NewIDWithName(metadata.Type, "bad_rule_no_identity"), errText: `rule "broken" (rules[0]): identity needs at least one alternative`},
		{id: component.NewIDWithName(metadata.Type, "bad_disabled_rule"), errText: `disabled_rules[0]: there is no built-in rule named "no_such_rule"`},
		{id: component.NewIDWithName(metadata.Type, "bad_ttl"), errText: "ttl must be between 1s and 87600h, got 0s"},
		{id: component.NewIDWithName(metadata.Type, "bad_ttl_syntax"), errText: `ttl: "soon" is not a duration`},
		{id: component.NewIDWithName(metadata.Type, "bad_max_entities"), errText: "max_entities must be between 1 and 4294967295, got 0"},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), errText: "colour: unknown key; the processor takes "},
		{id: component.NewIDWithName(metadata.Type, "bad_pattern"), errText: "pooling.include[0]"},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), errText: "mode: dry-run is not one of enrich, observe, route, identify, pool"},
		{id: component.NewIDWithName(metadata.Type, "storage_in_route_mode"), errText: "storage has no use in mode route"},
		{id: component.NewIDWithName(metadata.Type, "bad_partition"), errText: "partition: set exactly one of metadata, auth or attribute, not metadata and attribute"},
	}
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.errText != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errText)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestTheEffectivePartitionConfigReachesTheProcessor(t *testing.T) {
	effective, err := engine.CheckConfig([]byte(`{"partition":{"metadata":"x-scope-orgid","default":"shared"}}`))
	require.NoError(t, err)
	cfg, err := parseEffectiveConfig(effective)
	require.NoError(t, err)
	require.Equal(t, partitionConfig{Metadata: "x-scope-orgid"}, cfg.Partition)
	_, err = engine.CheckConfig([]byte(`{"partition":{"metadata":"x-scope-orgid","auth":"username"}}`))
	require.ErrorContains(t, err, "exactly one of metadata, auth or attribute")
}

// Every mistake gets a message that names the key as the user wrote it and says, in YAML's words,
// what the key takes (issue 24): no engine types, no position in the engine's JSON, no status
// numbers.
func TestConfigMistakesGetMessagesInTheUsersWords(t *testing.T) {
	golden := map[string]string{
		"bare_snapshot_interval":   "snapshot_interval: expected a duration of at least 1s, such as 1m; got 60ns (a bare number is read as nanoseconds)",
		"misspelt_nested_key":      "pooling.enabeld: unknown key; pooling takes enabled, include, exclude",
		"misspelt_top_level_key":   "mod: unknown key (did you mean mode?); the processor takes disabled_rules, entity_refs, id_attribute, max_entities, mode, name_attribute, partition, pooling, route_attribute, rule_attribute, rules, snapshot_interval, storage, ttl, type_attribute, warmup",
		"string_for_a_number":      `max_entities: expected a whole number, got the string "many"`,
		"bool_for_a_map":           "pooling: expected a map of keys, got true",
		"identity_one_level_short": `rules[0].identity[0]: expected a list, got the string "app.id"; identity is a list of alternatives, each a list of keys: write [[app.id]]`,
		"bare_ttl":                 "ttl: 3600 is not a duration: a bare number has no unit; write one such as 1h, 90m or 1h30m",
		"unknown_mode":             "mode: dry-run is not one of enrich, observe, route, identify, pool",
		"unknown_rule_key":         "rules[0].colour: unknown key; rules[0] takes name, type, when, unless_present, alongside, derive, identity, scoped_by, display_name, pool, promote_to, entity_ref_types, unidentifying_values, containers, relationships",
	}
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config_errors.yaml"))
	require.NoError(t, err)
	for name, want := range golden {
		t.Run(name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.(*Config).Validate()
			require.Error(t, err)
			assert.Equal(t, want, err.Error())
		})
	}
}
