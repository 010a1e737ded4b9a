// Package safe neutralises data from repositories, organisation members and APIs before a report
// writer or the CLI shows it: control characters and terminal escapes become visible (\n, \x1b,
// \u202e), token values become their type and last four, Markdown gets HTML and table escapes, and
// no output line can start a GitHub workflow command. Every writer uses it; it imports only facts.
package safe

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// dangerous reports whether r must be shown escaped: C0 and C1 controls, DEL, bidirectional
// embeddings, overrides, isolates and marks, line and paragraph separators, and the byte order mark
// and other zero-width format characters that hide text.
func dangerous(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200b, r == 0x200c, r == 0x200d, r == 0x200e, r == 0x200f, r == 0xfeff:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Text makes one value safe to print on one line of a terminal, log or CI output: token values are
// redacted (facts.Redact), every control character, escape and bidirectional override is shown as a
// Go-style escape (\n, \t, \x1b, \u202e), and invalid UTF-8 bytes as \xNN. Text never returns a line
// break, so a value cannot start a line of its own.
func Text(s string) string {
	s = facts.Redact(s)
	if strings.Contains(s, "##[") { // the runner's older command form is read anywhere in a line
		s = strings.ReplaceAll(s, "##[", `##\[`)
	}
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case dangerous(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return allSafeRunes(s[i:])
		}
	}
	return true
}

func allSafeRunes(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || dangerous(r) {
			return false
		}
		i += size
	}
	return true
}

// Lines is Text for a value that may hold several lines (a multi-line error): each line is made
// safe on its own and the lines are joined with "\n". Callers that indent or prefix lines get no line
// that starts with a workflow command, because Commands is applied to each line too.
func Lines(s string) string {
	parts := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, p := range parts {
		parts[i] = neutraliseLine(Text(p))
	}
	return strings.Join(parts, "\n")
}

// markdownEscaper escapes what would turn data into HTML, a table column or a link in GitHub
// Flavored Markdown.
var markdownEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
	"|", `\|`, "](", `\](`, "][", `\][`, "![", `\![`, "\\", `\\`,
)

// Markdown makes a value safe as Markdown text (a table cell, a list item): Text, then HTML
// characters become entities, table pipes and link or image brackets are escaped.
func Markdown(s string) string { return markdownEscaper.Replace(Text(s)) }

// Code wraps a value in a Markdown code span long enough to hold any backticks in it; inside a code
// span Markdown and HTML are not interpreted, so only Text and table pipes are applied.
func Code(s string) string {
	s = strings.ReplaceAll(Text(s), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// LinkTarget reports whether u may be used as a Markdown link destination as is: an https URL of
// printable ASCII without space, quotes, angle brackets or parentheses.
func LinkTarget(u string) bool {
	if !strings.HasPrefix(u, "https://") {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`"'<>()\`+"`", c) >= 0 {
			return false
		}
	}
	return true
}

// HTML escapes a value for HTML (after Text).
func HTML(s string) string { return html.EscapeString(Text(s)) }

// IsCommand reports whether a line would be read by the GitHub Actions runner as a workflow
// command: after leading white space, it starts with "::" or the older "##[" form.
func IsCommand(line string) bool {
	t := strings.TrimLeft(line, " \t\v\f\r\u00a0\u0085\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
	return strings.HasPrefix(t, "::") || strings.HasPrefix(t, "##[")
}

// neutraliseLine prefixes a line the runner would take for a command with a backslash, which the
// runner does not trim, so the line is shown as text.
func neutraliseLine(line string) string {
	if IsCommand(line) {
		return `\` + line
	}
	return line
}

// Commands returns out with every line that would start a workflow command prefixed with a
// backslash, and the older "##[" form broken anywhere ("##\["). Every format but github and json
// passes its whole output through it; the github writer builds its own commands and passes only
// data through Text.
func Commands(out []byte) []byte {
	if !bytes.Contains(out, []byte("::")) && !bytes.Contains(out, []byte("##[")) {
		return out
	}
	out = bytes.ReplaceAll(out, []byte("##["), []byte(`##\[`))
	var b bytes.Buffer
	b.Grow(len(out) + 16)
	for len(out) > 0 {
		end := bytes.IndexByte(out, '\n')
		line := out
		if end >= 0 {
			line = out[:end+1]
		}
		if IsCommand(string(bytes.TrimRight(line, "\n"))) {
			b.WriteByte('\\')
		}
		b.Write(line)
		out = out[len(line):]
	}
	return b.Bytes()
}

// JSON makes encoded JSON inert for terminals without changing the data it decodes to: DEL, C1
// controls, bidirectional controls and the other characters Text escapes are written as \uXXXX
// escapes (encoding/json already escapes C0 and U+2028/U+2029), and token values are redacted.
// Those characters can only stand inside JSON strings, so the result is valid JSON.
func JSON(out []byte) []byte {
	out = facts.RedactBytes(out)
	// "##[" can only stand in a JSON string: \u005b keeps the data and breaks the runner's older
	// command form, which is read anywhere in a line.
	out = bytes.ReplaceAll(out, []byte("##["), []byte(`##\u005b`))
	if allSafeRunesJSON(out) {
		return Commands(out)
	}
	var b bytes.Buffer
	b.Grow(len(out) + 16)
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		if r != '\n' && r != '\t' && r != '\r' && !(r == utf8.RuneError && size <= 1) && dangerous(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.Write(out[i : i+size])
		}
		i += size
	}
	return Commands(b.Bytes())
}

func allSafeRunesJSON(out []byte) bool {
	for i := 0; i < len(out); {
		c := out[i]
		if c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRune(out[i:])
		if r != utf8.RuneError && dangerous(r) || c == 0x7f {
			return false
		}
		i += size
	}
	return true
}
