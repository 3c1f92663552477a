//go:build !cgo

package engine

import (
	"errors"
	"time"
)

// Without cgo the package compiles and the factory reports this error, as the collector's
// coding guidelines ask of components that need cgo.
var ErrNoCgo = errors.New("the resourceequality processor needs a collector built with cgo: " +
	"set dist.cgo_enabled: true in the ocb manifest")

type Engine struct{}

func CheckConfig([]byte) ([]byte, error)                      { return nil, ErrNoCgo }
func New([]byte) (*Engine, error)                             { return nil, ErrNoCgo }
func (*Engine) Process(_ string, _, _ []byte) ([]byte, error) { return nil, ErrNoCgo }
func (*Engine) Snapshot() ([]byte, error)                     { return nil, ErrNoCgo }
func (*Engine) Restore([]byte) error                          { return ErrNoCgo }
func (*Engine) Stats() (Stats, error)                         { return Stats{}, ErrNoCgo }
func (*Engine) EntitiesByType() (map[string]int64, error)     { return nil, ErrNoCgo }
func (*Engine) EntityEvents(time.Duration) ([]byte, error)    { return nil, ErrNoCgo }
func (*Engine) Close()                                        {}
func (*Engine) lockMemory() *heldView                         { return nil }
func (*Engine) unlockMemory()                                 {}

type Explainer struct{ request []byte }

func NewExplainer([]byte) (*Explainer, error)      { return nil, ErrNoCgo }
func (*Explainer) addRequest(string, []byte) error { return ErrNoCgo }
func (*Explainer) Report() ([]byte, error)         { return nil, ErrNoCgo }
func (*Explainer) Close()                          {}
