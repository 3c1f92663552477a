package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// heldStatusEntry is an answer entry with status held and a lease up at until.
func heldStatusEntry(until uint64) []byte {
	lease := protowire.AppendTag(nil, fieldLeaseUntil, protowire.VarintType)
	lease = protowire.AppendVarint(lease, until)
	entry := protowire.AppendTag(nil, fieldEntryStatus, protowire.VarintType)
	entry = protowire.AppendVarint(entry, statusHeld)
	entry = protowire.AppendTag(entry, fieldEntryLease, protowire.BytesType)
	return protowire.AppendBytes(entry, lease)
}

// An answer rejected as a whole renews no lease: the held status of its first entry, which would
// have moved its answer's lease to a later second, is read but not kept once the second entry
// breaks the contract. The same answer without the breach renews it.
func TestRejectedAnswerRenewsNoLease(t *testing.T) {
	for _, second := range []struct {
		entry   []byte
		renewed bool
	}{
		{[]byte{0x78, 0x07}, false}, // status 7: unknown
		{heldStatusEntry(500), true},
	} {
		a := NewAnswers(64, "resource.type", nil)
		var b Batch
		b.reset(a, "", 2)
		for i := range 2 {
			h := &HeldAnswer{key: Key{uint64(i), 1}, version: 1, lease: lease{cell: -1}}
			h.until.Store(100)
			b.named[i] = h
		}
		b.sent = []int{0, 1}
		answer := protowire.AppendTag(nil, fieldDataEntries, protowire.BytesType)
		answer = protowire.AppendBytes(answer, heldStatusEntry(500))
		answer = protowire.AppendTag(answer, fieldDataEntries, protowire.BytesType)
		answer = protowire.AppendBytes(answer, second.entry)
		err := a.ReadAnswer(answer, &b)
		if second.renewed {
			require.NoError(t, err)
			assert.Equal(t, int64(500), b.named[0].until.Load())
		} else {
			require.ErrorIs(t, err, ErrMalformedAnswer)
			assert.Equal(t, int64(100), b.named[0].until.Load(), "the rejected answer renewed a lease")
		}
	}
}
