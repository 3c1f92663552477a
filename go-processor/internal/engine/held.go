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
	seeds [2]maphash.Seed
}

// NewKeyer draws the seeds.
func NewKeyer() *Keyer {
	return &Keyer{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// partitionKey is the part of every key of a batch that its partition contributes.
func (k *Keyer) partitionKey(partition string) Key {
	return Key{maphash.String(k.seeds[0], partition), maphash.String(k.seeds[1], partition)}
}

// of is the key of an encoded resource of a batch whose partition key is pk.
func (k *Keyer) of(pk Key, resource []byte) Key {
	return Key{maphash.Bytes(k.seeds[0], resource) ^ pk[0], maphash.Bytes(k.seeds[1], resource) ^ pk[1]}
}

// HeldAnswer is one answer of the engine as ready values: what applying it upserts, and the
// entity type it gives. It is never changed once made, so batches share it.
type HeldAnswer struct {
	key     Key
	version uint64
	attrs   []heldAttr
	refs    [][]byte
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

// HeldAnswers holds answers by key: a fixed array of slots a key's low bits choose, each
// replaced by the next answer stored there. Lookups and stores take no lock, so the pipelines
// sharing an engine share its answers.
type HeldAnswers struct {
	slots []atomic.Pointer[HeldAnswer]
	mask  uint64
}

// NewHeldAnswers makes room for about capacity answers (rounded up to a power of two).
func NewHeldAnswers(capacity int) *HeldAnswers {
	n := 64
	for n < capacity {
		n <<= 1
	}
	return &HeldAnswers{slots: make([]atomic.Pointer[HeldAnswer], n), mask: uint64(n - 1)}
}

func (t *HeldAnswers) get(k Key) *HeldAnswer {
	if h := t.slots[k[0]&t.mask].Load(); h != nil && h.key == k {
		return h
	}
	return nil
}

func (t *HeldAnswers) put(h *HeldAnswer) {
	t.slots[h.key[0]&t.mask].Store(h)
}
