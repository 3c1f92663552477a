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
		{id: component.NewIDWithName(metadata.Type, "bad_rule_unknown_key"), errText: "rules[0].colour: unknown field `colour`"},
		{id: component.NewIDWithName(metadata.Type, "bad_rule_no_identity"), errText: `rule "broken" (rules[0]): identity needs at least one alternative`},
		{id: component.NewIDWithName(metadata.Type, "bad_disabled_rule"), errText: `disabled_rules[0]: there is no built-in rule named "no_such_rule"`},
		{id: component.NewIDWithName(metadata.Type, "bad_ttl"), errText: "ttl must be between 1s and 87600h, got 0s"},
		{id: component.NewIDWithName(metadata.Type, "bad_ttl_syntax"), errText: `invalid configuration at ttl: "soon" is not a duration`},
		{id: component.NewIDWithName(metadata.Type, "bad_max_entities"), errText: "max_entities must be between 1 and 4294967295, got 0"},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), errText: "unknown field `colour`"},
		{id: component.NewIDWithName(metadata.Type, "bad_pattern"), errText: "pooling.include[0]"},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), errText: "invalid configuration at mode: unknown variant `dry-run`, expected one of `enrich`, `observe`, `route`, `identify`, `pool`"},
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
