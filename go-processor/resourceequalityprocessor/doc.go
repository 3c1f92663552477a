// Package resourceequalityprocessor recognises which resources of a batch describe the same
// observed entity (a pod, an ECS task, a Lambda execution environment, ...), marks them with
// one stable id and type, and fills sparse resources with the attributes richer sources of the
// same entity reported. The matching is done by the Rust engine in ../rust, called through cgo.
//
//go:generate go tool mdatagen metadata.yaml
package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"
