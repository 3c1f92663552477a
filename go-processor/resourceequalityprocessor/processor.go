package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor/internal/metadata"
)

// maxTypeAttributes bounds the entity_type values the resources metric reports, because
// resources may declare arbitrary types in their entity references.
const maxTypeAttributes = 128

// errorLogInterval is how often at most an engine failure is logged.
const errorLogInterval = time.Minute

type resourceEqualityProcessor struct {
	shared    *sharedComponent[component.ID, *sharedEngine]
	telemetry *metadata.TelemetryBuilder
	typeKey   string
	output    *engine.OutputKeys
	partition partitionConfig
	observe   bool
	answers   *engine.Answers
	errors    *errorLog
	// process calls the engine; tests replace it to inject failures.
	process func(partition string, in, scratch []byte) ([]byte, error)
	// clock is the Unix second a batch's leases are checked at; tests move it past leases.
	clock    func() int64
	types    sync.Map // entity type -> metric.MeasurementOption
	typeN    int
	typeMu   sync.Mutex
	shutdown func(context.Context) error
}

func newProcessor(set processor.Settings, cfg *Config) (*resourceEqualityProcessor, error) {
	shared, err := acquireEngine(set, cfg)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		_ = shared.Shutdown(context.Background())
		return nil, err
	}
	p := &resourceEqualityProcessor{
		shared:    shared,
		telemetry: tb,
		typeKey:   shared.Unwrap().effective.TypeAttribute,
		output:    outputKeysOf(shared.Unwrap().effective),
		partition: shared.Unwrap().effective.Partition,
		observe:   shared.Unwrap().effective.Mode == modeObserve,
		answers:   shared.Unwrap().answers,
		errors:    &errorLog{logger: set.Logger, interval: errorLogInterval},
		process:   shared.Unwrap().engine.Process,
		clock:     func() int64 { return time.Now().Unix() },
	}
	var once sync.Once
	p.shutdown = func(ctx context.Context) error {
		var err error
		once.Do(func() {
			tb.Shutdown()
			err = shared.Shutdown(ctx)
		})
		return err
	}
	return p, nil
}

func (p *resourceEqualityProcessor) start(ctx context.Context, host component.Host) error {
	return p.shared.Start(ctx, host)
}

func (p *resourceEqualityProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	rs := td.ResourceSpans()
	p.markResources(ctx, rs.Len(), func(i int) pcommon.Resource { return rs.At(i).Resource() })
	return td, nil
}

func (p *resourceEqualityProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	rl := ld.ResourceLogs()
	p.markResources(ctx, rl.Len(), func(i int) pcommon.Resource { return rl.At(i).Resource() })
	return ld, nil
}

func (p *resourceEqualityProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	rm := md.ResourceMetrics()
	p.markResources(ctx, rm.Len(), func(i int) pcommon.Resource { return rm.At(i).Resource() })
	return md, nil
}

func (p *resourceEqualityProcessor) processProfiles(ctx context.Context, pd pprofile.Profiles) (pprofile.Profiles, error) {
	rp := pd.ResourceProfiles()
	p.markResources(ctx, rp.Len(), func(i int) pcommon.Resource { return rp.At(i).Resource() })
	return pd, nil
}

// markResources sends the batch's resources (never its records) to the engine and applies the
// answer in place: one call, naming the answers held for resources seen before, and a second
// for the bytes of any resource whose answer the engine no longer holds. On any failure the
// batch passes on unchanged (fail open).
func (p *resourceEqualityProcessor) markResources(ctx context.Context, n int, resourceAt func(int) pcommon.Resource) {
	if n == 0 {
		return
	}
	start := time.Now()
	buf := batchBuffers.Get().(*batchBuffer)
	defer buf.recycle()
	err := p.exchange(ctx, buf, p.clock(), n, resourceAt)
	if err == nil {
		p.answers.CountLeased(&buf.batch)
		p.apply(ctx, &buf.batch, resourceAt, &buf.types)
		if !p.observe {
			buf.repeats.KeepFirst(resourceAt)
		}
	}
	if err != nil {
		p.telemetry.ProcessorResourceequalityEngineErrors.Add(ctx, 1)
		p.errors.log(err)
	}
	p.telemetry.ProcessorResourceequalityBatchDuration.Record(ctx, time.Since(start).Seconds())
}

