package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// emitted is one token a source handed over, with where it was read.
type emitted struct {
	Token facts.Token
	At    readAt
}

// fromFile judges path as a walk or a command line would (streamFile: a facts document whose
// schema comes first is streamed from the file).
func fromFile(t *testing.T, path string, named bool) ([]emitted, []string, string) {
	t.Helper()
	var out []emitted
	errs, notice, _ := streamFile(path, named, false, catalog(t), now, func(tok facts.Token, at readAt) { out = append(out, emitted{tok, at}) })
	return out, errTexts(errs), notice
}

// fromBytes judges the same file's bytes held in memory (streamRaw), as the file was read before
// facts documents were streamed from the file, and as standard input still is.
func fromBytes(t *testing.T, path string, named bool) ([]emitted, []string, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []emitted
	errs, notice, _ := streamRaw(filepath.ToSlash(path), raw, named, false, structured(path), catalog(t), now, func(tok facts.Token, at readAt) { out = append(out, emitted{tok, at}) })
	return out, errTexts(errs), notice
}

func errTexts(errs []error) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

// lineOf is the 1-based line where marker first occurs in doc.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("no %q in the document", marker)
	}
	return 1 + strings.Count(doc[:i], "\n")
}

const classicValue = "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" // public test vector (revoked)

