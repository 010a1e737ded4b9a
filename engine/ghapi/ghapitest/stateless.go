package ghapitest

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// StatelessToken builds an obviously fake GitHub App installation token in the stateless format
// GitHub mints since 2026-04-27, ghs_<APP_ID>_<JWT>: a made-up app id, a JWT whose claims hold exp
// and padding to GitHub's length of about 520 characters, and a signature that is not one.
func StatelessToken(appID int64, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims := fmt.Sprintf(`{"iss":"tokencheck-test-fake","exp":%d,"note":"made up for tests; signed by nobody","pad":%q}`, exp.Unix(), strings.Repeat("0", 220))
	sig := enc([]byte(strings.Repeat("fake-signature.", 8)))
	return fmt.Sprintf("ghs_%d_%s.%s.%s", appID, header, enc([]byte(claims)), sig)
}
