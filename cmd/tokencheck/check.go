package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/safe"
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
	res := source.Stream(ctx, opts.Paths, j.catalog, j.now, 0, func(batch []facts.Token) error {
		return j.add(ctx, batch)
	})
	for _, n := range res.Notices { // inputs found but not read: never silent (lead: show them in reports)
		fmt.Fprintf(io.Err, "tokencheck: notice: %s\n", safe.Text(n.Error()))
	}
	return j.conclude(res.Errors, nil)
}
