package engine

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func leaseBytes(fields ...[2]uint64) []byte {
	var b []byte
	for _, f := range fields {
		b = protowire.AppendTag(b, protowire.Number(f[0]), protowire.VarintType)
		b = protowire.AppendVarint(b, f[1])
	}
	return b
}

func TestALeaseIsReadAndCheckedAgainstTheEnginesMemory(t *testing.T) {
	l, until, err := readLease(leaseBytes(
		[2]uint64{uint64(fieldLeaseCell), 3}, [2]uint64{uint64(fieldLeaseStamp), 42},
		[2]uint64{uint64(fieldLeaseLinkEpoch), 7}, [2]uint64{uint64(fieldLeaseUntil), 1000},
		[2]uint64{uint64(fieldLeaseFilled), 2}, [2]uint64{uint64(fieldLeaseMerged), 1},
	))
	if err != nil {
		t.Fatal(err)
	}
	want := lease{cell: 3, stamp: 42, linkEpoch: 7, hasEpoch: true, filled: 2, merged: true}
	if l != want || until != 1000 {
		t.Fatalf("read %+v until %d, want %+v until 1000", l, until, want)
	}
	epoch := uint64(7)
	v := heldView{cells: []uint64{1, 1, 1, 42}, linkEpoch: &epoch}
	if !v.holds(&l) {
		t.Fatal("a lease whose cell and epoch are unchanged holds")
	}
	v.cells[3] = 43
	if v.holds(&l) {
		t.Fatal("a changed cell ends the lease")
	}
	v.cells[3], epoch = 42, 8
	if v.holds(&l) {
		t.Fatal("a changed link epoch ends the lease")
	}
	l.cell = 4
	if v.holds(&l) {
		t.Fatal("a cell past the engine's cells holds nothing")
	}
	none, _, err := readLease(leaseBytes([2]uint64{uint64(fieldLeaseUntil), 5}))
	if err != nil || none.cell != -1 || none.hasEpoch || !v.holds(&none) {
		t.Fatalf("a lease of an answer that read no pool and no link holds on its time alone: %+v %v", none, err)
	}
}

func TestAMalformedLeaseIsRejected(t *testing.T) {
	for _, b := range [][]byte{
		{byte(fieldLeaseUntil<<3 | 2), 1, 0},                          // not a varint
		{byte(fieldLeaseUntil << 3), 0x80},                            // a truncated varint
		leaseBytes([2]uint64{uint64(fieldLeaseCell), math.MaxUint64}), // no int holds it
	} {
		if _, _, err := readLease(b); !errors.Is(err, ErrMalformedAnswer) {
			t.Errorf("%x: %v", b, err)
		}
	}
}
