package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/report"
)

// Shell completion. Cobra adds `tokencheck completion bash|zsh|fish|powershell`, which prints the
// script; the functions here give it the values of tokencheck's own flags and arguments. Each is a
// cobra.CompletionFunc, registered with cmd.RegisterFlagCompletionFunc(flag, fn). A flag that takes
// comma lists (--disable a,b) completes the item after the last comma.

// formatHelp describes each report format in the completion menu (zsh, fish, powershell show it).
var formatHelp = map[string]string{
	"text":     "for people; colour on a terminal",
	"json":     "for scripts and --baseline",
	"sarif":    "GitHub code scanning",
	"junit":    "CI test reporters",
	"github":   "pull-request annotations (workflow commands)",
	"markdown": "job summary, PR comments",
}

// tokenTypeHelp lists the values of scan --type, each with the prefix its values carry.
var tokenTypeHelp = []struct {
	typ  facts.TokenType
	help string
}{
	{facts.TypeClassic, "classic personal access token (ghp_)"},
	{facts.TypeFineGrained, "fine-grained personal access token (github_pat_)"},
	{facts.TypeOAuth, "OAuth app token (gho_)"},
	{facts.TypeAppUser, "GitHub App user token (ghu_)"},
	{facts.TypeAppInstallation, "GitHub App installation token (ghs_)"},
}

// completeList offers the choices that start with what is typed after the last comma, each
// prefixed with what comes before it, so a comma list completes item by item.
func completeList(choices []cobra.Completion, toComplete string) []cobra.Completion {
	head, last := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		head, last = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	for _, c := range choices {
		value, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(value, last) && !strings.Contains(","+head, ","+value+",") {
			out = append(out, head+c)
		}
	}
	return out
}

// completeRuleIDs completes rule ids (--disable, explain RULE): the built-in rules and those under
// the command's --policy directories, each with its title.
func completeRuleIDs(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var dirs []string
	if f := cmd.Flags().Lookup("policy"); f != nil {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			dirs = sv.GetSlice()
		}
	}
	e, err := loadEngine(cmd, dirs)
	if err != nil {
		cobra.CompDebugln("rule ids: "+err.Error(), true)
		return nil, cobra.ShellCompDirectiveError
	}
	var choices []cobra.Completion
	for _, r := range e.Rules() {
		choices = append(choices, cobra.CompletionWithDesc(r.ID, r.Title))
	}
	return completeList(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeFormats completes report formats (--format, --also).
func completeFormats(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	choices := make([]cobra.Completion, len(report.Formats))
	for i, f := range report.Formats {
		choices[i] = cobra.CompletionWithDesc(f, formatHelp[f])
	}
	return completeList(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeSeverities completes severity names, lowest first (a rule's severity, --severity filters).
func completeSeverities(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return completeList(severityChoices(), toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// completeFailOn completes --fail-on: the severities and never (report only).
func completeFailOn(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	choices := append(severityChoices(), cobra.CompletionWithDesc("never", "report only: findings never fail the run"))
	return completeList(choices, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

func severityChoices() []cobra.Completion {
	out := make([]cobra.Completion, len(finding.Severities))
	for i, s := range finding.Severities {
		out[i] = string(s)
	}
	return out
}

// completeTokenTypes completes scan --type.
func completeTokenTypes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	choices := make([]cobra.Completion, len(tokenTypeHelp))
	for i, t := range tokenTypeHelp {
		choices[i] = cobra.CompletionWithDesc(string(t.typ), t.help)
	}
	return completeList(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// flagCompletions maps a flag name to its completion, for every command that defines the flag.
var flagCompletions = map[string]cobra.CompletionFunc{
	"disable": completeRuleIDs,
	"format":  completeFormats,
	"also":    completeFormats,
	"fail-on": completeFailOn,
	"type":    completeTokenTypes,
}

// registerCompletions gives every command under root the completions of flagCompletions for the
// flags it defines, unless the command registered its own (version and explain complete --format
// with text and json). Call it once the command tree is built.
func registerCompletions(root *cobra.Command) {
	for _, cmd := range append([]*cobra.Command{root}, root.Commands()...) {
		if cmd != root {
			registerCompletions(cmd)
		}
		for name, fn := range flagCompletions {
			if cmd.Flags().Lookup(name) == nil {
				continue
			}
			if _, ok := cmd.GetFlagCompletionFunc(name); ok {
				continue
			}
			_ = cmd.RegisterFlagCompletionFunc(name, fn) // cannot fail: the flag exists and has none
		}
	}
}
