package ghapi

import (
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Dump is one HTTP response read back from a saved header dump.
type Dump struct {
	Status int
	Header http.Header
	Body   []byte
	Line   int // line of the status line
}

// DumpError is a line of a dump that cannot be read. Its message never quotes the line: a dump
// pasted from curl -v may hold a request's Authorization header.
type DumpError struct {
	Line int
	Msg  string
}

func (e *DumpError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxDumpBytes bounds a header dump (8 MiB).
const MaxDumpBytes = 8 << 20

var statusLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^HTTP/[0-9](?:\.[0-9])? ([0-9]{3})(?: .*)?$`) })

// ReadDump reads what curl -D -, curl -i, curl -I or curl -v printed for one request and returns
// the final response: interim 1xx answers, proxy CONNECT answers and redirects before it are skipped.
// From curl -v output it keeps the response lines ("< ") and drops the request lines ("> ") unread.
func ReadDump(r io.Reader) (*Dump, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxDumpBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxDumpBytes {
		// Cut here, a dump could lose the very headers that carry the facts: refused, not guessed.
		return nil, &DumpError{Line: 1, Msg: fmt.Sprintf("larger than %d MiB; a header dump of one request is a few KiB: save it with curl -sS -D - -o /dev/null", MaxDumpBytes>>20)}
	}
	lines := strings.Split(string(raw), "\n")
	var last *Dump
	i := 0
	for i < len(lines) {
		line, skip := dumpLine(lines[i])
		if skip || strings.TrimSpace(line) == "" {
			i++
			continue
		}
		m := statusLine().FindStringSubmatch(strings.TrimRight(line, " "))
		if m == nil {
			if last != nil {
				last.Body = []byte(strings.Join(lines[i:], "\n"))
				break
			}
			return nil, &DumpError{Line: i + 1, Msg: "not an HTTP status line; want the output of curl -sS -D - -o /dev/null (or curl -I) against the API"}
		}
		code, _ := strconv.Atoi(m[1])
		d := &Dump{Status: code, Header: http.Header{}, Line: i + 1}
		i++
		// prev is the header the next continuation line (obs-fold: a line starting with a space or
		// a tab) belongs to; dropped is true while that header is one never kept.
		var prev string
		dropped := false
		for ; i < len(lines); i++ {
			line, skip := dumpLine(lines[i])
			if skip {
				continue
			}
			if strings.TrimSpace(line) == "" {
				i++
				break
			}
			if (line[0] == ' ' || line[0] == '\t') && (prev != "" || dropped) {
				if !dropped {
					vals := d.Header[prev]
					vals[len(vals)-1] = strings.TrimSpace(vals[len(vals)-1] + " " + strings.TrimSpace(line))
				}
				continue
			}
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, &DumpError{Line: i + 1, Msg: "not a header line (want Name: value)"}
			}
			prev = textproto.CanonicalMIMEHeaderKey(name)
			dropped = prev == "Authorization"
			if dropped {
				prev = ""
				continue // a request header in a pasted trace: never kept, nor its continuation lines
			}
			d.Header.Add(prev, strings.TrimSpace(value))
		}
		if d.Status >= 100 && d.Status < 200 {
			continue
		}
		last = d
	}
	if last == nil {
		return nil, &DumpError{Line: 1, Msg: "no HTTP response in it; want the output of curl -sS -D - -o /dev/null (or curl -I) against the API"}
	}
	return last, nil
}

// dumpLine strips a line's carriage return and curl -v's markers; skip is true for curl -v's request
// and info lines.
func dumpLine(line string) (string, bool) {
	line = strings.TrimRight(line, "\r")
	switch {
	case strings.HasPrefix(line, "< "):
		return line[2:], false
	case line == "<":
		return "", false
	case strings.HasPrefix(line, "> "), line == ">", strings.HasPrefix(line, "* "), strings.HasPrefix(line, "{ ["), strings.HasPrefix(line, "} ["):
		return "", true
	}
	return line, false
}
