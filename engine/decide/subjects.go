package decide

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// orgTokenID matches the ids the org audit gives fine-grained tokens: org:ORG/request:ID (a pending
// request, ID its pat_request_id) and org:ORG/pat:ID (an approved grant, ID its token_id).
var orgTokenID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^org:([A-Za-z0-9-]+)/(request|pat):([0-9]+)$`) })

// ParseTokenID reads an org audit token id: the organisation, the kind, and the number in it (the
// pat_request_id of a request, the token_id of a grant).
func ParseTokenID(id string) (org string, kind Kind, n int64, ok bool) {
	m := orgTokenID().FindStringSubmatch(id)
	if m == nil {
		return "", "", 0, false
	}
	n, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	kind = KindRequest
	if m[2] == "pat" {
		kind = KindGrant
	}
	return m[1], kind, n, true
}

// Subjects pairs the org audit's fine-grained tokens with their findings. grantID gives an approved
// grant's pat_id (the grant's id, not its token_id) from its token; grants it does not know are left
// out (they cannot be revoked). Tokens of other kinds (credential authorizations) are left out.
func Subjects(tokens []facts.Token, findings []finding.Finding, grantID func(facts.Token) (int64, bool)) []Subject {
	by := map[string][]finding.Finding{}
	for _, f := range findings {
		by[f.Token] = append(by[f.Token], f)
	}
	var out []Subject
	for _, t := range tokens {
		org, kind, n, ok := ParseTokenID(t.ID)
		if !ok {
			continue
		}
		s := Subject{Kind: kind, Org: org, Token: t, Findings: by[t.ID]}
		if kind == KindRequest {
			s.ID = n
		} else {
			s.TokenID = n
			if grantID == nil {
				continue
			}
			if s.ID, ok = grantID(t); !ok {
				continue
			}
		}
		out = append(out, s)
	}
	return out
}
