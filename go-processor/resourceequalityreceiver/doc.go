// Package resourceequalityreceiver publishes the entities a resourceequality processor learnt
// as OpenTelemetry entity events (entity.state and entity.delete log records, with
// relationships), read from the processor's own engine.
//
//go:generate go tool mdatagen metadata.yaml
package resourceequalityreceiver // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityreceiver"
