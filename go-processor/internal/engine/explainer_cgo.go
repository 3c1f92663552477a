//go:build cgo

package engine

// An explainer handle and its calls (for the explain tool).

/*
#cgo noescape re_explainer_add
#cgo nocallback re_explainer_add
#include "resourceequality.h"
*/
import "C"

import (
	"errors"
	"runtime"
)

// Explainer owns one Rust explainer handle (for the explain tool). Not for concurrent use.
type Explainer struct {
	ptr     *C.re_explainer
	request []byte // reused for each batch
}

// NewExplainer builds an explainer from an engine configuration.
func NewExplainer(config []byte) (*Explainer, error) {
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
	return &Explainer{ptr: ptr}, nil
}

// addRequest explains one request (as Process sends it) of partition partition.
func (e *Explainer) addRequest(partition string, in []byte) error {
	if e.ptr == nil {
		return ErrClosed
	}
	var msg C.re_buffer
	status := C.re_explainer_add(e.ptr, stringPtr(partition), C.size_t(len(partition)), bytesPtr(in), C.size_t(len(in)), &msg)
	runtime.KeepAlive(partition)
	runtime.KeepAlive(in)
	return statusError(status, &msg)
}

// Report is the explanations so far and their summary, as JSON (rust/src/explain/mod.rs).
func (e *Explainer) Report() ([]byte, error) {
	if e.ptr == nil {
		return nil, ErrClosed
	}
	var out, msg C.re_buffer
	if err := statusError(C.re_explainer_report(e.ptr, &out, &msg), &msg); err != nil {
		return nil, err
	}
	return takeBuffer(&out), nil
}

// Close frees the explainer. Calling it again is a no-op.
func (e *Explainer) Close() {
	if e.ptr != nil {
		C.re_explainer_free(e.ptr)
		e.ptr = nil
	}
}
