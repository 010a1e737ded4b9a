// Command tokencheck decides whether GitHub personal access tokens comply with an organisation's
// policy: facts about each token go in, embedded Rego policies decide, findings come out, and the
// exit code gates CI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK         = 0
	exitViolations = 1
	exitError      = 2
	exitIncomplete = 3
)

// version is set at link time with -ldflags "-X main.version=..." by a release build. Left at
// devVersion, the module version the go command recorded in the build info is used instead:
// currentVersion().Version is the version to show.
var version = devVersion

// streams is the I/O a command runs with, passed down so tests can supply their own.
type streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	OutTTY bool
	ErrTTY bool
	Getenv func(string) string
}

// exitCodeError carries an exit code out of a command; its message, if any, is already printed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	tuneGC(os.Getenv)
	// SIGTERM (a cancelled CI job, timeout(1)) ends a run as Ctrl-C does: what was collected is
	// judged and the reports are finished, so no temporary output is left behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	io := streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, OutTTY: term.IsTerminal(int(os.Stdout.Fd())), ErrTTY: term.IsTerminal(int(os.Stderr.Fd())), Getenv: os.Getenv}
	os.Exit(run(ctx, os.Args[1:], io))
}

// tuneGC sets the collector up unless the user tuned it: the default pacing (GOGC 100, the heap
// grows to twice what is live) and a soft limit of 1 GiB. The earlier GOGC 400 with a 256 MiB limit
// sat below the live heap of a 100,000-token run (the findings are held until the report is
// written), so the collector ran nonstop. Measured on 2 cores, `check --format json` with the
// streaming JSON writer: 100,000 tokens 12.9 s CPU / 460 MB instead of 14.9 s / 303 MB; 300,000
// tokens 39 s / 1.17 GB instead of 95 s / 616 MB. Memoised judging allocates little, so a higher
// GOGC no longer pays.
//
// Start-up is different. Package initialisation, parsing and compiling the rules allocate about
// 12 MB in bursts, on a live heap of a few MB, so the default pacing collects three or four times
// before the first token is judged. Unless GOGC or GOMEMLIMIT is set, the collector therefore stays
// off until the heap first reaches startupHeap, then switches to the pacing above: a CI gate of a
// few tokens never collects, and a larger run collects as before once past start-up.
func tuneGC(getenv func(string) string) {
	userLimit := getenv("GOMEMLIMIT") != ""
	if !userLimit {
		debug.SetMemoryLimit(runLimit)
	}
	if userLimit || getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(startupHeap)
	prefaultHeap(prefaultBytes)
	// A cleanup runs after the collection that finds its object unreachable: here, the first one
	// from now on (prefaultHeap's own has run).
	runtime.AddCleanup(new(gcSentinel), func(struct{}) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(runLimit)
	}, struct{}{})
}

const (
	// runLimit is the soft memory limit once started.
	runLimit = 1 << 30
	// startupHeap is the memory the process may reach before its first collection.
	startupHeap = 32 << 20
	// prefaultBytes is about what start-up and a CI gate of a few tokens allocate.
	prefaultBytes = 12 << 20
)

// gcSentinel is too large to share a tiny-allocator block with other objects, which could keep it
// reachable past the first collection.
type gcSentinel [64]byte

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, io streams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ec exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	default:
		fmt.Fprintf(io.Err, "tokencheck: %v\n", err)
		return exitError
	}
}

func newRootCmd(io streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "tokencheck",
		Short:         "Judge GitHub personal access tokens against your organisation's policy",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetIn(io.In)
	root.AddCommand(newCheckCmd(io), newScanCmd(io), newAuditCmd(io), newPolicyCmd(io), newExplainCmd(io), newVersionCmd(io))
	root.AddCommand(newPermissionsCmd(io), newReviewCmd(io), newServeCmd(io))
	setVersionFlag(root)
	registerCompletions(root)
	return root
}
