package facts

import (
	"strings"
	"testing"
)

func TestFindTokensReportsRealLookingValuesNotPlaceholders(t *testing.T) {
	classic := "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" // public test vector (revoked)
	broken := classic[:len(classic)-1] + "5"
	body := "Ab3Cd4Ef5Gh6Ij7Kl8Mn9Op0Qr1St2"
	install := "ghs_" + body + Checksum(body)
	fine := "github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("aB3", 19) + "xY"
	stateless := "ghs_987654_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI5ODc2NTQifQ.c2lnbmF0dXJl"
	raw := "line one\nTOKEN=" + classic + "\nmistyped " + broken + "\nplaceholder ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" +
		"json \"\\n" + install + "\"\n" + fine + "\nstateless: " + stateless + "\n"
	got := FindTokens([]byte(raw))
	want := []FoundToken{
		{Type: TypeClassic, LastFour: "T4V4", Line: 2, Shape: "checksummed"},
		{Type: TypeAppInstallation, LastFour: install[len(install)-4:], Line: 5, Shape: "checksummed"},
		{Type: TypeFineGrained, LastFour: fine[len(fine)-4:], Line: 6, Shape: "fine_grained"},
		{Type: TypeAppInstallation, LastFour: "dXJl", Line: 7, Shape: "stateless_installation"},
	}
	if len(got) != len(want) {
		t.Fatalf("found %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("#%d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRedactHidesEveryShapeEvenWithoutChecksum(t *testing.T) {
	classic := "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"
	for _, v := range []string{classic, classic[:len(classic)-1] + "5", "x0" + classic, "github_pat_" + strings.Repeat("a", 82)} {
		out := Redact("value: " + v + " end")
		if strings.Contains(out, v[len(v)-20:]) || !strings.Contains(out, "<redacted ") || !strings.HasSuffix(out, " end") {
			t.Errorf("Redact(%q) = %q", v, out)
		}
	}
	if s := "no token here: ghp_short"; Redact(s) != s {
		t.Errorf("Redact changed %q", s)
	}
}

func TestCommittedTokensNeverHoldTheValue(t *testing.T) {
	classic := "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"
	ts := CommittedTokens(".env", []byte("A="+classic+"\nB="+classic+"\n"))
	if len(ts) != 2 || ts[0].ID == ts[1].ID || ts[1].Source.Line != 2 || ts[0].Source.Kind != SourceCommitted {
		t.Fatalf("tokens = %+v", ts)
	}
	for _, tok := range ts {
		if strings.Contains(tok.ID+tok.Name+tok.Fingerprint, classic[4:30]) {
			t.Errorf("token holds the value: %+v", tok)
		}
		if !tok.IsUnknown(FactExpiresAt) || !tok.IsUnknown(FactScopes) {
			t.Errorf("facts a file cannot tell are not unknown: %+v", tok)
		}
	}
}
