package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/safe"
)

// GitHub writes workflow commands, so findings annotate the pull request diff without code
// scanning: ::error for findings that fail the gate, ::warning for those below it, ::notice for
// waived and existing ones. Errors and incomplete sources are ::error lines of their own.
//
// GitHub shows at most AnnotationsPerKind annotations of each kind per step and drops the rest
// silently, so the most severe are written first, up to that many of each kind, then one ::notice
// says how many were left out; those are written to the step's log as plain lines.
type GitHub struct{}

// AnnotationsPerKind is how many ::error and how many ::warning annotations GitHub shows for one
// step: "10 warning annotations and 10 error annotations per step, 50 annotations per job"
// (https://github.com/orgs/community/discussions/26680; GitHub's docs give no number). Notices are
// held to the same number, so the note about what was left out is always seen.
const AnnotationsPerKind = 10

// annotation is one workflow command to write; rank orders annotations of a kind, highest first,
// and seq, the order they were met in, breaks ties.
type annotation struct {
	Cmd   string
	Loc   *finding.Location
	Title string
	Msg   string
	Rank  int
	Seq   int
}

// before reports whether a is shown before b: higher rank, then met first.
func (a annotation) before(b annotation) bool {
	if a.Rank != b.Rank {
		return a.Rank > b.Rank
	}
	return a.Seq < b.Seq
}

// annotationKinds are the workflow commands findings become, in the order they are written.
var annotationKinds = []string{"error", "warning", "notice"}

// Write implements Writer.
func (GitHub) Write(w io.Writer, r *Report) error {
	s, _ := NewStream("github", w, false)
	return Render(s, r)
}

// githubStream keeps the AnnotationsPerKind most severe annotations of each kind as the run goes;
// every annotation also goes to a spool, from which the ones left out are written to the log at
// the end, most severe first.
type githubStream struct {
	out     *bufio.Writer
	r       *Report
	spooled Spool
	top     map[string][]annotation
	buckets map[string]map[int]int // kind → rank → spooled annotations
	seq     int
	line    bytes.Buffer
}

func (g *githubStream) Discard() { g.spooled.Close() }

func (g *githubStream) Begin(r *Report) error {
	g.r, g.top, g.buckets = r, map[string][]annotation{}, map[string]map[int]int{}
	return nil
}

// offer keeps a among the best of its kind, at most AnnotationsPerKind of them.
func (g *githubStream) offer(a annotation) {
	top := g.top[a.Cmd]
	i := sort.Search(len(top), func(i int) bool { return a.before(top[i]) })
	if i >= AnnotationsPerKind {
		return
	}
	top = slices.Insert(top, i, a)
	if len(top) > AnnotationsPerKind {
		top = top[:AnnotationsPerKind]
	}
	g.top[a.Cmd] = top
}

func (g *githubStream) Token(_ *finding.TokenInfo, fs []finding.Finding) error {
	r := g.r
	for _, f := range fs {
		cmd := "warning"
		switch {
		case f.Fails(r.FailOn):
			cmd = "error"
		case f.Waived, f.Existing:
			cmd = "notice"
		}
		msg := fmt.Sprintf("[%s] %s: %s", safe.Text(string(f.Severity)), safe.Text(f.Token), safe.Text(f.Message))
		switch {
		case f.Waived:
			msg += " (waived: " + safe.Text(f.WaiverReason) + ")"
		case f.Existing:
			msg += " (existing: in the baseline)"
		}
		if f.FixURL != "" {
			msg += "\nFix: " + safe.Text(f.FixURL)
		}
		if f.Remediation != "" {
			msg += "\n" + safe.Text(f.Remediation)
		}
		a := annotation{cmd, f.Location, f.Rule, msg, findingRank(f), g.seq}
		g.seq++
		g.offer(a)
		if g.buckets[cmd] == nil {
			g.buckets[cmd] = map[int]int{}
		}
		g.buckets[cmd][a.Rank]++
		// Spooled as it would be written if left out, behind its kind, rank and place.
		g.line.Reset()
		fmt.Fprintf(&g.line, "%s %d %d ", cmd, a.Rank, a.Seq)
		writeLeftOut(&g.line, a)
		if _, err := g.spooled.Write(g.line.Bytes()); err != nil {
			return fmt.Errorf("write GitHub annotations: %w", err)
		}
	}
	return nil
}

