package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/policies"
)

// embeddedPrefix names embedded modules in errors and rule listings.
const embeddedPrefix = "policies/"

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// loadModules parses the embedded rules and the .rego files under each user directory. withTests
// keeps the *_test.rego files too. Parse errors carry file and line.
func loadModules(dirs []string, withTests bool) (map[string]*ast.Module, map[string]bool, error) {
	modules := map[string]*ast.Module{}
	builtin := map[string]bool{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || (!withTests && isTestFile(p)) {
			return err
		}
		src, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", p, err)
		}
		name := embeddedPrefix + p
		m, err := parseModule(name, src)
		if err != nil {
			return err
		}
		modules[name] = m
		builtin[name] = true
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, dir := range dirs {
		files, err := regoFiles(dir, withTests)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("read policy: %w", err)
			}
			m, err := parseModule(f, src)
			if err != nil {
				return nil, nil, err
			}
			modules[f] = m
		}
	}
	return modules, builtin, nil
}

func parseModule(name string, src []byte) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	return m, nil
}

func regoFiles(dir string, withTests bool) ([]string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	if !info.IsDir() {
		return []string{dir}, nil
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".rego") && (withTests || !isTestFile(p)) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}
