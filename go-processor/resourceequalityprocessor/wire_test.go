package resourceequalityprocessor

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// richResource has every value type, nesting and entity references.
func richResource(r pcommon.Resource) {
	a := r.Attributes()
	a.PutStr("k8s.pod.uid", "u-1")
	a.PutStr("empty", "")
	a.PutBool("flag", true)
	a.PutInt("pid", -42)
	a.PutDouble("ratio", math.Pi)
	a.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2, 255})
	s := a.PutEmptySlice("groups")
	s.AppendEmpty().SetStr("/aws/lambda/f")
	s.AppendEmpty().SetInt(7)
	s.AppendEmpty().SetEmptySlice().AppendEmpty().SetBool(false)
	m := a.PutEmptyMap("labels")
	m.PutStr("team", "core")
	m.PutEmptyMap("nested").PutDouble("x", 1.5)
	a.PutEmpty("nothing")
	ref := entity.ResourceEntityRefs(r).AppendEmpty()
	ref.SetType("k8s.pod")
	ref.SetSchemaUrl("https://opentelemetry.io/schemas/1.30.0")
	ref.IdKeys().Append("k8s.pod.uid")
	ref.DescriptionKeys().Append("k8s.pod.name", "k8s.namespace.name")
}

// The hand-written request decodes, with pdata's own unmarshaller, to the same resources.
func TestRequestEncodingMatchesPdata(t *testing.T) {
	ld := plog.NewLogs()
	richResource(ld.ResourceLogs().AppendEmpty().Resource())
	ld.ResourceLogs().AppendEmpty() // an empty resource
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("k", "v")
	rl := ld.ResourceLogs()
	encoded := engine.AppendRequest(nil, rl.Len(), func(i int) pcommon.Resource { return rl.At(i).Resource() }, nil)
	decoded, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(encoded)
	require.NoError(t, err)
	require.Equal(t, rl.Len(), decoded.ResourceLogs().Len())
	for i := range rl.Len() {
		want, got := rl.At(i).Resource(), decoded.ResourceLogs().At(i).Resource()
		assert.Equal(t, want.Attributes().AsRaw(), got.Attributes().AsRaw())
		wantRefs, gotRefs := entity.ResourceEntityRefs(want), entity.ResourceEntityRefs(got)
		require.Equal(t, wantRefs.Len(), gotRefs.Len())
		for j := range wantRefs.Len() {
			assert.Equal(t, wantRefs.At(j).Type(), gotRefs.At(j).Type())
			assert.Equal(t, wantRefs.At(j).SchemaUrl(), gotRefs.At(j).SchemaUrl())
			assert.Equal(t, wantRefs.At(j).IdKeys().AsRaw(), gotRefs.At(j).IdKeys().AsRaw())
			assert.Equal(t, wantRefs.At(j).DescriptionKeys().AsRaw(), gotRefs.At(j).DescriptionKeys().AsRaw())
		}
	}
}

// An answer written by pdata's marshaller is applied exactly as upserting its attributes.
func TestApplyAnswerUpserts(t *testing.T) {
	answer := plog.NewLogs()
	richResource(answer.ResourceLogs().AppendEmpty().Resource())
	answer.ResourceLogs().AppendEmpty()
	bytes, err := (&plog.ProtoMarshaler{}).MarshalLogs(answer)
	require.NoError(t, err)

	target := plog.NewLogs()
	target.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("pid", "own")
	target.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("keep", "me")
	rl := target.ResourceLogs()
	require.NoError(t, engine.ApplyAnswer(bytes, 2, func(i int) pcommon.Resource { return rl.At(i).Resource() }, engine.NewKeyInterner(), "", nil))
	assert.Equal(t, answer.ResourceLogs().At(0).Resource().Attributes().AsRaw(), rl.At(0).Resource().Attributes().AsRaw(),
		"upsert replaces pid and adds every other attribute")
	assert.Equal(t, map[string]any{"keep": "me"}, rl.At(1).Resource().Attributes().AsRaw())
}

// A malformed answer or one of the wrong length changes nothing.
func TestBadAnswerAppliesNothing(t *testing.T) {
	answer := plog.NewLogs()
	answer.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("a", "1")
	good, err := (&plog.ProtoMarshaler{}).MarshalLogs(answer)
	require.NoError(t, err)
	for cut := 1; cut < len(good); cut++ {
		target := plog.NewLogs()
		target.ResourceLogs().AppendEmpty()
		rl := target.ResourceLogs()
		if engine.ApplyAnswer(good[:cut], 1, func(i int) pcommon.Resource { return rl.At(i).Resource() }, engine.NewKeyInterner(), "", nil) == nil {
			continue // a prefix can be a well-formed, shorter answer
		}
		assert.Equal(t, 0, rl.At(0).Resource().Attributes().Len(), "cut at %d", cut)
	}
	target := plog.NewLogs()
	target.ResourceLogs().AppendEmpty()
	target.ResourceLogs().AppendEmpty()
	rl := target.ResourceLogs()
	require.ErrorIs(t, engine.ApplyAnswer(good, 2, func(i int) pcommon.Resource { return rl.At(i).Resource() }, engine.NewKeyInterner(), "", nil), engine.ErrResultCount)
	assert.Equal(t, 0, rl.At(0).Resource().Attributes().Len())
}

func FuzzApplyAnswer(f *testing.F) {
	answer := plog.NewLogs()
	richResource(answer.ResourceLogs().AppendEmpty().Resource())
	seed, _ := (&plog.ProtoMarshaler{}).MarshalLogs(answer)
	f.Add(seed, 1)
	f.Add([]byte{0x0a, 0x00}, 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		target := plog.NewLogs()
		for range n {
			target.ResourceLogs().AppendEmpty()
		}
		rl := target.ResourceLogs()
		if err := engine.ApplyAnswer(b, n, func(i int) pcommon.Resource { return rl.At(i).Resource() }, engine.NewKeyInterner(), "", nil); err != nil {
			for i := range n {
				require.Equal(t, 0, rl.At(i).Resource().Attributes().Len(), "a rejected answer applies nothing")
			}
		}
	})
}

// A value of 30,000 nested maps (a 446 KB request in the probe of issue 27) is encoded in time
// linear in its size: computing each level's size again at every level took 39.5 s of CPU. The
// request still decodes to the same value.
func TestDeeplyNestedValueEncodesLinearly(t *testing.T) {
	ld := plog.NewLogs()
	attrs := ld.ResourceLogs().AppendEmpty().Resource().Attributes()
	attrs.PutStr("k8s.pod.uid", "nested")
	v := attrs.PutEmptyMap("deep")
	for range 30000 {
		v = v.PutEmptyMap("n")
	}
	v.PutStr("leaf", "x")
	rl := ld.ResourceLogs()
	start := time.Now()
	request := engine.AppendRequest(nil, 1, func(i int) pcommon.Resource { return rl.At(i).Resource() }, nil)
	require.Less(t, time.Since(start), 5*time.Second, "linear, not quadratic")

	decoded, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(request)
	require.NoError(t, err)
	got, ok := decoded.ResourceLogs().At(0).Resource().Attributes().Get("deep")
	require.True(t, ok)
	depth := 0
	for got.Type() == pcommon.ValueTypeMap {
		next, ok := got.Map().Get("n")
		if !ok {
			break
		}
		depth++
		got = next
	}
	require.Equal(t, 30000, depth)
	leaf, _ := got.Map().Get("leaf")
	require.Equal(t, "x", leaf.Str())
}
