package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// A report being written into the directory a check walks is the run's own output, not an input:
// half written, it carries none of the marks that recognise a finished report, and its fix links
// are template links.
func TestFilesTheRunIsWritingAreNotRead(t *testing.T) {
	dir := t.TempDir()
	partial := filepath.Join(dir, ".report.txt.123.tmp")
	link := "fix: https://github.com/settings/personal-access-tokens/new?name=x&contents=write\n"
	if err := os.WriteFile(partial, []byte(link), 0o600); err != nil {
		t.Fatal(err)
	}
	cat := catalog(t)
	run := func(writing []string) (int, Result) {
		n := 0
		res := StreamSelected(context.Background(), []string{dir}, Selection{Writing: writing}, cat, time.Now(), 0, func(b []facts.Token) error {
			n += len(b)
			return nil
		})
		return n, res
	}
	if n, _ := run(nil); n == 0 {
		t.Fatal("the planted template link is not found when the file is not the run's own: the test proves nothing")
	}
	// Named as the output flag named it: another spelling, or through a symbolic link to the
	// walked directory, is the same file.
	alias := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, alias); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	for _, out := range []string{filepath.Join(dir, ".", ".report.txt.123.tmp"), filepath.Join(alias, ".report.txt.123.tmp")} {
		n, res := run([]string{out})
		if n != 0 || len(res.Errors) != 0 {
			t.Errorf("%s: read %d token(s), %d error(s) from the run's own half-written output; want none", out, n, len(res.Errors))
		}
		if res.Outputs != 0 || res.Files != 0 || len(res.Notices) != 0 {
			t.Errorf("%s: own outputs %d, files %d, notices %d; want the run's own report neither read nor counted", out, res.Outputs, res.Files, len(res.Notices))
		}
	}
}
