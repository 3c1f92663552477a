//go:build !cgo

package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"errors"
	"time"
)

// Without cgo the package compiles and the factory reports this error, as the collector's
// coding guidelines ask of components that need cgo.
var errNoCgo = errors.New("the resourceequality processor needs a collector built with cgo: " +
	"set dist.cgo_enabled: true in the ocb manifest")

type engine struct{}

func checkEngineConfig([]byte) ([]byte, error)                { return nil, errNoCgo }
func newEngine([]byte) (*engine, error)                       { return nil, errNoCgo }
func (*engine) process(_ string, _, _ []byte) ([]byte, error) { return nil, errNoCgo }
func (*engine) snapshot() ([]byte, error)                     { return nil, errNoCgo }
func (*engine) restore([]byte) error                          { return errNoCgo }
func (*engine) stats() (engineStats, error)                   { return nil, errNoCgo }
func (*engine) entitiesByType() (map[string]int64, error)     { return nil, errNoCgo }
func (*engine) entityEvents(time.Duration) ([]byte, error)    { return nil, errNoCgo }
func engineStatNames() []string                               { return nil }
func (*engine) Close()                                        {}

type explainer struct{}

func newExplainer([]byte) (*explainer, error) { return nil, errNoCgo }
func (*explainer) add(string, []byte) error   { return errNoCgo }
func (*explainer) report() ([]byte, error)    { return nil, errNoCgo }
func (*explainer) Close()                     {}
