package facts

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// tokenPattern matches every GitHub token shape, checksum or not: the stateless installation form
// ghs_<app id>_<JWT>, the 36-character kinds, and fine-grained github_pat_ tokens. It has no word
// boundaries: a value glued to other text (a JSON "\n" escape, "TOKEN0ghp_…") is still a value.
var tokenPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:ghs_[0-9]{1,20}_eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82,244})`)
})

// FoundToken is a real-looking token value found in some bytes. It never holds the value.
type FoundToken struct {
	Type     TokenType
	LastFour string
	// Line is the 1-based line the value starts on.
	Line int
	// Shape names the form: "checksummed" (36-character kinds), "fine_grained" or "stateless_installation".
	Shape string
}

// FindTokens returns every real-looking GitHub token in raw, in order: a 36-character kind (ghp_,
// gho_, ghu_, ghs_, ghr_) with a valid CRC-32 checksum, a fine-grained github_pat_ token of GitHub's
// shape (22 + "_" + 59 characters, or a longer body with upper and lower case and digits), or a
// stateless installation token ghs_<app id>_<JWT>. Placeholders (ghp_xxxx…, bad checksums) are not
// reported. The values themselves are never returned.
func FindTokens(raw []byte) []FoundToken {
	if !bytes.Contains(raw, []byte("gh")) && !bytes.Contains(raw, []byte("github_pat_")) {
		return nil
	}
	var out []FoundToken
	line, last := 1, 0
	for _, m := range tokenPattern().FindAllIndex(raw, -1) {
		line += bytes.Count(raw[last:m[0]], []byte("\n"))
		last = m[0]
		v := string(raw[m[0]:m[1]])
		if shape, ok := realLooking(v); ok {
			out = append(out, FoundToken{Type: TypeOf(v), LastFour: LastFour(v), Line: line, Shape: shape})
		}
	}
	return out
}

func realLooking(v string) (string, bool) {
	switch {
	case len(v) > 4 && v[:4] == "ghs_" && bytes.Contains([]byte(v), []byte("_eyJ")):
		return "stateless_installation", true
	case len(v) > len("github_pat_") && v[:len("github_pat_")] == "github_pat_":
		body := v[len("github_pat_"):]
		if len(body) == 82 && body[22] == '_' && allOf(body[:22], base62) && allOf(body[23:], base62) {
			return "fine_grained", true
		}
		return "fine_grained", len(body) > 82 && mixed(body)
	case len(v) == 40:
		return "checksummed", Checksum(v[4:34]) == v[34:]
	}
	return "", false
}

// mixed reports whether s has an upper-case letter, a lower-case letter and a digit, as random
// token bodies do and placeholders rarely do.
func mixed(s string) bool {
	var up, low, dig bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			low = true
		case c >= '0' && c <= '9':
			dig = true
		}
	}
	return up && low && dig
}

// Redact replaces every GitHub token shape in s (valid checksum or not) with a placeholder naming
// its type and last four characters: "<redacted classic token …T4V4>". Every message built from
// file content passes through it before it is shown.
func Redact(s string) string {
	if !containsTokenPrefix(s) {
		return s
	}
	return tokenPattern().ReplaceAllStringFunc(s, func(v string) string {
		return "<redacted " + string(TypeOf(v)) + " token …" + LastFour(v) + ">"
	})
}

// RedactBytes is Redact for bytes.
func RedactBytes(b []byte) []byte {
	if !containsTokenPrefix(string(b)) {
		return b
	}
	return []byte(Redact(string(b)))
}

func containsTokenPrefix(s string) bool {
	for _, p := range prefixTypes {
		if strings.Contains(s, p.prefix) {
			return true
		}
	}
	return false
}

// CommittedTokens turns every real-looking token value in a file's bytes into the facts of a
// committed token, one per value, at its line: type, last four and fingerprint, everything else
// unknown. The committed-token rule judges them; the value never leaves this function.
func CommittedTokens(file string, raw []byte) []Token {
	if !containsTokenPrefix(string(raw)) {
		return nil
	}
	var out []Token
	seen := map[string]int{}
	line, last := 1, 0
	for _, m := range tokenPattern().FindAllIndex(raw, -1) {
		line += bytes.Count(raw[last:m[0]], []byte("\n"))
		last = m[0]
		v := string(raw[m[0]:m[1]])
		if _, ok := realLooking(v); !ok {
			continue
		}
		prefix := v[:strings.IndexByte(v, '_')+1]
		id := fmt.Sprintf("%s:%d:%s…%s", file, line, prefix, LastFour(v))
		seen[id]++
		if n := seen[id]; n > 1 {
			id = fmt.Sprintf("%s#%d", id, n)
		}
		t := Token{ID: id, Type: TypeOf(v), Fingerprint: Fingerprint(v), LastFour: LastFour(v), Source: Source{Kind: SourceCommitted, File: file, Line: line}}
		for _, fact := range []string{FactScopes, FactPermissions, FactExpiresAt, FactRepositorySelection, FactResourceOwner, FactOwner} {
			t.MarkUnknown(fact)
		}
		out = append(out, t)
	}
	return out
}
