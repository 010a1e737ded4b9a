package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// opaModule is the module whose version `tokencheck version` reports as the policy engine's.
const opaModule = "github.com/open-policy-agent/opa"

// devVersion names a build that knows no version: neither set at link time nor recorded by the
// go command (a `go build` with -buildvcs=false outside a tagged module).
const devVersion = "dev"

// versionInfo describes this binary, as `tokencheck version` and `--version` print it.
type versionInfo struct {
	Version  string `json:"version"`            // the link-time version, else the module version from the build info
	Commit   string `json:"commit,omitempty"`   // VCS revision the go command recorded, when it did
	Modified bool   `json:"modified,omitempty"` // the working tree had uncommitted changes
	OPA      string `json:"opa"`                // version of the OPA module the rules run on
	Go       string `json:"go"`                 // Go toolchain that built the binary
	Platform string `json:"platform"`           // GOOS/GOARCH
}

// buildVersion reads the version: linked wins (packagers set it with -ldflags "-X
// main.version=..."); otherwise the main module's version the go command recorded, which is the
// tag or pseudo-version for `go install module@version` and for a build in a git checkout.
func buildVersion(linked string, info *debug.BuildInfo, ok bool) versionInfo {
	if linked == devVersion {
		linked = ""
	}
	v := versionInfo{Version: linked, OPA: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if ok && info != nil {
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		if info.GoVersion != "" {
			v.Go = info.GoVersion
		}
		for _, d := range info.Deps {
			if d.Path == opaModule || strings.HasPrefix(d.Path, opaModule+"/") {
				if d.Replace != nil && d.Replace.Version != "" {
					d = d.Replace
				}
				v.OPA = d.Version
			}
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = devVersion
	}
	return v
}

// currentVersion describes the running binary.
func currentVersion() versionInfo {
	info, ok := debug.ReadBuildInfo()
	return buildVersion(version, info, ok)
}

// text is the human form: the version first, so `tokencheck --version | head -1` is enough.
func (v versionInfo) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tokencheck %s\n", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, "commit:   %s", v.Commit)
		if v.Modified {
			b.WriteString(" (modified)")
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "opa:      %s\ngo:       %s\nplatform: %s\n", v.OPA, v.Go, v.Platform)
	return b.String()
}

// infoFormat is the --format of the commands that describe the tool rather than judge tokens
// (version, explain): text for people, json for scripts.
type infoFormat string

const (
	infoText infoFormat = "text"
	infoJSON infoFormat = "json"
)

var infoFormats = []infoFormat{infoText, infoJSON}

// String, Set and Type make infoFormat a pflag.Value, so a bad value is refused while the flags
// are parsed (exit 2, before any work) with the accepted values listed.
func (f *infoFormat) String() string { return string(*f) }

// Set accepts text or json.
func (f *infoFormat) Set(s string) error {
	for _, ok := range infoFormats {
		if s == string(ok) {
			*f = ok
			return nil
		}
	}
	return fmt.Errorf("unknown format %q: accepted values are %s", s, joinFormats(infoFormats))
}

// Type names the value in usage text.
func (f *infoFormat) Type() string { return "format" }

func joinFormats(fs []infoFormat) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// addInfoFormatFlag defines -f/--format (text or json) with completion of its values.
func addInfoFormatFlag(cmd *cobra.Command, f *infoFormat) {
	*f = infoText
	cmd.Flags().VarP(f, "format", "f", "output `FORMAT`: "+joinFormats(infoFormats))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{string(infoText), string(infoJSON)}, cobra.ShellCompDirectiveNoFileComp))
}

// writeJSON writes v as indented JSON, the form every --format json output takes.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func newVersionCmd(io streams) *cobra.Command {
	var format infoFormat
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of tokencheck, of OPA and of Go",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if format == infoJSON {
				return writeJSON(io.Out, v)
			}
			_, err := io.Out.Write([]byte(v.text()))
			return err
		},
	}
	addInfoFormatFlag(cmd, &format)
	return cmd
}

// setVersionFlag gives the root command --version, printing what `tokencheck version` prints.
func setVersionFlag(root *cobra.Command) {
	v := currentVersion()
	root.Version = v.Version
	root.SetVersionTemplate(v.text())
}
