package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import "go.opentelemetry.io/collector/pdata/pcommon"

// outputKeys are the attributes the processor writes: id, type, name, rule and route. A resource leaves
// the processor with one occurrence of each, the one the answer upserted: a resource sent with two
// `resource.id` keys would otherwise keep the second, and a consumer that reads the last
// occurrence would read a spoof.
type outputKeys struct {
	keys []string
	// first marks the first bytes of keys: most attribute keys are told apart by it alone, so
	// noting repeats costs one lookup per attribute while a request is written.
	first [256]bool
}

func newOutputKeys(e effectiveConfig) *outputKeys {
	o := &outputKeys{}
	for _, k := range []string{e.IDAttribute, e.TypeAttribute, e.NameAttribute, e.RuleAttribute, e.RouteAttribute} {
		if k != "" {
			o.keys = append(o.keys, k)
			o.first[k[0]] = true
		}
	}
	return o
}

// index is k's position among the keys, or -1.
func (o *outputKeys) index(k string) int {
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

// repeats notes, while a batch's request is written, the resources that carry an output key more
// than once.
type repeats struct {
	keys      *outputKeys
	resources []int
}

// keepFirst removes from each resource noted every occurrence of an output key but the first,
// which is the one the answer upserts (pdata upserts the first occurrence).
func (r *repeats) keepFirst(resourceAt func(int) pcommon.Resource) {
	for _, i := range r.resources {
		var seen uint32
		resourceAt(i).Attributes().RemoveIf(func(k string, _ pcommon.Value) bool {
			j := r.keys.index(k)
			if j < 0 {
				return false
			}
			again := seen&(1<<j) != 0
			seen |= 1 << j
			return again
		})
	}
}
