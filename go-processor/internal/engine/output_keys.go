package engine

import "go.opentelemetry.io/collector/pdata/pcommon"

// OutputKeys are the attributes the processor writes: id, type, name, rule and route. A resource leaves
// the processor with one occurrence of each, the one the answer upserted: a resource sent with two
// `resource.id` keys would otherwise keep the second, and a consumer that reads the last
// occurrence would read a spoof.
type OutputKeys struct {
	keys []string
	// first marks the first bytes of keys: most attribute keys are told apart by it alone, so
	// noting Repeats costs one lookup per attribute while a request is written.
	first [256]bool
}

// NewOutputKeys are the keys the engine writes, in its order (id, type, name, rule, route; an
// empty one is not written).
func NewOutputKeys(keys ...string) *OutputKeys {
	o := &OutputKeys{}
	for _, k := range keys {
		if k != "" {
			o.keys = append(o.keys, k)
			o.first[k[0]] = true
		}
	}
	return o
}

// index is k's position among the keys, or -1.
func (o *OutputKeys) index(k string) int {
	if k == "" || !o.first[k[0]] {
		return -1
	}
	for i, key := range o.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// Repeats notes, while a batch's request is written, the resources that carry an output key more
// than once.
type Repeats struct {
	Keys      *OutputKeys
	Resources []int
}

// KeepFirst removes from each resource noted every occurrence of an output key but the first,
// which is the one the answer upserts (pdata upserts the first occurrence).
func (r *Repeats) KeepFirst(resourceAt func(int) pcommon.Resource) {
	for _, i := range r.Resources {
		var seen uint32
		resourceAt(i).Attributes().RemoveIf(func(k string, _ pcommon.Value) bool {
			j := r.Keys.index(k)
			if j < 0 {
				return false
			}
			again := seen&(1<<j) != 0
			seen |= 1 << j
			return again
		})
	}
}
