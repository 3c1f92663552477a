package engine

// Reading the engine's answer (include/WIRE.md) straight from its protobuf bytes: the whole
// answer is checked first, and only a well-formed answer with one entry per resource is
// applied, so a bad answer changes nothing.

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrResultCount: the answer has a different number of results than the request has resources.
var ErrResultCount = errors.New("engine returned a different number of results than resources")

// ErrMalformedAnswer: the answer does not read as the engine writes answers.
var ErrMalformedAnswer = errors.New("malformed answer from the engine")

// ApplyAnswer upserts an answer of the plain contract (no held answers) onto the batch's
// resources and, when types is not nil, counts each resource under its entity type
// (resourceType). The whole answer is checked before anything is applied: a bad answer changes
// nothing.
func ApplyAnswer(answer []byte, n int, resourceAt func(int) pcommon.Resource, keys *KeyInterner, typeKey string, types *TypeCounts) error {
	a := &Answers{keys: keys, typeKey: typeKey} // holds nothing: no table
	var b Batch
	b.keys, b.named, b.got = make([]Key, n), make([]*HeldAnswer, n), make([]*HeldAnswer, n)
	if err := a.read(answer, &b, n, func(i int) int { return i }); err != nil {
		return err
	}
	b.Apply(resourceAt, typeKey, types)
	return nil
}

// resourceType is a resource's entity type: the one its answer gives (typ, when found), else
// its own type attribute, else "none".
func resourceType(typ string, found bool, res pcommon.Resource, typeKey string) string {
	if found {
		return typ
	}
	if v, ok := res.Attributes().Get(typeKey); ok {
		return v.Str()
	}
	return "none"
}

// forEachEntry checks the whole answer, that it has one entry per resource (n), and then calls
// each with every entry's index and bytes, until one fails.
func forEachEntry(answer []byte, n int, each func(i int, entry []byte) error) error {
	count, err := checkAnswer(answer)
	if err != nil {
		return err
	}
	if count != n {
		return fmt.Errorf("%w: %d results for %d resources", ErrResultCount, count, n)
	}
	for i := 0; len(answer) > 0; {
		num, entry, rest := nextBytesField(answer)
		answer = rest
		if num != fieldDataEntries {
			continue
		}
		if err := each(i, entry); err != nil {
			return err
		}
		i++
	}
	return nil
}

// addEntityRef adds the checked encoded EntityRef ref to dst, unless dst declares its type.
func addEntityRef(ref []byte, dst pcommon.Resource) {
	refs := entity.ResourceEntityRefs(dst)
	var typ string
	var idKeys, descriptionKeys []string
	for len(ref) > 0 {
		num, b, rest := nextBytesField(ref)
		ref = rest
		switch num {
		case fieldEntityRefType:
			typ = string(b)
		case fieldEntityRefIDKeys:
			idKeys = append(idKeys, string(b))
		case fieldEntityRefDescriptionKeys:
			descriptionKeys = append(descriptionKeys, string(b))
		}
	}
	for i := 0; i < refs.Len(); i++ {
		if refs.At(i).Type() == typ {
			return
		}
	}
	r := refs.AppendEmpty()
	r.SetType(typ)
	r.IdKeys().Append(idKeys...)
	r.DescriptionKeys().Append(descriptionKeys...)
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
		if num != fieldDataEntries {
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
		if num == fieldEntryResource {
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
		if num == fieldResourceEntityRefs {
			for b := kv; len(b) > 0; {
				_, _, rest, err := consumeField(b)
				if err != nil {
					return err
				}
				b = rest
			}
			continue
		}
		if num != fieldResourceAttributes {
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
			case fieldKeyValueKey:
				hasKey = true
			case fieldKeyValueValue:
				if err := readAnyValue(v, pcommon.Value{}); err != nil {
					return err
				}
			}
		}
		if !hasKey {
			return ErrMalformedAnswer
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
		return 0, nil, nil, ErrMalformedAnswer
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, nil, nil, ErrMalformedAnswer
	}
	b = b[n:]
	if typ != protowire.BytesType {
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, nil, nil, ErrMalformedAnswer
		}
		return 0, nil, b[n:], nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, nil, nil, ErrMalformedAnswer
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
		case fieldKeyValueKey:
			key = b
		case fieldKeyValueValue:
			value = b
		}
	}
	return key, value
}

// sharedString is b as a string without a copy; b must never change afterwards.
func sharedString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// shortString is the string of an AnyValue that is a string of fewer than 128 bytes, the usual
// answer value.
func shortString(b []byte) ([]byte, bool) {
	if len(b) >= 2 && b[0] == lenTag(fieldAnyString) && int(b[1])+2 == len(b) {
		return b[2:], true
	}
	return nil, false
}

// readAnyValue decodes an AnyValue into dst; with a zero dst it only checks the encoding.
func readAnyValue(b []byte, dst pcommon.Value) error {
	check := dst == pcommon.Value{}
	if s, ok := shortString(b); ok {
		if !check {
			dst.SetStr(sharedString(s))
		}
		return nil
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrMalformedAnswer
		}
		b = b[n:]
		switch {
		case (num == fieldAnyBool || num == fieldAnyInt) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return ErrMalformedAnswer
			}
			b = b[n:]
			if !check && num == fieldAnyBool {
				dst.SetBool(protowire.DecodeBool(v))
			} else if !check {
				dst.SetInt(int64(v))
			}
		case num == fieldAnyDouble && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return ErrMalformedAnswer
			}
			b = b[n:]
			if !check {
				dst.SetDouble(math.Float64frombits(v))
			}
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ErrMalformedAnswer
			}
			b = b[n:]
			if err := readBytesCase(num, v, dst, check); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ErrMalformedAnswer
			}
			b = b[n:]
		}
	}
	return nil
}

func readBytesCase(num protowire.Number, v []byte, dst pcommon.Value, check bool) error {
	switch num {
	case fieldAnyString:
		if !check {
			dst.SetStr(sharedString(v))
		}
	case fieldAnyBytes:
		if !check {
			dst.SetEmptyBytes().FromRaw(v)
		}
	case fieldAnyArray:
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
			if num != fieldListValues {
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
	case fieldAnyKvList:
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
			if num != fieldListValues {
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
