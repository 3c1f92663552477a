//go:build cgo && linux && amd64

package engine

// The engine compiled for this platform, with its link flags (../../platform/README.md).
import _ "github.com/resourceequality/resourceequality/go-processor/platform/linux-amd64"
