package decide

import (
	"context"
	"sync"
	"time"
)

// Pace bounds the rate of writes under GitHub's secondary rate limits for content-creating
// requests: at most 80 a minute and 500 an hour, and GitHub asks for a second between writes.
type Pace struct {
	// MinInterval is the least time between two writes.
	MinInterval time.Duration
	// PerMinute is the most writes in any sliding minute.
	PerMinute int
	// PerHour is the most writes in any sliding hour.
	PerHour int
}

// DefaultPace stays under GitHub's documented secondary limits for content-creating requests.
var DefaultPace = Pace{MinInterval: time.Second, PerMinute: 80, PerHour: 500}

// pacer hands out write slots; safe for concurrent use.
type pacer struct {
	pace  Pace
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	mu    sync.Mutex
	sent  []time.Time // slots handed out in the last hour, oldest first
}

func newPacer(p Pace) *pacer {
	if p == (Pace{}) {
		p = DefaultPace
	}
	return &pacer{pace: p, now: time.Now, sleep: sleepCtx}
}

// wait blocks until a write may be sent, and reserves the slot.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock() // one writer waits at a time: slots are handed out in order
	for {
		now := p.now()
		for len(p.sent) > 0 && now.Sub(p.sent[0]) >= time.Hour {
			p.sent = p.sent[1:]
		}
		var until time.Time
		if n := len(p.sent); n > 0 {
			until = p.sent[n-1].Add(p.pace.MinInterval)
		}
		if p.pace.PerHour > 0 && len(p.sent) >= p.pace.PerHour {
			if t := p.sent[len(p.sent)-p.pace.PerHour].Add(time.Hour); t.After(until) {
				until = t
			}
		}
		if p.pace.PerMinute > 0 {
			inMinute := 0
			for i := len(p.sent) - 1; i >= 0 && now.Sub(p.sent[i]) < time.Minute; i-- {
				inMinute++
			}
			if inMinute >= p.pace.PerMinute {
				if t := p.sent[len(p.sent)-p.pace.PerMinute].Add(time.Minute); t.After(until) {
					until = t
				}
			}
		}
		if !until.After(now) {
			p.sent = append(p.sent, now)
			return nil
		}
		if err := p.sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
