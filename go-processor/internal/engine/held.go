package engine

// Held answers (include/WIRE.md, "Held answers"): the processor keeps the engine's answers as
// ready values, under a key it computes from each resource's bytes, and names the answer it
// holds instead of sending the resource again. The engine says whether that answer is still
// the answer; the processor never applies one on its own say.

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Key is the processor's cache key for a resource: two 64-bit hashes of its encoded bytes and its
// partition, under seeds drawn at random per process, so that no input can be built to collide
// with another. The engine uses it only to find an answer it gave before: ids are computed from
// the bytes.
type Key [2]uint64

// Keyer computes the keys of one process.
type Keyer struct {
	// The resource's bytes and the partition are hashed under seeds of their own. Under the same
	// seeds the key would be symmetric: a tenant named by a resource's bytes, sending a resource
	// whose bytes are that tenant's name, would share the first resource's key, and be applied
	// its answer under its lease, without the engine seeing the batch.
	resource, partition [2]maphash.Seed
}

// NewKeyer draws the seeds.
func NewKeyer() *Keyer {
	return &Keyer{
		resource:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		partition: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
	}
}

// partitionKey is the part of every key of a batch that its partition contributes.
func (k *Keyer) partitionKey(partition string) Key {
	return Key{maphash.String(k.partition[0], partition), maphash.String(k.partition[1], partition)}
}

// of is the key of an encoded resource of a batch whose partition key is pk.
func (k *Keyer) of(pk Key, resource []byte) Key {
	return Key{maphash.Bytes(k.resource[0], resource) ^ pk[0], maphash.Bytes(k.resource[1], resource) ^ pk[1]}
}

// HeldAnswer is one answer of the engine as ready values: what applying it upserts, the entity
// type it gives, and the lease it may be applied under without asking (lease.go). Batches share
// it: nothing in it changes once made but the lease's time, renewed when the engine confirms it.
type HeldAnswer struct {
	key     Key
	version uint64
	lease   lease
	// until is the Unix second at which the lease is up (0: it has none, the engine is asked).
	until atomic.Int64
	attrs []heldAttr
	refs  [][]byte
	// ready are the attributes as values to share (shared_values.go), when this process shares
	// them and they are all strings; attrs is then left empty.
	ready   []keyValue
	typ     string
	hasType bool
}

type heldAttr struct {
	key string
	// str is the value when it is a string (isStr), nearly always; value otherwise.
	str   string
	isStr bool
	value pcommon.Value
}

// newHeldAnswer reads a checked answer resource into ready values, on a copy of its bytes that
// the values share (one allocation for all of its strings); with share, also as pdata values
// to share.
func newHeldAnswer(res []byte, key Key, version uint64, keys *KeyInterner, typeKey string, share bool) *HeldAnswer {
	res = bytes.Clone(res)
	h := &HeldAnswer{key: key, version: version, attrs: make([]heldAttr, 0, countFields(res))}
	for len(res) > 0 {
		num, field, rest := nextBytesField(res)
		res = rest
		switch num {
		case fieldResourceAttributes:
			k, v := splitKeyValue(field)
			a := heldAttr{key: keys.intern(k)}
			if s, ok := shortString(v); ok {
				a.str, a.isStr = sharedString(s), true
			} else {
				a.value = pcommon.NewValueEmpty()
				_ = readAnyValue(v, a.value) // checked by checkAnswer
				if a.value.Type() == pcommon.ValueTypeStr {
					a.str, a.isStr = a.value.Str(), true
				}
			}
			if a.key == typeKey && a.isStr {
				h.typ, h.hasType = a.str, true
			}
			h.attrs = append(h.attrs, a)
		case fieldResourceEntityRefs:
			h.refs = append(h.refs, field)
		}
	}
	if share && len(h.refs) == 0 {
		if h.ready = readyValues(h.attrs); h.ready != nil {
			h.attrs = nil // the ready values say the same, in less memory
		}
	}
	return h
}

// apply upserts the answer's values onto dst and adds the entity references it declares.
func (h *HeldAnswer) apply(dst pcommon.Resource) {
	attrs := dst.Attributes()
	attrs.EnsureCapacity(attrs.Len() + len(h.attrs))
	for i := range h.attrs {
		a := &h.attrs[i]
		if a.isStr {
			attrs.PutStr(a.key, a.str)
		} else {
			a.value.CopyTo(attrs.PutEmpty(a.key))
		}
	}
	for _, ref := range h.refs {
		addEntityRef(ref, dst)
	}
}

// HeldAnswers holds answers by key in buckets of heldWays answers each, a key's low bits choosing
// its bucket. With one answer per slot, any two keys that shared a slot evicted each other at
// every sight, each eviction costing a resend, a second engine call and a new held answer; a
// table half full held 79% of the answers stored in it, and 96% with buckets (held_test.go).
// Each answer has the other half of its key beside it as a tag, in the bucket's one cache line,
// so that a lookup reads that line and follows only the pointer whose tag matches; the full key
// is compared before an answer is used. Lookups and stores take no lock, so the pipelines
// sharing an engine share its answers: a racing store may lose an answer or pair a tag with
// another answer's pointer, which costs a lookup its hit, never a wrong answer.
type HeldAnswers struct {
	entries []heldEntry
	mask    uint64 // buckets - 1
}

type heldEntry struct {
	tag    atomic.Uint64
	answer atomic.Pointer[HeldAnswer]
}

// heldWays is the number of answers a bucket holds: 4 entries of 16 bytes, one cache line.
const heldWays = 4

// NewHeldAnswers makes room for about capacity answers (rounded up to a power of two).
func NewHeldAnswers(capacity int) *HeldAnswers {
	n := 64
	for n < capacity {
		n <<= 1
	}
	return &HeldAnswers{entries: make([]heldEntry, n), mask: uint64(n/heldWays - 1)}
}

// bucket is k's bucket.
func (t *HeldAnswers) bucket(k Key) []heldEntry {
	at := int(k[0]&t.mask) * heldWays
	return t.entries[at : at+heldWays : at+heldWays]
}

func (t *HeldAnswers) get(k Key) *HeldAnswer {
	b := t.bucket(k)
	for i := range b {
		if e := &b[i]; e.tag.Load() == k[1] {
			if h := e.answer.Load(); h != nil && h.key == k {
				return h
			}
		}
	}
	return nil
}

// put stores h in its bucket: in place of the answer of its key, or in an empty entry, or else
// in place of the entry its version picks (versions are unique, so the choice varies from one
// store to the next and no two keys keep evicting each other).
func (t *HeldAnswers) put(h *HeldAnswer) {
	b := t.bucket(h.key)
	way := -1
	for i := range b {
		old := b[i].answer.Load()
		if old != nil && b[i].tag.Load() == h.key[1] && old.key == h.key {
			way = i
			break
		}
		if old == nil && way < 0 {
			way = i
		}
	}
	if way < 0 {
		way = int(h.version % heldWays)
	}
	b[way].answer.Store(h)
	b[way].tag.Store(h.key[1])
}
