package policy

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// A cache never holds more than its bound, however many workers store at once, and returns what
// it holds.
func TestMemoCacheHoldsItsBound(t *testing.T) {
	var c memoCache
	const max = 100
	entries := make([]*memoEntry, 10000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += 4 {
				e := &memoEntry{}
				entries[i] = e
				c.store([]byte(fmt.Sprint(i)), e, max)
				c.load([]byte(fmt.Sprint(i - 1)))
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n != max {
		t.Fatalf("%d entries, want the bound %d", n, max)
	}
	held := 0
	for i, want := range entries {
		got, ok := c.load([]byte(fmt.Sprint(i)))
		if ok {
			held++
			if got != want {
				t.Fatalf("key %d: another entry", i)
			}
		}
	}
	if held != max {
		t.Fatalf("%d keys load, want %d", held, max)
	}
	c.clear()
	if _, ok := c.load([]byte("0")); ok || c.len() != 0 {
		t.Fatal("cleared cache still holds entries")
	}
}

// With its caches bounded far below the fleet's distinct footprints, the memoised judge stays
// within the bound on every group and still returns the plain path's findings.
func TestMemoCapBoundsEveryGroup(t *testing.T) {
	plain, memoised := plainAndMemo(t, Options{PolicyDirs: []string{"testdata/memo-user"}})
	const max = 16
	memoised.memo.maxEntries = max
	n := 3000
	if testing.Short() {
		n = 1000
	}
	sameFindings(t, plain, memoised, generatedTokens(n, 11), testNow)
	full := 0
	for _, g := range memoised.memo.groups {
		if l := g.cache.len(); l > max {
			t.Errorf("group %v holds %d entries, bound %d", g.sets, l, max)
		} else if l == max {
			full++
		}
	}
	if full == 0 {
		t.Error("no group reached the bound: the test does not exercise it")
	}
}

// lifetime-too-long is keyed on its derived key (memo_derived.go) with the built-in rules and with
// user rules beside them: a change to the rule or to the library functions it calls turns the
// derived key off, and this test asks to check its argument again and update the digest.
func TestDerivedKeysApply(t *testing.T) {
	for _, opts := range []Options{{}, {PolicyDirs: []string{"testdata/memo-user", "testdata/bundle-user"}, DataFiles: []string{"testdata/bundle-user-data.yaml"}}} {
		_, e := plainAndMemo(t, opts)
		m, err := e.memo.active(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		applied := map[string]bool{}
		for _, g := range m.groups {
			if len(g.sets) != 1 {
				continue
			}
			set := g.sets[0].rule + "." + g.sets[0].level
			if d, ok := memoDerivedKeys[set]; ok {
				if got := reachedDigest(g.fp); got != d.digest {
					t.Errorf("%s: its rules changed (digest %s): check the argument for its derived key in memo_derived.go, then record the new digest", set, got)
				}
				applied[set] = g.derived != nil
			}
		}
		for set := range memoDerivedKeys {
			if !applied[set] {
				t.Errorf("%s is not keyed on its derived key", set)
			}
		}
	}
}
