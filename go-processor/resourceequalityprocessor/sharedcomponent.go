package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// sharedComponents follows the Collector's shared-component pattern
// (go.opentelemetry.io/collector/internal/sharedcomponent, which a component outside the
// Collector's modules cannot import): one component per key, whichever pipelines ask for it,
// started at the first Start and shut down when the last user shuts down, then forgotten. It
// counts users, so one pipeline's shutdown leaves the component to the others.
type sharedComponents[K comparable, V component.Component] struct {
	mu    sync.Mutex
	byKey map[K]*sharedComponent[K, V]
}

// sharedComponent is one user's handle on a shared component.
type sharedComponent[K comparable, V component.Component] struct {
	owner   *sharedComponents[K, V]
	key     K
	value   V
	users   int
	started bool
}

// loadOrStore returns a handle on the key's component, made by create if there is none.
// accept refuses an existing component to a user it does not fit.
func (m *sharedComponents[K, V]) loadOrStore(key K, create func() (V, error), accept func(V) error) (*sharedComponent[K, V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.byKey[key]; ok {
		if err := accept(c.value); err != nil {
			return nil, err
		}
		c.users++
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	if m.byKey == nil {
		m.byKey = map[K]*sharedComponent[K, V]{}
	}
	c := &sharedComponent[K, V]{owner: m, key: key, value: v, users: 1}
	m.byKey[key] = c
	return c, nil
}

// load returns a handle on the key's component if there is one: a user that may not create it.
func (m *sharedComponents[K, V]) load(key K) (*sharedComponent[K, V], bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.byKey[key]
	if ok {
		c.users++
	}
	return c, ok
}

// Unwrap returns the shared component.
func (c *sharedComponent[K, V]) Unwrap() V { return c.value }

// Start starts the component at its first Start.
func (c *sharedComponent[K, V]) Start(ctx context.Context, host component.Host) error {
	c.owner.mu.Lock()
	defer c.owner.mu.Unlock()
	if c.started {
		return nil
	}
	c.started = true
	return c.value.Start(ctx, host)
}

// Shutdown drops one user; the last one shuts the component down. Each user calls it once.
func (c *sharedComponent[K, V]) Shutdown(ctx context.Context) error {
	c.owner.mu.Lock()
	c.users--
	last := c.users == 0
	if last && c.owner.byKey[c.key] == c {
		delete(c.owner.byKey, c.key)
	}
	c.owner.mu.Unlock()
	if !last {
		return nil
	}
	return c.value.Shutdown(ctx)
}
