//go:build cgo && !(linux && amd64)

package engine

// No engine is built for this platform yet: the build stops here, by name, rather than at the
// linker. ../../platform/README.md says how to add one.
var _ = resourceequalityEngineIsNotBuiltForThisPlatformSeeGoProcessorPlatformREADME
