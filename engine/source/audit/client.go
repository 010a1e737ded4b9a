package audit

import (
	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// OrgClient returns a client for one organisation's endpoints on api: with an App, authenticated
// by an installation token of that organisation, minted on first use and again before it expires;
// otherwise with the token as given. review --apply writes with it through an API built with
// ghapi.Options.AllowReviewWrites.
func (c Credentials) OrgClient(api *ghapi.API, org string) *github.Client {
	client, _ := c.client(api, org)
	return client
}
