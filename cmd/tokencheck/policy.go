package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/policy"
)

func newPolicyCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "List and test the rules"}
	var dirs []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List every rule: id, severity, title",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return policyListRun(cmd, dirs, io)
		},
	}
	list.Flags().StringArrayVar(&dirs, "policy", nil, "`DIR` of extra Rego rules to list too (repeatable)")
	test := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the built-in rules' Rego tests and those in each DIR",
		RunE: func(cmd *cobra.Command, args []string) error {
			return policyTestRun(cmd, args, io)
		},
	}
	cmd.AddCommand(list, test)
	return cmd
}

func loadEngine(cmd *cobra.Command, dirs []string) (*policy.Evaluator, error) {
	cat, err := policy.LoadCatalog()
	if err != nil {
		return nil, err
	}
	return policy.New(cmd.Context(), policy.Options{Catalog: cat, PolicyDirs: dirs})
}

func policyListRun(cmd *cobra.Command, dirs []string, io streams) error {
	e, err := loadEngine(cmd, dirs)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, r := range e.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	return tw.Flush()
}

func policyTestRun(cmd *cobra.Command, dirs []string, io streams) error {
	cat, err := policy.LoadCatalog()
	if err != nil {
		return err
	}
	results, err := policy.RunPolicyTests(cmd.Context(), cat, dirs)
	if err != nil {
		return err
	}
	passed, failed := 0, 0
	for _, r := range results {
		switch {
		case r.Error != nil:
			failed++
			fmt.Fprintf(io.Out, "ERROR %s: %s.%s: %v\n", r.Location, r.Package, r.Name, r.Error)
		case r.Fail:
			failed++
			fmt.Fprintf(io.Out, "FAIL  %s: %s.%s\n", r.Location, r.Package, r.Name)
			if out := strings.TrimSpace(string(r.Output)); out != "" {
				fmt.Fprintf(io.Out, "      %s\n", strings.ReplaceAll(out, "\n", "\n      "))
			}
		default:
			passed++
		}
	}
	fmt.Fprintf(io.Out, "rego: %d passed, %d failed\n", passed, failed)
	if failed > 0 || passed == 0 {
		return exitCodeError{exitViolations}
	}
	return nil
}
