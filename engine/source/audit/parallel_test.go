package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// manyOrgs serves n organisations of size grants each, every page answered after latency.
func manyOrgs(t testing.TB, n, size int, latency time.Duration) (*ghapitest.Server, []string) {
	fake := ghapitest.New(t)
	fake.Latency = latency
	var orgs []string
	for i := range n {
		o := bigOrg(t, size)
		o.Login, o.ID = fmt.Sprintf("org%d", i+1), int64(1000+i)
		fake.ServeOrg(o)
		orgs = append(orgs, o.Login)
	}
	return fake, orgs
}

func TestOrganisationsAreReadInParallelAndHandedOnInOrder(t *testing.T) {
	fake, orgs := manyOrgs(t, 8, 250, 5*time.Millisecond)
	var streamed []string
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: orgs, OrgConcurrency: 4, Tokens: func(ts []facts.Token) error {
			for _, tok := range ts {
				streamed = append(streamed, tok.ID)
			}
			return nil
		}})
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	if len(streamed) != 8*250 {
		t.Fatalf("%d tokens handed on, want 2000", len(streamed))
	}
	// Every organisation's tokens come whole and in the order the organisations were given.
	last := 0
	for i, id := range streamed {
		var org int
		fmt.Sscanf(strings.TrimPrefix(id, "org:org"), "%d", &org)
		if org < last {
			t.Fatalf("token %d (%s) comes after org%d's: the order is not the organisations'", i, id, last)
		}
		last = org
	}
	if got := fake.MaxInFlight(); got < 2 || got > 4 {
		t.Errorf("at most %d requests in flight, want between 2 and 4 (four organisations at once, one request each)", got)
	}
	if res.Counts[audit.SourceGrants] != 2000 || res.Pages != 8*(3+1) {
		t.Errorf("counts %v, pages %d", res.Counts, res.Pages)
	}
}

func TestAConsumerThatStopsEndsEveryOrganisation(t *testing.T) {
	fake, orgs := manyOrgs(t, 6, 300, time.Millisecond)
	batches := 0
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: orgs, OrgConcurrency: 2, Tokens: func(ts []facts.Token) error {
			batches++
			if batches == 2 {
				return context.Canceled
			}
			return nil
		}})
	if batches != 2 {
		t.Errorf("%d batches offered after the consumer stopped", batches-2)
	}
	if len(res.Problems) == 0 {
		t.Error("an audit cut short must say what it did not read")
	}
}

func TestPaginationThatLoopsIsIncomplete(t *testing.T) {
	fake := ghapitest.New(t)
	o := bigOrg(t, 250)
	fake.ServeOrg(o)
	// Page 2 links back to page 1: a hostile or broken API would keep the audit going for ever.
	looping := ghapitest.Response{Status: http.StatusOK, Header: http.Header{
		"Content-Type": {"application/json"},
		"Link":         {fmt.Sprintf(`<%sorgs/bigco/personal-access-tokens?per_page=100&page=1>; rel="next"`, fake.APIURL())},
	}, Body: []byte(`[]`)}
	fake.Fault("/orgs/bigco/personal-access-tokens", 2, looping, 1)
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}})
	if len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Message, "pagination loops") {
		t.Fatalf("problems %+v, want the loop reported", res.Problems)
	}
	if res.Pages > 3 {
		t.Errorf("%d pages read: the loop was followed", res.Pages)
	}
}

func TestAPageCapBoundsAList(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(bigOrg(t, 1000))
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}, MaxPages: 3})
	if len(res.Tokens) != 300 || len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Message, "stopped after 3 pages") {
		t.Fatalf("%d tokens, problems %+v", len(res.Tokens), res.Problems)
	}
}

func TestATokenListedTwiceIsKeptOnce(t *testing.T) {
	fake := ghapitest.New(t)
	o := bigOrg(t, 150)
	o.Grants = append(o.Grants, o.Grants[0], o.Grants[120]) // shifted between pages while listed
	fake.ServeOrg(o)
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"bigco"}})
	if len(res.Tokens) != 150 || res.Duplicates != 2 {
		t.Errorf("%d tokens, %d duplicates; want 150 and 2", len(res.Tokens), res.Duplicates)
	}
}

// BenchmarkOrganisations audits 8 organisations of 300 grants from a fake that answers each page
// after 20 ms, one at a time (serial) and four at a time: the ratio is what parallelism buys.
func BenchmarkOrganisations(b *testing.B) {
	for _, conc := range []int{1, 4} {
		name := "serial"
		if conc > 1 {
			name = fmt.Sprintf("concurrency-%d", conc)
		}
		b.Run(name, func(b *testing.B) {
			fake, orgs := manyOrgs(b, 8, 300, 20*time.Millisecond)
			api := newAPI(b, fake, false)
			cat := catalog(b)
			for b.Loop() {
				res := audit.Collect(context.Background(), api, audit.Credentials{Token: facts.NewSecret(appToken)}, cat,
					audit.Options{Orgs: orgs, OrgConcurrency: conc, Credentials: true})
				if len(res.Tokens) != 2400 {
					b.Fatalf("%d tokens", len(res.Tokens))
				}
			}
		})
	}
}

func TestGitHubIDsBehindEachToken(t *testing.T) {
	fake := ghapitest.New(t)
	fake.ServeOrg(acme(t))
	res := audit.Collect(context.Background(), newAPI(t, fake, false), audit.Credentials{Token: facts.NewSecret(appToken)}, catalog(t),
		audit.Options{Orgs: []string{"acme"}})
	ids := res.GitHubIDs["org:acme/pat:98716"]
	if ids.Grant != 25381 || ids.Token != 98716 {
		t.Errorf("grant ids %+v, want pat_id 25381 and token_id 98716 (fixtures/github/org-grants.json)", ids)
	}
	for id, ids := range res.GitHubIDs {
		if strings.Contains(id, "/request:") && (ids.Request == 0 || ids.Token == 0) {
			t.Errorf("%s: %+v lacks the request's or its token's id", id, ids)
		}
	}
}
