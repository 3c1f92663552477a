//go:build cgo && linux && amd64

// Package linuxamd64 carries the Rust engine built for linux/amd64 as a static library, and the
// flags that link it. Importing it (the engine binding does, on this platform) links the engine
// into the binary: a distribution needs a C compiler, not a Rust toolchain.
//
// The library is not in the repository: `make engine-module` builds it from the engine and puts it
// here, beside this file, as a module registry would serve it (README, "Your own ocb manifest").
package linuxamd64

// The libraries after the archive are those rustc says the engine needs
// (rust/tests/static_libs.rs checks them).

/*
#cgo LDFLAGS: ${SRCDIR}/libresourceequality.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
*/
import "C"
