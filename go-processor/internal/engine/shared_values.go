package engine

// Applying held answers without an allocation per resource. pdata's API offers no way to give a
// batch's attribute maps room in one allocation, nor to put one value into several maps: each
// PutStr allocates a value wrapper, and the resource's attribute slice, decoded with room for
// two more, reallocates at the third. Those allocations, and the collections they cause, were
// most of what a hit cost. So, where pdata is laid out as this file expects (checked once, by
// reflection, against pdata's own types) and does not recycle its objects (the
// pdata.useProtoPooling gate, which would hand a shared value to another map), a batch's
// resources that need room get it from one slice per batch, and a held answer's string values,
// made once by pdata itself, are shared by every resource it is applied to. pdata never changes
// a string value in place (SetStr, CopyTo and the decoders replace it), so sharing is not
// observable. Anywhere else, answers are applied through the public API.

import (
	"reflect"
	"unsafe"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// keyValue and mapWrapper are pdata's internal.KeyValue and pcommon.Map, by layout.
type keyValue struct {
	Key         string
	Value       anyValue
	KeyStrindex int32
}

type anyValue struct {
	Value any
}

type mapWrapper struct {
	orig  *[]keyValue
	state *byte // pdata's *internal.State, never read here
}

// pdataLayoutMatches is whether pcommon.Map and the KeyValue it holds are laid out as
// mapWrapper and keyValue: the same fields by name, offset, kind and size.
func pdataLayoutMatches() bool {
	m := reflect.TypeFor[pcommon.Map]()
	if !sameLayout(m, reflect.TypeFor[mapWrapper](), false) {
		return false
	}
	orig := m.Field(0).Type
	return orig.Kind() == reflect.Pointer && orig.Elem().Kind() == reflect.Slice &&
		sameLayout(orig.Elem().Elem(), reflect.TypeFor[keyValue](), true)
}

// sameLayout compares two types field by field; deep compares the fields' types too.
func sameLayout(a, b reflect.Type, deep bool) bool {
	if a.Kind() != b.Kind() || a.Size() != b.Size() {
		return false
	}
	if a.Kind() != reflect.Struct {
		return true
	}
	if a.NumField() != b.NumField() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Offset != fb.Offset || fa.Type.Kind() != fb.Type.Kind() || fa.Type.Size() != fb.Type.Size() {
			return false
		}
		if deep && (fa.Name != fb.Name || !sameLayout(fa.Type, fb.Type, true)) {
			return false
		}
	}
	return true
}

// pdataPools is whether pdata recycles its objects (the pdata.useProtoPooling gate).
func pdataPools() bool {
	pools := false
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == "pdata.useProtoPooling" && g.IsEnabled() {
			pools = true
		}
	})
	return pools
}

// canShareValues is whether this process applies held answers by sharing their values.
func canShareValues() bool {
	return pdataLayoutMatches() && !pdataPools()
}

// orig is the attribute slice of a map (a mutable one: the caller has asserted it).
func orig(m pcommon.Map) *[]keyValue {
	return (*mapWrapper)(unsafe.Pointer(&m)).orig
}

// readyValues are a held answer's string attributes as pdata made them (PutStr on a map of its
// own), to be shared; nil when the answer holds another kind of value or refers to entities.
func readyValues(attrs []heldAttr) []keyValue {
	m := pcommon.NewMap()
	m.EnsureCapacity(len(attrs))
	for _, a := range attrs {
		if !a.isStr {
			return nil
		}
		m.PutStr(a.key, a.str)
	}
	return *orig(m)
}

// applyShared applies a batch's answers by sharing their values: one allocation for the room
// of every resource that needs it.
func (b *Batch) applyShared(resourceAt func(int) pcommon.Resource) {
	need := 0
	for i, h := range b.got {
		if h.ready != nil {
			kvs := orig(resourceAt(i).Attributes())
			if cap(*kvs)-len(*kvs) < len(h.ready) {
				need += len(*kvs) + len(h.ready)
			}
		}
	}
	var room []keyValue
	if need > 0 {
		room = make([]keyValue, need)
	}
	for i, h := range b.got {
		res := resourceAt(i)
		if h.ready == nil {
			h.apply(res)
			continue
		}
		attrs := res.Attributes()
		attrs.EnsureCapacity(0) // asserts that the map may change, as every pdata mutator does
		kvs := orig(attrs)
		if n := len(*kvs); cap(*kvs)-n < len(h.ready) {
			grown := room[: n : n+len(h.ready)]
			room = room[n+len(h.ready):]
			copy(grown, *kvs)
			*kvs = grown
		}
		for _, kv := range h.ready {
			upsert(kvs, kv)
		}
	}
}

// upsert sets kv's value on its key, or appends kv, as Map.PutStr does.
func upsert(kvs *[]keyValue, kv keyValue) {
	s := *kvs
	for i := range s {
		if s[i].Key == kv.Key {
			s[i].Value = kv.Value
			return
		}
	}
	*kvs = append(s, kv)
}
