package main

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// Start-up runs with the collector off and a small limit; the first collection switches to the
// run's pacing. Checked in a child process: the settings are the process's own.
func TestStartupCollectorSwitchesToRunPacing(t *testing.T) {
	if os.Getenv("TOKENCHECK_TUNEGC_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStartupCollectorSwitchesToRunPacing$", "-test.v")
		cmd.Env = append(os.Environ(), "TOKENCHECK_TUNEGC_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	tuneGC(func(string) string { return "" })
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != -1 || l != startupHeap {
		t.Fatalf("during start-up: GOGC %d, limit %d; want off and %d", p, l, startupHeap)
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != 100 || l != runLimit {
		t.Fatalf("after the first collection: GOGC %d, limit %d; want 100 and %d", p, l, runLimit)
	}
}

// A user's GOGC or GOMEMLIMIT is left alone: no start-up mode, and no limit over the user's own.
func TestUserTunedCollectorIsLeftAlone(t *testing.T) {
	if os.Getenv("TOKENCHECK_TUNEGC_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUserTunedCollectorIsLeftAlone$", "-test.v")
		cmd.Env = append(os.Environ(), "TOKENCHECK_TUNEGC_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	before := gcPercent()
	tuneGC(func(k string) string { return map[string]string{"GOGC": "200"}[k] })
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != before || l != runLimit {
		t.Errorf("with GOGC set: GOGC %d (was %d), limit %d; want unchanged and %d", p, before, l, runLimit)
	}
	debug.SetMemoryLimit(1 << 40)
	tuneGC(func(k string) string { return map[string]string{"GOMEMLIMIT": "2GiB"}[k] })
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != before || l != 1<<40 {
		t.Errorf("with GOMEMLIMIT set: GOGC %d (was %d), limit %d; want both unchanged", p, before, l)
	}
}
