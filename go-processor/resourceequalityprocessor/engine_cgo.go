//go:build cgo

package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

// All cgo of the processor lives in this file. The Rust engine is linked statically, so the
// collector binary depends on no library outside the system's. Rules of the boundary: Go passes
// pointer-free byte slices for the duration of a call only (Rust writes a batch's answer into
// one of them); buffers Rust returns are copied into Go memory and freed at once; Rust never
// calls back into Go.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libresourceequality.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
#cgo noescape re_engine_process
#cgo nocallback re_engine_process
#cgo noescape re_engine_restore
#cgo nocallback re_engine_restore
#cgo nocallback re_engine_snapshot
#cgo nocallback re_engine_stats
#cgo nocallback re_engine_entities_by_type
#cgo nocallback re_engine_entity_events
#cgo noescape re_config_check
#cgo nocallback re_config_check
#cgo noescape re_buffer_free
#cgo nocallback re_buffer_free
#cgo noescape re_explainer_add
#cgo nocallback re_explainer_add
#include "resourceequality.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

var errClosed = errors.New("resourceequality engine is closed")

// engine owns one Rust engine handle. It is safe for concurrent use; Close waits for calls
// in flight and is idempotent.
type engine struct {
	mu  sync.RWMutex
	ptr *C.re_engine
}

// checkEngineConfig checks an engine configuration as newEngine would, without building an
// engine, and returns the effective configuration (defaults filled in) as JSON.
func checkEngineConfig(config []byte) ([]byte, error) {
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

func newEngine(config []byte) (*engine, error) {
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
	e := &engine{ptr: ptr}
	// A safety net only: owners call Close explicitly.
	runtime.SetFinalizer(e, (*engine).Close)
	return e, nil
}

// process sends the serialized resources of one batch of partition partition ("" when it could
// not be told) and returns the upserts, as documented on re_engine_process. The engine writes
// the answer into scratch when it fits; the answer returned is a copy the caller owns.
func (e *engine) process(partition string, in, scratch []byte) ([]byte, error) {
	if len(in) == 0 {
		return nil, nil
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errClosed
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

func (e *engine) snapshot() ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errClosed
	}
	var out, msg C.re_buffer
	if err := statusError(C.re_engine_snapshot(e.ptr, &out, &msg), &msg); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

func (e *engine) restore(snapshot []byte) error {
	if len(snapshot) == 0 {
		return errors.New("empty snapshot")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return errClosed
	}
	var msg C.re_buffer
	status := C.re_engine_restore(e.ptr, bytesPtr(snapshot), C.size_t(len(snapshot)), &msg)
	runtime.KeepAlive(snapshot)
	return statusError(status, &msg)
}

func (e *engine) stats() (engineStats, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errClosed
	}
	var s C.re_stats
	if err := statusError(C.re_engine_stats(e.ptr, &s), nil); err != nil {
		return nil, err
	}
	return statsOf(reflect.ValueOf(s)), nil
}

// entitiesByType is the number of entities held per entity type.
func (e *engine) entitiesByType() (map[string]int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errClosed
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

// entityEvents is the entity events due now, as OTLP LogsData bytes (empty when none).
func (e *engine) entityEvents(reportInterval time.Duration) ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errClosed
	}
	var out C.re_buffer
	seconds := C.uint64_t(max(1, int64(reportInterval.Round(time.Second)/time.Second)))
	if err := statusError(C.re_engine_entity_events(e.ptr, seconds, &out), nil); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

// engineStatNames are the fields of re_stats, in order.
func engineStatNames() []string {
	t := reflect.TypeFor[C.re_stats]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// Close frees the Rust engine once no call is in flight. Calling it again is a no-op.
func (e *engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ptr != nil {
		C.re_engine_free(e.ptr)
		e.ptr = nil
		runtime.SetFinalizer(e, nil)
	}
}

// explainer owns one Rust explainer handle (for the explain tool). Not for concurrent use.
type explainer struct {
	ptr *C.re_explainer
}

func newExplainer(config []byte) (*explainer, error) {
	if len(config) == 0 {
		return nil, errors.New("empty engine configuration")
	}
	var ptr *C.re_explainer
	var msg C.re_buffer
	status := C.re_explainer_new(bytesPtr(config), C.size_t(len(config)), &ptr, &msg)
	runtime.KeepAlive(config)
	if err := statusError(status, &msg); err != nil {
		return nil, err
	}
	return &explainer{ptr: ptr}, nil
}

// add explains one request (as process sends it) of partition partition.
func (e *explainer) add(partition string, in []byte) error {
	if e.ptr == nil {
		return errClosed
	}
	var msg C.re_buffer
	status := C.re_explainer_add(e.ptr, stringPtr(partition), C.size_t(len(partition)), bytesPtr(in), C.size_t(len(in)), &msg)
	runtime.KeepAlive(partition)
	runtime.KeepAlive(in)
	return statusError(status, &msg)
}

// report is the explanations so far and their summary, as JSON (rust/src/explain.rs).
func (e *explainer) report() ([]byte, error) {
	if e.ptr == nil {
		return nil, errClosed
	}
	var out, msg C.re_buffer
	if err := statusError(C.re_explainer_report(e.ptr, &out, &msg), &msg); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

// Close frees the explainer. Calling it again is a no-op.
func (e *explainer) Close() {
	if e.ptr != nil {
		C.re_explainer_free(e.ptr)
		e.ptr = nil
	}
}

func bytesPtr(b []byte) *C.uint8_t {
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

func stringPtr(s string) *C.uint8_t {
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s)))
}

// takeBuffer copies a buffer the engine returned into Go memory and frees it.
func takeBuffer(b *C.re_buffer) []byte {
	defer C.re_buffer_free(b)
	if b.ptr == nil || b.len == 0 {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(b.ptr), C.int(b.len))
}

func statusError(status C.re_status, msg *C.re_buffer) error {
	if status == C.RE_STATUS_OK {
		return nil
	}
	var text string
	if msg != nil && msg.ptr != nil {
		text = string(takeBuffer(msg))
	} else {
		var buf [128]byte
		n := C.re_status_message(C.uint32_t(status), (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		text = string(buf[:min(int(n), len(buf))])
	}
	return &engineError{kind: statusKind(status), status: int(status), message: text}
}

// statusKind maps an engine status to its kind of error.
func statusKind(status C.re_status) error {
	switch status {
	case C.RE_STATUS_INVALID_CONFIG:
		return errInvalidConfig
	case C.RE_STATUS_INVALID_INPUT:
		return errInvalidInput
	case C.RE_STATUS_INVALID_SNAPSHOT:
		return errInvalidSnapshot
	case C.RE_STATUS_PANIC:
		return errEnginePanic
	case C.RE_STATUS_NULL_PARAMETER:
		return errEngineMisuse
	default:
		return errUnknownStatus
	}
}
