package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import "sync"

// maxInternedKeys bounds the interner: keys past it are allocated per use, as without it.
const maxInternedKeys = 4096

// keyInterner returns one shared string per attribute key the engine answers with. The keys
// come from a small set (the id, type and name attributes, and the pooled keys), so interning
// them saves an allocation per upserted attribute.
type keyInterner struct {
	mu   sync.RWMutex
	keys map[string]string
}

func newKeyInterner() *keyInterner {
	return &keyInterner{keys: map[string]string{}}
}

func (k *keyInterner) intern(b []byte) string {
	k.mu.RLock()
	s, ok := k.keys[string(b)] // no allocation: the compiler looks up without converting
	k.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	k.mu.Lock()
	if len(k.keys) < maxInternedKeys {
		k.keys[s] = s
	}
	k.mu.Unlock()
	return s
}
