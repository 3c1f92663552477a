package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"errors"
	"fmt"
)

// Kinds of engine error, for errors.Is. The engine's status numbers map to them in the cgo
// file, from the constants of the generated header (the engine owns the numbers).
var (
	errInvalidConfig   = errors.New("invalid configuration")
	errInvalidInput    = errors.New("invalid input")
	errInvalidSnapshot = errors.New("invalid snapshot")
	errEnginePanic     = errors.New("internal error (panic)")
	errEngineMisuse    = errors.New("a required argument was missing")
	errUnknownStatus   = errors.New("unknown status")
)

// engineError is an error the engine returned: its kind (one of the errors above), its status
// number and the engine's own message.
type engineError struct {
	kind    error
	status  int
	message string
}

func (e *engineError) Error() string {
	return fmt.Sprintf("resourceequality engine: %v (status %d): %s", e.kind, e.status, e.message)
}

func (e *engineError) Unwrap() error { return e.kind }
