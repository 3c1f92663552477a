//go:build cgo

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

// vector is a scenario vector of tests/scenarios or tests/field (shared with every layer).
type vector struct {
	Name    string         `json:"name"`
	Config  map[string]any `json:"config"`
	Batches [][]struct {
		Label      string         `json:"label"`
		Partition  string         `json:"partition"`
		Attributes map[string]any `json:"attributes"`
		EntityRefs []struct {
			Type            string   `json:"type"`
			IDKeys          []string `json:"id_keys"`
			DescriptionKeys []string `json:"description_keys"`
		} `json:"entity_refs"`
	} `json:"batches"`
	Expect struct {
		SameID      [][2]string       `json:"same_id"`
		DifferentID [][2]string       `json:"different_id"`
		Type        map[string]string `json:"type"`
	} `json:"expect"`
}

func repoRoot() string { return filepath.Join("..", "..", "..") }

func loadVector(t *testing.T, path string) vector {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v vector
	require.NoError(t, dec.Decode(&v), path)
	return v
}

func raw(j any) any {
	switch x := j.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = raw(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = raw(e)
		}
		return out
	}
	return j
}

// writeCapture writes a vector as the file exporter would have captured it: batch i as one
// traces, logs or metrics request (i mod 3, as every layer sends vectors), one record each.
func writeCapture(t *testing.T, v vector, path string) {
	var out bytes.Buffer
	for i, b := range v.Batches {
		fill := func(r pcommon.Resource, j int) {
			// In key order: a resource sent twice must be the same bytes twice.
			for _, k := range slices.Sorted(maps.Keys(b[j].Attributes)) {
				require.NoError(t, r.Attributes().PutEmpty(k).FromRaw(raw(b[j].Attributes[k])))
			}
			for _, ref := range b[j].EntityRefs {
				er := entity.ResourceEntityRefs(r).AppendEmpty()
				er.SetType(ref.Type)
				er.IdKeys().Append(ref.IDKeys...)
				er.DescriptionKeys().Append(ref.DescriptionKeys...)
			}
		}
		var record []byte
		var err error
		switch i % 3 {
		case 0:
			td := ptrace.NewTraces()
			for j := range b {
				rs := td.ResourceSpans().AppendEmpty()
				fill(rs.Resource(), j)
				rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName(b[j].Label)
			}
			record, err = (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		case 1:
			ld := plog.NewLogs()
			for j := range b {
				rl := ld.ResourceLogs().AppendEmpty()
				fill(rl.Resource(), j)
				rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(b[j].Label)
			}
			record, err = (&plog.JSONMarshaler{}).MarshalLogs(ld)
		default:
			md := pmetric.NewMetrics()
			for j := range b {
				rm := md.ResourceMetrics().AppendEmpty()
				fill(rm.Resource(), j)
				m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
				m.SetName(b[j].Label)
				m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
			}
			record, err = (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		}
		require.NoError(t, err)
		out.Write(record)
		out.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

// writeConfig writes a collector configuration whose processor has the vector's config (JSON
// is YAML).
func writeConfig(t *testing.T, v vector, path string) {
	engine, err := json.Marshal(v.Config)
	require.NoError(t, err)
	if v.Config == nil {
		engine = nil
	}
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
processors:
  resourceequality: %s
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], processors: [resourceequality], exporters: [debug]}
`, engine)
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
}

func explainVector(t *testing.T, name string, extra ...string) (string, string, int) {
	path := filepath.Join(repoRoot(), "tests", "scenarios", name+".json")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(repoRoot(), "tests", "field", name+".json")
	}
	v := loadVector(t, path)
	dir := t.TempDir()
	writeCapture(t, v, filepath.Join(dir, "capture.json"))
	writeConfig(t, v, filepath.Join(dir, "collector.yaml"))
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	args := append(append([]string{"--config", "collector.yaml"}, extra...), "capture.json")
	code := run(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// goldens are the explanations checked in: a merge with the source of each pooled value, a
// refusal for every reason with its evidence (ambiguous values and their sources' containers,
// container-scoped ones with both sides' containers, a rule's pool, a pooling.exclude pattern),
// derived identities, links (an alias and promotions) and an ambiguous one.
var goldens = []string{
	"seed_eks_pod_sdk_and_log_agent",
	"seed_pod_with_mesh_and_log_sidecars",
	"seed_k8sattributes_sdk_names_its_container",
	"seed_lambda_sdk_and_cloudwatch_logs",
	"neg_same_pod_name_in_two_namespaces",
	"neg_two_sidecars_keep_their_container_attributes",
	"neg_recreated_statefulset_pod_reuses_its_name",
	"config_pooling_exclude_and_scopes_refuse_with_evidence",
}

// TestGoldenExplanations compares the table and the JSON with testdata/golden; run with
// RE_UPDATE_EXPLAIN=1 to renew them after a deliberate change.
func TestGoldenExplanations(t *testing.T) {
	update := os.Getenv("RE_UPDATE_EXPLAIN") != ""
	golden, err := filepath.Abs(filepath.Join("testdata", "golden"))
	require.NoError(t, err)
	for _, name := range goldens {
		for _, form := range []struct{ ext, flag string }{{"txt", ""}, {"json", "--json"}} {
			t.Run(name+"."+form.ext, func(t *testing.T) {
				var extra []string
				if form.flag != "" {
					extra = append(extra, form.flag)
				}
				stdout, stderr, code := explainVector(t, name, extra...)
				require.Equal(t, 0, code, stderr)
				path := filepath.Join(golden, name+"."+form.ext)
				if update {
					require.NoError(t, os.MkdirAll(golden, 0o755))
					require.NoError(t, os.WriteFile(path, []byte(stdout), 0o600))
					return
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run with RE_UPDATE_EXPLAIN=1 to create it")
				require.Equal(t, string(want), stdout)
			})
		}
	}
}

// TestExplainEveryVector runs the command on every scenario vector and the field corpus and
// checks its ids and types against the vector's expectations, for every resource that is not
// sent again later (a repeated resource is explained as it was decided the last time).
func TestExplainEveryVector(t *testing.T) {
	var files []string
	for _, dir := range []string{"scenarios", "field"} {
		found, err := filepath.Glob(filepath.Join(repoRoot(), "tests", dir, "*.json"))
		require.NoError(t, err)
		for _, f := range found {
			if filepath.Base(f) != "sources.json" {
				files = append(files, f)
			}
		}
	}
	require.Greater(t, len(files), 60)
	for _, f := range files {
		v := loadVector(t, f)
		partitioned := false
		for _, b := range v.Batches {
			for _, e := range b {
				partitioned = partitioned || e.Partition != ""
			}
		}
		if partitioned {
			continue // one capture has one tenant (--partition); tests/e2e sends these per tenant
		}
		t.Run(v.Name, func(t *testing.T) {
			stdout, stderr, code := explainVector(t, strings.TrimSuffix(filepath.Base(f), ".json"), "--json")
			require.Equal(t, 0, code, stderr)
			var r struct {
				Resources []struct {
					Attributes map[string]any `json:"attributes"`
					ID         *string        `json:"id"`
					Type       *string        `json:"type"`
				} `json:"resources"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &r))
			type decided struct{ id, typ string }
			byLabel := map[string]decided{}
			seen := map[string]int{}
			for _, b := range v.Batches {
				for _, e := range b {
					key, _ := json.Marshal(raw(map[string]any(e.Attributes)))
					seen[string(key)]++
				}
			}
			for _, b := range v.Batches {
				for _, e := range b {
					key, _ := json.Marshal(raw(map[string]any(e.Attributes)))
					if seen[string(key)] > 1 || len(e.EntityRefs) > 0 {
						continue
					}
					for _, x := range r.Resources {
						got, _ := json.Marshal(x.Attributes)
						if string(got) == string(key) {
							byLabel[e.Label] = decided{deref(x.ID), deref(x.Type)}
						}
					}
				}
			}
			for _, p := range v.Expect.SameID {
				a, okA := byLabel[p[0]]
				b, okB := byLabel[p[1]]
				if okA && okB {
					require.Equal(t, a.id, b.id, "%s and %s share an id", p[0], p[1])
				}
			}
			for _, p := range v.Expect.DifferentID {
				a, okA := byLabel[p[0]]
				b, okB := byLabel[p[1]]
				if okA && okB {
					require.NotEqual(t, a.id, b.id, "%s and %s must not share an id", p[0], p[1])
				}
			}
			for l, typ := range v.Expect.Type {
				if d, ok := byLabel[l]; ok {
					require.Equal(t, typ, d.typ, "type of %s", l)
				}
			}
		})
	}
}

func TestBadInputIsOneClearLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	good := write("collector.yaml", "processors:\n  resourceequality:\n  resourceequality/strict:\n    ttl: 10m\n")
	badRule := write("bad-rule.yaml", "processors:\n  resourceequality:\n    rules:\n      - {name: broken, type: t, identity: [[\"a?\"]]}\n")
	capture := write("capture.json", `{"resourceLogs":[{"resource":{"attributes":[{"key":"k8s.pod.uid","value":{"stringValue":"u1"}}]}}]}`+"\n")
	notJSON := write("not.json", "{\"resourceLogs\": [\n")
	notOTLP := write("other.json", `{"hello": "world"}`+"\n")
	empty := write("empty.json", "")
	for _, c := range []struct {
		name string
		args []string
		says string
	}{
		{"not JSON", []string{"--config", good, notJSON}, "record 1: not JSON"},
		{"not OTLP", []string{"--config", good, notOTLP}, "record 1: not OTLP JSON"},
		{"empty capture", []string{"--config", good, empty}, "no records"},
		{"no such capture", []string{"--config", good, filepath.Join(dir, "missing.json")}, "no such file"},
		{"no such processor", []string{"--config", good, "--processor", "resourceequality/other", capture}, `no processor "resourceequality/other" (resourceequality processors there: resourceequality, resourceequality/strict)`},
		{"an invalid rule", []string{"--config", badRule, capture}, `rule "broken"`},
		{"no such config", []string{"--config", filepath.Join(dir, "missing.yaml"), capture}, "missing.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, &stdout, &stderr)
			require.Equal(t, 1, code)
			require.Empty(t, stdout.String())
			require.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
			require.Contains(t, stderr.String(), c.says)
		})
	}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, run([]string{capture}, &stdout, &stderr), "no --config is bad usage")
	require.Contains(t, stderr.String(), "usage: explain")
	require.Equal(t, 0, run([]string{"--config", good, "--processor", "resourceequality/strict", capture}, &stdout, &stderr))
}
