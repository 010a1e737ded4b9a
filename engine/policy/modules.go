package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/tokencheck/tokencheck/policies"
)

// embeddedPrefix names embedded modules in errors and rule listings.
const embeddedPrefix = "policies/"

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// bundleDir holds the bundle's entry point (data.tokencheck.findings): the engine never queries it,
// so it is compiled only into bundles and for its tests.
const bundleDir = "bundle/"

func isBundleOnly(name string) bool { return strings.HasPrefix(name, bundleDir) }

// loadModules parses the embedded rules and the .rego files under each user directory. withTests
// keeps the *_test.rego files too. Parse errors carry file and line.
func loadModules(dirs []string, withTests bool) (map[string]*ast.Module, map[string]bool, error) {
	modules := map[string]*ast.Module{}
	builtin := map[string]bool{}
	var names []string
	var srcs [][]byte
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || (!withTests && (isTestFile(p) || isBundleOnly(p))) {
			return err
		}
		src, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", p, err)
		}
		names = append(names, embeddedPrefix+p)
		srcs = append(srcs, src)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Parsing is a third of start-up; the modules are independent, so every core takes a share.
	parsed, err := parseAll(names, srcs)
	if err != nil {
		return nil, nil, err
	}
	builtinPkgs := map[string]bool{}
	for i, name := range names {
		modules[name] = parsed[i]
		builtin[name] = true
		if !isTestFile(name) {
			builtinPkgs[parsed[i].Package.Path.String()] = true
		}
	}
	for _, dir := range dirs {
		files, err := regoFiles(dir, withTests)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			src, err := readPolicyFile(f)
			if err != nil {
				return nil, nil, err
			}
			m, err := parseModule(f, src)
			if err != nil {
				return nil, nil, err
			}
			if err := checkUserModule(f, m, builtinPkgs); err != nil {
				return nil, nil, err
			}
			// User modules are keyed by absolute path, so no user file can take the name (and the
			// place) of an embedded module such as policies/<id>/<id>.rego.
			key, err := filepath.Abs(f)
			if err != nil {
				return nil, nil, fmt.Errorf("policy %s: %w", f, err)
			}
			if _, dup := modules[key]; dup {
				continue // the same file reached through two --policy paths
			}
			modules[key] = m
		}
	}
	return modules, builtin, nil
}

// parseAll parses modules in parallel, in order.
func parseAll(names []string, srcs [][]byte) ([]*ast.Module, error) {
	out := make([]*ast.Module, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = parseModule(names[i], srcs[i])
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
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
		return nil, fmt.Errorf("policy directory: %w", err)
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
		return nil, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}
