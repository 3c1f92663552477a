//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// recordCalls wraps the processor's engine calls and records each request's size.
func recordCalls(p *resourceEqualityProcessor) *[]int {
	var sizes []int
	process := p.process
	p.process = func(partition string, in, scratch []byte) ([]byte, error) {
		sizes = append(sizes, len(in))
		return process(partition, in, scratch)
	}
	return &sizes
}

// orderedLogs is one log record per resource, each resource's attributes in the order of their
// keys: a source sends its resource the same way every time (FromRaw's order is a map's).
func orderedLogs(resources ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	for _, attrs := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		for _, k := range slices.Sorted(maps.Keys(attrs)) {
			rl.Resource().Attributes().PutStr(k, attrs[k].(string))
		}
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("r")
	}
	return ld
}

func sendHeld(ctx context.Context, t *testing.T, p *resourceEqualityProcessor, attrs ...map[string]any) []map[string]any {
	out, err := p.processLogs(ctx, orderedLogs(attrs...))
	require.NoError(t, err)
	var got []map[string]any
	for _, rl := range out.ResourceLogs().All() {
		got = append(got, rl.Resource().Attributes().AsRaw())
	}
	return got
}

// A resource seen again is applied from the answer held, under its lease, without an engine call,
// and comes out exactly as the first time; once the lease's time is up it is sent as its key and
// the version of the answer held (a few bytes), and the engine renews the lease. The engine counts
// the hits either way.
func TestHeldAnswersAreLeasedThenNamedNotResent(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_named", nil)
	defer done()
	sizes := recordCalls(p)
	pods := []map[string]any{
		{"k8s.pod.uid": "u-1", "k8s.pod.name": "api-0", "k8s.namespace.name": "prod", "service.name": "api"},
		{"k8s.pod.uid": "u-2", "k8s.pod.name": "web-0", "k8s.namespace.name": "prod", "service.name": "web"},
	}
	first := sendHeld(context.Background(), t, p, pods...)
	assert.Equal(t, first, sendHeld(context.Background(), t, p, pods...))
	require.Len(t, *sizes, 1, "the second batch is answered under the leases")
	assert.Greater(t, (*sizes)[0], 200)

	later := time.Now().Unix() + 3600
	p.clock = func() int64 { return later }
	assert.Equal(t, first, sendHeld(context.Background(), t, p, pods...))
	require.Len(t, *sizes, 2, "past the leases: one call that names the answers")
	assert.LessOrEqual(t, (*sizes)[1], 2*(2+18+1+2), "the request names the answers: %v", *sizes)

	st, err := p.shared.Unwrap().engine.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(6), st.ResourcesProcessed)
	assert.Equal(t, int64(4), st.CacheHits, "the hits under leases count as the engine's")
}

