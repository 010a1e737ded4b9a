package facts

import (
	"fmt"
	"strings"
	"time"
)

// Secret holds a token value so that it cannot be printed by accident: every formatting verb and
// JSON encoding show only its fingerprint and last four characters. Reveal is for the one place
// that must send the value, the Authorization header.
type Secret struct{ value string }

// NewSecret wraps a token value, trimming surrounding white space (a trailing newline from a file or
// a pipe is never part of a token).
func NewSecret(value string) Secret { return Secret{value: strings.TrimSpace(value)} }

// Reveal returns the token value. Call it only to authenticate a request.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether there is no value.
func (s Secret) Empty() bool { return s.value == "" }

// Fingerprint is the value's "sha256:" fingerprint.
func (s Secret) Fingerprint() string { return Fingerprint(s.value) }

// LastFour is the value's last four characters ("****" for values too short to show any).
func (s Secret) LastFour() string { return LastFour(s.value) }

// Type is the token type named by the value's prefix.
func (s Secret) Type() TokenType { return TypeOf(s.value) }

// Check verifies the value's format offline (see CheckFormat); the error never holds the value.
func (s Secret) Check() error { return CheckFormat(s.value) }

// ExpiresAt is the expiry a stateless installation token (ghs_<APP_ID>_<JWT>) carries in its JWT's
// exp claim, read offline without verifying the signature; ok is false for every other kind of
// token and when the claim is missing. Only the time leaves the value.
func (s Secret) ExpiresAt() (time.Time, bool) { return StatelessExpiry(s.value) }

// Stateless reports whether the value is a stateless installation token, ghs_<APP_ID>_<JWT>.
func (s Secret) Stateless() bool { return IsStateless(s.value) }

// String shows the fingerprint and last four characters, never the value.
func (s Secret) String() string { return s.Fingerprint() + " (…" + s.LastFour() + ")" }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "facts.Secret{" + s.String() + "}" }

// Format keeps every verb (%s, %v, %q, %x, ...) from printing the value.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", s.String())), nil }

// MarshalText encodes the redacted form (YAML, maps keys, loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
