package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tokencheck/tokencheck/engine/facts"
)

// schemaDoc is input.schema.json decoded, for the tests that compare it with the Go types.
type schemaDoc struct {
	Properties  map[string]schemaNode `json:"properties"`
	Definitions map[string]schemaNode `json:"definitions"`
}

type schemaNode struct {
	Properties map[string]schemaNode `json:"properties"`
	Required   []string              `json:"required"`
}

func loadSchemaDoc(t *testing.T) schemaDoc {
	t.Helper()
	var d schemaDoc
	if err := json.Unmarshal(InputSchema(), &d); err != nil {
		t.Fatalf("input.schema.json: %v", err)
	}
	return d
}

// jsonFields lists the JSON names of a struct's fields, and those the encoding always writes.
func jsonFields(t reflect.Type) (all, required []string) {
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	sort.Strings(all)
	sort.Strings(required)
	return all, required
}

func keys(m map[string]schemaNode) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The schema names exactly the fields of facts.Token, Permissions and Source, so a field added to
// the token without the schema (or the reverse) fails here.
func TestInputSchemaNamesEveryTokenField(t *testing.T) {
	d := loadSchemaDoc(t)
	tok := d.Definitions["token"]
	for _, c := range []struct {
		what string
		typ  reflect.Type
		node schemaNode
	}{
		{"token", reflect.TypeFor[facts.Token](), tok},
		{"token.permissions", reflect.TypeFor[facts.Permissions](), tok.Properties["permissions"]},
		{"token.source", reflect.TypeFor[facts.Source](), tok.Properties["source"]},
	} {
		all, required := jsonFields(c.typ)
		if got := keys(c.node.Properties); !reflect.DeepEqual(got, all) {
			t.Errorf("schema %s has properties %v, the Go type %v", c.what, got, all)
		}
		got := append([]string(nil), c.node.Required...)
		sort.Strings(got)
		if !reflect.DeepEqual(got, required) && !(len(got) == 0 && len(required) == 0) {
			t.Errorf("schema %s requires %v, the Go type always writes %v", c.what, got, required)
		}
	}
	if got := keys(d.Properties); strings.Join(got, ",") != "derived,now,token" {
		t.Errorf("input properties = %v", got)
	}
}

// everyFieldToken has every field of facts.Token set, so validating its input covers every property.
func everyFieldToken(t *testing.T) facts.Token {
	t.Helper()
	at := func(day int) *time.Time { v := time.Date(2026, 1, day, 3, 4, 5, 6, time.UTC); return &v }
	tok := facts.Token{
		ID: "ci-bot", Name: "CI bot", Description: "builds", Type: facts.TypeClassic,
		Fingerprint: "sha256:0123456789ab", LastFour: "T4V4", Owner: "ci-bot", ResourceOwner: "acme",
		Scopes: []string{"repo", "workflow"}, ScopesEffective: []string{"repo", "repo:status", "workflow"},
		RepositorySelection: facts.SelectSubset, Repositories: []string{"acme/app"},
		Permissions: &facts.Permissions{
			Repository: map[string]string{"contents": "read"}, Organization: map[string]string{"members": "read"},
			Account: map[string]string{"gists": "write"}, Other: map[string]string{"gist": "write"},
		},
		CreatedAt: at(2), ExpiresAt: at(30), LastUsedAt: at(3),
		Approval: facts.ApprovalApproved, SSO: facts.SSOAuthorized,
		Needs: map[string]string{"contents": "read"}, NeedsScopes: []string{"repo"}, ClassicReason: "packages",
		AcceptedPermissions: []map[string]string{{"contents": "read"}, {}}, AcceptedScopes: []string{"repo"},
		Current: &facts.Access{ID: "org:acme/pat:1", RepositorySelection: facts.SelectSubset, Repositories: []string{"acme/app"},
			Permissions: &facts.Permissions{Repository: map[string]string{"contents": "read"}}, GrantedAt: at(4)},
		Unknown: []string{facts.FactOwner}, Source: facts.Source{Kind: facts.SourceInventory, File: "tokens.yaml", Line: 3},
	}
	v := reflect.ValueOf(tok)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("everyFieldToken leaves %s unset", v.Type().Field(i).Name)
		}
	}
	return tok
}

