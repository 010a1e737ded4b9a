package facts

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// statelessToken builds an obviously fake stateless installation token: a made-up app id, a JWT
// whose claims are the given JSON, and a signature that is not one.
func statelessToken(appID, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","typ":"JWT"}`))
	return "ghs_" + appID + "_" + header + "." + enc([]byte(claims)) + "." + enc([]byte(strings.Repeat("not-a-signature-", 16)))
}

func TestStatelessInstallationTokens(t *testing.T) {
	exp := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	claims := fmt.Sprintf(`{"iss":"fake-issuer","exp":%d,"installation":"made-up","pad":%q}`, exp.Unix(), strings.Repeat("x", 300))
	tok := statelessToken("123456", claims)
	if len(tok) <= MaxTokenLength {
		t.Fatalf("test token is %d characters; want one longer than %d, as GitHub's are", len(tok), MaxTokenLength)
	}
	if err := CheckFormat(tok); err != nil {
		t.Fatalf("stateless token refused: %v", err)
	}
	if TypeOf(tok) != TypeAppInstallation {
		t.Errorf("TypeOf = %s", TypeOf(tok))
	}
	s := NewSecret(tok + "\n")
	if !s.Stateless() {
		t.Error("Stateless() = false")
	}
	got, ok := s.ExpiresAt()
	if !ok || !got.Equal(exp) {
		t.Errorf("ExpiresAt() = %v, %v; want %v from the exp claim", got, ok, exp)
	}
	// An unknown signing algorithm is not a format error: clients must not depend on GitHub's.
	enc := base64.RawURLEncoding.EncodeToString
	odd := "ghs_42_" + enc([]byte(`{"alg":"GH-INTERNAL"}`)) + "." + enc([]byte(`{"exp":1795312800}`)) + ".c2ln"
	if err := CheckFormat(odd); err != nil {
		t.Errorf("stateless token with an unknown alg refused: %v", err)
	}
	// No exp claim, or one that is not a number: well formed, expiry unknown.
	for _, c := range []string{`{"iss":"x"}`, `{"exp":"tomorrow"}`} {
		v := statelessToken("7", c)
		if err := CheckFormat(v); err != nil {
			t.Errorf("claims %s: refused: %v", c, err)
		}
		if _, ok := NewSecret(v).ExpiresAt(); ok {
			t.Errorf("claims %s: an expiry was read", c)
		}
	}
	// Other kinds carry no expiry in their value.
	if _, ok := NewSecret("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").ExpiresAt(); ok {
		t.Error("a classic token has an expiry in its value?")
	}
}

func TestStatelessMalformedIsRefusedWithoutTheValue(t *testing.T) {
	good := statelessToken("123456", `{"exp":1795312800,"secretclaim":"SEKRIT-CLAIM-VALUE"}`)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"claims not base64":   parts[0] + ".!!!!." + parts[2],
		"claims not JSON":     parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("SEKRIT-CLAIM-VALUE {")) + "." + parts[2],
		"header not JSON":     "ghs_123456_" + base64.RawURLEncoding.EncodeToString([]byte("SEKRIT-CLAIM-VALUE")) + "." + strings.Join(parts[1:], "."),
		"empty signature":     parts[0] + "." + parts[1] + ".",
		"space inside":        parts[0] + "." + parts[1] + ". " + parts[2],
		"too long":            statelessToken("1", `{"pad":"`+strings.Repeat("y", MaxStatelessLength)+`"}`),
		"four segments":       good + ".AAAA",
		"app id not a number": strings.Replace(good, "ghs_123456_", "ghs_12a456_", 1),
	}
	for name, v := range cases {
		err := CheckFormat(v)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "SEKRIT") || strings.Contains(msg, parts[1]) || strings.Contains(msg, v[:30]) {
			t.Errorf("%s: error shows part of the value: %v", name, msg)
		}
		if _, ok := NewSecret(v).ExpiresAt(); ok && name != "four segments" && name != "app id not a number" && name != "space inside" && name != "empty signature" {
			t.Errorf("%s: an expiry was read from a malformed token", name)
		}
	}
}

func TestLongerTokensUpTo255(t *testing.T) {
	long := "ghp_" + strings.Repeat("A1b2", 64)[:MaxTokenLength-4]
	if err := CheckFormat(long); err != nil {
		t.Errorf("a %d-character classic token refused: %v", len(long), err)
	}
	if err := CheckFormat(long + "x"); err == nil {
		t.Errorf("a %d-character token accepted", len(long)+1)
	}
	fine := "github_pat_" + strings.Repeat("a_B", 100)[:MaxTokenLength-11]
	if err := CheckFormat(fine); err != nil {
		t.Errorf("a 255-character fine-grained token refused: %v", err)
	}
	if err := CheckFormat(fine + "a"); err == nil {
		t.Error("a 256-character fine-grained token accepted")
	}
}

func TestTokenAcceptedFactsRoundTrip(t *testing.T) {
	in := Token{ID: "x", Type: TypeFineGrained, Source: Source{Kind: SourceHeaders},
		AcceptedPermissions: []map[string]string{{"pull_requests": "read", "contents": "read"}, {}},
		AcceptedScopes:      []string{"repo", "read:org"}}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"accepted_permissions":[{"contents":"read","pull_requests":"read"},{}]`) || !strings.Contains(string(raw), `"accepted_scopes":["repo","read:org"]`) {
		t.Errorf("JSON = %s", raw)
	}
	var out Token
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(out)
	if string(again) != string(raw) {
		t.Errorf("round trip changed the facts:\n%s\n%s", raw, again)
	}
}

// FuzzCheckFormat feeds hostile values to the offline format check and the JWT reader: they must
// not panic, and no error may repeat the value.
func FuzzCheckFormat(f *testing.F) {
	f.Add(statelessToken("123456", `{"exp":1795312800}`))
	f.Add("ghs_1_eyJ.eyJ.x")
	f.Add("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")
	f.Add("github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("a", 59))
	f.Fuzz(func(t *testing.T, v string) {
		err := CheckFormat(v)
		NewSecret(v).ExpiresAt()
		if err != nil && len(v) >= 12 && strings.Contains(err.Error(), v) {
			t.Errorf("error repeats the value: %v", err)
		}
		if err == nil && len(v) > MaxStatelessLength {
			t.Errorf("a %d-character value accepted", len(v))
		}
	})
}
