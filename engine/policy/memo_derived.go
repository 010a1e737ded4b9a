package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// Derived keys. A few built-in rule sets read token-specific values (a token's own dates) of which
// their result depends on less: lifetime-too-long reads both the creation and the expiry time but
// only their difference counts, so its footprint key hardly ever hits. For these, the key is that
// smaller value, computed in Go, with the argument why it determines the result written next to
// it. A derived key applies only to the rule definitions it was proven on: the digest of every
// definition the footprint analysis reached (the rule set's and the library's it calls) must be
// the one recorded; any change to them turns the derived key off (TestDerivedKeysApply then fails
// until the argument is checked again and the digest updated).

// memoDerivedKey is one rule set's derived key.
type memoDerivedKey struct {
	digest string
	key    func(v *tokenView, b []byte) []byte
}

var memoDerivedKeys = map[string]memoDerivedKey{
	// lifetime-too-long's deny:
	//
	//	deny contains f if {
	//		lifetime := lib.days(lib.ts("expires_at") - start)
	//		lifetime > data.tokencheck.config.max_lifetime_days
	//		f := {"msg": sprintf(..., [lifetime, data.tokencheck.config.max_lifetime_days]), "subject": ""}
	//	}
	//	start := lib.ts("created_at")
	//	start := lib.now_ns if not input.token.created_at
	//
	// The engine's input always has derived.ns (an object, so truthy) and derived.now_ns (a
	// number): lib.ts(field) is input.derived.ns[field], defined exactly when the token has that
	// time, and lib.now_ns is input.derived.now_ns. input.token.created_at is defined exactly when
	// derived.ns.created_at is. So with E the expiry and S the creation time (or, without one, the
	// clock), all in the input's nanoseconds: no expiry, no finding; else the findings are a
	// function of E - S (OPA subtracts integers exactly, in big.Int) and of data, fixed for a run.
	// The key is "no expiry", or E - S.
	"lifetime-too-long.deny": {
		digest: "9aa036934dfc42d1aa6749afa2716178174e2153807fa0eb6d1d4ce76eb294e9",
		key: func(v *tokenView, b []byte) []byte {
			t := v.tok
			if t.ExpiresAt == nil {
				return append(b, 'u')
			}
			e := facts.ClampTime(*t.ExpiresAt).UnixNano()
			s := v.now.UnixNano()
			if t.CreatedAt != nil {
				s = facts.ClampTime(*t.CreatedAt).UnixNano()
			}
			// e - s in 128 bits: it may not fit in 64.
			lo, borrow := bits.Sub64(uint64(e), uint64(s), 0)
			hi := uint64(e>>63) - uint64(s>>63) - borrow
			b = append(b, 'd')
			b = binary.BigEndian.AppendUint64(b, hi)
			return binary.BigEndian.AppendUint64(b, lo)
		},
	},
}

// localVar is a variable the compiler generated; its number depends on what else was compiled.
var localVar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`__local[0-9]+__`) })

// reachedDigest is the digest of the rule definitions a footprint analysis reached, with the
// compiler's generated variables numbered per definition.
func reachedDigest(fp *footprint) string {
	seen := map[string]bool{}
	var texts []string
	for _, r := range fp.reached {
		names := map[string]string{}
		s := localVar().ReplaceAllStringFunc(r.String(), func(v string) string {
			if _, ok := names[v]; !ok {
				names[v] = fmt.Sprintf("__l%d__", len(names))
			}
			return names[v]
		})
		if r.Location != nil {
			s = r.Location.File + "\n" + s
		}
		if !seen[s] {
			seen[s] = true
			texts = append(texts, s)
		}
	}
	sort.Strings(texts)
	sum := sha256.Sum256([]byte(strings.Join(texts, "\n\x00\n")))
	return hex.EncodeToString(sum[:])
}
