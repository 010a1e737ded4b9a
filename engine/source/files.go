package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// Result is what a set of input files yields: token facts, and the problems found on the way.
type Result struct {
	Tokens []facts.Token
	Errors []error
	// Notices are inputs found by walking a directory that were not read (binary, UTF-16, symlink,
	// FIFO, device, too large, unparseable YAML with no sign of an inventory): shown, never failing.
	Notices []finding.Problem
	Files   int
	// Ignored counts the paths skipped by an ignore glob (--ignore, ignore:): not read, not notices.
	Ignored int
	// Outputs counts tokencheck's own outputs met (reports, baselines, SARIF, review plans and
	// logs): recognised by their marks and never read as inputs.
	Outputs int
}

// Selection says which of the paths a walk meets are read, and how.
type Selection struct {
	// Ignore skips the paths it matches, named or walked, files or whole directories.
	Ignore Globs
	// Inventories marks the files it matches as inventories, with or without the schema marker.
	Inventories Globs
	// Stdin is read, as an inventory named "stdin", for the path "-" (nil: "-" is a file name).
	Stdin io.Reader
	// AsWalked judges files named on the command line as if a walk had met them: an unmarked
	// look-alike inventory or an unreadable file is a notice, not an error (pre-commit names every
	// staged file).
	AsWalked bool
}

// MaxFileBytes caps how much of one input file is read (64 MiB). A larger file named on the command
// line, or a larger .json/.yaml/.yml file, is an error; any other larger file found by walking is a
// notice and is not read.
const MaxFileBytes = 64 << 20

// skippedDirs are never descended into.
var skippedDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true}

