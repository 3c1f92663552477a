package engine

// Writing the request to the engine (include/WIRE.md) straight from pdata with protowire:
// copying the batch's resources into a fresh plog.Logs only to marshal it costs allocations per
// attribute on the hot path. Field numbers are OTLP's (fields_generated.go).
//
// include/WIRE.md specifies both; tests/wire/ holds golden bytes that wire_golden_test.go checks.

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"google.golang.org/protobuf/encoding/protowire"
)

// AppendRequest appends the request entry of every resource of a batch, in one pass over the
// attributes: the entry's and the resource's lengths are written as fixed five-byte varints and
// filled in afterwards (non-minimal varints are valid protobuf; both ends decode them). With
// rep, it notes the resources that carry an output key more than once. (Answers.AppendRequest
// writes the same entries, naming the answers the processor holds.)
func AppendRequest(b []byte, n int, resourceAt func(int) pcommon.Resource, rep *Repeats) []byte {
	for i := range n {
		var at int
		b, at, _ = appendEntry(b, i, resourceAt(i), rep)
		b = closeLen(b, at)
	}
	return b
}

// appendResource appends the fields of resource i: its attributes and entity references.
func appendResource(b []byte, i int, res pcommon.Resource, rep *Repeats) []byte {
	var seen uint32
	repeated := false
	for k, v := range res.Attributes().All() {
		if rep != nil {
			if j := rep.Keys.index(k); j >= 0 {
				repeated = repeated || seen&(1<<j) != 0
				seen |= 1 << j
			}
		}
		b = appendKeyValue(b, fieldResourceAttributes, k, v)
	}
	if repeated {
		rep.Resources = append(rep.Resources, i)
	}
	refs := entity.ResourceEntityRefs(res)
	for j := range refs.Len() {
		b = appendEntityRef(b, refs.At(j))
	}
	return b
}

// lenTag is the one-byte tag of length-delimited field num (below 16).
func lenTag(num protowire.Number) byte {
	return byte(num)<<3 | byte(protowire.BytesType)
}

// paddedZero is a five-byte varint placeholder (holds lengths up to 2^35-1).
var paddedZero = [5]byte{0x80, 0x80, 0x80, 0x80, 0x00}

func putPadded(b []byte, v int) {
	for i := range 4 {
		b[i] = byte(v&0x7f) | 0x80
		v >>= 7
	}
	b[4] = byte(v)
}

// appendKeyValue appends one KeyValue as field `num`; strings, nearly every attribute, take a
// path with no size computation beyond their length.
func appendKeyValue(b []byte, num protowire.Number, k string, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if kv := 2 + len(k) + 4 + len(s); kv < 0x80 && num < 16 {
			// The common attribute: every length fits one byte, so the bytes are written as is.
			b = append(b, lenTag(num), byte(kv), lenTag(fieldKeyValueKey), byte(len(k)))
			b = append(b, k...)
			b = append(b, lenTag(fieldKeyValueValue), byte(2+len(s)), lenTag(fieldAnyString), byte(len(s)))
			return append(b, s...)
		}
	case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
		// Nested: lengths are filled in after the contents, so that encoding is linear in the
		// value's size whatever its depth (computing sizes at every level was quadratic).
		b, at := openLen(b, num)
		b = protowire.AppendTag(b, fieldKeyValueKey, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = appendValueField(b, fieldKeyValueValue, v)
		return closeLen(b, at)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	any := scalarSize(v)
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fieldKeyValueKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fieldKeyValueValue)+protowire.SizeBytes(any)))
	b = protowire.AppendTag(b, fieldKeyValueKey, protowire.BytesType)
	b = protowire.AppendString(b, k)
	b = protowire.AppendTag(b, fieldKeyValueValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(any))
	return appendAnyValue(b, v)
}

// openLen appends field num's tag and a five-byte length placeholder, and returns where the
// placeholder is; closeLen fills it with the length of what was appended since.
func openLen(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return append(b, paddedZero[:]...), len(b)
}

