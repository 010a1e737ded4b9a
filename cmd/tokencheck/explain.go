package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newExplainCmd(io streams) *cobra.Command {
	var (
		dirs   []string
		format infoFormat
	)
	cmd := &cobra.Command{
		Use:   "explain RULE",
		Short: "Describe a rule: what it catches, why, how to fix it, GitHub's docs",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeRuleIDs(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := loadEngine(cmd, dirs)
			if err != nil {
				return err
			}
			r, ok := e.Rule(args[0])
			if !ok {
				return fmt.Errorf("no rule %q (tokencheck policy list shows them)", args[0])
			}
			if format == infoJSON {
				return writeJSON(io.Out, r)
			}
			fmt.Fprintf(io.Out, "%s (%s)\n%s\n\n%s\n\nRemediation:\n%s\n", r.ID, r.Severity, r.Title, r.Description, r.Remediation)
			if len(r.Resources) > 0 {
				fmt.Fprintln(io.Out, "\nGitHub docs:")
				for _, res := range r.Resources {
					fmt.Fprintf(io.Out, "  %s\n    %s\n", res.Description, res.Ref)
				}
			}
			fmt.Fprintf(io.Out, "\nDefined in %s\n", r.File)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "`DIR` of extra Rego rules (repeatable)")
	addInfoFormatFlag(cmd, &format)
	return cmd
}