// inventorySign matches a tokens key in any quoting anywhere, as minified JSON, flow style or
// quoted keys write it; factsSign the facts schema marker.
var (
	inventorySign = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|[\s{,'"])["']?tokens["']?\s*:`) })
	factsSign     = []byte("tokencheck.facts/")
	utf8BOM       = []byte("\xef\xbb\xbf")
)

// Files reads every path (files, and directories recursively) and collects token facts from
// inventories, facts documents and template links in any other text file. A bad file is reported and
// the rest are still read. now is the time a template link's token would be created.
func Files(ctx context.Context, paths []string, cat *facts.Catalog, now time.Time) Result {
	var tokens []facts.Token
	res := Stream(ctx, paths, cat, now, 0, func(batch []facts.Token) error {
		tokens = append(tokens, batch...)
		return nil
	})
	res.Tokens = tokens
	return res
}

// DefaultBatch is how many tokens Stream hands over at a time.
const DefaultBatch = 2048

// Stream is Files without holding every token: tokens reach sink in batches of at most batch (0:
// DefaultBatch), in input order, each id once, so a large facts document is judged in bounded
// memory. Result.Tokens stays empty; an error from sink stops the walk. A file reached twice
// (check . d, inv.yaml ./inv.yaml) is read once.
func Stream(ctx context.Context, paths []string, cat *facts.Catalog, now time.Time, batch int, sink func([]facts.Token) error) Result {
	return StreamSelected(ctx, paths, Selection{}, cat, now, batch, sink)
}

// StreamSelected is Stream with a Selection: ignored paths, inventory globs, standard input.
func StreamSelected(ctx context.Context, paths []string, sel Selection, cat *facts.Catalog, now time.Time, batch int, sink func([]facts.Token) error) Result {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var res Result
	b := &batcher{size: batch, sink: sink, first: map[string]readAt{}}
	read := map[string]bool{}
	for _, p := range paths {
		if p == "-" && sel.Stdin != nil {
			if read[p] {
				continue
			}
			read[p] = true
			res.Files++
			errs, output := streamStdin(sel.Stdin, cat, now, b.add)
			res.Errors = append(res.Errors, errs...)
			if output != "" {
				res.Outputs++
			}
			continue
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			named := path == p && !sel.AsWalked
			if sel.Ignore.MatchUnder(path, p) {
				res.Ignored++
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if err != nil {
				res.Errors = append(res.Errors, finding.Problem{Kind: finding.Input, File: facts.Redact(path), Message: facts.Redact(unwrapPathError(err))})
				return nil
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if d.IsDir() {
				if path != p && skippedDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				res.skip(path, named, "is a %s; tokencheck reads regular files only", kindOf(d.Type()))
				return nil
			}
			if key := fileKey(path); read[key] {
				return nil
			} else {
				read[key] = true
			}
			errs, notice, output := streamFile(path, named, named || sel.Inventories.MatchUnder(path, p), cat, now, b.add)
			res.Errors = append(res.Errors, errs...)
			switch {
			case output != "":
				res.Outputs++
				return nil
			case notice == noSchemaNotice:
				res.Notices = append(res.Notices, finding.Problem{Kind: finding.Notice, File: facts.Redact(filepath.ToSlash(path)),
					Message: notice + " (add it, or match the file with inventories: in .tokencheck.yaml)"})
			case notice != "":
				res.skip(path, named, "%s", notice)
			}
			res.Files++
			return b.err
		})
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("reading %s stopped: %w", facts.Redact(p), err))
			break
		}
	}
	b.flush()
	if b.err != nil && !errors.Is(b.err, ctx.Err()) {
		res.Errors = append(res.Errors, b.err)
	}
	res.Errors = append(res.Errors, b.dups...)
	sort.SliceStable(res.Errors, func(i, j int) bool {
		a, aok := res.Errors[i].(finding.Problem)
		b, bok := res.Errors[j].(finding.Problem)
		if !aok || !bok {
			return aok && !bok
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res
}

// skip reports an input that was not read: an error when it was named on the command line, a
// notice when a directory walk found it.
func (res *Result) skip(path string, named bool, format string, args ...any) {
	name := facts.Redact(filepath.ToSlash(path))
	msg := facts.Redact(fmt.Sprintf(format, args...))
	if named {
		res.Errors = append(res.Errors, finding.Problem{Kind: finding.Input, File: name, Message: msg})
		return
	}
	res.Notices = append(res.Notices, finding.Problem{Kind: finding.Notice, File: name, Message: msg + " (not read)"})
}

// kindOf names a non-regular file's type.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// fileKey identifies a file however it was named (./inv.yaml, inv.yaml, dir/../inv.yaml).
func fileKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// readAt is where a token was read: a file and line, or an entry of a facts document.
type readAt struct {
	file  string
	line  int
	entry int // 1-based position in a facts document's tokens list; 0 elsewhere
	link  bool
}

func (r readAt) String() string {
	switch {
	case r.entry > 0:
		return fmt.Sprintf("%s token #%d", r.file, r.entry)
	case r.line > 0:
		return fmt.Sprintf("%s:%d", r.file, r.line)
	}
	return r.file
}

// batcher gathers tokens into batches for a sink, keeping the first token of each id and reporting
// the later ones where they stand.
type batcher struct {
	size  int
	sink  func([]facts.Token) error
	buf   []facts.Token
	first map[string]readAt
	dups  []error
	err   error
}

func (b *batcher) add(t facts.Token, at readAt) {
	if prev, dup := b.first[t.ID]; dup {
		if prev.link && at.link {
			return // the same template link again: one token, at its first place
		}
		where := ""
		if at.entry > 0 {
			where = fmt.Sprintf("token #%d: ", at.entry)
		}
		b.dups = append(b.dups, inputErr(at.file, at.line, "%sduplicate token id %q (first declared at %s)", where, t.ID, prev))
		return
	}
	b.first[t.ID] = at
	b.buf = append(b.buf, t)
	if len(b.buf) >= b.size {
		b.flush()
	}
}

func (b *batcher) flush() {
	if len(b.buf) == 0 || b.err != nil {
		return
	}
	b.err = b.sink(b.buf)
	b.buf = nil
}

// streamFile collects one file's tokens into emit; facts documents are decoded token by token. The
// notice, when not empty, says why the file was not read (or read only in part); output, when not
// empty, names the kind of tokencheck output the file is (not read). marked reads a YAML/JSON file
// as an inventory without the schema marker.
func streamFile(path string, named, marked bool, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) (errs []error, notice, output string) {
	raw, errs, notice := readInput(path, named)
	if raw == nil {
		return errs, notice, ""
	}
	errs, notice, output = streamRaw(filepath.ToSlash(path), raw, named, marked, structured(path), cat, now, emit)
	return errs, notice, output
}

// streamStdin reads standard input ("-") as a file named on the command line, named "stdin",
// size-capped like a file.
func streamStdin(in io.Reader, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) ([]error, string) {
	raw, err := io.ReadAll(io.LimitReader(in, MaxFileBytes+1))
	if err != nil {
		return []error{inputErr(StdinName, 0, "%s", unwrapPathError(err))}, ""
	}
	if len(raw) > MaxFileBytes {
		return []error{inputErr(StdinName, 0, "is over the %d-byte limit for one input file", MaxFileBytes)}, ""
	}
	errs, notice, output := streamRaw(StdinName, raw, true, true, true, cat, now, emit)
	if notice != "" {
		errs = append(errs, inputErr(StdinName, 0, "%s", notice))
	}
	return errs, output
}

// streamRaw judges one input's content (see streamFile); structuredInput reads it as YAML/JSON.
func streamRaw(name string, raw []byte, named, marked, structuredInput bool, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) ([]error, string, string) {
	if kind := OwnOutput(raw); kind != "" {
		return nil, "", kind // tokencheck's own output is never an input
	}
	redacted := facts.Redact(name)
	for _, t := range facts.CommittedTokens(redacted, raw) {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line})
	}
	if notice := skipReason(raw); notice != "" {
		return nil, notice, ""
	}
	raw = bytes.TrimPrefix(raw, utf8BOM)
	if isFactsDocument(raw) && schemaFirst(raw) {
		_, errs := scrub(nil, streamFactsDocument(name, raw, func(t facts.Token, at readAt) {
			scrubToken(&t)
			at.file = facts.Redact(at.file)
			emit(t, at)
		}))
		return errs, "", ""
	}
	tokens, errs, notice := fileTokens(name, raw, named, marked, structuredInput, cat, now)
	tokens, errs = scrub(tokens, errs)
	for _, t := range tokens {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line, link: t.Source.Kind == facts.SourceTemplateLink})
	}
	return errs, notice, ""
}

