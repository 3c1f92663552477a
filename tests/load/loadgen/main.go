// Command loadgen drives a collector over OTLP/gRPC with a controlled resource shape: how many
// distinct pods, how many resources per request and how many items (spans, log records or data
// points) per resource. telemetrygen sends one resource per process; the processor's cost
// depends on resources per item, which this generator sets.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

type options struct {
	endpoint     string
	signal       string
	pods         int
	perResource  int
	perRequest   int
	items        int64
	duration     time.Duration
	workers      int
	flood        bool
	uidOffset    int64
	sparseEveryN int
	rate         float64
	headers      string
	churnEvery   time.Duration
	eachOnce     bool
	start        time.Time
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint (loopback only)")
	flag.StringVar(&o.signal, "signal", "traces", "traces, logs, metrics, mixed (rotates per request), or node (a realistic node's sources, rotating per request)")
	flag.IntVar(&o.pods, "pods", 100, "distinct pods the resources cycle through")
	flag.IntVar(&o.perResource, "items-per-resource", 100, "items under each resource")
	flag.IntVar(&o.perRequest, "resources-per-request", 1, "resources in each request")
	flag.Int64Var(&o.items, "items", 1_000_000, "stop after this many items (0: use -duration)")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (with -items 0)")
	flag.IntVar(&o.workers, "workers", 2, "concurrent senders")
	flag.BoolVar(&o.flood, "flood", false, "every resource is a new pod (distinct uids), as in pod churn")
	flag.Int64Var(&o.uidOffset, "uid-offset", 0, "first pod number")
	flag.IntVar(&o.sparseEveryN, "sparse-every", 0, "every Nth resource carries only the pod uid (0: never)")
	flag.Float64Var(&o.rate, "rate", 0, "items per second, paced per request (0: as fast as the collector takes them)")
	flag.StringVar(&o.headers, "headers", "", "request metadata as key=value,key=value (e.g. a tenant header)")
	flag.DurationVar(&o.churnEvery, "churn-every", 0, "replace a tenth of the pods (new uids, as a rollout does) this often (0: never)")
	flag.BoolVar(&o.eachOnce, "every-resource-once", false, "send every distinct resource at least once (every pod, and under -signal node every pod through every source), then stop (overrides -items and -duration): a warm-up")
	flag.Parse()
	if o.eachOnce {
		o.items = everyResourceOnce(o)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	conn, err := grpc.NewClient(o.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	traces, logs, metrics := ptraceotlp.NewGRPCClient(conn), plogotlp.NewGRPCClient(conn), pmetricotlp.NewGRPCClient(conn)

	var sent, failed, requests atomic.Int64
	var next atomic.Int64 // resource counter
	deadline := time.Time{}
	if o.items == 0 {
		deadline = time.Now().Add(o.duration)
	}
	start := time.Now()
	o.start = start
	perRequest := float64(o.perRequest * o.perResource)
	var scheduled atomic.Int64 // requests handed out, for pacing
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			ctx := context.Background()
			if o.headers != "" {
				ctx = metadata.NewOutgoingContext(ctx, metadata.New(pairs(o.headers)))
			}
			for {
				if o.items > 0 && sent.Load() >= o.items || !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				if o.rate > 0 {
					// Open loop: request k is due k*perRequest/rate after the start, however
					// long earlier requests took, so every pipeline is offered the same load.
					k := scheduled.Add(1) - 1
					time.Sleep(time.Until(start.Add(time.Duration(float64(k) * perRequest / o.rate * float64(time.Second)))))
				}
				first := next.Add(int64(o.perRequest)) - int64(o.perRequest)
				signal := o.signal
				if signal == "mixed" {
					signal = mixedSchedule[rotation(o, first, len(mixedSchedule))]
				}
				var err error
				if signal == "node" {
					src := nodeSchedule[rotation(o, first, len(nodeSchedule))]
					err = exportNode(ctx, o, src, first, traces, logs, metrics)
					signal = ""
				}
				switch signal {
				case "":
				case "traces":
					_, err = traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(buildTraces(o, first)))
				case "logs":
					_, err = logs.Export(ctx, plogotlp.NewExportRequestFromLogs(buildLogs(o, first)))
				default:
					_, err = metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(buildMetrics(o, first)))
				}
				requests.Add(1)
				n := int64(o.perRequest * o.perResource)
				if err != nil {
					failed.Add(n)
					continue
				}
				sent.Add(n)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("items=%d failed=%d requests=%d seconds=%.3f items_per_second=%.0f\n",
		sent.Load(), failed.Load(), requests.Load(), elapsed.Seconds(), float64(sent.Load())/elapsed.Seconds())
	if failed.Load() > 0 {
		return fmt.Errorf("%d items failed to export", failed.Load())
	}
	return nil
}

var mixedSchedule = []string{"traces", "logs", "metrics"}

// rotation is the place in a schedule of n signals or sources of the request whose first
// resource is number first: the next place for each request, and one place further on each pass
// over the pods, so that, when the pods fill whole requests, every pod is sent through every
// place within n passes (were it the request's number alone, a pod count of a multiple of n
// requests would give each pod one source forever).
func rotation(o options, first int64, n int) int {
	request, pass := first/int64(o.perRequest), first/int64(o.pods)
	return int((request + pass) % int64(n))
}

// everyResourceOnce is how many items send every distinct resource at least once: one pass over
// the pods, or under -signal node, where each source reports a pod with attributes of its own,
// one pass per place of its schedule, since a pod meets one place per pass (rotation). The node
// schedule repeats some sources, so some resources go more than once; the signals of -signal
// mixed carry the same resource.
func everyResourceOnce(o options) int64 {
	passes := int64(1)
	if o.signal == "node" {
		passes = int64(len(nodeSchedule))
	}
	return int64(o.pods) * passes * int64(o.perResource)
}

// churned is how far pod p's number has moved by now under -churn-every: in epoch e (one
// -churn-every long) the pods p with p%10 == e%10 are replaced, each replacement a new pod number
// (a new uid, name and so on) beyond every number used before.
func churned(o options, p int64) int64 {
	if o.churnEvery <= 0 {
		return 0
	}
	epoch := int64(time.Since(o.start) / o.churnEvery)
	if epoch < p%10 {
		return 0
	}
	replacements := (epoch-p%10)/10 + 1
	return replacements * int64(o.pods)
}

// podResource writes the resource of resource number i: a pod as an SDK reports it (15
// attributes), or, for every sparseEveryN-th, as a log agent does (uid, name, namespace).
func podResource(o options, i int64, attrs pcommon.Map) {
	pod := i
	if !o.flood {
		pod = i%int64(o.pods) + churned(o, i%int64(o.pods))
	}
	pod += o.uidOffset
	uid := fmt.Sprintf("%08x-1b7d-4c55-9a0e-%012x", pod>>32, pod&0xffffffff)
	if o.sparseEveryN > 0 && i%int64(o.sparseEveryN) == 0 {
		attrs.PutStr("k8s.pod.uid", uid)
		return
	}
	dep := fmt.Sprintf("svc-%d", pod%500)
	attrs.PutStr("k8s.pod.uid", uid)
	attrs.PutStr("k8s.pod.name", fmt.Sprintf("%s-7d9f-%06d", dep, pod))
	attrs.PutStr("k8s.namespace.name", fmt.Sprintf("ns-%d", pod%40))
	attrs.PutStr("k8s.node.name", fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", pod%200, pod%250))
	attrs.PutStr("k8s.deployment.name", dep)
	attrs.PutStr("k8s.replicaset.name", dep+"-7d9f")
	attrs.PutStr("service.name", dep)
	attrs.PutStr("service.version", "1.4.2")
	attrs.PutStr("container.name", "app")
	attrs.PutStr("cloud.provider", "aws")
	attrs.PutStr("cloud.region", "us-east-1")
	attrs.PutStr("cloud.account.id", "123456789012")
	attrs.PutStr("telemetry.sdk.language", "go")
	attrs.PutStr("telemetry.sdk.version", "1.38.0")
	attrs.PutInt("process.pid", 1+pod%30000)
}

func buildTraces(o options, first int64) ptrace.Traces {
	return buildTracesWith(o, first, func(i int64, attrs pcommon.Map) { podResource(o, i, attrs) })
}

func buildTracesWith(o options, first int64, fill func(int64, pcommon.Map)) ptrace.Traces {
	td := ptrace.NewTraces()
	now := pcommon.NewTimestampFromTime(time.Now())
	for r := range o.perRequest {
		rs := td.ResourceSpans().AppendEmpty()
		fill(first+int64(r), rs.Resource().Attributes())
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for j := range o.perResource {
			s := spans.AppendEmpty()
			s.SetName("GET /api/orders")
			s.SetTraceID([16]byte{byte(first), byte(r), byte(j), 1})
			s.SetSpanID([8]byte{byte(j), 2})
			s.SetStartTimestamp(now)
			s.SetEndTimestamp(now)
			s.Attributes().PutStr("http.request.method", "GET")
			s.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td
}

func buildLogs(o options, first int64) plog.Logs {
	return buildLogsWith(o, first, func(i int64, attrs pcommon.Map) { podResource(o, i, attrs) })
}

func buildLogsWith(o options, first int64, fill func(int64, pcommon.Map)) plog.Logs {
	ld := plog.NewLogs()
	now := pcommon.NewTimestampFromTime(time.Now())
	for r := range o.perRequest {
		rl := ld.ResourceLogs().AppendEmpty()
		fill(first+int64(r), rl.Resource().Attributes())
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		for range o.perResource {
			lr := records.AppendEmpty()
			lr.SetTimestamp(now)
			lr.Body().SetStr("payment authorization failed: gateway timeout")
			lr.Attributes().PutStr("log.iostream", "stdout")
		}
	}
	return ld
}

func buildMetrics(o options, first int64) pmetric.Metrics {
	return buildMetricsWith(o, first, func(i int64, attrs pcommon.Map) { podResource(o, i, attrs) })
}

func buildMetricsWith(o options, first int64, fill func(int64, pcommon.Map)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	now := pcommon.NewTimestampFromTime(time.Now())
	for r := range o.perRequest {
		rm := md.ResourceMetrics().AppendEmpty()
		fill(first+int64(r), rm.Resource().Attributes())
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration")
		points := m.SetEmptyGauge().DataPoints()
		for j := range o.perResource {
			dp := points.AppendEmpty()
			dp.SetTimestamp(now)
			dp.SetDoubleValue(float64(j))
			dp.Attributes().PutInt("bucket", int64(j))
		}
	}
	return md
}

func pairs(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// A realistic node's sources (workload d), one per request in this rotation: each pod's SDK
// sends spans and metrics with its full resource, its logs arrive through a host log agent
// (filelog: pod uid, name, namespace, container), and kubeletstats reports the pod and its two
// containers. Spans and logs dominate, as they do on a real node.
type nodeSource int

const (
	sdkSpans nodeSource = iota
	sdkMetrics
	agentLogs
	kubeletPod
	kubeletContainer
	kubeletSidecar
)

var nodeSchedule = []nodeSource{sdkSpans, agentLogs, sdkSpans, agentLogs, sdkMetrics, sdkSpans, agentLogs, kubeletPod, kubeletContainer, kubeletSidecar}

func exportNode(ctx context.Context, o options, src nodeSource, first int64,
	traces ptraceotlp.GRPCClient, logs plogotlp.GRPCClient, metrics pmetricotlp.GRPCClient) error {
	fill := func(i int64, attrs pcommon.Map) { nodeResource(o, src, i, attrs) }
	var err error
	switch src {
	case sdkSpans:
		_, err = traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(buildTracesWith(o, first, fill)))
	case agentLogs:
		_, err = logs.Export(ctx, plogotlp.NewExportRequestFromLogs(buildLogsWith(o, first, fill)))
	default:
		_, err = metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(buildMetricsWith(o, first, fill)))
	}
	return err
}

// nodeResource writes resource i as source src reports its pod.
func nodeResource(o options, src nodeSource, i int64, attrs pcommon.Map) {
	pod := i%int64(o.pods) + o.uidOffset
	if src == sdkSpans || src == sdkMetrics {
		podResource(o, i, attrs)
		attrs.PutStr("k8s.container.name", "app")
		return
	}
	uid := fmt.Sprintf("%08x-1b7d-4c55-9a0e-%012x", pod>>32, pod&0xffffffff)
	dep := fmt.Sprintf("svc-%d", pod%500)
	attrs.PutStr("k8s.pod.uid", uid)
	attrs.PutStr("k8s.pod.name", fmt.Sprintf("%s-7d9f-%06d", dep, pod))
	attrs.PutStr("k8s.namespace.name", fmt.Sprintf("ns-%d", pod%40))
	switch src {
	case agentLogs:
		attrs.PutStr("k8s.container.name", "app")
		attrs.PutStr("log.file.path", fmt.Sprintf("/var/log/pods/ns-%d_%s-7d9f-%06d_%s/app/0.log", pod%40, dep, pod, uid))
	case kubeletPod:
		attrs.PutStr("k8s.node.name", fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", pod%200, pod%250))
	case kubeletContainer, kubeletSidecar:
		attrs.PutStr("k8s.node.name", fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", pod%200, pod%250))
		name := "app"
		if src == kubeletSidecar {
			name = "istio-proxy"
		}
		attrs.PutStr("k8s.container.name", name)
	}
}
