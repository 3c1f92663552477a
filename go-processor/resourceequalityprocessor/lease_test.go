//go:build cgo

package resourceequalityprocessor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// Leases never change an answer: every vector's batches, each followed by everything the vector
// sent so far, go through a processor that applies answers under leases and one that asks the
// engine for every resource, round after round, the last round past every lease; both must
// write the same attributes and entity refs onto every resource. Pools growing, links forming and
// values turning ambiguous in the vectors are what must end a lease.
func TestLeasesNeverChangeAnAnswer(t *testing.T) {
	for _, s := range loadScenarios(t) {
		t.Run(s.Name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Engine = s.Config
			leased := newVectorProcessor(t, s.Name+"_leased", cfg)
			asking := newVectorProcessor(t, s.Name+"_asking", cfg)
			shared := asking.shared.Unwrap()
			asking.answers = engine.NewAnswers(heldAnswersFor(shared.effective.MaxEntities), shared.effective.TypeAttribute, nil)
			later := time.Now().Unix() + 3600
			var sent []labelledAttrs
			for round := range 4 {
				if round == 3 {
					leased.clock = func() int64 { return later }
				}
				for _, batch := range s.Batches {
					ctx := s.requestContext(t, batch)
					sent = append(sent, batch...)
					for _, b := range [][]labelledAttrs{batch, samePartition(sent, batch)} {
						require.Equal(t, sendOrdered(ctx, t, asking, b), sendOrdered(ctx, t, leased, b),
							"round %d: a leased answer differs from the engine's", round)
					}
				}
			}
		})
	}
}

func newVectorProcessor(t *testing.T, name string, cfg *Config) *resourceEqualityProcessor {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	p, err := newProcessor(set, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.shutdown(context.Background())) })
	return p
}

// samePartition is what of sent shares batch's partition (one request carries one).
func samePartition(sent, batch []labelledAttrs) []labelledAttrs {
	var out []labelledAttrs
	for _, e := range sent {
		if len(batch) == 0 || e.Partition == batch[0].Partition {
			out = append(out, e)
		}
	}
	return out
}

// sendOrdered sends entries as one logs batch, each resource's attributes in key order (so that a
// resource sent again is the same bytes), and returns every resource as it came out.
func sendOrdered(ctx context.Context, t *testing.T, p *resourceEqualityProcessor, entries []labelledAttrs) []map[string]any {
	ld := plog.NewLogs()
	for _, e := range entries {
		rl := ld.ResourceLogs().AppendEmpty()
		for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
			putValue(rl.Resource().Attributes().PutEmpty(k), e.Attributes[k])
		}
		putEntityRefs(rl.Resource(), e.EntityRefs)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("l")
	}
	out, err := p.processLogs(ctx, ld)
	require.NoError(t, err)
	var got []map[string]any
	for _, rl := range out.ResourceLogs().All() {
		r := rl.Resource().Attributes().AsRaw()
		for i, ref := range entity.ResourceEntityRefs(rl.Resource()).All() {
			r[fmt.Sprintf(" entity ref %d", i)] = []any{ref.Type(), ref.IdKeys().AsRaw(), ref.DescriptionKeys().AsRaw()}
		}
		got = append(got, r)
	}
	return got
}
