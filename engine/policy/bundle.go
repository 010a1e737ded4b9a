package policy

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/tokencheck/tokencheck/policies"
)

// BundleQuery is what a stock OPA evaluates on a bundle written by WriteBundle, with a facts
// document ({"schema": "tokencheck.facts/v1", "tokens": [...], "now": RFC 3339}) as input.
const BundleQuery = "data.tokencheck.findings"

// BundleRoot is the bundle root that holds tokencheck's rules and data.
const BundleRoot = "tokencheck"

// WriteBundle writes an OPA bundle (a tar.gz, written with OPA's bundle package) that judges facts
// documents as the engine does: the built-in rules and the user rules of opts.PolicyDirs, the
// catalogue as data.tokencheck.catalog, the embedded defaults as data.tokencheck.defaults, the
// effective settings as data.tokencheck.config, and as data.tokencheck.judging the rules' metadata,
// the disabled rules and the waivers. opts.DataFiles are merged at the root of data, as the engine
// does. The rules are compiled first, so a bundle is never written from rules that do not compile.
// revision is the manifest's revision (the tokencheck version).
func WriteBundle(ctx context.Context, w io.Writer, opts Options, revision string) error {
	e, err := New(ctx, opts)
	if err != nil {
		return err
	}
	if len(e.unknownDisabled) > 0 {
		return fmt.Errorf("disable: no rule named %s", strings.Join(e.unknownDisabled, ", "))
	}
	b, err := e.bundle(opts, revision)
	if err != nil {
		return err
	}
	if err := bundle.NewWriter(w).Write(b); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

func (e *Evaluator) bundle(opts Options, revision string) (bundle.Bundle, error) {
	modules, err := bundleModules(opts.PolicyDirs)
	if err != nil {
		return bundle.Bundle{}, err
	}
	root, err := readDataFiles(opts.DataFiles)
	if err != nil {
		return bundle.Bundle{}, err
	}
	defaults, err := DefaultConfig()
	if err != nil {
		return bundle.Bundle{}, err
	}
	root[BundleRoot] = map[string]any{
		"catalog":  e.catalog.Data(), // as catalog.json: the scope closure is derived in Rego (lib.implied)
		"defaults": normalize(defaults.Settings),
		"config":   normalize(e.config.Settings),
		"judging":  e.judgingData(),
	}
	roots := map[string]bool{BundleRoot: true}
	for k := range root {
		roots[k] = true
	}
	for _, m := range modules {
		roots[packageRoot(m.Parsed)] = true
	}
	rootList := make([]string, 0, len(roots))
	for r := range roots {
		rootList = append(rootList, r)
	}
	sort.Strings(rootList)
	manifest := bundle.Manifest{Revision: revision, Roots: &rootList}
	manifest.SetRegoVersion(ast.RegoV1)
	return bundle.Bundle{Manifest: manifest, Data: root, Modules: modules}, nil
}

// judgingData is what the bundle's entry point needs besides the rules: each rule's metadata, the
// disabled rules and the waivers, in the configuration's order.
func (e *Evaluator) judgingData() map[string]any {
	rules := map[string]any{}
	for _, r := range e.rules {
		rules[r.ID] = map[string]any{"severity": string(r.Severity), "title": r.Title, "remediation": r.Remediation}
	}
	disabled := []any{}
	for _, r := range e.rules {
		if e.disabled[r.ID] {
			disabled = append(disabled, r.ID)
		}
	}
	waivers := []any{}
	for _, w := range e.config.Waivers {
		waivers = append(waivers, map[string]any{
			"rule": w.Rule, "token": w.Token,
			"reason": w.Reason, "owner": w.Owner, "expires": w.Expires.UTC().Format(time.RFC3339), "line": float64(w.Line),
		})
	}
	out := map[string]any{"rules": rules, "disabled": disabled, "waivers": waivers}
	if e.config.File != "" {
		out["config_file"] = filepath.ToSlash(e.config.File)
	}
	return out
}

// bundleModules are the embedded rule modules (tests left out) under policies/, and each user
// directory's under user/N/.
func bundleModules(dirs []string) ([]bundle.ModuleFile, error) {
	var out []bundle.ModuleFile
	add := func(name string, raw []byte) error {
		m, err := parseModule(name, raw)
		if err != nil {
			return err
		}
		out = append(out, bundle.ModuleFile{URL: name, Path: name, Raw: raw, Parsed: m})
		return nil
	}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || isTestFile(p) {
			return err
		}
		raw, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", p, err)
		}
		return add(embeddedPrefix+p, raw)
	})
	if err != nil {
		return nil, err
	}
	for i, dir := range dirs {
		files, err := regoFiles(dir, false)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read policy: %w", err)
			}
			rel, err := filepath.Rel(dir, f)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				rel = filepath.Base(f)
			}
			if err := add(fmt.Sprintf("user/%d/%s", i+1, filepath.ToSlash(rel)), raw); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// packageRoot is the first segment of a module's package: data.tokencheck.rules.x -> tokencheck.
func packageRoot(m *ast.Module) string {
	if len(m.Package.Path) < 2 {
		return BundleRoot
	}
	if s, ok := m.Package.Path[1].Value.(ast.String); ok {
		return string(s)
	}
	return m.Package.Path[1].String()
}
