package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// complete asks for completions as a shell does (`tokencheck __complete ARGS... PARTIAL`) and
// returns the values offered (descriptions dropped) and the directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	r := tokencheck(t, nil, append([]string{"__complete"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"explain completes rule ids", []string{"explain", "ex"}, "excess-permission expired expiring-soon"},
		{"explain takes one rule", []string{"explain", "expired", ""}, ""},
		{"--disable completes rule ids", []string{"check", "--disable", "dangerous-"}, "dangerous-permission dangerous-scope"},
		{"--disable completes the last item of a comma list", []string{"check", "--disable", "stale-token,approval-"}, "stale-token,approval-denied stale-token,approval-pending"},
		{"a listed rule is not offered again", []string{"check", "--disable", "expired,exp"}, "expired,expiring-soon"},
		{"--format", []string{"check", "--format", ""}, "text json sarif junit github markdown"},
		{"--also", []string{"scan", "--also", "j"}, "json junit"},
		{"--fail-on lists severities lowest first, then never", []string{"audit", "--fail-on", ""}, "info low medium high critical never"},
		{"scan --type", []string{"scan", "--type", "app"}, "app_user app_installation"},
		{"version --format", []string{"version", "--format", ""}, "text json"},
		{"explain --format", []string{"explain", "-f", ""}, "text json"},
		{"completion shells", []string{"completion", ""}, "bash fish powershell zsh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, directive := complete(t, c.args...)
			if strings.Join(got, " ") != c.want {
				t.Errorf("offered %q, want %q", strings.Join(got, " "), c.want)
			}
			// :4 is ShellCompDirectiveNoFileComp (and 32 KeepOrder): no file names among rule ids.
			if directive != ":4" && directive != ":36" {
				t.Errorf("directive %s, want no file completion", directive)
			}
		})
	}
}

// Rule ids come from the rules the command would load, so --policy adds the user's own.
func TestCompletionIncludesUserRules(t *testing.T) {
	dir := t.TempDir()
	rule := "# METADATA\n# title: Bots must not own classic tokens\n# custom:\n#   id: no-bot-classic\n#   severity: high\npackage tokencheck.rules[\"no-bot-classic\"]\n\ndeny contains {\"msg\": \"bot\"} if input.token.type == \"classic\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bot.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tokencheck(t, nil, "__complete", "check", "--policy", dir, "--disable", "no-")
	if !strings.Contains(r.stdout, "no-bot-classic\tBots must not own classic tokens\n") || !strings.Contains(r.stdout, "no-expiration\t") {
		t.Errorf("completions with --policy: %q", r.stdout)
	}
}

// The scripts the README tells people to install are produced for every shell it names.
func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_tokencheck", "zsh": "#compdef tokencheck", "fish": "complete -c tokencheck", "powershell": "Register-ArgumentCompleter",
	} {
		r := tokencheck(t, nil, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, marker) {
			t.Errorf("completion %s: exit %d, no %q in the script", shell, r.code, marker)
		}
	}
}
