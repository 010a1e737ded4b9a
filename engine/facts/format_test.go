package facts

import (
	"io/fs"

	"github.com/tokencheck/tokencheck/policies"

	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCheckFormatPublicVectors(t *testing.T) {
	for _, v := range []string{"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", "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"} {
		if err := CheckFormat(v); err != nil {
			t.Errorf("CheckFormat(valid vector) = %v", err)
		}
	}
	bad := "ghp_M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq11T4V5"
	err := CheckFormat(bad)
	if err == nil {
		t.Fatal("CheckFormat accepted a token whose last character was changed")
	}
	if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), bad[4:34]) {
		t.Errorf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "T4V5") {
		t.Errorf("error should name the last four characters: %v", err)
	}
}

func TestTypeOf(t *testing.T) {
	cases := map[string]TokenType{
		"ghp_x": TypeClassic, "github_pat_x": TypeFineGrained, "gho_x": TypeOAuth, "ghu_x": TypeAppUser,
		"ghs_x": TypeAppInstallation, "ghr_x": TypeRefresh, "xoxb-1": TypeUnknown, "": TypeUnknown,
	}
	for in, want := range cases {
		if got := TypeOf(in); got != want {
			t.Errorf("TypeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckFormatShapes(t *testing.T) {
	fine := "github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("a", 59)
	if err := CheckFormat(fine); err != nil {
		t.Errorf("fine-grained of documented shape rejected: %v", err)
	}
	for _, bad := range []string{"github_pat_short", "ghs_tooshort", "gho_" + strings.Repeat("a", 36) + "-", "nope"} {
		if CheckFormat(bad) == nil {
			t.Errorf("CheckFormat(%q) accepted a malformed token", bad)
		}
	}
}

func TestFingerprintAndLastFour(t *testing.T) {
	v := "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"
	fp := Fingerprint(v)
	if !strings.HasPrefix(fp, "sha256:") || len(fp) != len("sha256:")+12 {
		t.Errorf("Fingerprint = %q", fp)
	}
	if Fingerprint(v) != fp || Fingerprint(v+"x") == fp {
		t.Error("Fingerprint is not a stable function of the value")
	}
	if LastFour(v) != "T4V4" || LastFour("short") != "****" {
		t.Errorf("LastFour = %q", LastFour(v))
	}
}

func TestSecretNeverFormatsItsValue(t *testing.T) {
	const v = "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"
	s := NewSecret(" " + v + "\n")
	if s.Reveal() != v {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	js, _ := json.Marshal(map[string]any{"s": s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), string(js), fmt.Sprint(fmt.Errorf("wrapped: %v", s))} {
		if strings.Contains(out, v) || strings.Contains(out, v[4:20]) {
			t.Errorf("formatted secret shows the value: %s", out)
		}
		if !strings.Contains(out, "sha256:") || !strings.Contains(out, "…T4V4") {
			t.Errorf("formatted secret lacks fingerprint and last four: %s", out)
		}
	}
	if err := NewSecret("0123456789abcdef0123456789abcdef01234567").Check(); err != nil {
		t.Errorf("legacy 40-hex token refused: %v", err)
	}
	if err := NewSecret("hunter2 is my password").Check(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a value with no token shape must be refused without echoing it: %v", err)
	}
}

func TestCatalogDataIsItsJSON(t *testing.T) {
	c, err := ParseCatalog(mustRead(t, policies.FS, policies.CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c)
	var want any
	json.Unmarshal(raw, &want)
	if !reflect.DeepEqual(any(c.Data()), want) {
		got, _ := json.Marshal(c.Data())
		t.Errorf("Data() differs from the catalogue's JSON:\n%s\n%s", got, raw)
	}
}

func mustRead(t *testing.T, fsys fs.FS, name string) []byte {
	t.Helper()
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
