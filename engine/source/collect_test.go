package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/policy"
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func catalog(t testing.TB) *facts.Catalog {
	t.Helper()
	c, err := policy.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseTemplateLinkDocsExample(t *testing.T) {
	cat := catalog(t)
	link, problems := ParseTemplateLink("https://github.com/settings/personal-access-tokens/new?name=Repo-reading+token&description=Just+contents:read&target_name=octodemo&expires_in=45&contents=read", cat)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	tok := link.Token(cat, now)
	if tok.Name != "Repo-reading token" || tok.Description != "Just contents:read" || tok.ResourceOwner != "octodemo" {
		t.Errorf("token = %+v", tok)
	}
	if got := tok.Permissions.Repository; got["contents"] != "read" || got["metadata"] != "read" || len(got) != 2 {
		t.Errorf("permissions = %v, want contents:read and the implicit metadata:read", got)
	}
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(now.AddDate(0, 0, 45)) {
		t.Errorf("expires_at = %v, want now + 45 days", tok.ExpiresAt)
	}
}

func TestParseTemplateLinkDefaultsAndLimits(t *testing.T) {
	cat := catalog(t)
	link, problems := ParseTemplateLink("https://ghe.example.com/settings/personal-access-tokens/new?issues=write", cat)
	if len(problems) > 0 || link.ExpiresInDays != 30 || link.Host != "ghe.example.com" {
		t.Errorf("absent expires_in must mean GitHub's 30 days on any host: %+v %v", link, problems)
	}
	if tok := link.Token(cat, now); !tok.IsUnknown(facts.FactResourceOwner) || !tok.IsUnknown(facts.FactRepositorySelection) {
		t.Errorf("a link without target_name cannot say the resource owner: unknown = %v", tok.Unknown)
	}
	link, _ = ParseTemplateLink("https://github.com/settings/personal-access-tokens/new?expires_in=none&contents=read", cat)
	if tok := link.Token(cat, now); tok.ExpiresAt != nil || tok.IsUnknown(facts.FactExpiresAt) {
		t.Errorf("expires_in=none must mean a known absence of expiry: %+v", tok)
	}
	for raw, want := range map[string]string{
		"?expires_in=0":                             "expires_in",
		"?expires_in=367":                           "expires_in",
		"?name=" + strings.Repeat("n", 41):          "41 characters",
		"?description=" + strings.Repeat("d", 1025): "1025 characters",
		"?contents=read&contents=write":             "repeats parameter contents",
	} {
		_, problems := ParseTemplateLink("https://github.com/settings/personal-access-tokens/new"+raw, cat)
		if len(problems) != 1 || !strings.Contains(problems[0], want) {
			t.Errorf("%s: problems = %v, want one naming %q", raw, problems, want)
		}
	}
	if _, problems := ParseTemplateLink("http://github.com/settings/tokens/new", cat); len(problems) == 0 {
		t.Error("a link that is not a fine-grained template link must be refused")
	}
}

func TestFindTemplateLinks(t *testing.T) {
	text := "intro\n[x](https://github.com/settings/personal-access-tokens/new?name=A&contents=read).\n" +
		`<a href="https://github.com/settings/personal-access-tokens/new?name=B&amp;issues=write">b</a>` + "\n" +
		"no link here: https://github.com/settings/tokens/new?scopes=repo\n"
	got := FindTemplateLinks([]byte(text))
	if len(got) != 2 {
		t.Fatalf("found %d links, want 2: %+v", len(got), got)
	}
	if got[0].Line != 2 || got[0].URL != "https://github.com/settings/personal-access-tokens/new?name=A&contents=read" {
		t.Errorf("first = %+v", got[0])
	}
	if got[1].Line != 3 || !strings.HasSuffix(got[1].URL, "?name=B&issues=write") {
		t.Errorf("second = %+v (HTML escapes must be undone)", got[1])
	}
}

func decodeInventory(t *testing.T, src string) ([]facts.Token, []error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return Inventory("inv.yaml", doc.Content[0], catalog(t), now)
}

func TestInventoryDeclaration(t *testing.T) {
	tokens, errs := decodeInventory(t, `tokens:
  - id: a
    type: fine_grained
    resource_owner: acme
    repositories: [acme/app]
    permissions: {contents: read, members: write, nonsense: read}
    needs: {contents: read}
    created_at: 2026-11-01
    expires_in_days: 45
  - id: b
    type: classic
    scopes: [repo]
    needs: [repo:status]
    expires_at: never
  - id: c
    template_link: https://github.com/settings/personal-access-tokens/new?name=C&target_name=acme&issues=read
    owner: someone
`)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	a, b, c := tokens[0], tokens[1], tokens[2]
	if a.Permissions.Repository["contents"] != "read" || a.Permissions.Organization["members"] != "write" || a.Permissions.Other["nonsense"] != "read" {
		t.Errorf("permissions not grouped by the catalogue: %+v", a.Permissions)
	}
	if a.RepositorySelection != "subset" || a.Source.Line != 2 || a.ExpiresAt.Format("2006-01-02") != "2026-12-16" {
		t.Errorf("a = %+v", a)
	}
	if b.ExpiresAt != nil || b.IsUnknown(facts.FactExpiresAt) || len(b.NeedsScopes) != 1 {
		t.Errorf("b = %+v", b)
	}
	if c.Type != facts.TypeFineGrained || c.ResourceOwner != "acme" || c.Owner != "someone" || c.Source.Line != 15 {
		t.Errorf("c = %+v", c)
	}
}

func TestInventoryErrorsNameLineAndKey(t *testing.T) {
	tokens, errs := decodeInventory(t, `tokens:
  - id: a
    type: classic
    scope: [repo]
  - id: b
    template_link: https://github.com/settings/personal-access-tokens/new?contents=read
    permissions: {issues: read}
`)
	if len(tokens) != 2 {
		t.Errorf("declarations with a bad field are still judged: got %d tokens", len(tokens))
	}
	want := []string{`inv.yaml:4: unknown key "scope"`, "inv.yaml:7: token b: permissions is set by template_link"}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range want {
		var ie finding.Problem
		if !errors.As(errs[i], &ie) || ie.Kind != finding.Input || !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %v, want prefix %q", i, errs[i], w)
		}
	}
}

