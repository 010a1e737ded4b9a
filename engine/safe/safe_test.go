package safe

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// validClassic is a made-up classic token with a valid checksum.
var validClassic = "ghp_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123" + facts.Checksum("AbCdEfGhIjKlMnOpQrStUvWxYz0123")

// attacks are values an attacker controls, as they reach a writer.
var attacks = []string{
	"x\n::error file=README.md,line=1::ALL CLEAR",
	"x\r\n::error::forged",
	"\x1b[2J\x1b[HALL CLEAR\x1b]0;title\x07",
	"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
	"name\u202egnp.exe",
	"a\u2028::error::b\u2029c",
	"\u0085::warning::next line",
	"\x9b31mred",
	"<img src=x onerror=alert(1)>",
	"[ALL CLEAR](https://evil.example) ![x](https://evil.example/p.png)",
	"| forged | cell |",
	"::error::at start",
	"   ::notice::indented",
	"##[error]old form",
	"bad utf8 \xff\xfe",
	"del\x7fnul\x00",
	"token " + validClassic,
}

func checkTextInvariants(t *testing.T, in, out string) {
	t.Helper()
	if strings.ContainsAny(out, "\n\r\x1b\x00\x7f") {
		t.Errorf("Text(%q) = %q keeps a control character", in, out)
	}
	if !utf8.ValidString(out) {
		t.Errorf("Text(%q) = %q is not valid UTF-8", in, out)
	}
	for _, r := range out {
		if dangerous(r) {
			t.Errorf("Text(%q) = %q keeps %U", in, out, r)
		}
	}
	if strings.Contains(out, validClassic) {
		t.Errorf("Text(%q) keeps the token value", in)
	}
}

func TestTextMakesControlsVisibleAndNeverBreaksALine(t *testing.T) {
	for _, in := range attacks {
		checkTextInvariants(t, in, Text(in))
	}
	for in, want := range map[string]string{
		"a\nb":         `a\nb`,
		"\x1b[31m":     `\x1b[31m`,
		"x\u202ey":     `x\u202ey`,
		"p\u2028q":     `p\u2028q`,
		"\u009b":       `\u009b`,
		"\x9b":         `\x9b`,
		"ok: é 日本":     "ok: é 日本",
		"bad\xff":      `bad\xff`,
		validClassic:   "<redacted classic token …" + validClassic[len(validClassic)-4:] + ">",
		"tab\there":    `tab\there`,
		"x ##[error]y": `x ##\[error]y`,
		"plain ascii":  "plain ascii",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdownEscapesHTMLTablesAndLinks(t *testing.T) {
	got := Markdown("<img src=x onerror=alert(1)> | [ALL CLEAR](https://evil.example) ![p](https://e/p.png) a&b")
	unescaped := strings.NewReplacer(`\](`, "", `\![`, "", `\|`, "").Replace(got)
	for _, bad := range []string{"<img", "|", "](", "![", "&b"} {
		if strings.Contains(unescaped, bad) {
			t.Errorf("Markdown kept %q: %s", bad, got)
		}
	}
	if strings.Contains(got, "<") || strings.Contains(got, "[ALL CLEAR](") || !strings.Contains(got, `\|`) {
		t.Errorf("Markdown = %s", got)
	}
	if c := Code("a|b`c"); c != "``a\\|b`c``" {
		t.Errorf("Code = %s", c)
	}
}

func TestLinkTargetOnlyPlainHTTPS(t *testing.T) {
	for u, want := range map[string]bool{
		"https://github.com/settings/personal-access-tokens/new?name=a+b&contents=read": true,
		"javascript:alert(1)":             false,
		"https://x/) [evil](https://evil": false,
		"http://github.com/":              false,
		"https://github.com/a b":          false,
		"https://github.com/<script>":     false,
		"https://github.com/\u202e":       false,
	} {
		if got := LinkTarget(u); got != want {
			t.Errorf("LinkTarget(%q) = %v", u, got)
		}
	}
}

func TestCommandsNeutralisesForgedWorkflowCommands(t *testing.T) {
	in := "ok line\n::error file=README.md::forged\n  ::warning::indented\n##[error]old\n\u00a0::notice::nbsp\nlast::not at start\n"
	out := string(Commands([]byte(in)))
	for _, line := range strings.Split(out, "\n") {
		if IsCommand(line) {
			t.Errorf("line %q still starts a workflow command", line)
		}
	}
	if !strings.Contains(out, "last::not at start") || !strings.Contains(out, `\::error file=README.md::forged`) {
		t.Errorf("Commands = %q", out)
	}
}

func TestJSONEscapesTerminalControlsAndKeepsTheData(t *testing.T) {
	data := map[string]string{"name": "a\u009b31m\u202eb\x7fc", "token": validClassic}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	out := JSON(raw)
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("JSON output does not decode: %v\n%s", err, out)
	}
	if back["name"] != data["name"] {
		t.Errorf("name = %q, want %q", back["name"], data["name"])
	}
	if strings.Contains(string(out), validClassic) || strings.ContainsRune(string(out), 0x9b) || strings.ContainsRune(string(out), 0x202e) {
		t.Errorf("JSON kept a control or the token: %q", out)
	}
}

func FuzzText(f *testing.F) {
	for _, a := range attacks {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Text(in)
		checkTextInvariants(t, in, out)
		if Text(out) != out {
			t.Errorf("Text is not idempotent on %q", in)
		}
		md := Markdown(in)
		if strings.ContainsAny(md, "<>\n") || strings.Contains(strings.ReplaceAll(md, `\|`, ""), "|") {
			t.Errorf("Markdown(%q) = %q keeps HTML, a line break or a table pipe", in, md)
		}
		for _, line := range strings.Split(Lines(in), "\n") {
			if IsCommand(line) {
				t.Errorf("Lines(%q) has a command line %q", in, line)
			}
		}
		for _, line := range strings.Split(string(Commands([]byte(in))), "\n") {
			if IsCommand(line) || strings.Contains(line, "##[") {
				t.Errorf("Commands(%q) has a command line %q", in, line)
			}
		}
		if strings.Contains(out, "##[") {
			t.Errorf("Text(%q) = %q keeps the ##[ command form", in, out)
		}
	})
}

func FuzzJSON(f *testing.F) {
	for _, a := range attacks {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return
		}
		raw, _ := json.MarshalIndent(map[string]string{"v": in}, "", "  ")
		out := JSON(raw)
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("JSON(%q) does not decode: %v", in, err)
		}
		if facts.Redact(in) != back["v"] {
			t.Errorf("JSON changed the data: %q -> %q", in, back["v"])
		}
		for _, r := range string(out) {
			if r != '\n' && dangerous(r) {
				t.Errorf("JSON(%q) keeps %U", in, r)
			}
		}
	})
}
