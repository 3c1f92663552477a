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
