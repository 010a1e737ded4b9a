package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/finding"
)

func TestSpoolMovesToATemporaryFileAndRemovesIt(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	s := &Spool{limit: 100}
	var want bytes.Buffer
	for i := 0; i < 1000; i++ {
		line := fmt.Sprintf("piece %d\n", i)
		want.WriteString(line)
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if s.file == nil {
		t.Fatal("a spool over its limit stayed in memory")
	}
	if s.mem.Len() != 0 {
		t.Errorf("%d bytes still held in memory after moving to a file", s.mem.Len())
	}
	var got bytes.Buffer
	if _, err := s.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("spool gave back %d bytes; want the %d written", got.Len(), want.Len())
	}
	in, err := s.section(int64(len("piece 0\n")), int64(len("piece 1\n")))
	if err != nil {
		t.Fatal(err)
	}
	var part bytes.Buffer
	part.ReadFrom(in)
	if part.String() != "piece 1\n" {
		t.Errorf("section = %q; want the second piece", part.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// bigReport has more findings than a spool holds in memory.
func bigReport(n int) *Report {
	res := &finding.Result{Now: "2026-11-22T00:00:00Z", FailOn: finding.High, Rules: []finding.Rule{{ID: "r", Severity: finding.High}}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("tok-%06d", i)
		res.Tokens = append(res.Tokens, finding.TokenInfo{ID: id, Type: "classic", Location: &finding.Location{File: "tokens.yaml", Line: i + 1}})
		for k := 0; k < 3; k++ {
			res.Findings = append(res.Findings, finding.Finding{Rule: "r", Token: id, Severity: []finding.Severity{finding.Critical, finding.High, finding.Low}[k],
				Level: finding.Deny, Subject: fmt.Sprint(k), Message: strings.Repeat("a long message ", 8), Location: &finding.Location{File: "tokens.yaml", Line: i + 1}})
		}
	}
	res.Summarize()
	return &Report{Tool: "tokencheck", Version: "1.0.0", Result: res, Command: "check"}
}

func TestLargeReportsSpillToDiskAndStayWhole(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	r := bigReport(15000) // about 10 MB of findings: over SpoolMemory
	for _, format := range []string{"json", "markdown", "junit", "github"} {
		t.Run(format, func(t *testing.T) {
			w, _ := New(format, false)
			var out bytes.Buffer
			if err := w.Write(&out, r); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
			text := out.String()
			switch format {
			case "json":
				var doc struct {
					Tokens   []finding.TokenInfo `json:"tokens"`
					Findings []finding.Finding   `json:"findings"`
				}
				if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Tokens) != 15000 || len(doc.Findings) != 45000 || doc.Findings[44999].Token != "tok-014999" {
					t.Errorf("%d tokens, %d findings; want 15000 and 45000 in order", len(doc.Tokens), len(doc.Findings))
				}
			case "markdown":
				if n := strings.Count(text, "| `tok-"); n != 45000 {
					t.Errorf("%d finding rows; want 45000", n)
				}
			case "junit":
				if n := strings.Count(text, "<testcase "); n != 15000 {
					t.Errorf("%d test cases; want 15000", n)
				}
			case "github":
				if n := strings.Count(text, "tokencheck: left out "); n != 45000-2*AnnotationsPerKind {
					t.Errorf("%d left-out lines; want %d", n, 45000-2*AnnotationsPerKind)
				}
			}
		})
	}
}

func TestStreamFedTokenByTokenWritesWhatTheHeldReportDoes(t *testing.T) {
	r := bigReport(50)
	r.Problems = []finding.Problem{{Kind: finding.Input, File: "x.yaml", Line: 3, Message: "bad"}}
	r.Summarize()
	for _, format := range Formats {
		w, _ := New(format, false)
		var held, streamed bytes.Buffer
		if err := w.Write(&held, r); err != nil {
			t.Fatal(err)
		}
		s, err := NewStream(format, &streamed, false)
		if err != nil {
			t.Fatal(err)
		}
		head := &Report{Tool: r.Tool, Version: r.Version, Command: r.Command, Result: &finding.Result{Now: r.Now, FailOn: r.FailOn, Rules: r.Rules}}
		if err := s.Begin(head); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(r.Tokens); i += 7 { // batches, as the pipeline hands them over
			end := min(i+7, len(r.Tokens))
			var fs []finding.Finding
			for _, f := range r.Findings {
				if f.Token >= r.Tokens[i].ID && f.Token <= r.Tokens[end-1].ID {
					fs = append(fs, f)
				}
			}
			if err := EachToken(r.Tokens[i:end], fs, s.Token); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.End(r); err != nil {
			t.Fatal(err)
		}
		if held.String() != streamed.String() {
			t.Errorf("%s: streamed report differs from the held one:\n%s\n---\n%s", format, streamed.String(), held.String())
		}
	}
}
