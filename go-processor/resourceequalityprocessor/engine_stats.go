package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

// engineStats mirrors re_stats: counters and gauges of one engine.
type engineStats struct {
	ResourcesProcessed  int64
	Entities            int64
	Links               int64
	Evictions           int64
	Merges              int64
	AttributesFilled    int64
	AmbiguousLinks      int64
	AmbiguousAttributes int64
}
