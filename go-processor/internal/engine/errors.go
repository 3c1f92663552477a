package engine

import (
	"errors"
	"fmt"
)

// Kinds of engine error, for errors.Is. The engine's status numbers map to them in the cgo
// file, from the constants of the generated header (the engine owns the numbers).
var (
	ErrInvalidConfig   = errors.New("invalid configuration")
	ErrInvalidInput    = errors.New("invalid input")
	ErrInvalidSnapshot = errors.New("invalid snapshot")
	ErrPanic           = errors.New("internal error (panic)")
	ErrMisuse          = errors.New("a required argument was missing")
	ErrUnknownStatus   = errors.New("unknown status")
)

// Error is an error the engine returned: its kind (one of the errors above), its status
// number and the engine's own message.
type Error struct {
	kind    error
	status  int
	message string
}

func (e *Error) Error() string {
	if e.kind == ErrInvalidConfig {
		// The engine's message names the key as the user wrote it and says what it takes; a
		// status number would only get in the way.
		return e.message
	}
	return fmt.Sprintf("resourceequality engine: %v (status %d): %s", e.kind, e.status, e.message)
}

func (e *Error) Unwrap() error { return e.kind }

// Status is the engine's status number (re_status).
func (e *Error) Status() int { return e.status }