// readInput reads a regular file, at most MaxFileBytes of it; it opens without following a
// swapped-in FIFO or device (the opened file must still be regular).
func readInput(path string, named bool) ([]byte, []error, string) {
	fail := func(msg string) ([]byte, []error, string) {
		return nil, []error{finding.Problem{Kind: finding.Input, File: facts.Redact(filepath.ToSlash(path)), Message: facts.Redact(msg)}}, ""
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(unwrapPathError(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fail(unwrapPathError(err))
	}
	if !info.Mode().IsRegular() {
		if named {
			return fail(fmt.Sprintf("is a %s; tokencheck reads regular files only", kindOf(info.Mode())))
		}
		return nil, nil, fmt.Sprintf("is a %s; tokencheck reads regular files only", kindOf(info.Mode()))
	}
	if info.Size() > MaxFileBytes {
		msg := fmt.Sprintf("is %d bytes, over the %d-byte limit for one input file", info.Size(), MaxFileBytes)
		if named || structured(path) {
			return fail(msg)
		}
		return nil, nil, msg
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return fail(unwrapPathError(err))
	}
	if len(raw) > MaxFileBytes {
		return fail(fmt.Sprintf("grew over the %d-byte limit for one input file while read", MaxFileBytes))
	}
	return raw, nil, ""
}

// skipReason says why a file's content is not read as text: UTF-16, or binary (a NUL byte in its
// first 8000 bytes).
func skipReason(raw []byte) string {
	head := raw[:min(len(raw), 8000)]
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "is UTF-16 text; save it as UTF-8 for tokencheck to read it"
	case bytes.IndexByte(head, 0) >= 0:
		if utf16Like(head) {
			return "looks like UTF-16 text without a byte order mark; save it as UTF-8 for tokencheck to read it"
		}
		return "is a binary file"
	}
	return ""
}

// utf16Like reports whether most odd or most even bytes are NUL, as in ASCII text in UTF-16.
func utf16Like(b []byte) bool {
	var even, odd int
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(b) / 2
	return half > 0 && (even*10 >= half*9 || odd*10 >= half*9)
}

func structured(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// File collects the token facts of one file (named: errors are errors), committed token values
// included.
func File(path string, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	raw, errs, notice := readInput(path, true)
	if raw == nil {
		return nil, errs
	}
	committed := facts.CommittedTokens(facts.Redact(filepath.ToSlash(path)), raw)
	if notice = skipReason(raw); notice != "" {
		return committed, []error{finding.Problem{Kind: finding.Input, File: facts.Redact(filepath.ToSlash(path)), Message: notice}}
	}
	if kind := OwnOutput(raw); kind != "" {
		return nil, nil // tokencheck's own output is never an input
	}
	tokens, errs, _ := fileTokens(filepath.ToSlash(path), bytes.TrimPrefix(raw, utf8BOM), true, true, structured(path), cat, now)
	tokens, errs = scrub(tokens, errs)
	return append(committed, tokens...), errs
}

// fileTokens reads one text file: a facts document (by its schema value), an inventory (a
// .json/.yaml/.yml file with a top-level schema: tokencheck.inventory/v1, or a tokens key when
// marked, in any of its YAML documents), or any other text for template links. A structured file
// that does not parse is an error when it was named or shows a sign of being an inventory or facts
// document, and a notice otherwise. A walked file with a tokens key and no schema is not read: its
// notice is noSchemaNotice.
func fileTokens(name string, raw []byte, named, marked, structuredInput bool, cat *facts.Catalog, now time.Time) ([]facts.Token, []error, string) {
	path := name
	if isFactsDocument(raw) {
		tokens, errs := FactsDocument(name, raw)
		return tokens, errs, ""
	}
	if !structuredInput {
		tokens, errs := TemplateLinks(name, raw, cat, now)
		return tokens, errs, ""
	}
	signed := named || inventorySign().Match(raw) || bytes.Contains(raw, factsSign)
	if strings.ToLower(filepath.Ext(path)) == ".json" || (path == StdinName && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{"))) {
		// YAML accepts what JSON does not (trailing commas, comments): a .json file is held to JSON.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			if signed {
				return nil, []error{jsonError(name, raw, err)}, ""
			}
			tokens, errs := TemplateLinks(name, raw, cat, now)
			return tokens, errs, "does not parse as JSON and shows no sign of an inventory; only its template links were read"
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := duplicateJSONKeys(name, raw); err != nil {
			return nil, []error{err}, ""
		}
	}
	docs, err := yamlDocuments(raw)
	if err != nil {
		if signed {
			return nil, []error{yamlError(name, err)}, ""
		}
		tokens, errs := TemplateLinks(name, raw, cat, now)
		return tokens, errs, fmt.Sprintf("does not parse as YAML or JSON (%s) and shows no sign of an inventory; only its template links were read", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var tokens []facts.Token
	var errs []error
	inventory, unmarked := false, false
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		schema := scalarAt(root, "schema")
		if strings.HasPrefix(schema, inventorySchemaPrefix) || (marked && hasKey(root, "tokens")) {
			inventory = true
			ts, es := Inventory(name, root, cat, now)
			tokens, errs = append(tokens, ts...), append(errs, es...)
			continue
		}
		if hasKey(root, "tokens") && !hasKey(root, "schema") {
			unmarked = true
			continue
		}
		if k := nearMiss(root); k != nil && !hasKey(root, "tokens") { // a foreign schema's own tokens key
			errs = append(errs, inputErr(name, k.Line, "top-level key %q looks like tokens but is not; an inventory's list is under tokens", k.Value))
		}
	}
	if inventory {
		return tokens, errs, ""
	}
	if unmarked {
		return nil, errs, noSchemaNotice
	}
	if len(errs) == 0 && named && len(docs) == 0 {
		errs = append(errs, inputErr(name, 0, "empty file: no inventory or facts document"))
	}
	links, linkErrs := TemplateLinks(name, raw, cat, now)
	return append(tokens, links...), append(errs, linkErrs...), ""
}

// yamlDocuments decodes every document of a YAML (or JSON) file.
func yamlDocuments(raw []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, &doc)
	}
}

// duplicateJSONKeys refuses a JSON object with a repeated top-level key: decoders keep the last
// value, so "tokens": [...] then "tokens": [] would drop the first list.
func duplicateJSONKeys(file string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]int{}
	lineAt := func(off int64) int { return 1 + bytes.Count(raw[:min(int(off), len(raw))], []byte("\n")) }
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil // a syntax error is reported by the parser
		}
		key, _ := k.(string)
		line := lineAt(dec.InputOffset())
		if first, dup := seen[key]; dup {
			return inputErr(file, line, "top-level key %q appears twice (first at line %d); refusing the file", key, first)
		}
		seen[key] = line
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// TemplateLinks turns each template link in a text file into the facts of the token it would create.
func TemplateLinks(file string, raw []byte, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	links := FindTemplateLinks(raw)
	if len(links) == 0 {
		return nil, nil
	}
	tokens := make([]facts.Token, 0, len(links)) // sized once: a token is large, regrowing copies them all
	var errs []error
	seen := map[string]bool{}
	for _, found := range links {
		link, problems := ParseTemplateLink(found.URL, cat)
		for _, p := range problems {
			errs = append(errs, inputErr(file, found.Line, "%s", p))
		}
		if link.Permissions == nil {
			continue
		}
		id := link.ID()
		if seen[id] {
			continue // the same link again: one token, at its first place
		}
		seen[id] = true
		t := link.Token(cat, now)
		t.ID = id
		t.Source = facts.Source{Kind: facts.SourceTemplateLink, File: file, Line: found.Line}
		tokens = append(tokens, t)
	}
	return tokens, errs
}