// A facts document streamed from its file yields what the same bytes held in memory yield: the
// same tokens in the same order, the same places, the same errors at the same lines, committed
// token values included, whatever its size, line endings or byte order mark.
func TestFactsStreamedFromTheFileMatchTheBytes(t *testing.T) {
	var many strings.Builder
	many.WriteString("{\n  \"schema\": \"tokencheck.facts/v1\",\n  \"tokens\": [\n")
	for i := 0; i < 3000; i++ { // about 250 KB: several reads, far past the head
		switch {
		case i == 1700:
			many.WriteString("    {\"type\": \"classic\",\n     \"name\": \"no id\"},\n")
		case i == 2100:
			many.WriteString("    {\"id\": \"t5\", \"type\": \"classic\"},\n")
		case i == 2500:
			fmt.Fprintf(&many, "    {\"id\": \"t%d\", \"type\": \"classic\", \"name\": \"leaked %s here\"},\n", i, classicValue)
		default:
			fmt.Fprintf(&many, "    {\"id\": \"t%d\", \"type\": \"fine_grained\", \"resource_owner\": \"acme\",\n     \"permissions\": {\"repository\": {\"contents\": \"write\"}}},\n", i)
		}
	}
	many.WriteString("    {\"id\": \"last\", \"type\": \"classic\"}\n  ]\n}\n")
	docs := map[string]string{
		"many.json":      many.String(),
		"crlf.json":      strings.ReplaceAll(many.String(), "\n", "\r\n"),
		"bom.json":       "\ufeff" + many.String(),
		"saved.txt":      many.String(),
		"minified.json":  `{"schema":"tokencheck.facts/v1","now":"2026-11-22T00:00:00Z","tokens":[{"id":"a","type":"classic","name":"` + classicValue + `"},{"id":"a","type":"classic"}]}`,
		"syntax.json":    "{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [\n{\"id\": \"a\", \"type\": \"classic\"},\n{\"id\": \"b\" \"type\": \"classic\"}\n]}\n",
		"type.json":      "{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [\n{\"id\": \"a\", \"type\": \"classic\"},\n{\"id\": \"b\",\n \"scopes\": \"repo\"}\n]}\n",
		"unknown.json":   "{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [\n{\"id\": \"a\", \"type\": \"classic\"},\n{\"id\": \"b\", \"token\": \"" + classicValue + "\"\n}\n]}\n",
		"extra.json":     "{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [],\n\"secret\": 1}\n",
		"twice.json":     "{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [{\"id\": \"a\", \"type\": \"classic\"}],\n\"tokens\": []}\n",
		"schema2.json":   "{\"schema\": \"tokencheck.facts/v1\",\n\"schema\": \"tokencheck.facts/v1\", \"tokens\": []}\n",
		"notlist.json":   "{\"schema\": \"tokencheck.facts/v1\",\n\n\"tokens\": {}}\n",
		"wrong.json":     "{\"schema\": \"tokencheck.facts/v0\", \"tokens\": [{\"id\": \"a\", \"type\": \"classic\"}]}",
		"truncated.json": "{\"schema\": \"tokencheck.facts/v1\", \"tokens\": [{\"id\": \"a\"",
		"notokens.json":  "{\"schema\": \"tokencheck.facts/v1\"}",
		"badnow.json":    "{\"schema\": \"tokencheck.facts/v1\",\n\"now\": 5, \"tokens\": []}",
		"open.json":      "{\"schema\": \"tokencheck.facts/v1\", \"tokens\": [{\"id\": \"a\", \"type\": \"classic\"}]\n",
		"two.json":       "{\"schema\": \"tokencheck.facts/v1\", \"tokens\": []}\n{\"schema\": \"tokencheck.facts/v1\",\n\"tokens\": [{\"id\": \"hidden\", \"type\": \"classic\"}]}\n",
		"trailing.json":  "{\"schema\": \"tokencheck.facts/v1\", \"tokens\": []}\n\n}\n",
	}
	dir := t.TempDir()
	for name, doc := range docs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if !schemaFirstFacts([]byte(doc)[:min(len(doc), factsHeadBytes)]) {
			t.Fatalf("%s: not recognised as a facts document to stream", name)
		}
		for _, named := range []bool{true, false} {
			gotToks, gotErrs, gotNotice := fromFile(t, path, named)
			wantToks, wantErrs, wantNotice := fromBytes(t, path, named)
			if !reflect.DeepEqual(gotToks, wantToks) {
				t.Errorf("%s: %d tokens from the file, %d from the bytes; first difference at %d", name, len(gotToks), len(wantToks), firstDiff(gotToks, wantToks))
			}
			if !reflect.DeepEqual(gotErrs, wantErrs) || gotNotice != wantNotice {
				t.Errorf("%s: errors %q notice %q from the file, %q %q from the bytes", name, gotErrs, gotNotice, wantErrs, wantNotice)
			}
		}
	}

	// What a user sees: errors at their lines, committed values found where they are, no value
	// shown.
	want := map[string][]string{
		"many.json": {
			fmt.Sprintf("%s:%d: token #1701 has no id", filepath.Join(dir, "many.json"), lineOf(t, docs["many.json"], `"no id"}`)),
		},
		"syntax.json":  {fmt.Sprintf("%s:4: JSON syntax: invalid character '\"' after object key:value pair", filepath.Join(dir, "syntax.json"))},
		"type.json":    {fmt.Sprintf("%s:5: facts: json: cannot unmarshal string into Go struct field Token.scopes of type []string", filepath.Join(dir, "type.json"))},
		"unknown.json": {fmt.Sprintf("%s:5: facts: json: unknown field \"token\"", filepath.Join(dir, "unknown.json"))},
		"extra.json":   {fmt.Sprintf("%s:3: facts: unknown field \"secret\"", filepath.Join(dir, "extra.json"))},
		"twice.json":   {fmt.Sprintf("%s:3: facts: top-level key tokens appears twice", filepath.Join(dir, "twice.json"))},
		"notlist.json": {fmt.Sprintf("%s:3: facts: tokens is not a list", filepath.Join(dir, "notlist.json"))},
		"badnow.json":  {fmt.Sprintf("%s:2: facts: json: cannot unmarshal number into Go value of type string", filepath.Join(dir, "badnow.json"))},
		// A document cut short, or followed by another, was read as if whole: the second
		// document's tokens went unjudged and the run passed.
		"open.json":     {fmt.Sprintf("%s: facts: unexpected EOF", filepath.Join(dir, "open.json"))},
		"two.json":      {fmt.Sprintf("%s:2: facts: more after the document's closing brace; a facts file holds one document", filepath.Join(dir, "two.json"))},
		"trailing.json": {fmt.Sprintf("%s:3: facts: more after the document's closing brace; a facts file holds one document", filepath.Join(dir, "trailing.json"))},
	}
	for name, errs := range want {
		toks, got, _ := fromFile(t, filepath.Join(dir, name), true)
		if !reflect.DeepEqual(got, errs) {
			t.Errorf("%s: errors %q, want %q", name, got, errs)
		}
		for _, e := range toks {
			if strings.Contains(e.Token.ID+e.Token.Name, classicValue) {
				t.Errorf("%s: token value in token facts: %+v", name, e.Token)
			}
		}
	}
	for _, name := range []string{"many.json", "crlf.json", "bom.json"} {
		toks, _, _ := fromFile(t, filepath.Join(dir, name), true)
		committed := toks[0]
		if committed.Token.Source.Kind != facts.SourceCommitted || committed.Token.Source.Line != lineOf(t, docs[name], "leaked") ||
			len(toks) != 3001 { // 3,001 entries, one without id, and the committed value
			t.Errorf("%s: first token %+v, %d tokens", name, committed, len(toks))
		}
		if e := toks[2500]; e.At.entry != 2501 || e.Token.Name != "leaked <redacted classic token …T4V4> here" {
			t.Errorf("%s: token #%d named %q, want #2501", name, e.At.entry, e.Token.Name)
		}
	}
}

func firstDiff(a, b []emitted) int {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return i
		}
	}
	return min(len(a), len(b))
}

