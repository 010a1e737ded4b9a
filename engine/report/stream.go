package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/tokencheck/tokencheck/engine/finding"
)

// Stream renders a report while the run is still judging: Begin once before any token, Token for
// each judged token with its findings (in judging order, the token's findings ordered), End once
// the run is over, with the problems, the summary and the parts only some commands have. A stream
// holds what one token needs, not the run: what a format must write before the tokens (a count, a
// total) waits in a spool, in memory up to SpoolMemory and in a temporary file beyond. Two formats
// keep a bounded selection instead: SARIF the SARIFMaxResults most severe results, GitHub the
// AnnotationsPerKind most severe annotations of each kind. End is always called, also after an
// error, so a stream releases its spool.
type Stream interface {
	// Begin starts the report; r has the head of the result (Now, FailOn, Rules) and the
	// rendering's settings, but no tokens, findings or problems yet.
	Begin(r *Report) error
	// Token renders one judged token and its findings. tok is nil for findings whose token the
	// report does not list (a held result built by hand): rendered, never dropped.
	Token(tok *finding.TokenInfo, fs []finding.Finding) error
	// End finishes the report with the whole result: problems, summary, unused waivers, audit.
	End(r *Report) error
	// Discard releases what the stream holds without finishing the report, for a run that
	// failed: no summary, verdict or closing bracket is written for a result that does not exist.
	Discard()
}

// NewStream returns the streaming writer of a format name, writing to w; colour applies to text.
func NewStream(format string, w io.Writer, colour bool) (Stream, error) {
	switch format {
	case "text":
		return &textStream{t: Text{Colour: colour}, out: bufio.NewWriterSize(w, 64<<10)}, nil
	case "json":
		return &jsonStream{out: bufio.NewWriterSize(w, 64<<10)}, nil
	case "sarif":
		return &sarifStream{s: SARIF{}, out: w}, nil
	case "junit":
		return &junitStream{out: bufio.NewWriterSize(w, 64<<10)}, nil
	case "github":
		return &githubStream{out: bufio.NewWriterSize(w, 64<<10)}, nil
	case "markdown":
		return &markdownStream{out: bufio.NewWriterSize(w, 64<<10)}, nil
	}
	_, err := New(format, colour)
	return nil, err
}

// Render writes a result held whole through a stream: each listed token with its findings, in
// the report's order, then the findings of tokens it does not list.
func Render(s Stream, r *Report) error {
	err := s.Begin(r)
	if err == nil {
		err = EachToken(r.Tokens, r.Findings, s.Token)
	}
	if endErr := s.End(r); err == nil {
		err = endErr
	}
	return err
}

// EachToken calls fn for each token with its findings, in the order of tokens; the findings of
// tokens not in the list follow, one call per token with a nil TokenInfo. Findings keep their order.
func EachToken(tokens []finding.TokenInfo, fs []finding.Finding, fn func(*finding.TokenInfo, []finding.Finding) error) error {
	// The common case, and the engine's: findings ordered by token, in the tokens' order.
	byToken := make(map[string][]finding.Finding, len(tokens))
	var orphans []string
	listed := make(map[string]bool, len(tokens))
	for i := range tokens {
		listed[tokens[i].ID] = true
	}
	for _, f := range fs {
		if !listed[f.Token] {
			if _, seen := byToken[f.Token]; !seen {
				orphans = append(orphans, f.Token)
			}
		}
		byToken[f.Token] = append(byToken[f.Token], f)
	}
	for i := range tokens {
		tok := tokens[i]
		if err := fn(&tok, byToken[tok.ID]); err != nil {
			return err
		}
		delete(byToken, tok.ID) // a token listed twice shows its findings once
	}
	for _, id := range orphans {
		if err := fn(nil, byToken[id]); err != nil {
			return err
		}
	}
	return nil
}

// SpoolMemory is how much a spool holds in memory before it moves to a temporary file.
const SpoolMemory = 4 << 20

// Spool keeps bytes written now and read back later (what a report writes after the tokens, a
// report that waits for the verdict): in memory up to SpoolMemory, then in a temporary file,
// removed by Close, and at once where the system allows removing an open file. Where no temporary
// file can be made (an unwritable TMPDIR) it stays in memory, as reports did before they streamed.
type Spool struct {
	// limit is how much is held in memory (0: SpoolMemory).
	limit int
	mem   bytes.Buffer
	file  *os.File
	w     *bufio.Writer
	size  int64
	err   error
}

// Write implements io.Writer; a failed temporary file is the spool's error from then on.
func (s *Spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.size += int64(len(p))
	if s.file == nil {
		limit := s.limit
		if limit == 0 {
			limit = SpoolMemory
		}
		if limit < 0 || s.mem.Len()+len(p) <= limit {
			return s.mem.Write(p)
		}
		f, err := os.CreateTemp("", "tokencheck-spool-*")
		if err != nil {
			s.limit = -1 // no file: held in memory from now on
			return s.mem.Write(p)
		}
		// Gone from the directory at once where an open file can be removed (its data stays
		// reachable through f); elsewhere Close removes it.
		_ = os.Remove(f.Name())
		s.file = f
		s.w = bufio.NewWriterSize(s.file, 256<<10)
		if _, err := s.w.Write(s.mem.Bytes()); err != nil {
			s.err = fmt.Errorf("spool the report: %w", err)
			return 0, s.err
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = fmt.Errorf("spool the report: %w", err)
	}
	return n, s.err
}

// section returns a reader of n bytes at off.
func (s *Spool) section(off, n int64) (io.Reader, error) {
	r, err := s.ReaderAt()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(r, off, n), nil
}

// Size is how many bytes were written.
func (s *Spool) Size() int64 { return s.size }

// ReaderAt reads back what was written, at any offset.
func (s *Spool) ReaderAt() (io.ReaderAt, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spool the report: %w", err)
	}
	return s.file, nil
}

// WriteTo copies everything spooled to w.
func (s *Spool) WriteTo(w io.Writer) (int64, error) {
	r, err := s.section(0, s.size)
	if err != nil {
		return 0, err
	}
	return io.Copy(w, r)
}

// Close releases the spool's temporary file.
func (s *Spool) Close() error {
	if s.file == nil {
		s.mem = bytes.Buffer{}
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	os.Remove(name) // already gone where an open file can be removed
	s.file = nil
	return err
}
