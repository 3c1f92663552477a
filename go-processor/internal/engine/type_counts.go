package engine

// TypeCounts counts a batch's resources per entity type. A batch has few types, so a short
// slice searched in order, reused across batches, costs less than a map.
type TypeCounts []TypeCount

// TypeCount is the number of a batch's resources of one entity type.
type TypeCount struct {
	Type  string
	Count int64
}

// Add counts one resource of type typ.
func (c *TypeCounts) Add(typ string) {
	for i := range *c {
		if (*c)[i].Type == typ {
			(*c)[i].Count++
			return
		}
	}
	*c = append(*c, TypeCount{Type: typ, Count: 1})
}

// Reset empties the counts, dropping their strings (which share a batch's answer).
func (c *TypeCounts) Reset() {
	clear(*c)
	*c = (*c)[:0]
}
