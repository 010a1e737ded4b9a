package source

import (
	"context"
	"strings"
	"testing"
)

func TestGlobsMatchPathRelativeAndBaseName(t *testing.T) {
	g, err := CompileGlobs([]string{"docs/*.md", "**/gen/**", "*.lock.json"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"docs/a.md":             true,
		"./docs/a.md":           true,
		"docs/deep/a.md":        false, // * stays within a segment
		"x/gen/y/z.yaml":        true,
		"a/b/package.lock.json": true, // base name
		"docs.md":               false,
	} {
		if got := g.Match(path); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
	if !g.MatchUnder("/abs/repo/docs/a.md", "/abs/repo") {
		t.Error("a path is not matched relative to the directory it was found in")
	}
	if _, err := CompileGlobs([]string{"[a-"}); err == nil || !strings.Contains(err.Error(), `"[a-"`) {
		t.Errorf("bad glob: %v", err)
	}
}

func TestTemplateLinkIDIsItsNormalisedContent(t *testing.T) {
	cat := catalog(t)
	id := func(raw string) string {
		l, _ := ParseTemplateLink(raw, cat)
		return l.ID()
	}
	base := id("https://github.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=read")
	if !strings.HasPrefix(base, TemplateLinkIDPrefix) || len(base) != len(TemplateLinkIDPrefix)+12 {
		t.Fatalf("id %q, want template-link: and 12 hex digits", base)
	}
	for _, same := range []string{
		"https://github.com/settings/personal-access-tokens/new?contents=read&target_name=ACME&name=A",
		"https://GitHub.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=read&expires_in=30",
	} {
		if got := id(same); got != base {
			t.Errorf("%s: id %s, want %s (the same token)", same, got, base)
		}
	}
	for _, other := range []string{
		"https://github.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=write",
		"https://github.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=read&expires_in=none",
		"https://github.com/settings/personal-access-tokens/new?name=B&target_name=acme&contents=read",
	} {
		if got := id(other); got == base {
			t.Errorf("%s: same id as a different token", other)
		}
	}
}

func TestSameLinkInTwoFilesIsOneToken(t *testing.T) {
	link := "https://github.com/settings/personal-access-tokens/new?name=A&target_name=acme&contents=read\n"
	dir := writeFiles(t, map[string]string{"a.md": "x\n" + link + link, "b.md": link})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if len(res.Tokens) != 1 || len(res.Errors) != 0 {
		t.Fatalf("%d tokens, errors %s; want one token", len(res.Tokens), errText(res.Errors))
	}
	if s := res.Tokens[0].Source; !strings.HasSuffix(s.File, "/a.md") || s.Line != 2 {
		t.Errorf("located at %s:%d, want a.md:2 (its first place)", s.File, s.Line)
	}
}

func TestFileWithForeignSchemaIsNotAnInventory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"package.json": `{"name": "x", "schema": "https://json.schemastore.org/package.json", "tokens": ["a"]}`,
		"design.yaml":  "tokens:\n  color: {value: red}\n",
	})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if len(res.Errors) != 0 || len(res.Tokens) != 0 {
		t.Errorf("tokens %d, errors %s; want neither", len(res.Tokens), errText(res.Errors))
	}
	if len(res.Notices) != 1 || !strings.HasSuffix(res.Notices[0].File, "design.yaml") {
		t.Errorf("notices %+v, want one for design.yaml", res.Notices)
	}
}
