package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The load generator's pod is the benchmark pod of tests/load/bench_pod.json, its one definition.
func TestPodResourceIsTheBenchmarkPod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "bench_pod.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pods []struct {
			I          int64   `json:"i"`
			Attributes [][]any `json:"attributes"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Pods) == 0 {
		t.Fatalf("bench_pod.json: %v", err)
	}
	for _, pod := range doc.Pods {
		attrs := pcommon.NewMap()
		podResource(options{flood: true}, pod.I, attrs)
		var got [][]any
		for k, v := range attrs.All() {
			got = append(got, []any{k, v.AsRaw()})
		}
		// JSON numbers decode as float64; compare both through JSON.
		var want, have any
		w, _ := json.Marshal(pod.Attributes)
		h, _ := json.Marshal(got)
		_ = json.Unmarshal(w, &want)
		_ = json.Unmarshal(h, &have)
		if !reflect.DeepEqual(want, have) {
			t.Errorf("pod %d:\n got %s\nwant %s", pod.I, h, w)
		}
	}
}

// Every pod is sent through every place of its signal's schedule within one pass per place,
// for the shapes the harnesses use: pod counts that are multiples of the resources per request,
// among them the multiples of the schedule's length in requests, which gave each pod one source
// when the place followed the request's number alone. Under -signal node that is the warm-up
// (-every-resource-once).
func TestEveryPodIsSentThroughEverySource(t *testing.T) {
	for _, c := range []struct {
		o        options
		schedule int
	}{
		{options{signal: "node", pods: 1000, perRequest: 10, perResource: 10}, len(nodeSchedule)},
		{options{signal: "node", pods: 100, perRequest: 10, perResource: 10}, len(nodeSchedule)},
		{options{signal: "mixed", pods: 10_000, perRequest: 10, perResource: 10}, len(mixedSchedule)},
		{options{signal: "mixed", pods: 30, perRequest: 10, perResource: 10}, len(mixedSchedule)},
	} {
		o, seen := c.o, map[[2]int64]bool{}
		for first := int64(0); first < int64(o.pods*c.schedule); first += int64(o.perRequest) {
			place := rotation(o, first, c.schedule)
			for r := first; r < first+int64(o.perRequest); r++ {
				seen[[2]int64{r % int64(o.pods), int64(place)}] = true
			}
		}
		if len(seen) != o.pods*c.schedule {
			t.Errorf("%s, %d pods, %d per request: %d of %d (pod, source) pairs sent", o.signal, o.pods,
				o.perRequest, len(seen), o.pods*c.schedule)
		}
		if o.signal == "node" && everyResourceOnce(o) != int64(o.pods*c.schedule*o.perResource) {
			t.Errorf("the warm-up sends %d items, not one pass per source", everyResourceOnce(o))
		}
	}
}
