//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"
)

// logsWithAttributes decodes OTLP logs whose one resource carries attrs in order, repeated keys
// included (pdata's API cannot make them; a client's request can).
func logsWithAttributes(t *testing.T, attrs [][2]string) plog.Logs {
	var res []byte
	for _, kv := range attrs {
		value := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), kv[1]) // AnyValue.string_value
		pair := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), kv[0])  // KeyValue.key
		pair = protowire.AppendBytes(protowire.AppendTag(pair, 2, protowire.BytesType), value)   // KeyValue.value
		res = protowire.AppendBytes(protowire.AppendTag(res, 1, protowire.BytesType), pair)      // Resource.attributes
	}
	rl := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), res)
	ld := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), rl)
	logs, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(ld)
	require.NoError(t, err)
	require.Equal(t, len(attrs), logs.ResourceLogs().At(0).Resource().Attributes().Len())
	return logs
}

// A resource sent with two `resource.id` (or type) keys leaves with one, the processor's, whether
// the spoof came first or second (issue 27 item 6).
func TestRepeatedOutputKeysLeaveOnce(t *testing.T) {
	p, _, done := newLogsProcessor(t, "Repeats", nil)
	defer done()
	want, err := p.processLogs(context.Background(), logsWithAttributes(t, [][2]string{{"k8s.pod.uid", "u-1"}}))
	require.NoError(t, err)
	id, _ := want.ResourceLogs().At(0).Resource().Attributes().Get("resource.id")

	for name, attrs := range map[string][][2]string{
		"two spoofs":          {{"resource.id", "spoof1"}, {"k8s.pod.uid", "u-1"}, {"resource.id", "spoof2"}},
		"right, then a spoof": {{"resource.id", id.Str()}, {"k8s.pod.uid", "u-1"}, {"resource.id", "spoof2"}, {"resource.type", "x"}, {"resource.type", "k8s.pod"}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := p.processLogs(context.Background(), logsWithAttributes(t, attrs))
			require.NoError(t, err)
			counts := map[string][]string{}
			for k, v := range out.ResourceLogs().At(0).Resource().Attributes().All() {
				counts[k] = append(counts[k], v.Str())
			}
			assert.Equal(t, []string{id.Str()}, counts["resource.id"])
			assert.Equal(t, []string{"k8s.pod"}, counts["resource.type"])
			assert.Equal(t, []string{"u-1"}, counts["k8s.pod.uid"])
		})
	}
}
