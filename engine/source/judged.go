package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/gobwas/glob"
)

// InventorySchema is the value of the top-level schema key an inventory declares itself with. A
// file found by walking a directory is judged as an inventory only with it (or when an
// inventories: glob of the configuration names it); a file named on the command line without it.
const InventorySchema = "tokencheck.inventory/v1"

// inventorySchemaPrefix starts every inventory schema value: another version is an input error.
const inventorySchemaPrefix = "tokencheck.inventory/"

// noSchemaNotice is said of a walked YAML/JSON file with a top-level tokens key and no schema.
const noSchemaNotice = "skipped: looks like an inventory but has no schema: " + InventorySchema

// StdinName names standard input (the path "-") in locations.
const StdinName = "stdin"

// Globs is a compiled list of path globs (--ignore, ignore:, inventories:). A path matches when a
// glob matches the path as walked (slash-separated, cleaned, without a leading ./), the path
// relative to the working directory, the path relative to the directory named on the command line
// that it was found in, or the base name. * and ? do not cross a /, ** does;
// [abc] and {a,b} as usual.
type Globs struct {
	src []string
	gs  []*glob.Pattern
}

// CompileGlobs compiles path globs; the error names the first one that is not a valid glob.
func CompileGlobs(patterns []string) (Globs, error) {
	var g Globs
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		c, err := glob.Compile(filepath.ToSlash(strings.TrimPrefix(p, "./")), '/')
		if err != nil {
			return Globs{}, fmt.Errorf("%q is not a valid glob: %v", p, err)
		}
		g.src, g.gs = append(g.src, p), append(g.gs, c)
	}
	return g, nil
}

// JoinGlobs is every glob of a and of b.
func JoinGlobs(a, b Globs) Globs {
	return Globs{src: append(append([]string(nil), a.src...), b.src...), gs: append(append([]*glob.Pattern(nil), a.gs...), b.gs...)}
}

// Empty reports whether there is no glob.
func (g Globs) Empty() bool { return len(g.gs) == 0 }

// Match reports whether a path matches one of the globs (see Globs).
func (g Globs) Match(path string) bool { return g.MatchUnder(path, "") }

// MatchUnder is Match for a path met while walking root: the path relative to root is matched too,
// as trivy matches --skip-files relative to its target.
func (g Globs) MatchUnder(path, root string) bool {
	if len(g.gs) == 0 || path == "" {
		return false
	}
	cands := matchForms(path)
	if root != "" && root != path {
		if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
			cands = append(cands, filepath.ToSlash(rel))
		}
	}
	for _, c := range g.gs {
		for _, p := range cands {
			if c.Match(p) {
				return true
			}
		}
	}
	return false
}

// matchForms are the spellings of a path a glob is matched against.
func matchForms(path string) []string {
	clean := filepath.ToSlash(filepath.Clean(path))
	forms := []string{clean, filepath.ToSlash(filepath.Base(path))}
	if abs, err := filepath.Abs(path); err == nil {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				forms = append(forms, filepath.ToSlash(rel))
			}
		}
	}
	return forms
}

// Output recognition: what tokencheck itself writes is never read back as an input. Every format
// carries a mark of its own: the JSON report's (and so a baseline's) schema, the review plan's
// schema, SARIF's tool driver name, JUnit's testsuites name, the Markdown report's heading, the
// text and github reports' closing verdict line, the review log's decision lines.
var (
	markdownHeading = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\A(?:\xef\xbb\xbf)?### tokencheck: (?:PASS|FAIL|ERROR|INCOMPLETE)\r?\n`)
	})
	verdictLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:tokencheck: )?\d+ token\(s\), \d+ finding\(s\).*, \d+ error\(s\), \d+ incomplete: (?:PASS|FAIL|ERROR|INCOMPLETE)$`)
	})
	junitSuites = []byte(`<testsuites name="tokencheck"`)
)

// OwnOutput names the kind of tokencheck output raw is ("" when it is none): a JSON report or
// baseline, a review plan, a SARIF log, a JUnit, Markdown, text or github report, a review log.
func OwnOutput(raw []byte) string {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	trimmed := bytes.TrimSpace(raw)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		first := trimmed
		if i := bytes.IndexByte(trimmed, '\n'); i > 0 && json.Valid(trimmed[:i]) {
			first = trimmed[:i] // a JSON Lines file: its first line tells
		}
		return ownJSON(first)
	}
	head := raw[:min(len(raw), 1024)]
	switch {
	case bytes.Contains(head, junitSuites) && bytes.HasPrefix(trimmed, []byte("<")):
		return "JUnit report"
	case markdownHeading().Match(raw):
		return "Markdown report"
	}
	if last := lastLine(trimmed); verdictLine().Match(last) {
		if bytes.HasPrefix(last, []byte("tokencheck: ")) {
			return "github report"
		}
		return "text report"
	}
	return ""
}

// lastLine is the last line of b (without its line ending).
func lastLine(b []byte) []byte {
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return bytes.TrimRight(b, "\r")
}

// ownJSON recognises tokencheck's JSON outputs by their top-level keys, decoding as little as it
// can: a document whose schema comes first (every facts document, however large) is decided there.
func ownJSON(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	var tool, driver string
	var findings, decision, dryRun bool
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		switch k {
		case "schema":
			var schema string
			if dec.Decode(&schema) != nil {
				return ""
			}
			switch {
			case strings.HasPrefix(schema, "tokencheck.report/"):
				return "JSON report (" + schema + ")"
			case strings.HasPrefix(schema, "tokencheck.review-plan/"):
				return "review plan (" + schema + ")"
			}
			return "" // a facts document, an inventory, or anything else with a schema of its own
		case "tool":
			if dec.Decode(&tool) != nil {
				tool = ""
			}
		case "runs":
			var runs []struct {
				Tool struct {
					Driver struct {
						Name string `json:"name"`
					} `json:"driver"`
				} `json:"tool"`
			}
			if dec.Decode(&runs) == nil && len(runs) > 0 {
				driver = runs[0].Tool.Driver.Name
			}
		default:
			switch k {
			case "findings":
				findings = true
			case "decision":
				decision = true
			case "dry_run":
				dryRun = true
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return ""
			}
		}
	}
	switch {
	case driver == "tokencheck":
		return "SARIF log"
	case tool == "tokencheck" && findings:
		return "JSON report of an earlier version"
	case decision && dryRun:
		return "review log"
	}
	return ""
}
