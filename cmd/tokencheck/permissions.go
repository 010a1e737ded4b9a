package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/policies"
)

// permissionsOptions are the flags of tokencheck permissions.
type permissionsOptions struct {
	format    string
	name      string
	owner     string
	hostname  string
	expiresIn int
}

func newPermissionsCmd(io streams) *cobra.Command {
	opts := permissionsOptions{}
	cmd := &cobra.Command{
		Use:   `permissions "METHOD /path" ...`,
		Short: "Print the least fine-grained permissions for the API calls given, and the template link that creates the token",
		Long: `Print the least fine-grained permissions that allow the REST API calls given, from GitHub's own
table of the permission each endpoint needs (policies/endpoints.json), with the template link that
creates such a token and the calls a fine-grained token cannot make at all. Paths are GitHub's
templates (/repos/{owner}/{repo}/contents/{path}) or concrete (/repos/acme/app/issues).
An unknown endpoint is an input error (exit 2) with the nearest known endpoints.`,
		Example: `  tokencheck permissions "GET /repos/{owner}/{repo}/pulls" "POST /repos/acme/app/issues"`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return permissionsRun(io, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.format, "format", "text", "output `FORMAT`: text or json")
	f.StringVar(&opts.name, "name", "Least-privilege token", "token `NAME` in the template link")
	f.StringVar(&opts.owner, "owner", "", "resource `OWNER` (user or organisation) in the template link")
	f.StringVar(&opts.hostname, "hostname", "github.com", "GitHub `HOST` of the template link")
	f.IntVar(&opts.expiresIn, "expires-in", 90, "token lifetime in `DAYS` in the template link (1-366)")
	return cmd
}

// permissionsReport is what tokencheck permissions prints, in its JSON shape.
type permissionsReport struct {
	Permissions    map[string]string            `json:"permissions"`
	Groups         map[string]map[string]string `json:"groups"`
	TemplateLink   string                       `json:"template_link"`
	Endpoints      []matchedCall                `json:"endpoints"`
	NotFineGrained []classicCall                `json:"not_fine_grained"`
	Unknown        []unknownCall                `json:"unknown"`
	Source         facts.EndpointSource         `json:"source"`
}

type matchedCall struct {
	Call     string             `json:"call"`
	Endpoint string             `json:"endpoint"`
	Requires []requirementEntry `json:"requires"`
	Editions []string           `json:"editions"`
}

type requirementEntry struct {
	Permission string `json:"permission"`
	Access     string `json:"access"`
}

type classicCall struct {
	Call  string `json:"call"`
	Scope string `json:"scope"`
}

type unknownCall struct {
	Call        string   `json:"call"`
	Suggestions []string `json:"suggestions"`
}

func permissionsRun(io streams, opts permissionsOptions, args []string) error {
	if opts.format != "text" && opts.format != "json" {
		return fmt.Errorf("--format %q: want text or json", opts.format)
	}
	if opts.expiresIn < 1 || opts.expiresIn > 366 {
		return fmt.Errorf("--expires-in %d: want 1 to 366 days", opts.expiresIn)
	}
	cat, eps, err := loadCatalogAndEndpoints()
	if err != nil {
		return err
	}
	var calls []facts.Call
	var inputErrs []string
	for _, a := range args {
		c, err := facts.ParseCall(a)
		if err != nil {
			inputErrs = append(inputErrs, err.Error())
			continue
		}
		calls = append(calls, c)
	}
	perms, classic, unknown := eps.LeastPermissions(calls)
	rep := permissionsReport{
		Permissions: perms, Groups: map[string]map[string]string{}, Source: eps.Source,
		Endpoints: []matchedCall{}, NotFineGrained: []classicCall{}, Unknown: []unknownCall{},
	}
	for name, level := range perms {
		g := cat.PermissionGroup(name)
		if rep.Groups[g] == nil {
			rep.Groups[g] = map[string]string{}
		}
		rep.Groups[g][name] = level
	}
	if len(perms) > 0 {
		rep.TemplateLink = cat.URL(facts.TemplateLink{Host: opts.hostname, Name: opts.name, TargetName: opts.owner, ExpiresInDays: opts.expiresIn, Permissions: perms})
	}
	for _, c := range calls {
		ep, ok := eps.Match(c.Method, c.Path)
		if !ok {
			continue
		}
		m := matchedCall{Call: c.String(), Endpoint: ep.String(), Editions: ep.Editions}
		for _, r := range ep.Requires {
			e := requirementEntry{Permission: r.Permission, Access: r.Access}
			if !containsRequirement(m.Requires, e) {
				m.Requires = append(m.Requires, e)
			}
		}
		rep.Endpoints = append(rep.Endpoints, m)
	}
	for _, c := range classic {
		scope, _ := eps.ClassicScope(c)
		rep.NotFineGrained = append(rep.NotFineGrained, classicCall{Call: c.String(), Scope: scope})
	}
	for _, u := range unknown {
		rep.Unknown = append(rep.Unknown, unknownCall{Call: u.String(), Suggestions: u.Suggestions})
		inputErrs = append(inputErrs, fmt.Sprintf("%s: no such endpoint in GitHub's table (REST API %s); nearest: %s", u, eps.Source.APIVersion, strings.Join(u.Suggestions, ", ")))
	}
	if opts.format == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		writePermissionsText(io, rep)
	}
	for _, e := range inputErrs {
		fmt.Fprintf(io.Err, "tokencheck: %s\n", e)
	}
	if len(inputErrs) > 0 {
		return exitCodeError{exitError}
	}
	return nil
}