func TestFactsDocumentRejectsUnknownFields(t *testing.T) {
	_, errs := FactsDocument("f.json", []byte(`{"schema": "tokencheck.facts/v1", "tokens": [{"id": "x", "type": "classic", "token": "ghp_secret"}]}`))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `unknown field "token"`) {
		t.Errorf("errs = %v", errs)
	}
}

// A facts document made for the OPA bundle carries its judging time; check reads it too.
func TestFactsDocumentAcceptsNow(t *testing.T) {
	doc := `{"schema": "tokencheck.facts/v1", "now": "2026-11-22T00:00:00Z", "tokens": [{"id": "x", "type": "classic"}]}`
	if toks, errs := FactsDocument("f.json", []byte(doc)); len(errs) != 0 || len(toks) != 1 {
		t.Errorf("FactsDocument: %d tokens, errors %v", len(toks), errs)
	}
	file := filepath.Join(t.TempDir(), "facts.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := Files(context.Background(), []string{file}, catalog(t), now); len(res.Errors) != 0 || len(res.Tokens) != 1 {
		t.Errorf("Files: %d tokens, errors %v", len(res.Tokens), res.Errors)
	}
}

func FuzzParseTemplateLink(f *testing.F) {
	for _, seed := range []string{
		"https://github.com/settings/personal-access-tokens/new?name=Repo-reading+token&description=Just+contents:read&target_name=octodemo&expires_in=45&contents=read",
		"https://github.com/settings/personal-access-tokens/new?expires_in=none&metadata=write&gists=read",
		"https://ghe.example.com:8443/settings/personal-access-tokens/new?%zz=1&name=%E2%82%AC",
		"https://github.com/settings/personal-access-tokens/new",
		"not a url",
	} {
		f.Add(seed)
	}
	cat := catalog(f)
	f.Fuzz(func(t *testing.T, raw string) {
		link, _ := ParseTemplateLink(raw, cat)
		if link.Permissions == nil {
			return
		}
		tok := link.Token(cat, now)
		if tok.Type != facts.TypeFineGrained || tok.ExpiresAt != nil && tok.ExpiresAt.Before(now) {
			t.Errorf("token from %q = %+v", raw, tok)
		}
	})
}

