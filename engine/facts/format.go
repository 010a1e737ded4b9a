package facts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
)

var prefixTypes = []struct {
	prefix string
	typ    TokenType
}{
	{"github_pat_", TypeFineGrained},
	{"ghp_", TypeClassic},
	{"gho_", TypeOAuth},
	{"ghu_", TypeAppUser},
	{"ghs_", TypeAppInstallation},
	{"ghr_", TypeRefresh},
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Token body shapes, checked by hand: a compiled {82,244} repetition costs start-up time. Bodies
// may grow until the whole token is MaxTokenLength characters, as GitHub tells integrators.
func shortBody(s string, max int) bool {
	return len(s) >= 36 && len(s) <= max && allOf(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
}

func fineGrainedBody(s string) bool {
	return len(s) >= 82 && len(s) <= MaxTokenLength-len("github_pat_") && allOf(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
}

func legacyToken(s string) bool { return len(s) == 40 && allOf(s, "0123456789abcdef") }

func allOf(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// TypeOf names a token's type from its prefix; unknown when no known prefix matches.
func TypeOf(value string) TokenType {
	for _, p := range prefixTypes {
		if strings.HasPrefix(value, p.prefix) {
			return p.typ
		}
	}
	return TypeUnknown
}

// CheckFormat verifies a token's shape offline: the 36-character kinds must carry a valid CRC-32
// checksum in their last six characters (longer bodies, up to MaxTokenLength in all, are checked
// for shape only: GitHub publishes no checksum scheme for them); fine-grained tokens are checked for
// shape only; stateless installation tokens (ghs_<APP_ID>_<JWT>) must carry a decodable JWT; a
// 40-hex-digit legacy token (issued before prefixes, 2021) passes with type unknown. The error never
// contains the value.
func CheckFormat(value string) error {
	if IsStateless(value) {
		return checkStateless(value)
	}
	for _, p := range prefixTypes {
		if !strings.HasPrefix(value, p.prefix) {
			continue
		}
		body := value[len(p.prefix):]
		if p.typ == TypeFineGrained {
			if !fineGrainedBody(body) {
				return fmt.Errorf("malformed %s token (ending %s): expected 82 to %d characters of [A-Za-z0-9_] after %q", p.typ, LastFour(value), MaxTokenLength-len(p.prefix), p.prefix)
			}
			return nil
		}
		longest := MaxTokenLength - len(p.prefix)
		if !shortBody(body, longest) {
			hint := ""
			if p.typ == TypeAppInstallation {
				hint = ", or a stateless installation token ghs_<APP_ID>_<JWT>"
			}
			return fmt.Errorf("malformed %s token (ending %s): expected 36 to %d characters of [A-Za-z0-9] after %q%s", p.typ, LastFour(value), longest, p.prefix, hint)
		}
		if len(body) > 36 {
			return nil // a longer token than GitHub issues today: no published checksum to verify
		}
		if Checksum(body[:30]) != body[30:] {
			return fmt.Errorf("malformed %s token (ending %s): checksum does not match; the token is mistyped or truncated", p.typ, LastFour(value))
		}
		return nil
	}
	if legacyToken(value) {
		return nil // a token issued before 2021: 40 hex digits, no prefix, type unknown
	}
	return fmt.Errorf("unrecognised token format (ending %s): no known GitHub token prefix and not a 40-hex-digit legacy token", LastFour(value))
}

// Checksum is the base62 CRC-32 (IEEE) of s, left-padded with zeros to six characters, as GitHub
// appends to the random part of its 36-character tokens.
func Checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out[:])
}

// Fingerprint identifies a token value without revealing it: "sha256:" and the first 12 hex digits.
func Fingerprint(value string) string {
	sum := sha256.Sum256([]byte(value))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// LastFour is the token's last four characters, the only part of it ever shown.
func LastFour(value string) string {
	if len(value) < 12 {
		return "****"
	}
	return value[len(value)-4:]
}
