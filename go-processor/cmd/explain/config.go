package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"

	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"
)

// loadProcessorConfig reads the collector configuration at path (with ${env:...} expanded, as
// the collector does) and unmarshals the section of processor id into the processor's own
// Config, with the processor's defaults: the tool and the collector read it the same way.
func loadProcessorConfig(path, id string) (component.Config, error) {
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + path},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		return nil, err
	}
	conf, err := resolver.Resolve(context.Background())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	processors, ok := conf.ToStringMap()["processors"].(map[string]any)
	if _, found := processors[id]; !ok || !found {
		names := make([]string, 0, len(processors))
		for name := range processors {
			if strings.HasPrefix(name, "resourceequality") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		return nil, fmt.Errorf("%s: no processor %q (resourceequality processors there: %s)", path, id, listOrNone(names))
	}
	section, err := conf.Sub("processors::" + id)
	if err != nil {
		return nil, fmt.Errorf("%s: processor %q: %w", path, id, err)
	}
	factory := resourceequalityprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig()
	if err := section.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%s: processor %q: %w", path, id, err)
	}
	return cfg, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
