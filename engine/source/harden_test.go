package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func errText(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

func noticeText(ns []finding.Problem) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.Error() + "\n")
	}
	return b.String()
}

func ids(ts []facts.Token) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func TestDuplicateTokensKeyDoesNotDropTheFirstList(t *testing.T) {
	for name, body := range map[string]string{
		"inv.yaml":    "schema: tokencheck.inventory/v1\ntokens:\n  - {id: admin, type: classic, scopes: [delete_repo]}\ntokens: []\n",
		"inv.json":    `{"tokens": [{"id": "admin", "type": "classic", "scopes": ["delete_repo"]}], "tokens": []}`,
		"facts.json":  `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "admin", "type": "classic"}], "tokens": []}`,
		"facts2.json": `{"tokens": [{"id": "admin", "type": "classic"}], "schema": "tokencheck.facts/v1", "tokens": []}`,
	} {
		dir := writeFiles(t, map[string]string{name: body})
		res := Files(context.Background(), []string{dir}, catalog(t), now)
		if !strings.Contains(errText(res.Errors), "appears twice") {
			t.Errorf("%s: errors %q, want a duplicate key error", name, errText(res.Errors))
		}
	}
}

func TestMultiDocumentYAMLReadsEveryDocument(t *testing.T) {
	dir := writeFiles(t, map[string]string{"inv.yaml": "schema: tokencheck.inventory/v1\ntokens: []\n---\nschema: tokencheck.inventory/v1\ntokens:\n  - {id: hidden, type: classic, scopes: [delete_repo]}\n"})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if got := ids(res.Tokens); len(got) != 1 || got[0] != "hidden" {
		t.Errorf("tokens = %v, want the second document's token; errors %s", got, errText(res.Errors))
	}
}

func TestUnparseableInventoryIsAnErrorWhereverTheErrorIs(t *testing.T) {
	for name, body := range map[string]string{
		"minified.json": `{"tokens":[{"id":"a","type":"classic"},]}`,
		"flow.yaml":     "{tokens: [{id: a, type: classic}, }\n",
		"bom.yaml":      "\ufeffnote: x\n'tokens': [\n",
		"quoted.yml":    "x: 1\n'tokens':\n  - id: a\n   bad: indent\n",
		"facts.json":    `{"schema": "tokencheck.facts/v1", "tokens": [}`,
	} {
		dir := writeFiles(t, map[string]string{name: body})
		res := Files(context.Background(), []string{dir}, catalog(t), now)
		if len(res.Errors) == 0 {
			t.Errorf("%s: no error for an unparseable inventory", name)
		}
	}
}

func TestUnparseableNonInventoryFoundByWalkingIsANoticeNamedIsAnError(t *testing.T) {
	helm := "apiVersion: v1\nkind: ConfigMap\ndata:\n  {{- range .Values.items }}\n  {{ .name }}: x\n  {{- end }}\n"
	dir := writeFiles(t, map[string]string{"templates/cm.yaml": helm})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if len(res.Errors) != 0 || !strings.Contains(noticeText(res.Notices), "does not parse") {
		t.Errorf("walked: errors %q notices %q, want one notice", errText(res.Errors), noticeText(res.Notices))
	}
	res = Files(context.Background(), []string{filepath.Join(dir, "templates/cm.yaml")}, catalog(t), now)
	if len(res.Errors) == 0 {
		t.Errorf("named: no error for an unparseable YAML file")
	}
}

func TestLookAlikeTokensKeyIsANearMissError(t *testing.T) {
	for name, key := range map[string]string{"cyrillic.yaml": "tоkens", "space.yaml": `"tokens "`, "fullwidth.yaml": "ｔｏｋｅｎｓ", "zw.yaml": "to\u200bkens", "greek.yaml": "tοkens"} {
		dir := writeFiles(t, map[string]string{name: key + ":\n  - {id: a, type: classic, scopes: [delete_repo]}\n"})
		res := Files(context.Background(), []string{dir}, catalog(t), now)
		if !strings.Contains(errText(res.Errors), "looks like tokens") {
			t.Errorf("%s: errors %q, want a near-miss error", name, errText(res.Errors))
		}
	}
}

func TestSkippedInputsAreNeverSilent(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bin/blob.dat":  "\x00\x01\x02binary",
		"u16/inv.yaml":  "\xff\xfet\x00o\x00k\x00e\x00n\x00s\x00:\x00",
		"target.yaml":   "tokens: []\n",
		"u16b/nobom.md": "t\x00o\x00k\x00e\x00n\x00s\x00",
	})
	if err := os.Symlink(filepath.Join(dir, "target.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	notices := noticeText(res.Notices)
	for _, want := range []string{"blob.dat: is a binary file", "inv.yaml: is UTF-16", "nobom.md: looks like UTF-16", "link.yaml: is a symbolic link", "pipe.yaml: is a named pipe"} {
		if !strings.Contains(notices, want) {
			t.Errorf("notices lack %q:\n%s", want, notices)
		}
	}
	if len(res.Errors) != 0 {
		t.Errorf("walking: errors %s", errText(res.Errors))
	}
	for _, named := range []string{"bin/blob.dat", "u16/inv.yaml", "link.yaml", "pipe.yaml"} {
		res := Files(context.Background(), []string{filepath.Join(dir, named)}, catalog(t), now)
		if len(res.Errors) != 1 {
			t.Errorf("named %s: errors %q, want one", named, errText(res.Errors))
		}
	}
}

func TestFactsDocumentRecognisedBySchemaValueOnly(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"package.json": `{"schema": "https://json.schemastore.org/package", "name": "x"}`,
		"saved.txt":    `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "from-txt", "type": "classic", "scopes": ["repo"]}]}`,
	})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if len(res.Errors) != 0 {
		t.Errorf("errors %s: a package.json is not a facts document", errText(res.Errors))
	}
	if got := ids(res.Tokens); len(got) != 1 || got[0] != "from-txt" {
		t.Errorf("tokens = %v, want the facts document named .txt read", got)
	}
}

