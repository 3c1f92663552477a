//go:build !cgo

package resourceequalityprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// Built without cgo, the package compiles and the factory and Validate report a clear error.
func TestWithoutCgo(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.ErrorIs(t, cfg.Validate(), engine.ErrNoCgo)
	_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "needs a collector built with cgo")
}
