package engine

import (
	"testing"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The pdata this module builds against is laid out as shared_values.go expects: when it stops
// being so, this fails (and answers are applied through the public API, slower, until the
// mirror types follow).
func TestPdataLayoutIsTheOneMirrored(t *testing.T) {
	if !pdataLayoutMatches() {
		t.Fatal("pcommon.Map or pdata's KeyValue changed layout: update keyValue and mapWrapper")
	}
	if !canShareValues() {
		t.Fatal("values are not shared although the layout matches and pdata does not pool")
	}
}

// Applying by sharing values gives what the public API gives, for every way a resource can
// meet an answer: room or none, a key present or absent, and a map changed afterwards.
func TestSharedValuesApplyAsThePublicAPIDoes(t *testing.T) {
	answer := []byte{}
	for _, kv := range [][2]string{{"resource.id", "abc"}, {"resource.type", "k8s.pod"}, {"service.name", "api"}} {
		answer = appendKeyValue(answer, fieldResourceAttributes, kv[0], pcommon.NewValueStr(kv[1]))
	}
	keys := NewKeyInterner()
	shared := newHeldAnswer(answer, Key{}, 1, keys, "resource.type", true)
	plain := newHeldAnswer(answer, Key{}, 1, keys, "resource.type", false)
	if shared.ready == nil || plain.ready != nil {
		t.Fatal("ready values are made only to be shared")
	}
	for _, start := range []map[string]any{
		{},
		{"k8s.pod.uid": "u"},
		{"service.name": "mine", "k8s.pod.uid": "u"},
		{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8"},
	} {
		for _, capacity := range []int{0, len(start) + 3} {
			resources := make([]pcommon.Resource, 3)
			for i := range resources {
				resources[i] = pcommon.NewResource()
				resources[i].Attributes().EnsureCapacity(capacity)
				_ = resources[i].Attributes().FromRaw(start)
			}
			at := func(i int) pcommon.Resource { return resources[i] }
			b := Batch{got: []*HeldAnswer{shared, shared, shared}, share: true}
			b.applyShared(at)
			want := pcommon.NewResource()
			_ = want.Attributes().FromRaw(start)
			plain.apply(want)
			for i := range resources {
				if got := resources[i].Attributes().AsRaw(); !equalRaw(got, want.Attributes().AsRaw()) {
					t.Fatalf("start %v capacity %d: got %v, want %v", start, capacity, got, want.Attributes().AsRaw())
				}
			}
			// A change to one resource's shared value is its own.
			resources[0].Attributes().PutStr("resource.id", "changed")
			if v, _ := resources[1].Attributes().Get("resource.id"); v.Str() != "abc" {
				t.Fatalf("a change to one resource reached another: %q", v.Str())
			}
			if v, _ := resources[2].Attributes().Get("resource.id"); v.Str() != "abc" {
				t.Fatal("the held answer changed")
			}
		}
	}
}

func equalRaw(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// With pdata recycling its objects, a shared value could be handed to another map: not shared.
func TestValuesAreNotSharedWhenPdataPools(t *testing.T) {
	reg := featuregate.GlobalRegistry()
	if err := reg.Set("pdata.useProtoPooling", true); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Set("pdata.useProtoPooling", false) }()
	if canShareValues() {
		t.Fatal("values shared while pdata pools")
	}
}
