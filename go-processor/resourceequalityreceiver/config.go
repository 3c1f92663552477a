package resourceequalityreceiver // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityreceiver"

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config configures the entity events receiver.
type Config struct {
	// Processor is the id of the resourceequality processor whose engine is read; it must be in
	// a pipeline of the same collector.
	Processor component.ID `mapstructure:"processor"`
	// ReportInterval is how often every entity is reported again (entity.report.interval), and
	// how late at most an entity's deletion is reported.
	ReportInterval time.Duration `mapstructure:"report_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() component.Config {
	return &Config{Processor: component.MustNewID("resourceequality"), ReportInterval: 5 * time.Minute}
}

var errReportInterval = errors.New("report_interval must be at least 1s")

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.ReportInterval < time.Second {
		return errReportInterval
	}
	return nil
}
