package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

// The two OTLP messages that cross to the engine, written and read directly with protowire:
// copying the batch's resources into a fresh plog.Logs only to marshal it, and unmarshalling
// the answer into pdata only to copy it again, cost allocations per attribute on the hot path.
//
// Request: a LogsData with one ResourceLogs per resource, carrying only the resource
// (attributes and entity refs). Answer: a LogsData with one ResourceLogs per input resource, in
// order, whose resource carries the attributes to upsert.

import (
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"google.golang.org/protobuf/encoding/protowire"
)

const (
	fieldOne   protowire.Number = 1
	anyString  protowire.Number = 1
	anyBool    protowire.Number = 2
	anyInt     protowire.Number = 3
	anyDouble  protowire.Number = 4
	anyArray   protowire.Number = 5
	anyKvList  protowire.Number = 6
	anyBytes   protowire.Number = 7
	kvKey      protowire.Number = 1
	kvValue    protowire.Number = 2
	resAttrs   protowire.Number = 1
	resEntRefs protowire.Number = 3
)

// appendRequest appends the request entry of every resource of a batch.
func appendRequest(b []byte, n int, resourceAt func(int) pcommon.Resource) []byte {
	for i := range n {
		res := resourceAt(i)
		refs := entity.ResourceEntityRefs(res)
		size := resourceSize(res.Attributes(), refs)
		b = protowire.AppendTag(b, fieldOne, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fieldOne)+protowire.SizeBytes(size)))
		b = protowire.AppendTag(b, fieldOne, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		b = appendMap(b, resAttrs, res.Attributes())
		for j := range refs.Len() {
			b = appendEntityRef(b, refs.At(j))
		}
	}
	return b
}

func resourceSize(attrs pcommon.Map, refs entity.EntityRefSlice) int {
	n := mapSize(attrs, resAttrs)
	for j := range refs.Len() {
		n += protowire.SizeTag(resEntRefs) + protowire.SizeBytes(entityRefSize(refs.At(j)))
	}
	return n
}

// mapSize is the size of a map's key/values as repeated field `num`.
func mapSize(m pcommon.Map, num protowire.Number) int {
	n := 0
	for k, v := range m.All() {
		n += protowire.SizeTag(num) + protowire.SizeBytes(keyValueSize(k, v))
	}
	return n
}

func keyValueSize(k string, v pcommon.Value) int {
	return protowire.SizeTag(kvKey) + protowire.SizeBytes(len(k)) + protowire.SizeTag(kvValue) + protowire.SizeBytes(anyValueSize(v))
}

func anyValueSize(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return protowire.SizeTag(anyString) + protowire.SizeBytes(len(v.Str()))
	case pcommon.ValueTypeBool:
		return protowire.SizeTag(anyBool) + 1
	case pcommon.ValueTypeInt:
		return protowire.SizeTag(anyInt) + protowire.SizeVarint(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return protowire.SizeTag(anyDouble) + protowire.SizeFixed64()
	case pcommon.ValueTypeBytes:
		return protowire.SizeTag(anyBytes) + protowire.SizeBytes(v.Bytes().Len())
	case pcommon.ValueTypeSlice:
		return protowire.SizeTag(anyArray) + protowire.SizeBytes(sliceSize(v.Slice()))
	case pcommon.ValueTypeMap:
		return protowire.SizeTag(anyKvList) + protowire.SizeBytes(mapSize(v.Map(), fieldOne))
	default:
		return 0
	}
}

func sliceSize(s pcommon.Slice) int {
	n := 0
	for _, e := range s.All() {
		n += protowire.SizeTag(fieldOne) + protowire.SizeBytes(anyValueSize(e))
	}
	return n
}

func appendMap(b []byte, num protowire.Number, m pcommon.Map) []byte {
	for k, v := range m.All() {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(keyValueSize(k, v)))
		b = protowire.AppendTag(b, kvKey, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, kvValue, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(anyValueSize(v)))
		b = appendAnyValue(b, v)
	}
	return b
}

// appendAnyValue appends the fields of an AnyValue (without its own length prefix).
func appendAnyValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = protowire.AppendTag(b, anyString, protowire.BytesType)
		return protowire.AppendString(b, v.Str())
	case pcommon.ValueTypeBool:
		b = protowire.AppendTag(b, anyBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool()))
	case pcommon.ValueTypeInt:
		b = protowire.AppendTag(b, anyInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = protowire.AppendTag(b, anyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBytes:
		b = protowire.AppendTag(b, anyBytes, protowire.BytesType)
		return protowire.AppendBytes(b, v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		b = protowire.AppendTag(b, anyArray, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sliceSize(v.Slice())))
		for _, e := range v.Slice().All() {
			b = protowire.AppendTag(b, fieldOne, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(anyValueSize(e)))
			b = appendAnyValue(b, e)
		}
		return b
	case pcommon.ValueTypeMap:
		b = protowire.AppendTag(b, anyKvList, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(mapSize(v.Map(), fieldOne)))
		return appendMap(b, fieldOne, v.Map())
	default:
		return b
	}
}

