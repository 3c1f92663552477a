//go:build cgo

package resourceequalityprocessor

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// An answer that does not fit the caller's scratch comes back whole from the engine's own
// buffer; either way the answer is a copy the scratch does not alias.
func TestEngineAnswerInScratchOrOverflow(t *testing.T) {
	e, err := newEngine([]byte("{}"))
	require.NoError(t, err)
	defer e.Close()
	ld := plog.NewLogs()
	for range 3 {
		richResource(ld.ResourceLogs().AppendEmpty().Resource())
	}
	rl := ld.ResourceLogs()
	req := appendRequest(nil, rl.Len(), func(i int) pcommon.Resource { return rl.At(i).Resource() })

	scratch := make([]byte, 64<<10)
	fits, err := e.process(req, scratch)
	require.NoError(t, err)
	require.NotEmpty(t, fits)
	clear(scratch)
	assert.NotEqual(t, 0, fits[0], "the answer must not alias the scratch")

	for _, size := range []int{0, 1, len(fits) - 1, len(fits)} {
		got, err := e.process(req, make([]byte, size))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(fits, got), "scratch of %d bytes", size)
	}
}

// Engine errors carry their kind: a refused configuration, a malformed batch and a corrupt
// snapshot are told apart with errors.Is, and the message is the engine's own.
func TestEngineErrorsHaveKinds(t *testing.T) {
	_, err := newEngine([]byte(`{"max_entities": 0}`))
	require.ErrorIs(t, err, errInvalidConfig)
	assert.Contains(t, err.Error(), "max_entities")

	e, err := newEngine([]byte("{}"))
	require.NoError(t, err)
	defer e.Close()
	_, err = e.process([]byte{0x0a, 0xff}, nil)
	require.ErrorIs(t, err, errInvalidInput)
	err = e.restore([]byte("not a snapshot"))
	require.ErrorIs(t, err, errInvalidSnapshot)
	var ee *engineError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 4, ee.status)
}
