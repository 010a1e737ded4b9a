package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/policy"
)

func newPolicyCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "List and test the rules, print the policy input's schema, write an OPA bundle"}
	var dirs []string
	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List every rule: id, severity, title",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return policyListRun(cmd, dirs, listFormat, io)
		},
	}
	list.Flags().StringSliceVarP(&dirs, "policy", "p", nil, "`DIR` of extra Rego rules to list too (repeatable, or a comma list)")
	list.Flags().StringVarP(&listFormat, "format", "f", "text", "`FORMAT`: text or json")
	var topts policyTestOptions
	test := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the built-in rules' Rego tests and those in each DIR",
		RunE: func(cmd *cobra.Command, args []string) error {
			return policyTestRun(cmd, args, topts, io)
		},
	}
	test.Flags().BoolVarP(&topts.Verbose, "verbose", "v", false, "list every test with its result, as opa test -v does")
	test.Flags().StringVar(&topts.Run, "run", "", "report only the tests whose package.name matches `REGEX`, as opa test --run does")
	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the policy input (what a rule sees as input)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.Out.Write(policy.InputSchema())
			return err
		},
	}
	cmd.AddCommand(list, test, schema, newPolicyBundleCmd(io))
	return cmd
}

// policyTestOptions are the flags of policy test.
type policyTestOptions struct {
	Verbose bool
	Run     string
}

// bundleOptions are the flags of policy bundle.
type bundleOptions struct {
	Output     string
	ConfigFile string
	PolicyDirs []string
	DataFiles  []string
	Disable    []string
}

func newPolicyBundleCmd(io streams) *cobra.Command {
	var o bundleOptions
	cmd := &cobra.Command{
		Use:   "bundle -o FILE",
		Short: "Write the rules, catalogue and settings as an OPA bundle for your OPA servers",
		Long: "Write an OPA bundle (tar.gz) that a stock OPA evaluates as " + policy.BundleQuery + " on a facts\n" +
			"document (tokencheck.facts/v1 plus a top-level now) with the same findings as tokencheck check:\n" +
			"the built-in rules and --policy rules, the catalogue, the defaults, and the settings, disabled\n" +
			"rules and waivers of --config (default ./.tokencheck.yaml if present) as data.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return policyBundleRun(cmd, o, io)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "bundle `FILE` to write (- for stdout)")
	f.StringVar(&o.ConfigFile, "config", "", "settings and waivers `FILE` (default: ./.tokencheck.yaml if present)")
	f.StringArrayVar(&o.PolicyDirs, "policy", nil, "`DIR` of extra Rego rules (repeatable)")
	f.StringArrayVar(&o.DataFiles, "data", nil, "JSON/YAML data `FILE` for extra rules, merged at the root of data (repeatable)")
	f.StringArrayVar(&o.Disable, "disable", nil, "rule `ID` to turn off (repeatable)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func policyBundleRun(cmd *cobra.Command, o bundleOptions, io streams) error {
	cfg, err := bundleConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	cat, err := policy.LoadCatalog()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	opts := policy.Options{Config: cfg, PolicyDirs: o.PolicyDirs, DataFiles: o.DataFiles, Disable: o.Disable, Catalog: cat}
	if err := policy.WriteBundle(cmd.Context(), &buf, opts, version); err != nil {
		return err
	}
	if o.Output == "-" {
		_, err := io.Out.Write(buf.Bytes())
		return err
	}
	// Written whole or not at all: a server polling the file never sees half a bundle.
	tmp := o.Output + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := os.Rename(tmp, o.Output); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("--output: %w", err)
	}
	fmt.Fprintf(io.Err, "wrote %s (revision %s)\n", o.Output, version)
	return nil
}

// bundleConfig reads --config, or ./.tokencheck.yaml when present, or the defaults. Unlike a judging
// run, a bad config is an error: a bundle must not silently carry other settings than asked.
func bundleConfig(file string) (policy.Config, error) {
	if file == "" {
		if _, err := os.Stat(policy.DefaultConfigFile); err != nil {
			return policy.DefaultConfig()
		}
		file = policy.DefaultConfigFile
	}
	return policy.LoadConfig(file)
}

func loadEngine(cmd *cobra.Command, dirs []string) (*policy.Evaluator, error) {
	cat, err := policy.LoadCatalog()
	if err != nil {
		return nil, err
	}
	return policy.New(cmd.Context(), policy.Options{Catalog: cat, PolicyDirs: dirs})
}

func policyListRun(cmd *cobra.Command, dirs []string, format string, io streams) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--format %q: want text or json", format)
	}
	e, err := loadEngine(cmd, dirs)
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(e.Rules())
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, r := range e.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	return tw.Flush()
}

func policyTestRun(cmd *cobra.Command, dirs []string, opts policyTestOptions, io streams) error {
	var run *regexp.Regexp
	if opts.Run != "" {
		re, err := regexp.Compile(opts.Run)
		if err != nil {
			return fmt.Errorf("--run: %w", err)
		}
		run = re
	}
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
		if run != nil && !run.MatchString(r.Package+"."+r.Name) {
			continue
		}
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
			if opts.Verbose {
				fmt.Fprintf(io.Out, "PASS  %s: %s.%s (%s)\n", r.Location, r.Package, r.Name, r.Duration)
			}
		}
	}
	fmt.Fprintf(io.Out, "rego: %d passed, %d failed\n", passed, failed)
	if failed > 0 || passed == 0 {
		return exitCodeError{exitViolations}
	}
	return nil
}
