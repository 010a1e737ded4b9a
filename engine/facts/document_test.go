package facts

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The streamed document is byte-identical to one indented JSON document of the same tokens.
func TestDocumentWriterMatchesOneDocument(t *testing.T) {
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	tokens := []Token{
		{ID: "a", Type: TypeClassic, Scopes: []string{"repo"}, Source: Source{Kind: SourceLive}},
		{ID: "b", Type: TypeFineGrained, ExpiresAt: &exp, Permissions: &Permissions{Repository: map[string]string{"contents": "read"}}, Source: Source{Kind: SourceOrgAudit}},
		{ID: "c", Type: TypeOAuth, Source: Source{Kind: SourceLive}},
	}
	for _, n := range []int{0, 1, 3} {
		var buf bytes.Buffer
		w := NewDocumentWriter(&buf)
		if err := w.Write(tokens[:min(n, 1)]); err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			if err := w.Write(tokens[1:n]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want, err := json.MarshalIndent(Document{Schema: Schema, Tokens: append([]Token{}, tokens[:n]...)}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != string(want)+"\n" {
			t.Errorf("%d tokens:\n got %s\nwant %s", n, got, want)
		}
	}
}