func entityRefSize(r entity.EntityRef) int {
	n := 0
	if s := r.SchemaUrl(); s != "" {
		n += protowire.SizeTag(1) + protowire.SizeBytes(len(s))
	}
	if t := r.Type(); t != "" {
		n += protowire.SizeTag(2) + protowire.SizeBytes(len(t))
	}
	for _, k := range r.IdKeys().All() {
		n += protowire.SizeTag(3) + protowire.SizeBytes(len(k))
	}
	for _, k := range r.DescriptionKeys().All() {
		n += protowire.SizeTag(4) + protowire.SizeBytes(len(k))
	}
	return n
}

func appendEntityRef(b []byte, r entity.EntityRef) []byte {
	b = protowire.AppendTag(b, resEntRefs, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entityRefSize(r)))
	if s := r.SchemaUrl(); s != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	if t := r.Type(); t != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, t)
	}
	for _, k := range r.IdKeys().All() {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	for _, k := range r.DescriptionKeys().All() {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, k)
	}
	return b
}

var errMalformedAnswer = errors.New("malformed answer from the engine")

// applyAnswer upserts the answer's attributes onto the batch's resources. The whole answer is
// checked before anything is applied: a bad answer changes nothing.
func applyAnswer(answer []byte, n int, resourceAt func(int) pcommon.Resource) error {
	count, err := walkAnswer(answer, nil)
	if err != nil {
		return err
	}
	if count != n {
		return fmt.Errorf("%w: %d results for %d resources", errResultCount, count, n)
	}
	_, err = walkAnswer(answer, resourceAt)
	return err
}

// walkAnswer checks the answer and, when resourceAt is set, applies it. Returns the entries.
func walkAnswer(answer []byte, resourceAt func(int) pcommon.Resource) (int, error) {
	entries := 0
	err := eachField(answer, func(num protowire.Number, entry []byte) error {
		if num != fieldOne {
			return nil
		}
		i := entries
		entries++
		return eachField(entry, func(num protowire.Number, res []byte) error {
			if num != fieldOne {
				return nil
			}
			return eachField(res, func(num protowire.Number, kv []byte) error {
				if num != resAttrs {
					return nil
				}
				var dst pcommon.Map
				if resourceAt != nil {
					dst = resourceAt(i).Attributes()
				}
				return readKeyValue(kv, func(key string) pcommon.Value {
					if resourceAt == nil {
						return pcommon.Value{}
					}
					return dst.PutEmpty(key)
				})
			})
		})
	})
	return entries, err
}

// eachField calls f with every length-delimited field of a message; other wire types are
// skipped, malformed input is an error.
func eachField(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedAnswer
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errMalformedAnswer
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errMalformedAnswer
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}

// readKeyValue decodes a KeyValue into the value `put` returns for its key (a zero Value only
// checks).
func readKeyValue(kv []byte, put func(string) pcommon.Value) error {
	var key, value []byte
	hasKey := false
	if err := eachField(kv, func(num protowire.Number, b []byte) error {
		switch num {
		case kvKey:
			key, hasKey = b, true
		case kvValue:
			value = b
		}
		return nil
	}); err != nil || !hasKey {
		return errMalformedAnswer
	}
	return readAnyValue(value, put(string(key)))
}

// readAnyValue decodes an AnyValue into dst; with a zero dst it only checks the encoding.
func readAnyValue(b []byte, dst pcommon.Value) error {
	check := dst == pcommon.Value{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedAnswer
		}
		b = b[n:]
		switch {
		case num == anyBool && typ == protowire.VarintType, num == anyInt && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errMalformedAnswer
			}
			b = b[n:]
			if !check && num == anyBool {
				dst.SetBool(protowire.DecodeBool(v))
			} else if !check {
				dst.SetInt(int64(v))
			}
		case num == anyDouble && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return errMalformedAnswer
			}
			b = b[n:]
			if !check {
				dst.SetDouble(math.Float64frombits(v))
			}
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errMalformedAnswer
			}
			b = b[n:]
			if err := readBytesCase(num, v, dst, check); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errMalformedAnswer
			}
			b = b[n:]
		}
	}
	return nil
}

func readBytesCase(num protowire.Number, v []byte, dst pcommon.Value, check bool) error {
	switch num {
	case anyString:
		if !check {
			dst.SetStr(string(v))
		}
	case anyBytes:
		if !check {
			dst.SetEmptyBytes().FromRaw(v)
		}
	case anyArray:
		var s pcommon.Slice
		if !check {
			s = dst.SetEmptySlice()
		}
		return eachField(v, func(num protowire.Number, e []byte) error {
			if num != fieldOne {
				return nil
			}
			if check {
				return readAnyValue(e, pcommon.Value{})
			}
			return readAnyValue(e, s.AppendEmpty())
		})
	case anyKvList:
		var m pcommon.Map
		if !check {
			m = dst.SetEmptyMap()
		}
		return eachField(v, func(num protowire.Number, kv []byte) error {
			if num != fieldOne {
				return nil
			}
			return readKeyValue(kv, func(key string) pcommon.Value {
				if check {
					return pcommon.Value{}
				}
				return m.PutEmpty(key)
			})
		})
	}
	return nil
}
