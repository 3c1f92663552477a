package engine

// One batch's exchange with the engine under the held-answers contract (include/WIRE.md, "Held
// answers" and "Leases"): the answers the processor holds whose leases still hold are applied
// without asking; a request names the answers held whose leases' time is up and carries the bytes
// of the other resources only; then the engine's answer, and, when the engine no longer has a
// valid answer for some resource named, a second request with their bytes. Nothing is applied
// until every answer has been read and checked.

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/encoding/protowire"
)

// Answers writes requests and reads answers for one engine, and holds its answers; the
// pipelines sharing the engine share it.
type Answers struct {
	keyer *Keyer
	held  *HeldAnswers
	// engine is the engine whose memory leases are checked against; nil: every answer held is
	// named to the engine.
	engine  *Engine
	keys    *KeyInterner
	typeKey string
	// share is whether answers are applied by sharing their values (shared_values.go).
	share bool
}

// NewAnswers holds about capacity answers of engine e (nil: without leases); typeKey is the
// attribute that carries the entity type.
func NewAnswers(capacity int, typeKey string, e *Engine) *Answers {
	return &Answers{
		keyer: NewKeyer(), held: NewHeldAnswers(capacity), engine: e, keys: NewKeyInterner(), typeKey: typeKey,
		share: canShareValues(),
	}
}

// Batch is the working memory of one exchange, reused across batches.
type Batch struct {
	pk   Key
	keys []Key
	// named is the held answer the request named for each resource (nil: its bytes were sent).
	named []*HeldAnswer
	// got is each resource's answer once read, or applied under its lease.
	got []*HeldAnswer
	// sent are the resources the request names or carries, in its order.
	sent   []int
	resend []int
	// keep are the answers read to hold, and renew the leases read to renew: both are done only
	// once the whole answer has been read and checked, so that an answer rejected leaves nothing.
	keep  []*HeldAnswer
	renew []renewal
	// leased is what the answers applied under their leases count, added to the engine's counters
	// only once the exchange has succeeded (Answers.CountLeased).
	leased hitTally
	share  bool
}

// renewal is a held answer's lease renewed by the engine, up at until.
type renewal struct {
	answer *HeldAnswer
	until  int64
}

