package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
	"github.com/tokencheck/tokencheck/engine/source/audit"
)

// FixedClient writes every decision with one client (a fixed installation token from GH_TOKEN).
func FixedClient(c *github.Client) Clients {
	return ClientsFunc(func(context.Context, int64) (*github.Client, error) { return c, nil })
}

// AppClients writes as a GitHub App: per installation id (from the payload) it mints an
// installation token, keeps it until five minutes before it expires, and authenticates the
// installation's client with it. Build the API with AllowInstallationTokenPOST and AllowReviewWrites.
type AppClients struct {
	api *ghapi.API
	app *audit.App
	mu  sync.Mutex
	m   map[int64]*installation
}

// NewAppClients returns the clients of app's installations on api.
func NewAppClients(api *ghapi.API, app *audit.App) *AppClients {
	return &AppClients{api: api, app: app, m: map[int64]*installation{}}
}

type installation struct {
	id      int64
	parent  *AppClients
	client  *github.Client
	mu      sync.Mutex
	token   facts.Secret
	expires time.Time
}

// Client returns the client of installation id; the token is minted on the first write.
func (c *AppClients) Client(_ context.Context, id int64) (*github.Client, error) {
	if id <= 0 {
		return nil, errors.New("the delivery names no installation: is the webhook the GitHub App's?")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.m[id]
	if !ok {
		in = &installation{id: id, parent: c}
		in.client = c.api.ClientWithAuth(in.authorize)
		c.m[id] = in
	}
	return in.client, nil
}

func (in *installation) authorize(req *http.Request) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	if in.parent.app.Now != nil {
		now = in.parent.app.Now()
	}
	if in.token.Empty() || in.expires.Sub(now) < 5*time.Minute {
		if err := in.mint(req.Context()); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+in.token.Reveal())
	return nil
}

func (in *installation) mint(ctx context.Context) error {
	api, app := in.parent.api, in.parent.app
	jwtClient := api.ClientWithAuth(func(req *http.Request) error {
		s, err := app.JWT()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s)
		return nil
	})
	tok, _, err := jwtClient.Apps.CreateInstallationToken(ctx, in.id, nil)
	if err != nil {
		return fmt.Errorf("mint an installation token for installation %d: %w", in.id, ghapi.Classify(err, api.Host()))
	}
	in.token = facts.NewSecret(tok.GetToken())
	in.expires = tok.GetExpiresAt().Time
	if in.expires.IsZero() {
		in.expires = time.Now().Add(time.Hour)
	}
	return nil
}
