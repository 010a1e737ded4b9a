package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/report"
)

// The step summary is cut from a file without reading it whole; what is kept must be what
// report.LimitSummary keeps of the same bytes.
func TestStepSummaryCutFromAFileIsLimitSummarysCut(t *testing.T) {
	dir := t.TempDir()
	var md strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&md, "| row %d | %s |\n", i, strings.Repeat("x", i%50))
	}
	for _, text := range []string{md.String(), md.String() + "no final newline", "short\n", ""} {
		file := filepath.Join(dir, "md")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{0, 10, 400, 1000, 50000, len(text) - 1, len(text), len(text) + 5} {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			got, size, err := fitSummary(f, budget)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := report.LimitSummary([]byte(text), budget)
			if !bytes.Equal(got, want) || size != int64(len(text)) {
				t.Errorf("budget %d of %d bytes: kept %d bytes; LimitSummary keeps %d", budget, len(text), len(got), len(want))
			}
		}
	}
}
