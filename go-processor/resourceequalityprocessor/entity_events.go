package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
)

// EntityEventSource is a handle on the engine of one processor id, for the entity events
// receiver (resourceequalityreceiver): it holds no copy of the state, only the processor's
// engine, which it keeps alive until Close.
type EntityEventSource struct {
	shared *sharedComponent[component.ID, *sharedEngine]
	once   sync.Once
}

// OpenEntityEvents returns a handle on the engine of processor id, which must be in a
// pipeline of the same collector (processors are created before receivers start).
func OpenEntityEvents(id component.ID) (*EntityEventSource, error) {
	shared, ok := engines.load(id)
	if !ok {
		return nil, fmt.Errorf("no processor %s in any pipeline of this collector", id)
	}
	return &EntityEventSource{shared: shared}, nil
}

// Events is the entity events due now as OTLP LogsData bytes (empty when none are due); every
// entity is reported again each reportInterval. The first call starts the engine tracking
// what the events need.
func (s *EntityEventSource) Events(reportInterval time.Duration) ([]byte, error) {
	return s.shared.Unwrap().engine.EntityEvents(reportInterval)
}

// PartitionMetadata is the client metadata key that names a batch's tenant (the processor's
// partition.metadata), or "" when tenants are not told by metadata. The events of a partition
// name it under this key on their resource, and are sent on with it as client metadata.
func (s *EntityEventSource) PartitionMetadata() string {
	return s.shared.Unwrap().effective.Partition.Metadata
}

// ChangesDropped is how many entity changes the engine's bounded queue had no room for.
func (s *EntityEventSource) ChangesDropped() (int64, error) {
	st, err := s.shared.Unwrap().readStats()
	if err != nil {
		return 0, err
	}
	return st.EntityChangesDropped, nil
}

// Close releases the engine (the last user of a processor id shuts it down).
func (s *EntityEventSource) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() { err = s.shared.Shutdown(ctx) })
	return err
}