// When what an answer was computed from changes, its lease no longer holds and the engine does
// not confirm it: the processor sends the bytes again and applies the new answer, never the old
// one.
func TestHeldAnswerOutgrownIsReplaced(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_outgrown", nil)
	defer done()
	sizes := recordCalls(p)
	ctx := context.Background()
	sparse := map[string]any{"k8s.pod.uid": "u-1"}
	assert.NotContains(t, sendHeld(ctx, t, p, sparse)[0], "service.name")
	sendHeld(ctx, t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"})
	*sizes = nil
	assert.Equal(t, "api", sendHeld(ctx, t, p, sparse)[0]["service.name"])
	assert.Len(t, *sizes, 2, "named, asked for, resent")
	// The fill becomes ambiguous: it must go.
	sendHeld(ctx, t, p, map[string]any{"k8s.pod.uid": "u-1", "service.name": "envoy"})
	assert.NotContains(t, sendHeld(ctx, t, p, sparse)[0], "service.name")
}

// The key covers the partition: a resource held in one tenant's partition is sent whole in
// another's.
func TestHeldAnswersStayInTheirPartition(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_partitions", nil)
	defer done()
	p.partition = partitionConfig{Metadata: "x-scope-orgid"}
	sizes := recordCalls(p)
	tenant := func(org string) context.Context {
		return client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-scope-orgid": {org}})})
	}
	pod := map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"}
	a := sendHeld(tenant("a"), t, p, pod)
	sendHeld(tenant("b"), t, p, pod)
	assert.Equal(t, a, sendHeld(tenant("a"), t, p, pod))
	require.Len(t, *sizes, 2, "tenant a's second batch is answered under its lease")
	assert.Equal(t, (*sizes)[0], (*sizes)[1], "tenant b's first batch is sent whole")
}

// A tenant named by a resource's bytes, sending a resource whose bytes are the first tenant's name
// (here: the default partition's, empty), gets nothing of the first resource's answer. Were the
// bytes and the partition hashed under the same seeds, the two keys would be equal and the answer
// applied under its lease, without the engine seeing the batch.
func TestHeldAnswersKeyBytesAndPartitionApart(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_swap", nil)
	defer done()
	p.partition = partitionConfig{Metadata: "x-scope-orgid"}
	pod := map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"}
	ld := orderedLogs(pod)
	rl := ld.ResourceLogs()
	request := engine.AppendRequest(nil, 1, func(int) pcommon.Resource { return rl.At(0).Resource() }, nil)
	podBytes := string(request[2*(1+5):]) // past the entry's and the resource's tags and padded lengths

	held := sendHeld(context.Background(), t, p, pod)[0]
	require.Equal(t, "k8s.pod", held["resource.type"])
	named := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-scope-orgid": {podBytes}})})
	empty := sendHeld(named, t, p, map[string]any{})[0]
	assert.NotEqual(t, held["resource.id"], empty["resource.id"])
	assert.NotEqual(t, "k8s.pod", empty["resource.type"])
}

// An answer rejected as a whole leaves nothing behind: its valid first entry is neither held nor
// leased, so the next batch asks the engine again.
func TestRejectedAnswerLeavesNothingHeld(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_rejected", nil)
	defer done()
	real := p.process
	calls := 0
	p.process = func(partition string, in, scratch []byte) ([]byte, error) {
		calls++
		answer, err := real(partition, in, scratch)
		if calls > 1 || err != nil {
			return answer, err
		}
		_, _, first := protowire.ConsumeField(answer)
		return append(answer[:first:first], 0x0a, 0x02, 0x78, 0x07), nil // entry 2: status 7, unknown
	}
	a := map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"}
	b := map[string]any{"k8s.pod.uid": "u-2", "service.name": "web"}
	assert.Equal(t, []map[string]any{a, b}, sendHeld(context.Background(), t, p, a, b))
	assert.Contains(t, sendHeld(context.Background(), t, p, a)[0], "resource.id")
	assert.Equal(t, 2, calls, "the second batch asked the engine")
}

// A batch that passes unchanged counts no hit it took under a lease: those answers are not the
// engine's hits when the rest of its exchange failed.
func TestFailedBatchCountsNoLeasedHits(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_failed_count", nil)
	defer done()
	a := map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"}
	sendHeld(context.Background(), t, p, a)
	before, err := p.shared.Unwrap().engine.Stats()
	require.NoError(t, err)
	p.process = func(string, []byte, []byte) ([]byte, error) { return nil, errors.New("injected") }
	c := map[string]any{"k8s.pod.uid": "u-3", "service.name": "db"}
	assert.Equal(t, []map[string]any{a, c}, sendHeld(context.Background(), t, p, a, c), "fail open")
	after, err := p.shared.Unwrap().engine.Stats()
	require.NoError(t, err)
	assert.Equal(t, before.ResourcesProcessed, after.ResourcesProcessed)
	assert.Equal(t, before.CacheHits, after.CacheHits)
}

// Statuses answer only entries sent without their resource; an answer that breaks the contract
// changes nothing, in either call.
func TestHeldAnswerContractBreachesChangeNothing(t *testing.T) {
	p, _, done := newLogsProcessor(t, "held_breach", nil)
	defer done()
	pod := map[string]any{"k8s.pod.uid": "u-1", "service.name": "api"}
	// status held (field 15 = 1) for a resource sent whole
	p.process = func(string, []byte, []byte) ([]byte, error) { return []byte{0x0a, 0x02, 0x78, 0x01}, nil }
	assert.Equal(t, []map[string]any{pod}, sendHeld(context.Background(), t, p, pod))

	p2, _, done2 := newLogsProcessor(t, "held_breach_resend", nil)
	defer done2()
	sendHeld(context.Background(), t, p2, pod) // now held
	later := time.Now().Unix() + 3600
	p2.clock = func() int64 { return later } // past the lease: the answer is named
	real := p2.process
	calls := 0
	p2.process = func(partition string, in, scratch []byte) ([]byte, error) {
		calls++
		if calls == 1 {
			return []byte{0x0a, 0x02, 0x78, 0x02}, nil // resend
		}
		if calls == 2 {
			return []byte{0x0a, 0x02, 0x78, 0x02}, nil // resend again, for bytes it was just sent
		}
		return real(partition, in, scratch)
	}
	assert.Equal(t, []map[string]any{pod}, sendHeld(context.Background(), t, p2, pod))
	assert.Equal(t, 2, calls)
}
