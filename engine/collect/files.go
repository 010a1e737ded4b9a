package collect

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
	var res Result
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				res.Errors = append(res.Errors, &InputError{File: path, Msg: unwrapPathError(err)})
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
			tokens, errs := File(path, cat, now)
			res.Tokens = append(res.Tokens, tokens...)
			res.Errors = append(res.Errors, errs...)
			return nil
		})
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("reading %s stopped: %w", p, err))
			break
		}
	}
	res.Tokens, res.Errors = dedupe(res.Tokens, res.Errors)
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

// File collects the token facts of one file.
func File(path string, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{&InputError{File: path, Msg: unwrapPathError(err)}}
	}
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

// dedupe keeps the first token of each id and reports the later ones where they stand.
func dedupe(tokens []facts.Token, errs []error) ([]facts.Token, []error) {
	first := map[string]facts.Token{}
	out := tokens[:0]
	for _, t := range tokens {
		if prev, dup := first[t.ID]; dup {
			errs = append(errs, inputErr(t.Source.File, t.Source.Line, "duplicate token id %q (first declared at %s:%d)", t.ID, prev.Source.File, prev.Source.Line))
			continue
		}
		first[t.ID] = t
		out = append(out, t)
	}
	return out, errs
}
