package decide

import (
	"context"
	"testing"
	"time"
)

// A fake clock: sleeping advances it. Over two simulated hours the pacer never lets more than 80
// writes into a minute or 500 into an hour, and keeps a second between writes.
func TestPacerWindows(t *testing.T) {
	clock := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	p := newPacer(Pace{})
	p.now = func() time.Time { return clock }
	p.sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	var at []time.Time
	for clock.Before(time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)) {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock)
	}
	for i := range at {
		if i > 0 && at[i].Sub(at[i-1]) < time.Second {
			t.Fatalf("writes %d and %d %v apart", i-1, i, at[i].Sub(at[i-1]))
		}
		if i >= 80 && at[i].Sub(at[i-80]) < time.Minute {
			t.Fatalf("81 writes within a minute ending at %d", i)
		}
		if i >= 500 && at[i].Sub(at[i-500]) < time.Hour {
			t.Fatalf("501 writes within an hour ending at %d", i)
		}
	}
	if len(at) < 990 || len(at) > 1001 {
		t.Errorf("%d writes in two hours, want about 1000 (500 an hour)", len(at))
	}
}

func TestPacerCancel(t *testing.T) {
	p := newPacer(Pace{MinInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.wait(ctx); err == nil {
		t.Fatal("second write within the interval did not stop on cancel")
	}
}