// exchange reads the batch's answers into buf.batch: those held under leases that hold at now
// (Unix seconds), and the engine's for the others.
func (p *resourceEqualityProcessor) exchange(ctx context.Context, buf *batchBuffer, now int64, n int, resourceAt func(int) pcommon.Resource) error {
	partition := p.partition.of(ctx)
	buf.repeats = engine.Repeats{Keys: p.output, Resources: buf.repeats.Resources[:0]}
	buf.request = p.answers.AppendRequest(buf.request[:0], partition, now, n, resourceAt, &buf.repeats, &buf.batch)
	if !buf.batch.Sends() {
		return nil
	}
	answer, err := p.process(partition, buf.request, buf.answer[:cap(buf.answer)])
	buf.answerLen = len(answer)
	if err == nil {
		err = p.answers.ReadAnswer(answer, &buf.batch)
	}
	if err != nil || !buf.batch.Resends() {
		return err
	}
	buf.request = p.answers.AppendResend(buf.request[:0], resourceAt, &buf.batch)
	if answer, err = p.process(partition, buf.request, buf.answer[:cap(buf.answer)]); err != nil {
		return err
	}
	return p.answers.ReadResent(answer, &buf.batch)
}

// batchBuffer is the working memory of one batch: its encoded request, room for the engine to
// write the answer into (the answer read is a copy, so this memory is reused), what was sent and
// answered for each resource, and the count of resources per entity type.
type batchBuffer struct {
	request, answer []byte
	answerLen       int
	batch           engine.Batch
	types           engine.TypeCounts
	repeats         engine.Repeats
}

// maxPooledBuffer bounds the buffers kept for reuse, so that one huge batch does not pin its
// memory for the life of the process.
const maxPooledBuffer = 4 << 20

var batchBuffers = sync.Pool{New: func() any {
	return &batchBuffer{request: make([]byte, 0, 8<<10), answer: make([]byte, 0, 4<<10)}
}}

// recycle returns the buffer to the pool, with room for the last answer's size next time.
func (b *batchBuffer) recycle() {
	if cap(b.request) > maxPooledBuffer {
		return
	}
	if b.answerLen > cap(b.answer) && b.answerLen <= maxPooledBuffer/2 {
		b.answer = make([]byte, 0, 2*b.answerLen)
	}
	b.types.Reset()
	b.batch.Release()
	batchBuffers.Put(b)
}

// apply applies the batch's answers (in observe mode: only reads them) and counts its resources
// per entity type.
func (p *resourceEqualityProcessor) apply(ctx context.Context, batch *engine.Batch, resourceAt func(int) pcommon.Resource, types *engine.TypeCounts) {
	if p.observe {
		batch.Types(resourceAt, p.typeKey, types)
	} else {
		batch.Apply(resourceAt, p.typeKey, types)
	}
	for _, c := range *types {
		p.telemetry.ProcessorResourceequalityResources.Add(ctx, c.Count, p.typeOption(c.Type))
	}
}

// typeOption returns the metric attribute set for an entity type, folding types past
// maxTypeAttributes into "other".
func (p *resourceEqualityProcessor) typeOption(typ string) metric.AddOption {
	if o, ok := p.types.Load(typ); ok {
		return o.(metric.AddOption)
	}
	p.typeMu.Lock()
	defer p.typeMu.Unlock()
	typ = strings.Clone(typ) // typ shares a batch's answer, which the map would pin
	if p.typeN >= maxTypeAttributes {
		typ = "other"
	} else {
		p.typeN++
	}
	o := metric.WithAttributeSet(attribute.NewSet(attribute.String("entity_type", typ)))
	p.types.Store(typ, o)
	return o
}

// outputKeysOf are the attributes the engine writes, in its order.
func outputKeysOf(e effectiveConfig) *engine.OutputKeys {
	return engine.NewOutputKeys(e.IDAttribute, e.TypeAttribute, e.NameAttribute, e.RuleAttribute, e.RouteAttribute)
}
