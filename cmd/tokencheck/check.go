package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/finding"
	"github.com/tokencheck/tokencheck/engine/source"
)

type checkOptions struct {
	judge   judgeOptions
	Paths   []string
	Timeout time.Duration
	Ignore  []string
	// AsWalked judges named files as a directory walk would (--as-walked).
	AsWalked bool
}

func newCheckCmd(io streams) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check PATH...",
		Short: "Judge token inventories, facts files and template links in files and directories",
		Long: `Judge the tokens declared in inventories (YAML/JSON with a top-level tokens list), saved facts
(scan/audit --facts-out) and fine-grained template links found in any other text file.
Directories are read recursively; a walked YAML/JSON file is an inventory when it declares
schema: tokencheck.inventory/v1 (or matches inventories: in the configuration), a file named here
is one without it, and - reads one from stdin. Exit 0 passes, 1 fails the gate, 2 is bad input, 3 incomplete facts.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return checkRun(cmd, opts, io)
		},
	}
	opts.judge.addFlags(cmd)
	cmd.Flags().BoolVar(&opts.AsWalked, "as-walked", false, "judge the files named as if found by walking a directory: an inventory must declare its schema, and an unreadable file is a notice (for pre-commit, which names every staged file)")
	cmd.Flags().StringSliceVar(&opts.Ignore, "ignore", nil, "skip paths matching `GLOB` (repeatable, or a comma list): matched against the path as given and its base name; * stays within a directory, ** crosses them")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "bound on judging, e.g. 30s or 5m: a rule that takes longer ends the run with exit 2, naming it")
	return cmd
}

func checkRun(cmd *cobra.Command, opts *checkOptions, io streams) error {
	ctx := cmd.Context()
	j, err := newJudge(ctx, opts.judge, io)
	if err != nil {
		return err
	}
	if err := j.refuseOverlaps(opts.Paths, ""); err != nil {
		return err
	}
	ignore, err := source.CompileGlobs(opts.Ignore)
	if err != nil {
		return j.usageError([]finding.Problem{{Kind: finding.Input, Message: fmt.Sprintf("--ignore: %v", err)}})
	}
	if err := j.refuseStdinTwice(opts.Paths); err != nil {
		return err
	}
	j.startOutputs() // before the walk, which must know the files the outputs are written to
	sel := source.Selection{Ignore: ignore, Stdin: io.In, AsWalked: opts.AsWalked, Writing: j.writing()}
	// The configuration's globs were checked when it was read: a bad one is reported there.
	if g, err := source.CompileGlobs(j.config.Ignore); err == nil {
		sel.Ignore = source.JoinGlobs(sel.Ignore, g)
	}
	if g, err := source.CompileGlobs(j.config.Inventories); err == nil {
		sel.Inventories = g
	}
	j.evalTimeout = opts.Timeout
	var counts source.Counts
	res, err := j.run(ctx, nil, source.Paths{Paths: opts.Paths, Catalog: j.catalog, Now: j.now, Select: sel, Counts: &counts})
	if err != nil {
		return err
	}
	res.Ignored, res.OwnOutputs = counts.Ignored, counts.Outputs
	res.Summarize()
	return j.conclude(res, nil)
}

// refuseStdinTwice refuses "-" given more than once: standard input can be read only once.
func (j *judge) refuseStdinTwice(paths []string) error {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	if n > 1 {
		return j.usageError([]finding.Problem{{Kind: finding.Input, Message: "- (stdin) is named more than once; it can be read once"}})
	}
	return nil
}