func closeLen(b []byte, at int) []byte {
	putPadded(b[at:], len(b)-at-len(paddedZero))
	return b
}

// appendValueField appends v as AnyValue field num.
func appendValueField(b []byte, num protowire.Number, v pcommon.Value) []byte {
	if t := v.Type(); t == pcommon.ValueTypeSlice || t == pcommon.ValueTypeMap {
		b, at := openLen(b, num)
		return closeLen(appendAnyValue(b, v), at)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(scalarSize(v)))
	return appendAnyValue(b, v)
}

// scalarSize is the size of an AnyValue that is not an array or a map.
func scalarSize(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return protowire.SizeTag(fieldAnyString) + protowire.SizeBytes(len(v.Str()))
	case pcommon.ValueTypeBool:
		return protowire.SizeTag(fieldAnyBool) + 1
	case pcommon.ValueTypeInt:
		return protowire.SizeTag(fieldAnyInt) + protowire.SizeVarint(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return protowire.SizeTag(fieldAnyDouble) + protowire.SizeFixed64()
	case pcommon.ValueTypeBytes:
		return protowire.SizeTag(fieldAnyBytes) + protowire.SizeBytes(v.Bytes().Len())
	default:
		return 0
	}
}

func appendMap(b []byte, num protowire.Number, m pcommon.Map) []byte {
	for k, v := range m.All() {
		b = appendKeyValue(b, num, k, v)
	}
	return b
}

// appendAnyValue appends the fields of an AnyValue (without its own length prefix).
func appendAnyValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = protowire.AppendTag(b, fieldAnyString, protowire.BytesType)
		return protowire.AppendString(b, v.Str())
	case pcommon.ValueTypeBool:
		b = protowire.AppendTag(b, fieldAnyBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool()))
	case pcommon.ValueTypeInt:
		b = protowire.AppendTag(b, fieldAnyInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = protowire.AppendTag(b, fieldAnyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBytes:
		b = protowire.AppendTag(b, fieldAnyBytes, protowire.BytesType)
		return protowire.AppendBytes(b, v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		b, at := openLen(b, fieldAnyArray)
		for _, e := range v.Slice().All() {
			b = appendValueField(b, fieldListValues, e)
		}
		return closeLen(b, at)
	case pcommon.ValueTypeMap:
		b, at := openLen(b, fieldAnyKvList)
		return closeLen(appendMap(b, fieldListValues, v.Map()), at)
	default:
		return b
	}
}

func entityRefSize(r entity.EntityRef) int {
	n := 0
	if s := r.SchemaUrl(); s != "" {
		n += protowire.SizeTag(fieldEntityRefSchemaURL) + protowire.SizeBytes(len(s))
	}
	if t := r.Type(); t != "" {
		n += protowire.SizeTag(fieldEntityRefType) + protowire.SizeBytes(len(t))
	}
	for _, k := range r.IdKeys().All() {
		n += protowire.SizeTag(fieldEntityRefIDKeys) + protowire.SizeBytes(len(k))
	}
	for _, k := range r.DescriptionKeys().All() {
		n += protowire.SizeTag(fieldEntityRefDescriptionKeys) + protowire.SizeBytes(len(k))
	}
	return n
}

func appendEntityRef(b []byte, r entity.EntityRef) []byte {
	b = protowire.AppendTag(b, fieldResourceEntityRefs, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entityRefSize(r)))
	if s := r.SchemaUrl(); s != "" {
		b = protowire.AppendTag(b, fieldEntityRefSchemaURL, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	if t := r.Type(); t != "" {
		b = protowire.AppendTag(b, fieldEntityRefType, protowire.BytesType)
		b = protowire.AppendString(b, t)
	}
	for _, k := range r.IdKeys().All() {
		b = protowire.AppendTag(b, fieldEntityRefIDKeys, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	for _, k := range r.DescriptionKeys().All() {
		b = protowire.AppendTag(b, fieldEntityRefDescriptionKeys, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	return b
}