// The input the evaluator builds (astinput.go) validates against the schema, with every field set
// and with the fewest, for a classic token (derived.replacement) and a fine-grained one.
func TestInputValidatesAgainstSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(InputSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("input.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("input.schema.json")
	if err != nil {
		t.Fatalf("compile input.schema.json: %v", err)
	}
	e := newTestEngine(t, Config{})
	full := everyFieldToken(t)
	fine := full
	fine.Type, fine.Scopes, fine.ScopesEffective, fine.NeedsScopes, fine.ClassicReason = facts.TypeFineGrained, nil, nil, nil, ""
	for name, tok := range map[string]facts.Token{
		"classic, every field": full,
		"fine-grained":         fine,
		"fewest fields":        {ID: "bare", Type: facts.TypeUnknown, Source: facts.Source{Kind: facts.SourceHeaders}},
	} {
		t.Run(name, func(t *testing.T) {
			in, err := e.input(&tok, testNow, testNow.Format(time.RFC3339))
			if err != nil {
				t.Fatal(err)
			}
			v, err := ast.JSON(in)
			if err != nil {
				t.Fatal(err)
			}
			// Through text, as a validator of published input would see it.
			raw, _ := json.Marshal(v)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("input does not match input.schema.json: %v\ninput: %s", err, raw)
			}
		})
	}

	// And the schema is not vacuous: the flat permissions the issue warns of are rejected.
	var bad map[string]any
	_ = json.Unmarshal([]byte(`{"token": {"id": "x", "type": "fine_grained", "source": {"kind": "inventory"}, "permissions": {"contents": "read"}}, "now": "2026-11-22T00:00:00Z", "derived": {"now_ns": 1, "ns": {}}}`), &bad)
	if err := sch.Validate(bad); err == nil {
		t.Error("input with permissions.contents validated; the schema must reject it")
	}
}

// compileWithSchema compiles the built-in rules and the rules under dirs as New does, type-checked
// against the input schema.
func compileWithSchema(t *testing.T, dirs []string, withTests bool) error {
	t.Helper()
	modules, _, err := loadModules(dirs, withTests)
	if err != nil {
		t.Fatal(err)
	}
	// The bundle's entry point reads a facts document (input.tokens), not one token's input: it is
	// type-checked by the bundle's own tests against a stock OPA, not against this schema.
	for name := range modules {
		if strings.Contains(name, bundleDir) {
			delete(modules, name)
		}
	}
	compiler, err := withInputSchema(ast.NewCompiler().WithEnablePrintStatements(false))
	if err != nil {
		t.Fatal(err)
	}
	compiler.Compile(modules)
	if compiler.Failed() {
		return compiler.Errors
	}
	return nil
}

func TestBuiltinRulesCompileWithInputSchema(t *testing.T) {
	if err := compileWithSchema(t, nil, false); err != nil {
		t.Fatalf("built-in rules do not type-check against input.schema.json: %v", err)
	}
	if err := compileWithSchema(t, nil, true); err != nil {
		t.Fatalf("built-in rules and their tests do not type-check against input.schema.json: %v", err)
	}
}

const userRuleHeader = `# METADATA
# title: Contents write
# custom:
#   id: contents-write
#   severity: high
package tokencheck.rules["contents-write"]

`

// A user rule that refers to a field the input never has fails to compile, naming its file and line;
// the same rule on the grouped field compiles.
func TestUserRuleOnMissingInputFieldFailsToCompile(t *testing.T) {
	for _, c := range []struct {
		name, body, wantErr string
	}{
		{"flat permission", `deny contains {"msg": "writes contents"} if {
	input.token.permissions.contents == "write"
}
`, "contents_write.rego:9: rego_type_error: undefined ref: input.token.permissions.contents"},
		{"misspelt field", `deny contains {"msg": "no expiry"} if {
	input.token.type == "classic"
	not input.token.expires
}
`, "contents_write.rego:10: rego_type_error: undefined ref: input.token.expires"},
		{"grouped permission", `deny contains {"msg": "writes contents"} if {
	input.token.permissions.repository.contents == "write"
}
`, ""},
		{"derived replacement", `deny contains {"msg": input.derived.replacement.link} if {
	input.derived.replacement.permissions.contents == "write"
	input.derived.now_ns > input.derived.ns.created_at
}
`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "contents_write.rego"), []byte(userRuleHeader+c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			// Compiled as the tests compile, and as a run with --policy does.
			cat, err := LoadCatalog()
			if err != nil {
				t.Fatal(err)
			}
			_, newErr := New(context.Background(), Options{Catalog: cat, PolicyDirs: []string{dir}})
			for what, err := range map[string]error{"compileWithSchema": compileWithSchema(t, []string{dir}, false), "New": newErr} {
				switch {
				case c.wantErr == "" && err != nil:
					t.Fatalf("%s: rule does not compile: %v", what, err)
				case c.wantErr != "" && err == nil:
					t.Fatalf("%s: rule compiled; want %q", what, c.wantErr)
				case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
					t.Fatalf("%s: error %q does not contain %q", what, err, c.wantErr)
				}
			}
		})
	}
}

// BenchmarkCompileTypeCheck is the cost of the input schema on compiling the built-in rules.
func BenchmarkCompileTypeCheck(b *testing.B) {
	modules, _, err := loadModules(nil, false)
	if err != nil {
		b.Fatal(err)
	}
	for _, withSchema := range []bool{false, true} {
		name := "without-schema"
		if withSchema {
			name = "with-schema"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := ast.NewCompiler()
				if withSchema {
					if c, err = withInputSchema(c); err != nil {
						b.Fatal(err)
					}
				}
				c.Compile(modules)
				if c.Failed() {
					b.Fatal(c.Errors)
				}
			}
		})
	}
}
