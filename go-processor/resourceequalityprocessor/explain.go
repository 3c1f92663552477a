package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
)

// EngineConfig checks cfg (a *Config, as the collector unmarshals it) as the collector would
// and returns the engine configuration it describes, as JSON: what the explain tool builds its
// explainer from (internal/engine.NewExplainer), so that it explains the engine the processor
// runs.
func EngineConfig(cfg component.Config) ([]byte, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, errors.New("not a resourceequality configuration")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c.engineConfig()
}
