// Package linuxamd64 is the Rust engine for linux/amd64 (see link.go); on other platforms, or
// without cgo, it is empty.
package linuxamd64
