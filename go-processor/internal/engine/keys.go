package engine

import (
	"sync"
	"sync/atomic"
)

// maxInternedKeys bounds the interner: keys past it are allocated per use, as without it.
const maxInternedKeys = 4096

// KeyInterner returns one shared string per attribute key the engine answers with. The keys
// come from a small set (the id, type and name attributes, and the pooled keys), so interning
// them saves an allocation per upserted attribute. Lookups read an immutable map without a
// lock; a new key (rare) replaces the map with a copy that has it.
type KeyInterner struct {
	keys atomic.Pointer[map[string]string]
	mu   sync.Mutex // serialises writers
}

func NewKeyInterner() *KeyInterner {
	k := &KeyInterner{}
	k.keys.Store(&map[string]string{})
	return k
}

func (k *KeyInterner) intern(b []byte) string {
	if s, ok := (*k.keys.Load())[string(b)]; ok { // no allocation: the compiler looks up without converting
		return s
	}
	s := string(b)
	k.mu.Lock()
	defer k.mu.Unlock()
	old := *k.keys.Load()
	if len(old) >= maxInternedKeys {
		return s
	}
	if existing, ok := old[s]; ok {
		return existing
	}
	next := make(map[string]string, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[s] = s
	k.keys.Store(&next)
	return s
}
