//go:build cgo

package resourceequalityprocessor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
)

// goldenWire is tests/wire/resources.json: resources with ordered attributes and entity refs,
// and the attributes the engine's answer upserts on each (include/WIRE.md is the contract).
type goldenWire struct {
	Resources []struct {
		Attributes [][2]any    `json:"attributes"`
		EntityRefs []vectorRef `json:"entity_refs"`
		Upserts    [][2]any    `json:"upserts"`
	} `json:"resources"`
}

func wirePath(name string) string { return filepath.Join("..", "..", "tests", "wire", name) }

// The processor writes tests/wire/request.bin byte for byte, and applies the engine's golden
// answer (tests/wire/answer.bin, which the Rust tests produce) to exactly the upserts listed.
func TestWireGoldenBytes(t *testing.T) {
	data, err := os.ReadFile(wirePath("resources.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var golden goldenWire
	require.NoError(t, dec.Decode(&golden))

	ld := plog.NewLogs()
	for _, r := range golden.Resources {
		res := ld.ResourceLogs().AppendEmpty().Resource()
		for _, kv := range r.Attributes {
			putValue(res.Attributes().PutEmpty(kv[0].(string)), kv[1])
		}
		putEntityRefs(res, r.EntityRefs)
	}
	rl := ld.ResourceLogs()
	at := func(i int) pcommon.Resource { return rl.At(i).Resource() }
	request := engine.AppendRequest(nil, rl.Len(), at, nil)
	if os.Getenv("RE_UPDATE_WIRE") != "" {
		require.NoError(t, os.WriteFile(wirePath("request.bin"), request, 0o644))
	}
	want, err := os.ReadFile(wirePath("request.bin"))
	require.NoError(t, err)
	require.Equal(t, want, request, "the request for resources.json differs from tests/wire/request.bin")

	answer, err := os.ReadFile(wirePath("answer.bin"))
	require.NoError(t, err)
	require.NoError(t, engine.ApplyAnswer(answer, rl.Len(), at, engine.NewKeyInterner(), "", nil))
	for i, r := range golden.Resources {
		require.NotEmpty(t, r.Upserts, "resource %d lists its upserts", i)
		for _, kv := range r.Upserts {
			got, ok := at(i).Attributes().Get(kv[0].(string))
			require.True(t, ok, "resource %d lacks %s", i, kv[0])
			require.True(t, valueOf(kv[1]).Equal(got), "resource %d: %s = %s, want %v", i, kv[0], got.AsString(), kv[1])
		}
	}
}
