package source

import (
	"bytes"
	"fmt"
	"testing"
)

// manyLinks is a Markdown file of n template links (about 150 bytes each, 15 MB for 100,000), as
// issue 11 used to make check take 105 s and 1.6 GB.
func manyLinks(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "- [token %d](https://github.com/settings/personal-access-tokens/new?name=tok%d&contents=write&issues=read&expires_in=30&description=%s)\n", i, i, "padding-padding-padding")
	}
	return b.Bytes()
}

func BenchmarkTemplateLinks100k(b *testing.B) {
	cat := catalog(b)
	raw := manyLinks(100000)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		tokens, errs := TemplateLinks("big.md", raw, cat, now)
		if len(tokens) != 100000 || len(errs) != 0 {
			b.Fatalf("%d tokens, %d errors", len(tokens), len(errs))
		}
	}
}
