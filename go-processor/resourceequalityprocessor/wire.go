package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

// The two OTLP messages that cross to the engine, written and read directly with protowire:
// copying the batch's resources into a fresh plog.Logs only to marshal it, and unmarshalling
// the answer into pdata only to copy it again, cost allocations per attribute on the hot path.
//
// include/WIRE.md specifies both; tests/wire/ holds golden bytes that wire_golden_test.go checks.

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

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

// appendRequest appends the request entry of every resource of a batch, in one pass over the
// attributes: the entry's and the resource's lengths are written as fixed five-byte varints and
// filled in afterwards (non-minimal varints are valid protobuf; both ends decode them).
func appendRequest(b []byte, n int, resourceAt func(int) pcommon.Resource) []byte {
	for i := range n {
		res := resourceAt(i)
		b = protowire.AppendTag(b, fieldOne, protowire.BytesType)
		entryLen := len(b)
		b = append(b, paddedZero[:]...)
		b = protowire.AppendTag(b, fieldOne, protowire.BytesType)
		resLen := len(b)
		b = append(b, paddedZero[:]...)
		for k, v := range res.Attributes().All() {
			b = appendKeyValue(b, resAttrs, k, v)
		}
		refs := entity.ResourceEntityRefs(res)
		for j := range refs.Len() {
			b = appendEntityRef(b, refs.At(j))
		}
		putPadded(b[resLen:], len(b)-resLen-len(paddedZero))
		putPadded(b[entryLen:], len(b)-entryLen-len(paddedZero))
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
	if v.Type() == pcommon.ValueTypeStr {
		s := v.Str()
		if kv := 2 + len(k) + 4 + len(s); kv < 0x80 && num < 16 {
			// The common attribute: every length fits one byte, so the bytes are written as is.
			b = append(b, lenTag(num), byte(kv), lenTag(kvKey), byte(len(k)))
			b = append(b, k...)
			b = append(b, lenTag(kvValue), byte(2+len(s)), lenTag(anyString), byte(len(s)))
			return append(b, s...)
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		any := 1 + protowire.SizeVarint(uint64(len(s))) + len(s)
		kv := 1 + protowire.SizeVarint(uint64(len(k))) + len(k) + 1 + protowire.SizeVarint(uint64(any)) + any
		b = protowire.AppendVarint(b, uint64(kv))
		b = protowire.AppendTag(b, kvKey, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, kvValue, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(any))
		b = protowire.AppendTag(b, anyString, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(keyValueSize(k, v)))
	b = protowire.AppendTag(b, kvKey, protowire.BytesType)
	b = protowire.AppendString(b, k)
	b = protowire.AppendTag(b, kvValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(anyValueSize(v)))
	return appendAnyValue(b, v)
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
		b = appendKeyValue(b, num, k, v)
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
// checked before anything is applied: a bad answer changes nothing. The upserted strings and
// bytes share the answer's memory (one allocation per batch rather than one per value), so the
// caller must never modify the answer afterwards.
func applyAnswer(answer []byte, n int, resourceAt func(int) pcommon.Resource, keys *keyInterner) error {
	count, err := checkAnswer(answer)
	if err != nil {
		return err
	}
	if count != n {
		return fmt.Errorf("%w: %d results for %d resources", errResultCount, count, n)
	}
	for i := 0; len(answer) > 0; {
		num, entry, rest := nextBytesField(answer)
		answer = rest
		if num != fieldOne {
			continue
		}
		res := entryResource(entry)
		if len(res) > 0 {
			applyResource(res, resourceAt(i).Attributes(), keys)
		}
		i++
	}
	return nil
}

// applyResource upserts one checked answer resource's attributes onto dst.
func applyResource(res []byte, dst pcommon.Map, keys *keyInterner) {
	dst.EnsureCapacity(dst.Len() + countFields(res))
	for len(res) > 0 {
		num, kv, rest := nextBytesField(res)
		res = rest
		if num != resAttrs {
			continue
		}
		key, value := splitKeyValue(kv)
		_ = readAnyValue(value, dst.PutEmpty(keys.intern(key))) // checked by checkAnswer
	}
}

// checkAnswer checks the whole answer and returns its number of entries.
func checkAnswer(answer []byte) (int, error) {
	count := 0
	for len(answer) > 0 {
		num, entry, rest, err := consumeField(answer)
		if err != nil {
			return 0, err
		}
		answer = rest
		if num != fieldOne {
			continue
		}
		for b := entry; len(b) > 0; {
			_, _, rest, err := consumeField(b)
			if err != nil {
				return 0, err
			}
			b = rest
		}
		if err := checkResource(entryResource(entry)); err != nil {
			return 0, err
		}
		count++
	}
	return count, nil
}

// entryResource is the resource of a checked answer entry (its last field 1, as protobuf
// merges repeated singular fields).
func entryResource(entry []byte) []byte {
	var res []byte
	for len(entry) > 0 {
		num, b, rest := nextBytesField(entry)
		entry = rest
		if num == fieldOne {
			res = b
		}
	}
	return res
}

func checkResource(res []byte) error {
	for len(res) > 0 {
		num, kv, rest, err := consumeField(res)
		if err != nil {
			return err
		}
		res = rest
		if num != resAttrs {
			continue
		}
		hasKey := false
		for b := kv; len(b) > 0; {
			num, v, rest, err := consumeField(b)
			if err != nil {
				return err
			}
			b = rest
			switch num {
			case kvKey:
				hasKey = true
			case kvValue:
				if err := readAnyValue(v, pcommon.Value{}); err != nil {
					return err
				}
			}
		}
		if !hasKey {
			return errMalformedAnswer
		}
	}
	return nil
}

// consumeField reads one field; a length-delimited field's payload is returned, other wire
// types are skipped (num 0 payload nil).
func consumeField(b []byte) (protowire.Number, []byte, []byte, error) {
	// Nearly every field of an answer is length-delimited with a one-byte tag and a one-byte
	// length; reading those directly halves the cost of checking and applying an answer.
	if len(b) >= 2 && b[0] < 0x80 && b[1] < 0x80 && b[0]>>3 != 0 && protowire.Type(b[0]&7) == protowire.BytesType {
		if end := 2 + int(b[1]); end <= len(b) {
			return protowire.Number(b[0] >> 3), b[2:end], b[end:], nil
		}
		return 0, nil, nil, errMalformedAnswer
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, nil, nil, errMalformedAnswer
	}
	b = b[n:]
	if typ != protowire.BytesType {
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, nil, nil, errMalformedAnswer
		}
		return 0, nil, b[n:], nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, nil, nil, errMalformedAnswer
	}
	return num, v, b[n:], nil
}

// nextBytesField is consumeField on input already checked.
func nextBytesField(b []byte) (protowire.Number, []byte, []byte) {
	num, v, rest, _ := consumeField(b)
	return num, v, rest
}

func countFields(b []byte) int {
	n := 0
	for len(b) > 0 {
		_, _, b = nextBytesField(b)
		n++
	}
	return n
}

func splitKeyValue(kv []byte) (key, value []byte) {
	for len(kv) > 0 {
		num, b, rest := nextBytesField(kv)
		kv = rest
		switch num {
		case kvKey:
			key = b
		case kvValue:
			value = b
		}
	}
	return key, value
}

// sharedString is b as a string without a copy; b must never change afterwards.
func sharedString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// readAnyValue decodes an AnyValue into dst; with a zero dst it only checks the encoding.
func readAnyValue(b []byte, dst pcommon.Value) error {
	check := dst == pcommon.Value{}
	if len(b) >= 2 && b[0] == lenTag(anyString) && int(b[1])+2 == len(b) {
		// A short string, the usual answer value.
		if !check {
			dst.SetStr(sharedString(b[2:]))
		}
		return nil
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformedAnswer
		}
		b = b[n:]
		switch {
		case (num == anyBool || num == anyInt) && typ == protowire.VarintType:
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
			dst.SetStr(sharedString(v))
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
		for len(v) > 0 {
			num, e, rest, err := consumeField(v)
			if err != nil {
				return err
			}
			v = rest
			if num != fieldOne {
				continue
			}
			elem := pcommon.Value{}
			if !check {
				elem = s.AppendEmpty()
			}
			if err := readAnyValue(e, elem); err != nil {
				return err
			}
		}
	case anyKvList:
		var m pcommon.Map
		if !check {
			m = dst.SetEmptyMap()
		}
		for len(v) > 0 {
			num, kv, rest, err := consumeField(v)
			if err != nil {
				return err
			}
			v = rest
			if num != fieldOne {
				continue
			}
			key, value := splitKeyValue(kv)
			elem := pcommon.Value{}
			if !check {
				elem = m.PutEmpty(sharedString(key))
			}
			if err := readAnyValue(value, elem); err != nil {
				return err
			}
		}
	}
	return nil
}
