package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/ghapi"
)

// HeaderDump is a saved API response to judge, and what the reviewer knows that it lacks.
type HeaderDump struct {
	File     string
	Type     facts.TokenType // "" = unknown (ParseTokenType reads a name or a prefix)
	LastFour string          // the token's last four characters, if the reviewer knows them
}

// Headers judges a token from a saved response (curl -D -, -i, -I or -v output) without the token
// and without the network. The error is an input finding.Problem (unreadable dump, 401) or an
// incomplete one (a refusal whose headers cannot tell everything); the token carries what the
// headers revealed either way.
func Headers(hd HeaderDump) (facts.Token, error) {
	tok := facts.Token{ID: "headers:" + hd.File, Type: facts.TypeUnknown, Source: facts.Source{Kind: facts.SourceHeaders, File: hd.File}}
	if hd.LastFour != "" {
		tok.LastFour = hd.LastFour
	}
	if hd.Type != "" {
		tok.Type = hd.Type
	}
	f, err := os.Open(hd.File)
	if err != nil {
		return tok, finding.Problem{Kind: finding.Input, File: hd.File, Message: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	d, err := ghapi.ReadDump(f)
	if err != nil {
		var de *ghapi.DumpError
		if errors.As(err, &de) {
			return tok, finding.Problem{Kind: finding.Input, File: hd.File, Line: de.Line, Message: de.Msg}
		}
		return tok, finding.Problem{Kind: finding.Input, File: hd.File, Message: err.Error()}
	}
	tok.Source.Line = d.Line
	if tok.Type == facts.TypeUnknown {
		tok.MarkUnknown(facts.FactType)
	}
	resp := &http.Response{StatusCode: d.Status, Header: d.Header}
	ok := d.Status >= 200 && d.Status < 300
	applyHeaders(&tok, d.Header, ok)
	if ok {
		var user struct {
			Login string `json:"login"`
		}
		if body := strings.TrimSpace(string(d.Body)); body != "" && json.Unmarshal([]byte(body), &user) == nil && user.Login != "" {
			tok.Owner = user.Login
		} else {
			tok.MarkUnknown(facts.FactOwner)
		}
		return tok, nil
	}
	tok.MarkUnknown(facts.FactOwner)
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal([]byte(strings.TrimSpace(string(d.Body))), &msg)
	fail := ghapi.FromResponse(resp, msg.Message, "GitHub")
	switch fail.Kind {
	case ghapi.KindRejected:
		return tok, finding.Problem{Kind: finding.Input, File: hd.File, Line: d.Line, Message: "the saved response is 401 Bad credentials: the token was rejected (revoked, expired or mistyped)"}
	case ghapi.KindSSORequired:
		return tok, finding.IncompleteSource(tok.ID, fail.Error())
	}
	return tok, finding.IncompleteSource(tok.ID, fmt.Sprintf("the saved response is %d, not 200: its headers may not carry every fact (%s)", d.Status, fail.Error()))
}

// ParseTokenType accepts a type name (classic, fine_grained, oauth, app_user, app_installation,
// refresh) or a token prefix (ghp_, github_pat_, gho_, ghu_, ghs_, ghr_).
func ParseTokenType(s string) (facts.TokenType, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch t := facts.TokenType(s); t {
	case facts.TypeClassic, facts.TypeFineGrained, facts.TypeOAuth, facts.TypeAppUser, facts.TypeAppInstallation, facts.TypeRefresh:
		return t, nil
	case "fine-grained":
		return facts.TypeFineGrained, nil
	}
	if t := facts.TypeOf(s); t != facts.TypeUnknown && strings.HasSuffix(s, "_") {
		return t, nil
	}
	return "", fmt.Errorf("%q is not a token type: want classic, fine_grained, oauth, app_user, app_installation, refresh or a prefix such as ghp_", s)
}
