package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tokencheck/tokencheck/engine"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/fsguard"
	"github.com/tokencheck/tokencheck/engine/report"
)

// sink is one output of a run while it judges: a report stream writing to a temporary file beside
// the output file (renamed into place when whole), to stdout, or, under --quiet, to a temporary
// file copied to stdout only when the run does not pass.
type sink struct {
	flag   string // the flag that asked for it: --output, --also, --write-baseline, --summary
	format string
	file   string // "" for stdout
	stream report.Stream
	tmp    *os.File
	atomic *fsguard.AtomicFile // tmp, for a file output
	// held replaces tmp where no temporary file can be made (an unwritable TMPDIR): the report
	// waits in memory instead, as it did before reports were streamed.
	held *bytes.Buffer
	// summary marks the Markdown appended to $GITHUB_STEP_SUMMARY (file), within its limit.
	summary bool
	err     error
}

// openSinks starts every output of the run before any token is judged. An output that cannot
// be started is said at the end with the others' errors; the rest are still written.
func (j *judge) openSinks(r *report.Report) []*sink {
	var sinks []*sink
	for i, o := range j.outputs {
		flag := "--output"
		if i > 0 {
			flag = "--also"
		}
		sinks = append(sinks, &sink{flag: flag, format: o.format, file: o.file})
	}
	if j.opts.WriteBase != "" {
		sinks = append(sinks, &sink{flag: "--write-baseline", format: "json", file: j.opts.WriteBase})
	}
	if j.opts.Summary {
		if file := j.io.Getenv("GITHUB_STEP_SUMMARY"); file != "" {
			sinks = append(sinks, &sink{flag: "--summary", format: "markdown", file: file, summary: true})
		}
	}
	for _, s := range sinks {
		s.err = s.open(j, r)
	}
	return sinks
}

// open creates the sink's destination and begins its stream.
func (s *sink) open(j *judge, r *report.Report) error {
	var w io.Writer
	switch {
	case s.summary:
		s.tmp, w = spoolFile("tokencheck-summary-*.md", &s.held)
	case s.file != "":
		f, err := fsguard.CreateAtomic(s.file)
		if err != nil {
			return err
		}
		s.atomic, s.tmp, w = f, f.File, f
	case j.opts.Quiet:
		// Whether the run passes is known only at the end: held in a file, not in memory.
		s.tmp, w = spoolFile("tokencheck-quiet-*", &s.held)
	default:
		w = j.io.Out
	}
	stream, err := report.NewStream(s.format, w, s.file == "" && !s.summary && j.colour())
	if err != nil {
		return err
	}
	s.stream = stream
	return stream.Begin(r)
}

// discard drops the sink's output unfinished: its stream's spool and its temporary file.
func (s *sink) discard() {
	if s.stream != nil {
		s.stream.Discard()
	}
	switch {
	case s.atomic != nil:
		s.atomic.Abort()
	case s.tmp != nil:
		s.tmp.Close()
		os.Remove(s.tmp.Name())
	}
}

// spoolFile creates a temporary file for a report that waits for the end of the run; where none
// can be created it returns a buffer instead, set in *held.
func spoolFile(pattern string, held **bytes.Buffer) (*os.File, io.Writer) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		*held = &bytes.Buffer{}
		return nil, *held
	}
	// Read back through f: gone from the directory at once where an open file can be removed, so
	// nothing is left behind even if the process is killed; elsewhere finish removes it.
	_ = os.Remove(f.Name())
	return f, f
}

// token hands one judged token to the sink; a failed sink stays failed and gets no more.
func (s *sink) token(tok *finding.TokenInfo, fs []finding.Finding) {
	if s.err == nil && s.stream != nil {
		s.err = s.stream.Token(tok, fs)
	}
}

// judged is the pipeline's Judged hook: each batch's tokens, with their findings, to every sink.
func judged(sinks []*sink, also func([]facts.Token, []finding.Finding)) func([]facts.Token, []finding.Finding) error {
	return func(batch []facts.Token, fs []finding.Finding) error {
		if also != nil {
			also(batch, fs)
		}
		infos := make([]finding.TokenInfo, len(batch))
		for i := range batch {
			infos[i] = engine.TokenInfo(&batch[i])
		}
		return report.EachToken(infos, fs, func(tok *finding.TokenInfo, fs []finding.Finding) error {
			for _, s := range sinks {
				s.token(tok, fs)
			}
			return nil
		})
	}
}

