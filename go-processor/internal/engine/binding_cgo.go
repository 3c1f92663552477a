//go:build cgo

package engine

// The boundary: how the package reaches the Rust engine, and what every call does with pointers,
// buffers and statuses (the handles' calls are in engine_cgo.go and explainer_cgo.go). The
// engine's header is in this package (resourceequality.h, a copy of include/ that `make header`
// writes and `make header-check` checks); the engine itself is linked statically from the module
// of the platform (link_*.go imports it), so the collector binary depends on no library outside
// the system's. Go passes pointer-free byte slices for the duration of a call only (Rust writes a
// batch's answer into one of them); buffers Rust returns are copied into Go memory and freed at
// once; Rust never calls back into Go.

/*
#cgo CFLAGS: -I${SRCDIR}
#cgo noescape re_buffer_free
#cgo nocallback re_buffer_free
#include "resourceequality.h"
*/
import "C"

import "unsafe"

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
	return &Error{kind: statusKind(status), status: int(status), message: text}
}

// statusKind maps an engine status to its kind of error.
func statusKind(status C.re_status) error {
	switch status {
	case C.RE_STATUS_INVALID_CONFIG:
		return ErrInvalidConfig
	case C.RE_STATUS_INVALID_INPUT:
		return ErrInvalidInput
	case C.RE_STATUS_INVALID_SNAPSHOT:
		return ErrInvalidSnapshot
	case C.RE_STATUS_PANIC:
		return ErrPanic
	case C.RE_STATUS_NULL_PARAMETER:
		return ErrMisuse
	default:
		return ErrUnknownStatus
	}
}
