// Package engine is the Go side of the Rust engine: the cgo binding (one handle per engine or
// explainer, each with an explicit Close), the wire codec that writes a batch's resources as the
// engine's request and applies its answer to pdata, and the engine's facts Go needs (stats,
// field numbers, event names), generated from their one definition in rust/src
// (`make generate`). The processor, the entity events receiver and cmd/explain use it; nothing
// else crosses into Rust.
package engine // import "github.com/resourceequality/resourceequality/go-processor/internal/engine"