// finish ends the sink's stream with the whole report and puts the output in place: renamed,
// appended to the step summary, copied to stdout (under --quiet, when the run does not pass), or
// dropped (under --quiet, when it passes). It returns the sink's error, if any, naming its flag.
func (s *sink) finish(j *judge, r *report.Report, keep bool) error {
	if s.stream != nil {
		if err := s.stream.End(r); s.err == nil {
			s.err = err
		}
	}
	if s.tmp != nil {
		defer os.Remove(s.tmp.Name()) // a no-op once renamed
		if err := s.place(j, keep); s.err == nil {
			s.err = err
		}
	}
	if s.held != nil && s.err == nil && keep {
		if s.summary {
			s.err = appendSummaryBytes(s.file, s.held.Bytes())
		} else {
			_, s.err = j.io.Out.Write(s.held.Bytes())
		}
	}
	if s.err == nil {
		return nil
	}
	switch s.flag {
	case "--write-baseline", "--summary":
		return fmt.Errorf("%s: %w", s.flag, s.err)
	}
	return fmt.Errorf("%s %s: %w", s.flag, s.format, s.err)
}

// place puts a finished temporary file where it belongs.
func (s *sink) place(j *judge, keep bool) error {
	tmp := s.tmp
	if s.err != nil || !keep {
		tmp.Close()
		return nil
	}
	switch {
	case s.summary:
		defer tmp.Close()
		return appendSummary(s.file, tmp)
	case s.file != "":
		return s.atomic.Commit()
	default: // stdout under --quiet
		defer tmp.Close()
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		_, err := io.Copy(j.io.Out, tmp)
		return err
	}
}

// appendSummary appends a rendered Markdown summary to the step summary file, within what is left
// of GitHub's 1 MiB (report.LimitSummary): only the part that fits is read into memory.
func appendSummary(file string, md *os.File) error {
	return appendWithin(file, func(budget int) ([]byte, int64, error) { return fitSummary(md, budget) })
}

// appendSummaryBytes appends a summary held in memory to the step summary file, within its limit.
func appendSummaryBytes(file string, md []byte) error {
	return appendWithin(file, func(budget int) ([]byte, int64, error) {
		return report.LimitSummary(md, budget), int64(len(md)), nil
	})
}

// appendWithin appends to file what fit keeps of a summary within the room left in it; fit also
// returns the summary's whole size.
func appendWithin(file string, fit func(budget int) ([]byte, int64, error)) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	used := int64(0)
	if fi, err := f.Stat(); err == nil {
		used = fi.Size()
	}
	kept, size, err := fit(report.StepSummaryLimit - int(used))
	if err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(kept); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if len(kept) == 0 && size > 0 {
		return fmt.Errorf("%s already holds %d bytes of GitHub's 1 MiB step summary: no room for the summary", file, used)
	}
	return nil
}

// fitSummary reads what report.LimitSummary would keep of the file md within budget, reading
// at most budget bytes into memory; size is md's whole size.
func fitSummary(md *os.File, budget int) ([]byte, int64, error) {
	fi, err := md.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := fi.Size()
	if size <= int64(budget) {
		b, err := readAt(md, 0, size)
		return b, size, err
	}
	// Counting the lines first says how long the note is, which says how much of the rest fits.
	lines, last, err := countLines(md)
	if err != nil {
		return nil, size, err
	}
	reserve := report.SummaryNoteLen(lines + 1)
	if budget < reserve || budget <= 0 {
		return nil, size, nil
	}
	kept, err := readAt(md, 0, int64(budget-reserve))
	if err != nil {
		return nil, size, err
	}
	kept = kept[:bytes.LastIndexByte(kept, '\n')+1]
	keptLines := bytes.Count(kept, []byte("\n"))
	left := lines - keptLines
	if last != '\n' {
		left++
	}
	return report.AppendSummaryNote(kept, left), size, nil
}

func readAt(f *os.File, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// countLines counts the newlines of f and returns its last byte.
func countLines(f *os.File) (int, byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	buf := make([]byte, 256<<10)
	n, last := 0, byte(0)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte("\n"))
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			return n, last, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}
