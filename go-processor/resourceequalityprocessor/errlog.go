package resourceequalityprocessor // import "github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// errorLog logs engine failures at most once per interval, with the number of failures it
// did not log since, so that a failing engine cannot flood the collector's log.
type errorLog struct {
	logger     *zap.Logger
	interval   time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *errorLog) log(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.suppressed++
		return
	}
	l.logger.Error("resourceequality could not process a batch; it passed on unchanged",
		zap.Error(err), zap.Int("failures_not_logged_since_last", l.suppressed))
	l.last = now
	l.suppressed = 0
}
