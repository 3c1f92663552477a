package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/client"
)

// partitionConfig is the engine's partition setting (rust/src/config.rs owns it and checks
// that at most one source is set). The processor reads the two sources that live in the
// request's client information; the engine reads a partition attribute itself.
type partitionConfig struct {
	Metadata string `json:"metadata"`
	Auth     string `json:"auth"`
}

// of is the partition (tenant) of the batch whose request context is ctx, or "" when it
// cannot be told (no such header or attribute, or several different values): the engine then
// uses its default partition.
func (c partitionConfig) of(ctx context.Context) string {
	switch {
	case c.Metadata != "":
		return single(client.FromContext(ctx).Metadata.Get(c.Metadata))
	case c.Auth != "":
		auth := client.FromContext(ctx).Auth
		if auth == nil {
			return ""
		}
		switch v := auth.GetAttribute(c.Auth).(type) {
		case nil:
			return ""
		case string:
			return v
		case []string:
			return single(v)
		case fmt.Stringer:
			return v.String()
		default:
			return fmt.Sprint(v)
		}
	}
	return ""
}

// single is the one value all of values agree on, or "".
func single(values []string) string {
	if len(values) == 0 {
		return ""
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return ""
		}
	}
	return values[0]
}