// A facts document larger than MaxFileBytes is read, a token at a time; MaxFactsBytes caps it,
// and every other file keeps the MaxFileBytes cap.
func TestFactsDocumentCapIsItsOwn(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "{\"schema\": \"tokencheck.facts/v1\", \"tokens\": [{\"id\": \"first\", \"type\": \"classic\"},\n")
	pad := []byte(strings.Repeat(" ", 1<<20-1) + "\n")
	for written := 0; written <= MaxFileBytes; written += len(pad) {
		f.Write(pad)
	}
	fmt.Fprintf(f, "{\"id\": \"last\", \"type\": \"classic\"}, {\"type\": \"classic\"}]}\n")
	f.Close()
	res := Files(context.Background(), []string{big}, catalog(t), now)
	if got := ids(res.Tokens); len(got) != 2 || got[1] != "last" {
		t.Errorf("tokens %v of a facts document over %d bytes", got, MaxFileBytes)
	}
	if got := strings.TrimSpace(errText(res.Errors)); got != big+":67: token #3 has no id" { // after 65 lines of padding
		t.Errorf("errors %q", got)
	}

	// Sparse files: their size is refused before anything is read.
	sparse := func(name, head string, size int64) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(head+strings.Repeat(" ", 9000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		return path
	}
	huge := sparse("huge.json", `{"schema": "tokencheck.facts/v1", "tokens": [`, MaxFactsBytes+1)
	hugeTxt := sparse("huge.txt", `{"schema": "tokencheck.facts/v1", "tokens": [`, MaxFactsBytes+1)
	inv := sparse("inv.json", `{"tokens": [], "schema": "tokencheck.facts/v1"}`, MaxFileBytes+1)
	res = Files(context.Background(), []string{huge}, catalog(t), now)
	if got, want := strings.TrimSpace(errText(res.Errors)), fmt.Sprintf("%s: is %d bytes, over the %d-byte limit for a facts document", huge, MaxFactsBytes+1, MaxFactsBytes); got != want {
		t.Errorf("errors %q, want %q", got, want)
	}
	res = Files(context.Background(), []string{inv}, catalog(t), now)
	if got, want := strings.TrimSpace(errText(res.Errors)), fmt.Sprintf("%s: is %d bytes, over the %d-byte limit for one input file", inv, MaxFileBytes+1, MaxFileBytes); got != want {
		t.Errorf("errors %q, want %q: a facts document whose schema is not first is read whole", got, want)
	}
	walkDir := filepath.Join(dir, "walk")
	os.Mkdir(walkDir, 0o755)
	os.Rename(hugeTxt, filepath.Join(walkDir, "huge.txt"))
	res = Files(context.Background(), []string{walkDir}, catalog(t), now)
	if len(res.Errors) != 0 || !strings.Contains(noticeText(res.Notices), "over the 536870912-byte limit for a facts document (not read)") {
		t.Errorf("walked: errors %q notices %q, want a notice", errText(res.Errors), noticeText(res.Notices))
	}
}

// A file that grows past the cap while it is streamed is refused, not read in part silently.
func TestCappedReaderRefusesWhatGrew(t *testing.T) {
	r := &cappedReader{r: strings.NewReader("0123456789"), left: 4, msg: "grew"}
	buf := make([]byte, 3)
	if n, err := r.Read(buf); n != 3 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	if _, err := r.Read(buf); err == nil || err.Error() != "grew" {
		t.Errorf("second read: %v, want grew", err)
	}
}

// Duplicate ids are found by digest across files and kinds of input, and reported with the first
// place, as they were by id.
func TestDuplicateIDsAcrossFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.json":   `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "x", "type": "classic"}, {"id": "y", "type": "classic"}]}`,
		"b.yaml":   "schema: tokencheck.inventory/v1\ntokens:\n  - {id: z, type: classic}\n  - {id: y, type: classic}\n",
		"c.json":   `{"schema": "tokencheck.facts/v1", "tokens": [{"id": "z", "type": "classic"}]}`,
		"links.md": "[a](https://github.com/settings/personal-access-tokens/new?name=n&contents=read)\n[b](https://github.com/settings/personal-access-tokens/new?name=n&contents=read)\n",
	})
	res := Files(context.Background(), []string{dir}, catalog(t), now)
	if got := ids(res.Tokens); len(got) != 4 {
		t.Errorf("tokens %v", got)
	}
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml")
	want := b + `:4: duplicate token id "y" (first declared at ` + a + ` token #2)` + "\n" +
		filepath.Join(dir, "c.json") + `: token #1: duplicate token id "z" (first declared at ` + b + `:3)`
	if got := strings.TrimSpace(errText(res.Errors)); got != want {
		t.Errorf("errors %q\nwant   %q", got, want)
	}
}

// A facts document whose schema is not first, read whole, refuses a second document after it too.
func TestFactsDocumentReadWholeHoldsOneDocument(t *testing.T) {
	doc := "{\"tokens\": [], \"schema\": \"tokencheck.facts/v1\"}\n{\"tokens\": [{\"id\": \"hidden\", \"type\": \"classic\"}], \"schema\": \"tokencheck.facts/v1\"}\n"
	toks, errs := FactsDocument("f.json", []byte(doc))
	if got := errTexts(errs); len(toks) != 0 || len(got) != 1 || got[0] != "f.json:2: facts: more after the document's closing brace; a facts file holds one document" {
		t.Errorf("tokens %v, errors %q", ids(toks), got)
	}
}
