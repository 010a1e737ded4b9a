package main

import (
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
// the output file (renamed into place when whole), to stdout, or to a spool read back at the end
// (the step summary; a report for stdout under --quiet, copied only when the run does not pass).
type sink struct {
	flag   string // the flag that asked for it: --output, --also, --write-baseline, --summary
	format string
	file   string // "" for stdout
	stream report.Stream
	atomic *fsguard.AtomicFile // a file output
	spool  *report.Spool       // a report that waits for the end of the run
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
		s.spool = &report.Spool{}
		w = s.spool
	case s.file != "":
		f, err := fsguard.CreateAtomic(s.file)
		if err != nil {
			return err
		}
		s.atomic, w = f, f
	case j.opts.Quiet:
		// Whether the run passes is known only at the end.
		s.spool = &report.Spool{}
		w = s.spool
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
	s.release()
}

// release removes what the sink still holds: an output file not put in place, a spool.
func (s *sink) release() {
	if s.atomic != nil {
		s.atomic.Abort() // a no-op once committed
	}
	if s.spool != nil {
		s.spool.Close()
	}
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
	defer s.release()
	if s.stream != nil {
		if err := s.stream.End(r); s.err == nil {
			s.err = err
		}
	}
	if s.err == nil && keep {
		s.err = s.place(j)
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

// place puts a finished output where it belongs.
func (s *sink) place(j *judge) error {
	switch {
	case s.atomic != nil:
		return s.atomic.Commit()
	case s.summary:
		return appendSummary(s.file, s.spool)
	case s.spool != nil: // stdout under --quiet
		_, err := s.spool.WriteTo(j.io.Out)
		return err
	}
	return nil
}

// appendSummary appends a rendered Markdown summary to the step summary file, within what is left
// of GitHub's 1 MiB (report.LimitSummaryFrom): only the part that fits is read into memory.
func appendSummary(file string, md *report.Spool) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	used := int64(0)
	if fi, err := f.Stat(); err == nil {
		used = fi.Size()
	}
	in, err := md.ReaderAt()
	var kept []byte
	if err == nil {
		kept, err = report.LimitSummaryFrom(in, md.Size(), report.StepSummaryLimit-int(used))
	}
	if err == nil {
		_, err = f.Write(kept)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && len(kept) == 0 && md.Size() > 0 {
		err = fmt.Errorf("%s already holds %d bytes of GitHub's 1 MiB step summary: no room for the summary", file, used)
	}
	return err
}