func (g *githubStream) End(r *Report) error {
	defer g.spooled.Close()
	bw := g.out
	// Input errors and incomplete sources rank above every finding: they make the verdict.
	const problemRank = 1 << 10
	var problems []annotation
	add := func(cmd string, loc *finding.Location, title, msg string, rank int) {
		problems = append(problems, annotation{cmd, loc, title, msg, rank, g.seq})
		g.seq++
	}
	for _, p := range r.Errors() {
		if loc := p.Location(); loc != nil {
			add("error", loc, "tokencheck input error", safe.Text(p.Message), problemRank)
		} else {
			add("error", nil, "tokencheck input error", safe.Text(p.Error()), problemRank)
		}
	}
	for _, p := range r.Notices() {
		add("notice", p.Location(), "tokencheck skipped", safe.Text(p.Error()), 0)
	}
	for _, p := range r.Incomplete() {
		add("error", p.Location(), "tokencheck incomplete", safe.Text(p.Where()+": "+p.Message), problemRank)
	}
	for _, uw := range r.UnusedWaivers {
		add("warning", uw.Location, "unused waiver",
			fmt.Sprintf("waiver of %s on %s (owner %s) matched no finding; remove it", safe.Text(uw.Rule), safe.Text(uw.Token), safe.Text(uw.Owner)), -1)
	}
	total := map[string]int{}
	for kind, ranks := range g.buckets {
		for _, n := range ranks {
			total[kind] += n
		}
	}
	for _, a := range problems {
		g.offer(a)
		total[a.Cmd]++
	}
	kept := map[string][]annotation{}
	left := map[string]int{}
	shown := map[int]bool{}
	for _, kind := range annotationKinds {
		limit := AnnotationsPerKind
		if kind == "notice" && left["error"]+left["warning"]+total[kind] > AnnotationsPerKind {
			limit-- // room for the notice about what was left out
		}
		as := g.top[kind]
		if len(as) > limit {
			as = as[:limit]
		}
		kept[kind], left[kind] = as, total[kind]-len(as)
		for _, a := range as {
			shown[a.Seq] = true
		}
	}
	for _, kind := range []string{"error", "warning"} {
		for _, a := range kept[kind] {
			writeCommand(bw, a.Cmd, a.Loc, a.Title, a.Msg)
		}
	}
	if n := left["error"] + left["warning"] + left["notice"]; n > 0 {
		writeCommand(bw, "notice", nil, "tokencheck: annotations left out", fmt.Sprintf(
			"%d error, %d warning and %d notice annotation(s) not shown: GitHub shows at most %d of each kind per step, so the most severe were written. The others are in this step's log (lines starting \"tokencheck: left out\") and in the full report (--also json=FILE, SARIF, --summary).",
			left["error"], left["warning"], left["notice"], AnnotationsPerKind))
	}
	for _, a := range kept["notice"] {
		writeCommand(bw, a.Cmd, a.Loc, a.Title, a.Msg)
	}
	for _, kind := range annotationKinds {
		if left[kind] == 0 {
			continue
		}
		// Most severe first; among equals, in the order met (findings, then problems).
		ranks := map[int]bool{}
		for rank := range g.buckets[kind] {
			ranks[rank] = true
		}
		for _, a := range problems {
			if a.Cmd == kind {
				ranks[a.Rank] = true
			}
		}
		order := slices.Sorted(maps.Keys(ranks))
		slices.Reverse(order)
		for _, rank := range order {
			if g.buckets[kind][rank] > 0 {
				if err := g.leftOutFromSpool(kind, rank, shown); err != nil {
					return err
				}
			}
			for _, a := range problems {
				if a.Cmd == kind && a.Rank == rank && !shown[a.Seq] {
					writeLeftOut(bw, a)
				}
			}
		}
	}
	s := r.Summary
	fmt.Fprintf(bw, "tokencheck: %d token(s), %d finding(s), %d at or above %s, %d waived, %d existing, %d error(s), %d incomplete: %s\n",
		s.Tokens, s.Findings, s.Failing, safe.Text(string(r.FailOn)), s.Waived, s.Existing, s.Errors, s.Incomplete, r.Verdict())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}

// leftOutFromSpool writes the spooled annotations of one kind and rank that were not shown.
func (g *githubStream) leftOutFromSpool(kind string, rank int, shown map[int]bool) error {
	in, err := g.spooled.section(0, g.spooled.size)
	if err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	r := bufio.NewReaderSize(in, 256<<10)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("write GitHub annotations: read the spool: %w", err)
		}
		// "kind rank seq line": the line itself holds no line break (writeLeftOut).
		k, rest, _ := bytes.Cut(line, []byte(" "))
		if string(k) != kind {
			continue
		}
		rk, rest, _ := bytes.Cut(rest, []byte(" "))
		seq, text, _ := bytes.Cut(rest, []byte(" "))
		if n, _ := strconv.Atoi(string(rk)); n != rank {
			continue
		}
		if n, _ := strconv.Atoi(string(seq)); shown[n] {
			continue
		}
		if _, err := g.out.Write(text); err != nil {
			return fmt.Errorf("write GitHub annotations: %w", err)
		}
	}
}

// writeLeftOut writes an annotation GitHub would not show as a plain log line.
func writeLeftOut(w io.Writer, a annotation) {
	at := ""
	if a.Loc != nil && a.Loc.File != "" {
		at = location(&finding.Location{File: safe.Text(a.Loc.File), Line: a.Loc.Line}) + ": "
	}
	fmt.Fprintf(w, "tokencheck: left out %s: %s%s: %s\n", a.Cmd, at, safe.Text(a.Title), strings.ReplaceAll(a.Msg, "\n", " — "))
}

// writeCommand writes one workflow command; msg may hold the writer's own line breaks, and is
// otherwise already safe.Text. The title and file are made safe here.
func writeCommand(w io.Writer, cmd string, loc *finding.Location, title, msg string) {
	var props []string
	if loc != nil && loc.File != "" {
		props = append(props, "file="+escapeProperty(safe.Text(loc.File)))
		if loc.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", loc.Line))
		}
	}
	props = append(props, "title="+escapeProperty(safe.Text(title)))
	fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
