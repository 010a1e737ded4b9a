package facts

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GitHub App installation tokens minted since 2026-04-27 (including Actions' GITHUB_TOKEN) are
// stateless: ghs_<APP_ID>_<JWT>, about 520 characters and of varying length, the JWT signed by a
// GitHub-internal issuer. See
// https://github.blog/changelog/2026-04-24-notice-about-upcoming-new-format-for-github-app-installation-tokens/
// and the note in GitHub's "Generating an installation access token for a GitHub App".
const (
	statelessPrefix = "ghs_"
	// MaxStatelessLength caps a stateless installation token; GitHub publishes no maximum (the
	// tokens are about 520 characters), so the cap only keeps hostile input bounded.
	MaxStatelessLength = 4096
	// MaxTokenLength is the longest token of the other kinds: GitHub tells integrators to allow
	// tokens of up to 255 characters.
	MaxTokenLength = 255
)

const base64URL = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"

// splitStateless returns the app id and the JWT of a ghs_<APP_ID>_<JWT> value; ok is false when
// the value does not have that shape (a 36-character ghs_ body has neither the app id nor dots).
func splitStateless(value string) (appID, jwtPart string, ok bool) {
	rest, found := strings.CutPrefix(value, statelessPrefix)
	if !found {
		return "", "", false
	}
	appID, jwtPart, found = strings.Cut(rest, "_")
	if !found || appID == "" || len(appID) > 20 || !allOf(appID, "0123456789") || strings.Count(jwtPart, ".") != 2 {
		return "", "", false
	}
	return appID, jwtPart, true
}

// IsStateless reports whether the value is in the stateless installation token shape
// ghs_<APP_ID>_<JWT> (not whether it is well formed: CheckFormat says that).
func IsStateless(value string) bool {
	_, _, ok := splitStateless(value)
	return ok
}

// checkStateless verifies a stateless installation token offline: a numeric app id, then a JWT of
// three base64url segments whose header and claims decode to JSON objects. The signature is not
// (and cannot be) verified. The error never contains the value nor the decoder's message, which
// may quote bytes of it.
func checkStateless(value string) error {
	if len(value) > MaxStatelessLength {
		return fmt.Errorf("malformed %s token (ending %s): %d characters, more than the %d a stateless installation token may have", TypeAppInstallation, LastFour(value), len(value), MaxStatelessLength)
	}
	_, raw, _ := splitStateless(value)
	for _, seg := range strings.Split(raw, ".") {
		if seg == "" || !allOf(seg, base64URL) {
			return fmt.Errorf("malformed %s token (ending %s): after %q and the app id, expected a JWT of three base64url segments", TypeAppInstallation, LastFour(value), statelessPrefix)
		}
	}
	if _, err := parseStatelessJWT(raw); err != nil {
		return fmt.Errorf("malformed %s token (ending %s): its JWT does not decode (header and claims must be base64url JSON objects)", TypeAppInstallation, LastFour(value))
	}
	return nil
}

// parseStatelessJWT decodes the JWT's claims without verifying its signature. An algorithm this
// library does not know is no format error: GitHub signs with an internal issuer and clients must
// not depend on it.
func parseStatelessJWT(raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(raw, claims)
	if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, err
	}
	return claims, nil
}

// StatelessExpiry reads the exp claim of a stateless installation token's JWT, offline and without
// verifying the signature. ok is false for any other value, or when the claim is absent or not a
// number.
func StatelessExpiry(value string) (time.Time, bool) {
	_, raw, ok := splitStateless(value)
	if !ok || len(value) > MaxStatelessLength {
		return time.Time{}, false
	}
	claims, err := parseStatelessJWT(raw)
	if err != nil {
		return time.Time{}, false
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}, false
	}
	return exp.UTC(), true
}
