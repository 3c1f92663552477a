package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func heldFor(k Key, version uint64) *HeldAnswer {
	return &HeldAnswer{key: k, version: version}
}

// heldOf is how many of keys the table still holds an answer for.
func heldOf(table *HeldAnswers, keys []Key) int {
	held := 0
	for _, k := range keys {
		if table.get(k) != nil {
			held++
		}
	}
	return held
}

// Keys that share a bucket are all held, up to the bucket's ways: with one answer per slot, two
// such keys evicted each other at every sight.
func TestKeysSharingABucketAreAllHeld(t *testing.T) {
	table := NewHeldAnswers(64)
	var keys []Key
	for i := range heldWays {
		k := Key{7, uint64(i + 1)}
		keys = append(keys, k)
		table.put(heldFor(k, uint64(i+1)))
	}
	for _, k := range keys {
		require.NotNil(t, table.get(k), "key %v", k)
	}
	// One more evicts one of them and is held itself.
	extra := Key{7 + (table.mask + 1), 99}
	table.put(heldFor(extra, 5))
	assert.NotNil(t, table.get(extra))
	assert.Equal(t, heldWays-1, heldOf(table, keys))
}

// A newer answer for a key replaces the one held, in place.
func TestAStoreReplacesTheAnswerOfItsKey(t *testing.T) {
	table := NewHeldAnswers(64)
	k := Key{3, 1}
	table.put(heldFor(k, 1))
	table.put(heldFor(Key{3, 2}, 2))
	table.put(heldFor(k, 3))
	assert.Equal(t, uint64(3), table.get(k).version)
	assert.NotNil(t, table.get(Key{3, 2}))
}

// A tag only narrows the search: a key of the same bucket and tag as another's is not given its
// answer.
func TestATagMatchIsNotAKeyMatch(t *testing.T) {
	table := NewHeldAnswers(64)
	table.put(heldFor(Key{5, 1}, 1))
	assert.Nil(t, table.get(Key{5, 2}))
	assert.Nil(t, table.get(Key{5 + (table.mask + 1), 1}))
}

// Half full, nearly every answer stored is still held (with one answer per slot, 79% were).
func TestAHalfFullTableHoldsNearlyEveryAnswer(t *testing.T) {
	const capacity = 1 << 16
	table := NewHeldAnswers(capacity)
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]Key, capacity/2)
	for i := range keys {
		keys[i] = Key{r.Uint64(), r.Uint64()}
		table.put(heldFor(keys[i], uint64(i+1)))
	}
	held := heldOf(table, keys)
	t.Logf("%d of %d held", held, len(keys))
	assert.GreaterOrEqual(t, float64(held)/float64(len(keys)), 0.95)
}

// A key never lets a resource's bytes and a partition stand for each other: for generated pairs,
// the resource a in partition b and the resource b in partition a have different keys.
func TestKeyTellsBytesFromPartition(t *testing.T) {
	k := NewKeyer()
	r := rand.New(rand.NewPCG(1, 2))
	random := func() []byte {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for range 1000 {
		a, b := random(), random()
		if string(a) == string(b) {
			continue
		}
		require.NotEqual(t, k.of(k.partitionKey(string(b)), a), k.of(k.partitionKey(string(a)), b), "%x, %x", a, b)
	}
}
