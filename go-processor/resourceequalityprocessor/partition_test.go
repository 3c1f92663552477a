package resourceequalityprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
)

// authData is what an authenticator extension puts in the request context.
type authData map[string]any

func (a authData) GetAttribute(name string) any { return a[name] }

func (a authData) GetAttributeNames() []string {
	names := make([]string, 0, len(a))
	for k := range a {
		names = append(names, k)
	}
	return names
}

func TestPartitionIsReadFromTheRequestContext(t *testing.T) {
	withMetadata := func(values ...string) context.Context {
		md := client.NewMetadata(map[string][]string{"X-Scope-OrgID": values})
		return client.NewContext(context.Background(), client.Info{Metadata: md})
	}
	withAuth := func(attrs authData) context.Context {
		return client.NewContext(context.Background(), client.Info{Auth: attrs})
	}
	byHeader := partitionConfig{Metadata: "x-scope-orgid"}
	byAuth := partitionConfig{Auth: "username"}
	for _, c := range []struct {
		name   string
		config partitionConfig
		ctx    context.Context
		want   string
	}{
		{"header, any case", byHeader, withMetadata("tenant-a"), "tenant-a"},
		{"header repeated with one value", byHeader, withMetadata("tenant-a", "tenant-a"), "tenant-a"},
		{"header with two tenants: undecided", byHeader, withMetadata("tenant-a", "tenant-b"), ""},
		{"no header", byHeader, context.Background(), ""},
		{"auth attribute", byAuth, withAuth(authData{"username": "alice"}), "alice"},
		{"auth without the attribute", byAuth, withAuth(authData{"subject": "alice"}), ""},
		{"no auth", byAuth, context.Background(), ""},
		{"auth attribute as a list", byAuth, withAuth(authData{"username": []string{"bob"}}), "bob"},
		{"auth attribute of another type", byAuth, withAuth(authData{"username": 42}), "42"},
		{"partitioning off", partitionConfig{}, withMetadata("tenant-a"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, c.config.of(c.ctx))
		})
	}
}
