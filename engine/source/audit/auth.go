package audit

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v66/github"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// App is a GitHub App's identity: it signs JWTs that find an organisation's installation and mint
// installation tokens for it.
type App struct {
	ID  int64
	Key *rsa.PrivateKey
	// Now is the clock (nil: time.Now); tests turn it.
	Now func() time.Time
}

// LoadAppKey reads a GitHub App private key (PEM, PKCS#1 or PKCS#8). The error never quotes the key.
func LoadAppKey(file string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read App key: %w", err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key in PEM form (GitHub App → Private keys → Generate): %v", file, err)
	}
	return key, nil
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// JWT signs the short-lived RS256 token that authenticates as the App: issued a minute in the past
// (clock drift), valid for nine minutes (GitHub allows ten).
func (a *App) JWT() (string, error) {
	now := a.now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.ID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.Key)
	if err != nil {
		return "", fmt.Errorf("sign GitHub App JWT: %w", err)
	}
	return s, nil
}

// refreshMargin: an installation token is replaced when it has less than this left, so no request
// of a long audit goes out with a token about to expire.
const refreshMargin = 5 * time.Minute

// installationAuth authenticates requests with an organisation's installation token, minting it
// on first use and again before it expires.
type installationAuth struct {
	app     *App
	api     *ghapi.API
	org     string
	mu      sync.Mutex
	id      int64
	token   facts.Secret
	expires time.Time
	// refreshAt is when the token is replaced: refreshMargin before it expires, or halfway through
	// its life when GitHub gave one shorter than the margin (a skewed clock), so a token that is
	// already near expiry is not minted again before every request.
	refreshAt time.Time
	mints     int
}

// Mint finds the installation (once) and mints a fresh token. The only POST tokencheck sends.
func (ia *installationAuth) mint(ctx context.Context) error {
	jwtClient := ia.api.ClientWithAuth(func(req *http.Request) error {
		s, err := ia.app.JWT()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s)
		return nil
	})
	if ia.id == 0 {
		inst, _, err := jwtClient.Apps.FindOrganizationInstallation(ctx, ia.org)
		if err != nil {
			f := ghapi.Classify(err, ia.api.Host())
			if f.Kind == ghapi.KindNotFound {
				return fmt.Errorf("the GitHub App %d is not installed on %s (GET /orgs/%s/installation answered 404)", ia.app.ID, ia.org, ia.org)
			}
			return fmt.Errorf("find the GitHub App's installation on %s: %w", ia.org, f)
		}
		ia.id = inst.GetID()
	}
	tok, _, err := jwtClient.Apps.CreateInstallationToken(ctx, ia.id, nil)
	if err != nil {
		return fmt.Errorf("mint an installation token for %s: %w", ia.org, ghapi.Classify(err, ia.api.Host()))
	}
	ia.token = facts.NewSecret(tok.GetToken())
	minted := ia.app.now()
	ia.expires = tok.GetExpiresAt().Time
	if ia.expires.IsZero() {
		ia.expires = minted.Add(time.Hour)
	}
	ia.refreshAt = ia.expires.Add(-refreshMargin)
	if life := ia.expires.Sub(minted); life < 2*refreshMargin {
		ia.refreshAt = minted.Add(max(life/2, time.Minute))
	}
	ia.mints++
	return nil
}

// authorize sets the Authorization header, minting first when the token is missing or near expiry.
func (ia *installationAuth) authorize(req *http.Request) error {
	ia.mu.Lock()
	defer ia.mu.Unlock()
	if ia.token.Empty() || !ia.app.now().Before(ia.refreshAt) {
		if err := ia.mint(req.Context()); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+ia.token.Reveal())
	return nil
}

// Credentials are how the audit authenticates: a GitHub App (a token minted per organisation) or a
// token given as is, normally an App's installation token (from actions/create-github-app-token).
// Only GitHub Apps can list an organisation's grants and requests: GitHub refuses a personal access
// token there, and those parts are reported incomplete. An organisation owner's personal access
// token (classic with read:org, or fine-grained with the organization permission Administration:
// read) can read credential authorizations only.
type Credentials struct {
	App   *App
	Token facts.Secret
}

// client returns an API client for one organisation.
func (c Credentials) client(api *ghapi.API, org string) (*github.Client, *installationAuth) {
	if c.App != nil {
		ia := &installationAuth{app: c.App, api: api, org: org}
		return api.ClientWithAuth(ia.authorize), ia
	}
	return api.Client(c.Token), nil
}

// InstallationOrgs lists the organisations the App is installed on (GET /app/installations,
// every page), in GitHub's order. Installations on user accounts are not organisations: they are
// returned apart, to be said, not audited.
func InstallationOrgs(ctx context.Context, api *ghapi.API, app *App) (orgs, users []string, err error) {
	client := api.ClientWithAuth(func(req *http.Request) error {
		s, err := app.JWT()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s)
		return nil
	})
	opts := &github.ListOptions{PerPage: 100}
	for pages := 0; ; pages++ {
		if pages >= 1000 {
			return orgs, users, fmt.Errorf("list the App's installations: stopped after %d pages", pages)
		}
		insts, resp, err := client.Apps.ListInstallations(ctx, opts)
		if err != nil {
			return orgs, users, fmt.Errorf("list the App's installations: %w", ghapi.Classify(err, api.Host()))
		}
		for _, inst := range insts {
			login := inst.GetAccount().GetLogin()
			if inst.GetTargetType() == "Organization" {
				orgs = append(orgs, login)
			} else {
				users = append(users, login)
			}
		}
		if resp.NextPage == 0 {
			return orgs, users, nil
		}
		opts.Page = resp.NextPage
	}
}
