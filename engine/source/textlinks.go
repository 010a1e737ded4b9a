package source

import (
	"bytes"
	"html"
	"regexp"
	"sync"
)

var linkPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`https://[A-Za-z0-9.-]+(?::[0-9]+)?/settings/personal-access-tokens/new(?:\?[^\s<>"'\x60)\]]*)?`)
})

// FoundLink is a template link found in a text file, at its 1-based line.
type FoundLink struct {
	Line int
	URL  string
}

// FindTemplateLinks returns every fine-grained template link in text, with HTML escapes (&amp;) undone.
func FindTemplateLinks(text []byte) []FoundLink {
	var out []FoundLink
	line := 1
	for len(text) > 0 {
		end := bytes.IndexByte(text, '\n')
		current := text
		if end >= 0 {
			current = text[:end]
		}
		for _, m := range linkPattern().FindAll(current, -1) {
			out = append(out, FoundLink{Line: line, URL: html.UnescapeString(string(bytes.TrimRight(m, ".,;:!")))})
		}
		if end < 0 {
			break
		}
		text = text[end+1:]
		line++
	}
	return out
}