// FactsDocument reads tokens saved by scan or audit (schema tokencheck.facts/v1).
func FactsDocument(file string, raw []byte) ([]facts.Token, []error) {
	if err := duplicateJSONKeys(file, raw); err != nil {
		return nil, []error{err}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc facts.Document
	if err := dec.Decode(&doc); err != nil {
		return nil, []error{jsonError(file, raw, err)}
	}
	if doc.Schema != facts.Schema {
		return nil, []error{inputErr(file, 1, "facts schema %q is not %q", doc.Schema, facts.Schema)}
	}
	var errs []error
	out := doc.Tokens[:0]
	for i, t := range doc.Tokens {
		if t.ID == "" {
			errs = append(errs, inputErr(file, 0, "token #%d has no id", i+1))
			continue
		}
		if t.Source.Kind == "" {
			t.Source = facts.Source{Kind: facts.SourceFacts, File: file}
		}
		out = append(out, t)
	}
	return out, errs
}

// schemaFirst reports whether raw is a JSON object whose first key is "schema", as scan and audit
// write facts documents: those are decoded as a stream. Other facts documents are read whole.
func schemaFirst(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	k, err := dec.Token()
	return err == nil && k == "schema"
}

// streamFactsDocument decodes a facts document one token at a time, with the same strictness as
// FactsDocument: unknown fields, a wrong schema and tokens without id are errors at their line.
func streamFactsDocument(file string, raw []byte, emit func(facts.Token, readAt)) []error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	fail := func(err error) []error { return []error{jsonError(file, raw, err)} }
	lineAt := func(off int64) int { return 1 + bytes.Count(raw[:min(int(off), len(raw))], []byte("\n")) }
	if _, err := dec.Token(); err != nil { // {
		return fail(err)
	}
	var errs []error
	schemaSeen, tokensSeen := false, false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return append(errs, fail(err)...)
		}
		switch key {
		case "schema":
			if schemaSeen {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: top-level key schema appears twice"))
			}
			var schema string
			if err := dec.Decode(&schema); err != nil {
				return append(errs, fail(err)...)
			}
			if schema != facts.Schema {
				return append(errs, inputErr(file, 1, "facts schema %q is not %q", schema, facts.Schema))
			}
			schemaSeen = true
		case "now": // the judging time of the OPA bundle's input (facts.Document.Now)
			var now string
			if err := dec.Decode(&now); err != nil {
				return append(errs, fail(err)...)
			}
		case "tokens":
			if tokensSeen {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: top-level key tokens appears twice"))
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: tokens is not a list"))
			}
			tokensSeen = true
			for i := 1; dec.More(); i++ {
				var t facts.Token
				if err := dec.Decode(&t); err != nil {
					return append(errs, fail(err)...)
				}
				if t.ID == "" {
					errs = append(errs, inputErr(file, lineAt(dec.InputOffset()), "token #%d has no id", i))
					continue
				}
				if t.Source.Kind == "" {
					t.Source = facts.Source{Kind: facts.SourceFacts, File: file}
				}
				emit(t, readAt{file: file, entry: i})
			}
			if _, err := dec.Token(); err != nil { // ]
				return append(errs, fail(err)...)
			}
		default:
			return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: unknown field %q", key))
		}
	}
	if !schemaSeen || !tokensSeen {
		errs = append(errs, inputErr(file, 1, "facts document without schema or tokens"))
	}
	return errs
}

