package engine

// Leases (include/WIRE.md, "Leases"): with every answer the processor may hold, the engine says
// until when, and while what holds, the processor may apply that answer without asking. What must
// hold is the engine's own rule for its cache hits: the change stamp of the entity whose pool the
// answer read, and the link epoch when the id came through a link, both read here in the engine's
// memory. Past the lease's time the processor names the answer to the engine as before, which
// touches the entity when a touch is due and answers with a new lease.

import (
	"fmt"
	"math"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
)

// lease is what a held answer may be applied under, and what a hit on it counts.
type lease struct {
	// cell is the change-stamp cell of the answer's entity, -1 when the answer read no pool;
	// stamp is the value it must still hold.
	cell  int
	stamp uint64
	// linkEpoch must still be the engine's when hasEpoch: the id came through a link.
	linkEpoch uint64
	hasEpoch  bool
	// What a hit counts, as the engine counts its own.
	filled                       uint64
	merged, defaulted, misrouted bool
}

// readLease reads a lease field's contents and the Unix second at which it is up.
func readLease(b []byte) (l lease, until int64, err error) {
	l.cell = -1
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.VarintType {
			return lease{}, 0, fmt.Errorf("%w: a lease field that is not a varint", ErrMalformedAnswer)
		}
		b = b[n:]
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return lease{}, 0, ErrMalformedAnswer
		}
		b = b[n:]
		switch num {
		case fieldLeaseCell:
			if v > math.MaxInt { // heldView.holds checks it against the engine's cells
				return lease{}, 0, fmt.Errorf("%w: lease cell %d", ErrMalformedAnswer, v)
			}
			l.cell = int(v)
		case fieldLeaseStamp:
			l.stamp = v
		case fieldLeaseLinkEpoch:
			l.linkEpoch, l.hasEpoch = v, true
		case fieldLeaseUntil:
			until = int64(min(v, 1<<62))
		case fieldLeaseFilled:
			l.filled = v
		case fieldLeaseMerged:
			l.merged = v != 0
		case fieldLeaseDefaulted:
			l.defaulted = v != 0
		case fieldLeaseMisrouted:
			l.misrouted = v != 0
		}
	}
	return l, until, nil
}

// sameState is whether two leases were given for the same state: the same cell, stamp and link
// epoch (a held status renews an answer's lease, whose state is the answer's).
func (l *lease) sameState(o *lease) bool {
	return l.cell == o.cell && l.stamp == o.stamp && l.hasEpoch == o.hasEpoch && l.linkEpoch == o.linkEpoch
}

// heldView is the engine's memory a lease is checked against and the counters a hit adds to,
// valid while the engine is open (Engine.lockMemory).
type heldView struct {
	cells     []uint64
	linkEpoch *uint64
	// The engine's counters of the same names (Stats).
	resourcesProcessed, cacheHits, attributesFilled, merges, defaultPartitionResources, routesMismatched *uint64
}

// holds is whether the answer's entity and the links are as when the lease was given.
func (v *heldView) holds(l *lease) bool {
	if l.cell >= 0 && (l.cell >= len(v.cells) || atomic.LoadUint64(&v.cells[l.cell]) != l.stamp) {
		return false
	}
	return !l.hasEpoch || atomic.LoadUint64(v.linkEpoch) == l.linkEpoch
}

// hitTally is what the hits of one batch count, added to the engine's counters once.
type hitTally struct {
	resources, filled, merges, defaulted, misrouted uint64
}

func (t *hitTally) count(l *lease) {
	t.resources++
	t.filled += l.filled
	t.merges += b2u(l.merged)
	t.defaulted += b2u(l.defaulted)
	t.misrouted += b2u(l.misrouted)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// add adds the tally to the engine's counters.
func (v *heldView) add(t *hitTally) {
	if t.resources == 0 {
		return
	}
	atomic.AddUint64(v.resourcesProcessed, t.resources)
	atomic.AddUint64(v.cacheHits, t.resources)
	for _, c := range [...]struct {
		n   uint64
		dst *uint64
	}{{t.filled, v.attributesFilled}, {t.merges, v.merges}, {t.defaulted, v.defaultPartitionResources}, {t.misrouted, v.routesMismatched}} {
		if c.n > 0 {
			atomic.AddUint64(c.dst, c.n)
		}
	}
}