func TestTimesOutsideNanosecondRangeSaturateInsteadOfOverflowing(t *testing.T) {
	dir := writeFiles(t, map[string]string{"inv.yaml": "tokens:\n" +
		"  - {id: far, type: classic, scopes: [repo], created_at: 2026-01-01, expires_at: 2300-01-01}\n" +
		"  - {id: old, type: classic, scopes: [repo], created_at: 1600-01-01, expires_at: 2027-01-01}\n" +
		"  - {id: huge, type: classic, scopes: [repo], created_at: 2026-01-01, expires_in_days: 99999999999}\n"})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if len(res.Errors) != 0 {
		t.Fatalf("errors %s", errText(res.Errors))
	}
	for _, tok := range res.Tokens {
		for _, at := range []struct {
			name string
			t    *time.Time
		}{{"created_at", tok.CreatedAt}, {"expires_at", tok.ExpiresAt}} {
			if at.t == nil {
				continue
			}
			if at.t.Before(facts.MinTime) || at.t.After(facts.MaxTime) || at.t.UnixNano()/1e9 != at.t.Unix() {
				t.Errorf("%s %s = %v overflows nanoseconds", tok.ID, at.name, at.t)
			}
		}
		if tok.ID != "old" && !tok.ExpiresAt.Equal(facts.MaxTime) {
			t.Errorf("%s expires %v, want saturated at %v", tok.ID, tok.ExpiresAt, facts.MaxTime)
		}
	}
}

func TestOverlappingPathsReadEachFileOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{"d/inv.yaml": "schema: tokencheck.inventory/v1\ntokens:\n  - {id: once, type: classic, scopes: [repo]}\n"})
	inv := filepath.Join(dir, "d", "inv.yaml")
	for _, paths := range [][]string{{dir, filepath.Join(dir, "d")}, {inv, filepath.Join(dir, "d", ".", "inv.yaml")}} {
		res := Files(context.Background(), paths, catalog(t), now)
		if len(res.Errors) != 0 || len(res.Tokens) != 1 || res.Files != 1 {
			t.Errorf("%v: %d tokens, %d files, errors %s", paths, len(res.Tokens), res.Files, errText(res.Errors))
		}
	}
}

func TestBOMInventoryIsRead(t *testing.T) {
	dir := writeFiles(t, map[string]string{"inv.json": "\ufeff" + `{"schema": "tokencheck.inventory/v1", "tokens": [{"id": "bom", "type": "classic", "scopes": ["repo"]}]}`})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if got := ids(res.Tokens); len(got) != 1 || len(res.Errors) != 0 {
		t.Errorf("tokens %v errors %s", got, errText(res.Errors))
	}
}

// FuzzFileTokens feeds any bytes to the file reader under every structured name: no panic, every
// token located, and no token value in any error or token fact after scrubbing.
func FuzzFileTokens(f *testing.F) {
	classic := "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"
	for _, seed := range []string{
		"tokens:\n  - {id: " + classic + ", type: classic}\ntokens: []\n",
		`{"tokens":[{"id":"a","type":"classic"},]}`,
		"\ufefftokens:\n  - id: a\n---\ntokens: [x]\n",
		`{"schema": "tokencheck.facts/v1", "tokens": [{"id": "` + classic + `"}], "tokens": []}`,
		"tоkens: []\n",
		"name: [" + classic + "\n",
	} {
		f.Add(seed)
	}
	cat := catalog(f)
	f.Fuzz(func(t *testing.T, src string) {
		for _, name := range []string{"fuzz.yaml", "fuzz.json", "fuzz.md"} {
			tokens, errs, _ := fileTokens(name, []byte(src), true, true, structured(name), cat, now)
			tokens, errs = scrub(tokens, errs)
			for _, tok := range tokens {
				if tok.ID == "" || tok.Source.File == "" {
					t.Errorf("token without id or location: %+v", tok)
				}
				if tok.ExpiresAt != nil && (tok.ExpiresAt.After(facts.MaxTime) || tok.ExpiresAt.Before(facts.MinTime)) {
					t.Errorf("unclamped expiry %v", tok.ExpiresAt)
				}
				if facts.Redact(tok.ID) != tok.ID || facts.Redact(tok.Name) != tok.Name {
					t.Errorf("token value in token facts: %+v", tok)
				}
			}
			for _, err := range errs {
				if facts.Redact(err.Error()) != err.Error() {
					t.Errorf("token value in error %q", err)
				}
			}
		}
	})
}
