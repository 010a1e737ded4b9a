package facts

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// findPieces runs a CommittedFinder over raw written in pieces cut at the given offsets.
func findPieces(file string, raw []byte, cuts []int) []Token {
	var out []Token
	f := NewCommittedFinder(file, func(t Token) { out = append(out, t) })
	last := 0
	for _, c := range cuts {
		f.Write(raw[last:c])
		last = c
	}
	f.Write(raw[last:])
	f.Close()
	return out
}

// committedSample is text with every token shape, placeholders, repeats on one line, values glued
// to other text and a long run of token characters.
func committedSample() string {
	classic := "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"
	body := "Ab3Cd4Ef5Gh6Ij7Kl8Mn9Op0Qr1St2"
	install := "ghs_" + body + Checksum(body)
	fine := "github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("aB3", 19) + "xY"
	long := "github_pat_" + strings.Repeat("aB3_", 40)
	stateless := "ghs_987654_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI5ODc2NTQifQ.c2lnbmF0dXJl"
	return "line one\nTOKEN=" + classic + " again " + classic + "\nplaceholder ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" +
		"json \"\\n" + install + "\"\n" + fine + "\n{\"k\":\"" + long + "\"}\nstateless: " + stateless + "\n" +
		strings.Repeat("x-y.z_", 50) + classic + "\nTOKEN0" + classic + "\n€" + install + "é\n" + classic
}

// The finder finds what CommittedTokens finds in the whole file, however the file is cut.
func TestCommittedFinderMatchesCommittedTokensWhereverTheFileIsCut(t *testing.T) {
	raw := []byte(committedSample())
	want := CommittedTokens("a/.env", raw)
	if len(want) < 8 {
		t.Fatalf("sample has %d tokens, want at least 8", len(want))
	}
	for c := 0; c <= len(raw); c++ { // every single cut
		if got := findPieces("a/.env", raw, []int{c}); !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d: %+v\nwant %+v", c, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var cuts []int
		for c := rng.IntN(40); c < len(raw); c += 1 + rng.IntN(40) {
			cuts = append(cuts, c)
		}
		if got := findPieces("a/.env", raw, cuts); !reflect.DeepEqual(got, want) {
			t.Fatalf("cuts %v: %+v\nwant %+v", cuts, got, want)
		}
	}
	if got := findPieces("f", []byte("no token\nhere\n"), []int{3}); len(got) != 0 {
		t.Errorf("tokens in plain text: %+v", got)
	}
}

func FuzzCommittedFinder(f *testing.F) {
	f.Add(committedSample(), 7, 13)
	f.Add("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", 20, 1)
	f.Fuzz(func(t *testing.T, src string, start, step int) {
		raw := []byte(src)
		var cuts []int
		step = 1 + int(uint(step)%64)
		for c := int(uint(start) % uint(len(raw)+1)); c < len(raw); c += step {
			cuts = append(cuts, c)
		}
		want := CommittedTokens("f", raw)
		if got := findPieces("f", raw, cuts); !reflect.DeepEqual(got, want) {
			t.Errorf("cuts %v: %s\nwant %s", cuts, fmt.Sprint(got), fmt.Sprint(want))
		}
	})
}
