package resourceequalityreceiver // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityreceiver"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityreceiver/internal/metadata"
)

// pollInterval is how often the engine is asked for changed entities: an entity's state event
// follows its change by at most this long.
const pollInterval = time.Second

// maxRecordsPerBatch bounds the log records of one ConsumeLogs call.
const maxRecordsPerBatch = 1000

type entityEventsReceiver struct {
	cfg       *Config
	next      consumer.Logs
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	source    *resourceequalityprocessor.EntityEventSource
	cancel    context.CancelFunc
	done      sync.WaitGroup
	byEvent   map[string]metric.AddOption
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*entityEventsReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	byEvent := map[string]metric.AddOption{}
	for _, name := range []string{engine.EventState, engine.EventDelete} {
		byEvent[name] = metric.WithAttributeSet(attribute.NewSet(attribute.String("event", name)))
	}
	return &entityEventsReceiver{cfg: cfg, next: next, logger: set.Logger, telemetry: tb, byEvent: byEvent}, nil
}

// Start opens the processor's engine (processors are created before receivers start) and
// polls it for entity events until Shutdown.
func (r *entityEventsReceiver) Start(_ context.Context, _ component.Host) error {
	source, err := resourceequalityprocessor.OpenEntityEvents(r.cfg.Processor)
	if err != nil {
		return err
	}
	r.source = source
	err = r.telemetry.RegisterReceiverResourceequalityChangesDroppedCallback(func(_ context.Context, o metric.Int64Observer) error {
		if n, err := source.ChangesDropped(); err == nil {
			o.Observe(n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The first call starts the engine tracking what events need, before any data flows.
	first, err := source.Events(r.cfg.ReportInterval)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done.Add(1)
	go r.run(ctx, first)
	return nil
}

func (r *entityEventsReceiver) run(ctx context.Context, first []byte) {
	defer r.done.Done()
	r.publish(ctx, first)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			events, err := r.source.Events(r.cfg.ReportInterval)
			if err != nil {
				r.logger.Warn("Reading entity events failed", zap.Error(err))
				continue
			}
			r.publish(ctx, events)
		}
	}
}

// publish sends the events (LogsData bytes) on, each partition's on its own (the engine writes
// one ResourceLogs per partition) and as that partition's tenant, in batches of at most
// maxRecordsPerBatch.
func (r *entityEventsReceiver) publish(ctx context.Context, events []byte) {
	if len(events) == 0 {
		return
	}
	logs, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(events)
	if err != nil {
		r.logger.Error("The engine's entity events are not OTLP", zap.Error(err))
		return
	}
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		partition := plog.NewLogs()
		logs.ResourceLogs().At(i).MoveTo(partition.ResourceLogs().AppendEmpty())
		r.publishPartition(r.asTenant(ctx, partition.ResourceLogs().At(0).Resource()), partition)
	}
}

// asTenant is ctx carrying, as client metadata, the tenant a partition's events name on their
// resource, when the processor tells tenants by metadata; so that headers_setter sends them
// with that tenant's header, as it sends the tenant's own data.
func (r *entityEventsReceiver) asTenant(ctx context.Context, res pcommon.Resource) context.Context {
	key := r.source.PartitionMetadata()
	if key == "" {
		return ctx
	}
	tenant, ok := res.Attributes().Get(key)
	if !ok {
		return ctx
	}
	return client.NewContext(ctx, client.Info{Metadata: client.NewMetadata(map[string][]string{key: {tenant.Str()}})})
}

func (r *entityEventsReceiver) publishPartition(ctx context.Context, logs plog.Logs) {
	for _, batch := range split(logs, maxRecordsPerBatch) {
		counts := map[string]int64{}
		forEachRecord(batch, func(lr plog.LogRecord) { counts[lr.EventName()]++ })
		if err := r.next.ConsumeLogs(ctx, batch); err != nil {
			r.logger.Warn("Entity events were refused; the next report repeats them", zap.Error(err))
			continue
		}
		for name, n := range counts {
			if opt, ok := r.byEvent[name]; ok {
				r.telemetry.ReceiverResourceequalityEvents.Add(ctx, n, opt)
			}
		}
	}
}

// split cuts logs into batches of at most n records, keeping resource and scope.
func split(logs plog.Logs, n int) []plog.Logs {
	if logs.LogRecordCount() <= n {
		return []plog.Logs{logs}
	}
	var out []plog.Logs
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		rl := logs.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for start := 0; start < sl.LogRecords().Len(); start += n {
				batch := plog.NewLogs()
				brl := batch.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(brl.Resource())
				bsl := brl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(bsl.Scope())
				for k := start; k < min(start+n, sl.LogRecords().Len()); k++ {
					sl.LogRecords().At(k).CopyTo(bsl.LogRecords().AppendEmpty())
				}
				out = append(out, batch)
			}
		}
	}
	return out
}

func forEachRecord(logs plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		sls := logs.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

// Shutdown stops polling, publishes the changes still pending (the exporters are still up:
// receivers shut down first), and releases the engine.
func (r *entityEventsReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
		r.done.Wait()
		if events, err := r.source.Events(r.cfg.ReportInterval); err == nil {
			r.publish(ctx, events)
		}
	}
	var err error
	if r.source != nil {
		err = r.source.Close(ctx)
	}
	r.telemetry.Shutdown()
	return err
}