func FuzzInventory(f *testing.F) {
	for _, seed := range []string{
		"tokens:\n  - id: a\n    type: classic\n    scopes: [repo]\n",
		"tokens:\n  - {id: b, type: fine_grained, permissions: {contents: read}, repositories: all, expires_in_days: 3}\n",
		`{"tokens": [{"id": "c", "template_link": "https://github.com/settings/personal-access-tokens/new?issues=write"}]}`,
		"tokens: 3\n",
		"tokens:\n  - id: d\n    created_at: [1]\n    needs: x\n",
	} {
		f.Add(seed)
	}
	cat := catalog(f)
	f.Fuzz(func(t *testing.T, src string) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(src), &doc) != nil || len(doc.Content) == 0 {
			return
		}
		tokens, errs := Inventory("fuzz.yaml", doc.Content[0], cat, now)
		for _, tok := range tokens {
			if tok.ID == "" || tok.Source.File != "fuzz.yaml" {
				t.Errorf("token without id or location: %+v", tok)
			}
		}
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
		}
	})
}

func TestMistypedInventoryKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/inv.yaml"
	if err := os.WriteFile(path, []byte("# inventory\ntoken:\n  - id: a\n    type: classic\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tokens, errs := File(path, catalog(t), now)
	if len(tokens) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "inv.yaml:2: top-level key \"token\"") {
		t.Errorf("tokens %v, errs %v", tokens, errs)
	}
}

// A facts document as scan and audit write it (schema first) is judged in batches: every token
// reaches the sink once, in order, with duplicates and bad entries reported at their line.
func TestStreamFactsDocumentInBatches(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("{\"schema\": \"tokencheck.facts/v1\", \"tokens\": [\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "{\"id\": \"t%d\", \"type\": \"classic\", \"source\": {\"kind\": \"org_audit\"}},\n", i)
	}
	b.WriteString("{\"id\": \"t7\", \"type\": \"classic\"},\n{\"type\": \"classic\"}\n]}\n")
	file := filepath.Join(dir, "facts.json")
	os.WriteFile(file, []byte(b.String()), 0o644)
	var batches []int
	seen := 0
	res := Stream(context.Background(), []string{file}, catalog(t), now, 2048, func(ts []facts.Token) error {
		batches = append(batches, len(ts))
		for _, tok := range ts {
			if tok.ID != fmt.Sprintf("t%d", seen) {
				t.Fatalf("token %d is %s", seen, tok.ID)
			}
			seen++
		}
		return nil
	})
	if fmt.Sprint(batches) != "[2048 2048 904]" || seen != 5000 {
		t.Errorf("batches %v, %d tokens", batches, seen)
	}
	all := fmt.Sprint(res.Errors)
	if len(res.Errors) != 2 || !strings.Contains(all, `facts.json:5003: token #5002 has no id`) ||
		!strings.Contains(all, `facts.json: token #5001: duplicate token id "t7" (first declared at `+file+` token #8)`) {
		t.Errorf("errors = %v", res.Errors)
	}

	for name, doc := range map[string]string{
		"wrong schema":  `{"schema": "tokencheck.facts/v0", "tokens": [{"id": "a", "type": "classic"}]}`,
		"unknown field": `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "a", "type": "classic", "token": "ghp_x"}]}`,
		"extra key":     `{"schema": "tokencheck.facts/v1", "tokens": [], "secret": 1}`,
		"truncated":     `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "a"`,
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		os.WriteFile(f, []byte(doc), 0o644)
		res := Files(context.Background(), []string{f}, catalog(t), now)
		if len(res.Errors) != 1 || len(res.Tokens) != 0 || !strings.HasPrefix(res.Errors[0].Error(), f) {
			t.Errorf("%s: tokens %d, errors %v", name, len(res.Tokens), res.Errors)
		}
	}
}
