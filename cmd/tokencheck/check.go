package main

import (
	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/source"
)

type checkOptions struct {
	judge judgeOptions
	Paths []string
}

func newCheckCmd(io streams) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check PATH...",
		Short: "Judge token inventories, facts files and template links in files and directories",
		Long: `Judge the tokens declared in inventories (YAML/JSON with a top-level tokens list), saved facts
(scan/audit --facts-out) and fine-grained template links found in any other text file.
Directories are read recursively. Exit 0 passes, 1 fails the gate, 2 is bad input, 3 incomplete facts.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return checkRun(cmd, opts, io)
		},
	}
	opts.judge.addFlags(cmd)
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
	res, err := j.run(ctx, nil, source.Paths{Paths: opts.Paths, Catalog: j.catalog, Now: j.now})
	if err != nil {
		return err
	}
	return j.conclude(res, nil)
}
