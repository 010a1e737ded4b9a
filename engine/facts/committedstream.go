package facts

import (
	"bytes"
	"fmt"
	"strings"
)

// CommittedFinder is CommittedTokens for a file read piece by piece: the same tokens, ids and
// lines in the same order, without holding the file. Write the file's bytes in order, split
// anywhere, then Close; each token reaches emit as soon as it is found.
//
// A token value holds only the characters A-Z a-z 0-9 _ - . and the pattern has no anchors or word
// boundaries, so a match never spans any other byte and what matches on either side of one does
// not depend on the other side: the finder scans up to the last such byte of what it has and keeps
// only the unfinished run after it (a few bytes, short of a pathological run of token characters).
type CommittedFinder struct {
	file  string
	emit  func(Token)
	line  int
	seen  map[string]int
	carry []byte
}

// NewCommittedFinder starts finding committed tokens in the file named file (as CommittedTokens
// names it: redacted, slash-separated).
func NewCommittedFinder(file string, emit func(Token)) *CommittedFinder {
	return &CommittedFinder{file: file, emit: emit, line: 1, seen: map[string]int{}}
}

// Write implements io.Writer; it never fails.
func (f *CommittedFinder) Write(p []byte) (int, error) {
	n := len(p)
	if len(f.carry) > 0 {
		j := indexBreak(p)
		if j < 0 {
			f.carry = append(f.carry, p...)
			return n, nil
		}
		f.carry = append(f.carry, p[:j+1]...)
		f.scan(f.carry)
		f.carry, p = f.carry[:0], p[j+1:]
	}
	k := lastBreak(p)
	f.scan(p[:k+1])
	f.carry = append(f.carry, p[k+1:]...)
	return n, nil
}

// Close scans what is left of the file.
func (f *CommittedFinder) Close() error {
	f.scan(f.carry)
	f.carry = nil
	return nil
}

// scan finds the tokens of one piece that ends at a break (or at the end of the file).
func (f *CommittedFinder) scan(seg []byte) {
	if !containsTokenPrefixBytes(seg) {
		f.line += bytes.Count(seg, []byte("\n"))
		return
	}
	last := 0
	for _, m := range tokenPattern().FindAllIndex(seg, -1) {
		f.line += bytes.Count(seg[last:m[0]], []byte("\n"))
		last = m[0]
		v := string(seg[m[0]:m[1]])
		if _, ok := realLooking(v); !ok {
			continue
		}
		prefix := v[:strings.IndexByte(v, '_')+1]
		id := fmt.Sprintf("%s:%d:%s…%s", f.file, f.line, prefix, LastFour(v))
		f.seen[id]++
		if n := f.seen[id]; n > 1 {
			id = fmt.Sprintf("%s#%d", id, n)
		}
		t := Token{ID: id, Type: TypeOf(v), Fingerprint: Fingerprint(v), LastFour: LastFour(v), Source: Source{Kind: SourceCommitted, File: f.file, Line: f.line}}
		for _, fact := range []string{FactScopes, FactPermissions, FactExpiresAt, FactRepositorySelection, FactResourceOwner, FactOwner} {
			t.MarkUnknown(fact)
		}
		f.emit(t)
	}
	f.line += bytes.Count(seg[last:], []byte("\n"))
}

// tokenByte reports whether c can be part of a token value.
func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// indexBreak is the index of the first byte of p that no token value holds (-1: none).
func indexBreak(p []byte) int {
	for i, c := range p {
		if !tokenByte(c) {
			return i
		}
	}
	return -1
}

// lastBreak is the index of the last byte of p that no token value holds (-1: none).
func lastBreak(p []byte) int {
	for i := len(p) - 1; i >= 0; i-- {
		if !tokenByte(p[i]) {
			return i
		}
	}
	return -1
}

func containsTokenPrefixBytes(b []byte) bool {
	for _, p := range prefixTypes {
		if bytes.Contains(b, []byte(p.prefix)) {
			return true
		}
	}
	return false
}