// isFactsDocument reports whether raw is a JSON object whose schema value is tokencheck.facts/…:
// a facts document is recognised by that value, whatever the file is called, and only by it (a
// package.json with "schema": "https://…" is not one).
func isFactsDocument(raw []byte) bool {
	if !bytes.Contains(raw, factsSign) || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		if k == "schema" {
			var v string
			return dec.Decode(&v) == nil && strings.HasPrefix(v, "tokencheck.facts/")
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// scalarAt is the scalar value of a mapping's key ("" when absent or not a scalar).
func scalarAt(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func hasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// nearMiss finds a top-level key that looks like a mistyped or disguised "tokens" (Tokens, token,
// "tokens " with trailing space, Cyrillic or Greek look-alike letters, full-width letters, zero-width
// characters), so a look-alike does not turn an inventory into a file with nothing to judge.
func nearMiss(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := skeleton(n.Content[i].Value); k == "tokens" || k == "token" {
			return n.Content[i]
		}
	}
	return nil
}

// confusables maps letters that look like the Latin letters of "tokens" to them.
var confusables = map[rune]rune{
	'т': 't', 'Т': 't', 'τ': 't', 'Τ': 't',
	'о': 'o', 'О': 'o', 'ο': 'o', 'Ο': 'o', '0': 'o', 'ө': 'o',
	'к': 'k', 'К': 'k', 'κ': 'k', 'Κ': 'k',
	'е': 'e', 'Е': 'e', 'ε': 'e', 'Ε': 'e', 'ё': 'e',
	'п': 'n', 'ո': 'n', 'ν': 'n', 'Ν': 'n', 'Н': 'n',
	'ѕ': 's', 'Ѕ': 's', 'ꜱ': 's',
}

// skeleton folds a key for look-alike comparison: white space and invisible format characters
// dropped, full-width and look-alike letters mapped to ASCII, lower case.
func skeleton(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r), r == '"', r == '\'':
			continue
		case r >= 0xff01 && r <= 0xff5e: // full-width ASCII
			r -= 0xfee0
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func yamlError(file string, err error) error {
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		return inputErr(file, line, "YAML syntax: %s", m[2])
	}
	return inputErr(file, 0, "YAML syntax: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

func jsonError(file string, raw []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return inputErr(file, 1+bytes.Count(raw[:min(int(syn.Offset), len(raw))], []byte("\n")), "JSON syntax: %v", err)
	case errors.As(err, &typ):
		return inputErr(file, 1+bytes.Count(raw[:min(int(typ.Offset), len(raw))], []byte("\n")), "facts: %v", err)
	}
	return inputErr(file, 0, "facts: %v", err)
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// scrub redacts every token value from what a file yielded (facts.Redact): token facts (an id, a
// name, a permission key can hold a value) and error messages (a YAML error quotes its line), so
// that no report, facts document or message shows a value read from a file. The committed-token
// rule reports the value itself, by type and last four.
func scrub(tokens []facts.Token, errs []error) ([]facts.Token, []error) {
	for i := range tokens {
		scrubToken(&tokens[i])
	}
	for i, err := range errs {
		var p finding.Problem
		if errors.As(err, &p) {
			p.File, p.Source, p.Message = facts.Redact(p.File), facts.Redact(p.Source), facts.Redact(p.Message)
			errs[i] = p
			continue
		}
		if msg := err.Error(); facts.Redact(msg) != msg {
			errs[i] = errors.New(facts.Redact(msg))
		}
	}
	return tokens, errs
}

func scrubToken(t *facts.Token) {
	t.ClampTimes()
	r := facts.Redact
	t.ID, t.Name, t.Description, t.Owner, t.ResourceOwner = r(t.ID), r(t.Name), r(t.Description), r(t.Owner), r(t.ResourceOwner)
	t.ClassicReason, t.Source.File = r(t.ClassicReason), r(t.Source.File)
	for _, list := range [][]string{t.Scopes, t.ScopesEffective, t.Repositories, t.NeedsScopes, t.Unknown} {
		for i := range list {
			list[i] = r(list[i])
		}
	}
	t.Needs = scrubMap(t.Needs)
	if p := t.Permissions; p != nil {
		p.Repository, p.Organization, p.Account, p.Other = scrubMap(p.Repository), scrubMap(p.Organization), scrubMap(p.Account), scrubMap(p.Other)
	}
}

func scrubMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[facts.Redact(k)] = facts.Redact(v)
	}
	return out
}