// reset prepares the batch for n resources of partition.
func (b *Batch) reset(a *Answers, partition string, n int) {
	b.pk = a.keyer.partitionKey(partition)
	b.share = a.share
	b.keys = resize(b.keys, n)
	b.named = resize(b.named, n)
	b.got = resize(b.got, n)
	b.sent = b.sent[:0]
	b.resend = b.resend[:0]
	b.leased = hitTally{}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// AppendRequest takes the answers held of a batch of n resources of partition whose leases hold at
// now (Unix seconds), and appends the request for the others (none: Sends is false): for a
// resource whose answer is held, its key and the answer's version; for the rest, the resource and
// its key. With rep, it notes the resources that carry an output key more than once.
func (a *Answers) AppendRequest(buf []byte, partition string, now int64, n int, resourceAt func(int) pcommon.Resource, rep *Repeats, b *Batch) []byte {
	b.reset(a, partition, n)
	// Every key first. A key is the hash of the resource's encoding, written where the request
	// goes and dropped.
	for i := range n {
		grown, _, resource := appendEntry(buf, i, resourceAt(i), rep)
		b.keys[i] = a.keyer.of(b.pk, resource)
		buf = grown[:len(buf)] // keeps the room the encoding grew
	}
	// Then every lookup, in a loop of its own. A lookup in a table as large as the entities waits
	// for memory once or twice, and lookups that nothing else separates overlap those waits: in the
	// collector, each lookup between two encodings waited alone, 0.67 µs per resource.
	for i := range n {
		b.named[i] = a.held.get(b.keys[i])
	}
	a.takeLeased(b, now)
	for i := range n {
		if b.got[i] != nil {
			continue
		}
		b.sent = append(b.sent, i)
		if h := b.named[i]; h != nil {
			buf = appendNamedEntry(buf, b.keys[i], h.version)
			continue
		}
		// Encoded again, as rarely as the engine meets a resource it holds no answer for, which
		// costs it microseconds.
		var at int
		buf, at, _ = appendEntry(buf, i, resourceAt(i), nil)
		buf = closeLen(appendKey(buf, b.keys[i]), at)
	}
	return buf
}

// takeLeased takes, as the batch's answers, the answers named whose leases hold at now, and
// tallies them as the engine's hits (CountLeased adds them); the others are named to the engine
// as before. It stops at the first resource that has no answer held: the engine computes that one
// afresh, which may change what the answers after it read, so those are the engine's to confirm,
// in the batch's order, as they are without leases.
func (a *Answers) takeLeased(b *Batch, now int64) {
	if a.engine == nil {
		return
	}
	v := a.engine.lockMemory()
	if v == nil {
		return
	}
	defer a.engine.unlockMemory()
	for i, h := range b.named {
		if h == nil {
			break
		}
		if now < h.until.Load() && v.holds(&h.lease) {
			b.got[i] = h
			b.leased.count(&h.lease)
		}
	}
}

// CountLeased adds the hits of the answers the batch took under their leases to the engine's
// counters. Call it once the exchange has succeeded: a batch that passes unchanged counts no hit
// it took under a lease.
func (a *Answers) CountLeased(b *Batch) {
	if a.engine == nil || b.leased.resources == 0 {
		return
	}
	if v := a.engine.lockMemory(); v != nil {
		v.add(&b.leased)
		a.engine.unlockMemory()
	}
}

// Sends is whether the batch has a request to send: some resource's answer was not taken.
func (b *Batch) Sends() bool {
	return len(b.sent) > 0
}

// ReadAnswer checks the engine's answer to AppendRequest's request and reads it into the batch;
// Resends then says whether a second request is due.
func (a *Answers) ReadAnswer(answer []byte, b *Batch) error {
	sent := b.sent
	return a.read(answer, b, len(sent), func(j int) int { return sent[j] })
}

// Resends is whether the engine asked for the bytes of some resources it was only named.
func (b *Batch) Resends() bool {
	return len(b.resend) > 0
}

// AppendResend appends the second request: the resources the engine asked for, with their keys.
func (a *Answers) AppendResend(buf []byte, resourceAt func(int) pcommon.Resource, b *Batch) []byte {
	for _, i := range b.resend {
		var at int
		buf, at, _ = appendEntry(buf, i, resourceAt(i), nil)
		buf = closeLen(appendKey(buf, b.keys[i]), at)
	}
	return buf
}

// ReadResent checks and reads the answer to AppendResend's request.
func (a *Answers) ReadResent(answer []byte, b *Batch) error {
	resend := b.resend
	for _, i := range resend {
		b.named[i] = nil // its bytes were sent now: a status is not a valid answer (read rejects it)
	}
	err := a.read(answer, b, len(resend), func(j int) int { return resend[j] })
	b.resend = b.resend[:0]
	return err
}

// read checks an answer of n entries, the j-th answering resource index(j), and reads it; only
// when all of it is read without error does it hold the answers read and renew the leases. Each
// answer is committed on its own: when a resend's answer is rejected, what the first answer said,
// checked whole, stays held.
func (a *Answers) read(answer []byte, b *Batch, n int, index func(int) int) error {
	b.keep, b.renew = b.keep[:0], b.renew[:0]
	err := forEachEntry(answer, n, func(j int, entry []byte) error {
		i := index(j)
		res, version, status, leased, err := readEntry(entry)
		if err != nil {
			return err
		}
		var l lease
		var until int64
		if leased != nil {
			if l, until, err = readLease(leased); err != nil {
				return err
			}
		}
		switch {
		case status == 0:
			h := newHeldAnswer(res, b.keys[i], version, a.keys, a.typeKey, a.share)
			if version != 0 && a.held != nil {
				h.lease = l
				h.until.Store(until)
				b.keep = append(b.keep, h)
			}
			b.got[i] = h
		case b.named[i] == nil:
			return fmt.Errorf("%w: status %d for a resource sent whole", ErrMalformedAnswer, status)
		case status == statusHeld:
			if leased != nil && !l.sameState(&b.named[i].lease) {
				return fmt.Errorf("%w: a held answer's lease names other stamps", ErrMalformedAnswer)
			}
			b.got[i] = b.named[i]
			if leased != nil {
				b.renew = append(b.renew, renewal{b.named[i], until})
			}
		case status == statusResend:
			b.resend = append(b.resend, i)
		default:
			return fmt.Errorf("%w: unknown status %d", ErrMalformedAnswer, status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range b.keep {
		a.held.put(h)
	}
	for _, r := range b.renew {
		r.answer.until.Store(r.until)
	}
	return nil
}

// readEntry reads an answer entry checked by checkAnswer: its resource, and its own fields (the
// lease's contents unread).
func readEntry(entry []byte) (res []byte, version, status uint64, leased []byte, err error) {
	for len(entry) > 0 {
		num, typ, n := protowire.ConsumeTag(entry)
		if n < 0 {
			return nil, 0, 0, nil, ErrMalformedAnswer
		}
		entry = entry[n:]
		switch {
		case num == fieldEntryResource && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(entry)
			res, entry = v, entry[n:]
			continue
		case num == fieldEntryLease && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(entry)
			leased, entry = v, entry[n:]
			continue
		case (num == fieldEntryVersion || num == fieldEntryStatus) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(entry)
			if n < 0 {
				return nil, 0, 0, nil, ErrMalformedAnswer
			}
			entry = entry[n:]
			if num == fieldEntryVersion {
				version = v
			} else {
				status = v
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, entry)
		if n < 0 {
			return nil, 0, 0, nil, ErrMalformedAnswer
		}
		entry = entry[n:]
	}
	return res, version, status, leased, nil
}

// Apply upserts every resource's answer and counts the resources per entity type (when types
// is not nil). Call it only after the answers were read without error.
func (b *Batch) Apply(resourceAt func(int) pcommon.Resource, typeKey string, types *TypeCounts) {
	if b.share {
		b.applyShared(resourceAt)
	} else {
		for i, h := range b.got {
			h.apply(resourceAt(i))
		}
	}
	if types != nil {
		b.Types(resourceAt, typeKey, types)
	}
}

// Types counts the resources per entity type their answers give, changing nothing: observe mode.
func (b *Batch) Types(resourceAt func(int) pcommon.Resource, typeKey string, types *TypeCounts) {
	for i, h := range b.got {
		types.Add(resourceType(h.typ, h.hasType, resourceAt(i), typeKey))
	}
}

// appendEntry appends resource i's request entry with its resource, leaving the entry open for
// more fields (closeLen(buf, at) closes it), and returns the encoded resource's contents.
func appendEntry(buf []byte, i int, res pcommon.Resource, rep *Repeats) (_ []byte, at int, resource []byte) {
	buf, at = openLen(buf, fieldDataEntries)
	buf, resAt := openLen(buf, fieldEntryResource)
	buf = closeLen(appendResource(buf, i, res, rep), resAt)
	return buf, at, buf[resAt+len(paddedZero):]
}

// appendKey appends the entry field carrying a resource's key (16 bytes, little-endian).
func appendKey(buf []byte, k Key) []byte {
	buf = append(buf, lenTag(fieldEntryKey), 16)
	buf = protowire.AppendFixed64(buf, k[0])
	return protowire.AppendFixed64(buf, k[1])
}

// appendNamedEntry appends an entry that names a held answer: the key and the answer's version.
func appendNamedEntry(buf []byte, k Key, version uint64) []byte {
	buf = append(buf, lenTag(fieldDataEntries), byte(18+1+protowire.SizeVarint(version)))
	buf = appendKey(buf, k)
	buf = protowire.AppendTag(buf, fieldEntryVersion, protowire.VarintType)
	return protowire.AppendVarint(buf, version)
}

// Release drops the batch's references to answers, so that a pooled batch does not keep answers
// the table has replaced alive.
func (b *Batch) Release() {
	clear(b.named)
	clear(b.got)
	clear(b.keep[:cap(b.keep)]) // a resend's read reuses the first read's, shorter
	clear(b.renew[:cap(b.renew)])
}
