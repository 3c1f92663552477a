//go:build cgo

package resourceequalityprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

// With entity_refs on, each resource declares the entity it was matched as, pointing at its
// identifying and descriptive attributes (as they are after marking); once, however often it
// passes; never over a declaration of the same type the source made itself.
func TestEntityRefsDeclareTheMatchedEntity(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Engine = map[string]any{"entity_refs": true}
	sp := newSignalProcessors(t, "entity_refs", cfg)
	sp.sendAttrs(t, 1, []map[string]any{{"k8s.pod.uid": "u-1", "k8s.node.name": "node-3", "telemetry.sdk.name": "x"}})

	ld := podLogs("u-1", 1)
	require.NoError(t, sp.logs.ConsumeLogs(t.Context(), ld))
	res := sp.lsink.AllLogs()[len(sp.lsink.AllLogs())-1].ResourceLogs().At(0).Resource()
	refs := entity.ResourceEntityRefs(res)
	require.Equal(t, 1, refs.Len())
	ref := refs.At(0)
	require.Equal(t, "k8s.pod", ref.Type())
	require.Equal(t, []string{"k8s.pod.uid"}, ref.IdKeys().AsRaw())
	require.Equal(t, []string{"k8s.node.name"}, ref.DescriptionKeys().AsRaw(), "the filled node; not the SDK's out-of-scope key")
	for _, k := range append(ref.IdKeys().AsRaw(), ref.DescriptionKeys().AsRaw()...) {
		_, ok := res.Attributes().Get(k)
		require.True(t, ok, "%s points into the resource's attributes", k)
	}

	again := podLogs("u-1", 1)
	res.CopyTo(again.ResourceLogs().At(0).Resource())
	require.NoError(t, sp.logs.ConsumeLogs(t.Context(), again))
	out := sp.lsink.AllLogs()[len(sp.lsink.AllLogs())-1].ResourceLogs().At(0).Resource()
	require.Equal(t, 1, entity.ResourceEntityRefs(out).Len(), "declared once")

	declared := podLogs("u-1", 1)
	r := entity.ResourceEntityRefs(declared.ResourceLogs().At(0).Resource()).AppendEmpty()
	r.SetType("k8s.pod")
	r.IdKeys().Append("k8s.pod.uid")
	require.NoError(t, sp.logs.ConsumeLogs(t.Context(), declared))
	kept := entity.ResourceEntityRefs(sp.lsink.AllLogs()[len(sp.lsink.AllLogs())-1].ResourceLogs().At(0).Resource())
	require.Equal(t, 1, kept.Len())
	require.Equal(t, 0, kept.At(0).DescriptionKeys().Len(), "the source's own declaration is left as it is")
}
