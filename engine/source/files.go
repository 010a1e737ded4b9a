package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Result is what a set of input files yields: token facts, and the problems found on the way.
type Result struct {
	Tokens []facts.Token
	Errors []error
	Files  int
}

// skippedDirs are never descended into.
var skippedDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true}

var inventoryMarker = regexp.MustCompile(`(?m)^\s*"?tokens"?\s*:`)

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
// memory. Result.Tokens stays empty; an error from sink stops the walk.
func Stream(ctx context.Context, paths []string, cat *facts.Catalog, now time.Time, batch int, sink func([]facts.Token) error) Result {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var res Result
	b := &batcher{size: batch, sink: sink, first: map[string]readAt{}}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				res.Errors = append(res.Errors, &InputError{File: facts.Redact(path), Msg: facts.Redact(unwrapPathError(err))})
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
				return nil
			}
			res.Files++
			errs := streamFile(path, cat, now, b.add)
			res.Errors = append(res.Errors, errs...)
			return b.err
		})
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("reading %s stopped: %w", p, err))
			break
		}
	}
	b.flush()
	if b.err != nil && !errors.Is(b.err, ctx.Err()) {
		res.Errors = append(res.Errors, b.err)
	}
	res.Errors = append(res.Errors, b.dups...)
	sort.SliceStable(res.Errors, func(i, j int) bool {
		a, aok := res.Errors[i].(*InputError)
		b, bok := res.Errors[j].(*InputError)
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

// readAt is where a token was read: a file and line, or an entry of a facts document.
type readAt struct {
	file  string
	line  int
	entry int // 1-based position in a facts document's tokens list; 0 elsewhere
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

// streamFile collects one file's tokens into emit; facts documents are decoded token by token.
func streamFile(path string, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) []error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return []error{&InputError{File: path, Msg: unwrapPathError(err)}}
	}
	for _, t := range facts.CommittedTokens(facts.Redact(filepath.ToSlash(path)), raw) {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line})
	}
	if strings.ToLower(filepath.Ext(path)) == ".json" && schemaFirst(raw) {
		_, errs := scrub(nil, streamFactsDocument(filepath.ToSlash(path), raw, func(t facts.Token, at readAt) {
			scrubToken(&t)
			at.file = facts.Redact(at.file)
			emit(t, at)
		}))
		return errs
	}
	tokens, errs := scrub(fileTokens(path, raw, cat, now))
	for _, t := range tokens {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line})
	}
	return errs
}

// File collects the token facts of one file, committed token values included.
func File(path string, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{&InputError{File: path, Msg: unwrapPathError(err)}}
	}
	tokens, errs := scrub(fileTokens(path, raw, cat, now))
	return append(facts.CommittedTokens(facts.Redact(filepath.ToSlash(path)), raw), tokens...), errs
}

func fileTokens(path string, raw []byte, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	name := filepath.ToSlash(path)
	if bytes.IndexByte(raw[:min(len(raw), 8000)], 0) >= 0 {
		return nil, nil // binary
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".json" && isFactsDocument(raw) {
		return FactsDocument(name, raw)
	}
	if ext == ".json" || ext == ".yaml" || ext == ".yml" {
		var doc yaml.Node
		err := yaml.Unmarshal(raw, &doc)
		if err != nil && inventoryMarker.Match(raw) {
			return nil, []error{yamlError(name, err)}
		}
		if err == nil && len(doc.Content) > 0 {
			if hasKey(doc.Content[0], "tokens") {
				return Inventory(name, doc.Content[0], cat, now)
			}
			if k := nearMiss(doc.Content[0]); k != nil {
				return nil, []error{inputErr(name, k.Line, "top-level key %q: an inventory's list is under tokens", k.Value)}
			}
		}
	}
	return TemplateLinks(name, raw, cat, now)
}

// TemplateLinks turns each template link in a text file into the facts of the token it would create.
func TemplateLinks(file string, raw []byte, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	var tokens []facts.Token
	var errs []error
	perLine := map[int]int{}
	for _, found := range FindTemplateLinks(raw) {
		link, problems := ParseTemplateLink(found.URL, cat)
		for _, p := range problems {
			errs = append(errs, inputErr(file, found.Line, "%s", p))
		}
		if link.Permissions == nil {
			continue
		}
		perLine[found.Line]++
		t := link.Token(cat, now)
		t.ID = fmt.Sprintf("%s:%d", file, found.Line)
		if n := perLine[found.Line]; n > 1 {
			t.ID = fmt.Sprintf("%s#%d", t.ID, n)
		}
		t.Source = facts.Source{Kind: facts.SourceTemplateLink, File: file, Line: found.Line}
		tokens = append(tokens, t)
	}
	return tokens, errs
}

// FactsDocument reads tokens saved by scan or audit (schema tokencheck.facts/v1).
func FactsDocument(file string, raw []byte) ([]facts.Token, []error) {
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
			var schema string
			if err := dec.Decode(&schema); err != nil {
				return append(errs, fail(err)...)
			}
			if schema != facts.Schema {
				return append(errs, inputErr(file, 1, "facts schema %q is not %q", schema, facts.Schema))
			}
			schemaSeen = true
		case "tokens":
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

func isFactsDocument(raw []byte) bool {
	var probe struct {
		Schema *string `json:"schema"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.Schema != nil
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

// nearMiss finds a top-level key that looks like a mistyped "tokens" (Tokens, token, TOKENS), so a
// typo does not turn an inventory into a file with nothing to judge.
func nearMiss(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := strings.ToLower(n.Content[i].Value); k == "tokens" || k == "token" {
			return n.Content[i]
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(file string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
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
		var ie *InputError
		if errors.As(err, &ie) {
			ie.File, ie.Msg = facts.Redact(ie.File), facts.Redact(ie.Msg)
			continue
		}
		if msg := err.Error(); facts.Redact(msg) != msg {
			errs[i] = errors.New(facts.Redact(msg))
		}
	}
	return tokens, errs
}

func scrubToken(t *facts.Token) {
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
