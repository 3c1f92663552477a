//go:build cgo

package engine

// An engine handle and its calls.

/*
#cgo noescape re_engine_process
#cgo nocallback re_engine_process
#cgo noescape re_engine_restore
#cgo nocallback re_engine_restore
#cgo nocallback re_engine_snapshot
#cgo nocallback re_engine_stats
#cgo nocallback re_engine_held_view
#cgo nocallback re_engine_entities_by_type
#cgo nocallback re_engine_entity_events
#cgo noescape re_config_check
#cgo nocallback re_config_check
#include "resourceequality.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// ErrClosed is returned by calls on a closed engine.
var ErrClosed = errors.New("resourceequality engine is closed")

// Engine owns one Rust engine handle. It is safe for concurrent use; Close waits for calls
// in flight and is idempotent.
type Engine struct {
	mu  sync.RWMutex
	ptr *C.re_engine
	// view is the engine's memory that leases are checked against (lease.go), valid while ptr is.
	view heldView
}

// CheckConfig checks an engine configuration as New would, without building an
// engine, and returns the effective configuration (defaults filled in) as JSON.
func CheckConfig(config []byte) ([]byte, error) {
	if len(config) == 0 {
		return nil, errors.New("empty engine configuration")
	}
	var effective, msg C.re_buffer
	status := C.re_config_check(bytesPtr(config), C.size_t(len(config)), &effective, &msg)
	runtime.KeepAlive(config)
	if err := statusError(status, &msg); err != nil {
		return nil, err
	}
	return takeBuffer(&effective), nil
}

// New builds an engine from its JSON configuration.
func New(config []byte) (*Engine, error) {
	if len(config) == 0 {
		return nil, errors.New("empty engine configuration")
	}
	var ptr *C.re_engine
	var msg C.re_buffer
	status := C.re_engine_new(bytesPtr(config), C.size_t(len(config)), &ptr, &msg)
	runtime.KeepAlive(config)
	if err := statusError(status, &msg); err != nil {
		return nil, err
	}
	var v C.re_held_view
	if err := statusError(C.re_engine_held_view(ptr, &v), nil); err != nil {
		C.re_engine_free(ptr)
		return nil, err
	}
	e := &Engine{ptr: ptr, view: heldView{
		cells:                     unsafe.Slice((*uint64)(unsafe.Pointer(v.cells)), int(v.cells_len)),
		linkEpoch:                 (*uint64)(unsafe.Pointer(v.link_epoch)),
		resourcesProcessed:        (*uint64)(unsafe.Pointer(v.resources_processed)),
		cacheHits:                 (*uint64)(unsafe.Pointer(v.cache_hits)),
		attributesFilled:          (*uint64)(unsafe.Pointer(v.attributes_filled)),
		merges:                    (*uint64)(unsafe.Pointer(v.merges)),
		defaultPartitionResources: (*uint64)(unsafe.Pointer(v.default_partition_resources)),
		routesMismatched:          (*uint64)(unsafe.Pointer(v.routes_mismatched)),
	}}
	// A safety net only: owners call Close explicitly.
	runtime.SetFinalizer(e, (*Engine).Close)
	return e, nil
}

// Process sends the serialized resources of one batch of partition partition ("" when it could
// not be told) and returns the upserts, as documented on re_engine_process. The engine writes
// the answer into scratch when it fits; the answer returned is a copy the caller owns.
func (e *Engine) Process(partition string, in, scratch []byte) ([]byte, error) {
	if len(in) == 0 {
		return nil, nil
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, ErrClosed
	}
	var overflow, msg C.re_buffer
	var n C.size_t
	status := C.re_engine_process(e.ptr, stringPtr(partition), C.size_t(len(partition)),
		bytesPtr(in), C.size_t(len(in)), bytesPtr(scratch), C.size_t(len(scratch)), &n, &overflow, &msg)
	runtime.KeepAlive(partition)
	runtime.KeepAlive(in)
	runtime.KeepAlive(scratch)
	if err := statusError(status, &msg); err != nil {
		return nil, err
	}
	if overflow.ptr != nil {
		return takeBuffer(&overflow), nil
	}
	return bytes.Clone(scratch[:n]), nil
}

// lockMemory keeps the engine open while the caller reads its memory through the view it returns
// (nil when the engine is closed); unlockMemory ends that.
func (e *Engine) lockMemory() *heldView {
	e.mu.RLock()
	if e.ptr == nil {
		e.mu.RUnlock()
		return nil
	}
	return &e.view
}

func (e *Engine) unlockMemory() {
	e.mu.RUnlock()
}

// Snapshot is the engine's state as snapshot bytes.
func (e *Engine) Snapshot() ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, ErrClosed
	}
	var out, msg C.re_buffer
	if err := statusError(C.re_engine_snapshot(e.ptr, &out, &msg), &msg); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

// Restore replaces the engine's state with a snapshot's; on error the state is unchanged.
func (e *Engine) Restore(snapshot []byte) error {
	if len(snapshot) == 0 {
		return errors.New("empty snapshot")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return ErrClosed
	}
	var msg C.re_buffer
	status := C.re_engine_restore(e.ptr, bytesPtr(snapshot), C.size_t(len(snapshot)), &msg)
	runtime.KeepAlive(snapshot)
	return statusError(status, &msg)
}

// Stats are the engine's counters and gauges.
func (e *Engine) Stats() (Stats, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return Stats{}, ErrClosed
	}
	var s C.re_stats
	if err := statusError(C.re_engine_stats(e.ptr, &s), nil); err != nil {
		return Stats{}, err
	}
	return statsFromC(&s), nil
}

// EntitiesByType is the number of entities held per entity type.
func (e *Engine) EntitiesByType() (map[string]int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, ErrClosed
	}
	var out C.re_buffer
	if err := statusError(C.re_engine_entities_by_type(e.ptr, &out), nil); err != nil {
		return nil, err
	}
	byType := map[string]int64{}
	if err := json.Unmarshal(takeBuffer(&out), &byType); err != nil {
		return nil, err
	}
	return byType, nil
}

// EntityEvents is the entity events due now, as OTLP LogsData bytes (empty when none).
func (e *Engine) EntityEvents(reportInterval time.Duration) ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, ErrClosed
	}
	var out C.re_buffer
	seconds := C.uint64_t(max(1, int64(reportInterval.Round(time.Second)/time.Second)))
	if err := statusError(C.re_engine_entity_events(e.ptr, seconds, &out), nil); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

// Close frees the Rust engine once no call is in flight. Calling it again is a no-op.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ptr != nil {
		C.re_engine_free(e.ptr)
		e.ptr = nil
		runtime.SetFinalizer(e, nil)
	}
}