func containsRequirement(rs []requirementEntry, r requirementEntry) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func writePermissionsText(io streams, rep permissionsReport) {
	w := io.Out
	switch {
	case len(rep.Permissions) == 0 && len(rep.Endpoints) > 0:
		fmt.Fprintln(w, "These calls need no permission: any fine-grained token can make them.")
	case len(rep.Permissions) == 0:
		fmt.Fprintln(w, "No fine-grained permission allows these calls.")
	default:
		fmt.Fprintln(w, "Least fine-grained permissions:")
		for _, g := range []string{facts.GroupRepository, facts.GroupOrganization, facts.GroupAccount, facts.GroupOther} {
			names := make([]string, 0, len(rep.Groups[g]))
			for n := range rep.Groups[g] {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "  %-13s %s: %s\n", g, n, rep.Groups[g][n])
			}
		}
		fmt.Fprintf(w, "\nTemplate link:\n  %s\n", rep.TemplateLink)
	}
	if len(rep.Endpoints) > 0 {
		fmt.Fprintln(w, "\nEndpoints (GitHub lists these permissions for each; several mean all or any one, see the endpoint's docs):")
		for _, m := range rep.Endpoints {
			reqs := []string{"no permission"}
			if len(m.Requires) > 0 {
				reqs = reqs[:0]
			}
			for _, r := range m.Requires {
				reqs = append(reqs, r.Permission+":"+r.Access)
			}
			note := ""
			if len(m.Editions) == 1 && m.Editions[0] == "ghec" {
				note = " (Enterprise Cloud only)"
			}
			fmt.Fprintf(w, "  %s\n    %s: %s%s\n", m.Call, m.Endpoint, strings.Join(reqs, ", "), note)
		}
	}
	if len(rep.NotFineGrained) > 0 {
		fmt.Fprintln(w, "\nA fine-grained token cannot call these; a classic token needs the scope shown:")
		for _, c := range rep.NotFineGrained {
			fmt.Fprintf(w, "  %s  (%s)\n", c.Call, c.Scope)
		}
	}
	fmt.Fprintf(w, "\nSource: %s, REST API %s\n", rep.Source.Repository, rep.Source.APIVersion)
}

// loadCatalogAndEndpoints reads the embedded catalogue and endpoint table.
func loadCatalogAndEndpoints() (*facts.Catalog, *facts.Endpoints, error) {
	rawCat, err := fs.ReadFile(policies.FS, policies.CatalogFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read embedded catalogue: %w", err)
	}
	cat, err := facts.ParseCatalog(rawCat)
	if err != nil {
		return nil, nil, err
	}
	rawEps, err := fs.ReadFile(policies.FS, policies.EndpointsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read embedded endpoint table: %w", err)
	}
	eps, err := facts.ParseEndpoints(rawEps)
	if err != nil {
		return nil, nil, err
	}
	return cat, eps, nil
}
