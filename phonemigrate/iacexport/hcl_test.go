package iacexport_test

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
)

// blockSchema is what terraform-provider-auth0 v1.55.0 accepts in a block
// (facts from its sources: internal/auth0/branding/resource_phone_provider.go,
// resource_phone_template.go, action/resource.go, resource_trigger_actions.go).
type blockSchema struct {
	required, optional []string
	blocks             map[string]blockSchema
	requiredBlocks     []string
	maxOne             []string // blocks allowed at most once
}

var providerSchema = map[string]blockSchema{
	"auth0_phone_provider": {
		required: []string{"name"}, optional: []string{"disabled", "depends_on"},
		blocks: map[string]blockSchema{
			"configuration": {required: []string{"delivery_methods"}, optional: []string{"sid", "default_from", "mssid"}},
			"credentials":   {optional: []string{"auth_token"}},
		},
		requiredBlocks: []string{"configuration", "credentials"}, maxOne: []string{"configuration", "credentials"},
	},
	"auth0_phone_notification_template": {
		required: []string{"type"}, optional: []string{"disabled"},
		blocks: map[string]blockSchema{
			"content": {optional: []string{"syntax", "from"}, blocks: map[string]blockSchema{
				"body": {optional: []string{"text", "voice"}},
			}, maxOne: []string{"body"}},
		},
		maxOne: []string{"content"},
	},
	"auth0_action": {
		required: []string{"name", "code"}, optional: []string{"runtime", "deploy"},
		blocks: map[string]blockSchema{
			"supported_triggers": {required: []string{"id", "version"}},
			"secrets":            {required: []string{"name", "value"}},
			"dependencies":       {required: []string{"name", "version"}},
		},
		requiredBlocks: []string{"supported_triggers"}, maxOne: []string{"supported_triggers"},
	},
	"auth0_trigger_actions": {
		required: []string{"trigger"},
		blocks:   map[string]blockSchema{"actions": {required: []string{"id"}, optional: []string{"display_name"}}},
	},
}

func checkBlock(t *testing.T, where string, body *hclsyntax.Body, s blockSchema) {
	t.Helper()
	for name := range body.Attributes {
		if !slices.Contains(s.required, name) && !slices.Contains(s.optional, name) {
			t.Errorf("%s: attribute %q is not in the provider's schema", where, name)
		}
	}
	for _, name := range s.required {
		if _, ok := body.Attributes[name]; !ok {
			t.Errorf("%s: required attribute %q missing", where, name)
		}
	}
	count := map[string]int{}
	for _, b := range body.Blocks {
		count[b.Type]++
		bs, ok := s.blocks[b.Type]
		if !ok {
			t.Errorf("%s: block %q is not in the provider's schema", where, b.Type)
			continue
		}
		checkBlock(t, where+"."+b.Type, b.Body, bs)
	}
	for _, name := range s.requiredBlocks {
		if count[name] == 0 {
			t.Errorf("%s: required block %q missing", where, name)
		}
	}
	for _, name := range s.maxOne {
		if count[name] > 1 {
			t.Errorf("%s: block %q appears %d times (at most once)", where, name, count[name])
		}
	}
}

// tfModule is a parsed Terraform export.
type tfModule struct {
	resources map[string]*hclsyntax.Block // "type.name"
	order     []string
	variables map[string]*hclsyntax.Block
	imports   []*hclsyntax.Block
	ctx       *hcl.EvalContext
}

func parseModule(t *testing.T, files iacexport.Files) *tfModule {
	t.Helper()
	p := hclparse.NewParser()
	m := &tfModule{resources: map[string]*hclsyntax.Block{}, variables: map[string]*hclsyntax.Block{}}
	for _, f := range files {
		if path.Ext(f.Path) != ".tf" {
			continue
		}
		// Formatted as terraform fmt writes it.
		if got := hclwrite.Format(f.Data); string(got) != string(f.Data) {
			t.Errorf("%s is not formatted as terraform fmt would", f.Path)
		}
		hf, diags := p.ParseHCL(f.Data, f.Path)
		if diags.HasErrors() {
			t.Fatalf("%s does not parse: %v", f.Path, diags)
		}
		for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
			switch b.Type {
			case "resource":
				key := b.Labels[0] + "." + b.Labels[1]
				if m.resources[key] != nil {
					t.Errorf("resource %s declared twice", key)
				}
				m.resources[key] = b
				m.order = append(m.order, key)
			case "variable":
				m.variables[b.Labels[0]] = b
			case "import":
				m.imports = append(m.imports, b)
			default:
				t.Errorf("%s: unexpected top-level block %q", f.Path, b.Type)
			}
		}
	}
	// An evaluation context standing in for Terraform: variables are
	// placeholders, resources have their ids, file() reads the export.
	vars := map[string]cty.Value{}
	for n := range m.variables {
		vars[n] = cty.StringVal("<var." + n + ">")
	}
	refs := map[string]map[string]cty.Value{}
	for key := range m.resources {
		typ, name, _ := strings.Cut(key, ".")
		if refs[typ] == nil {
			refs[typ] = map[string]cty.Value{}
		}
		refs[typ][name] = cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("<id of " + key + ">")})
	}
	variables := map[string]cty.Value{"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")})}
	if len(vars) > 0 {
		variables["var"] = cty.ObjectVal(vars)
	}
	for typ, names := range refs {
		variables[typ] = cty.ObjectVal(names)
	}
	m.ctx = &hcl.EvalContext{
		Variables: variables,
		Functions: map[string]function.Function{"file": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				f, ok := files.Get(strings.TrimPrefix(args[0].AsString(), "./"))
				if !ok {
					return cty.NilVal, fmt.Errorf("no file %s in the export", args[0].AsString())
				}
				return cty.StringVal(string(f.Data)), nil
			},
		})},
	}
	return m
}

// value evaluates attribute name of body; ok is false when absent.
func (m *tfModule) value(t *testing.T, body *hclsyntax.Body, name string) (cty.Value, bool) {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(m.ctx)
	if diags.HasErrors() {
		t.Errorf("%s: %v", name, diags)
		return cty.NilVal, false
	}
	return v, true
}

func (m *tfModule) str(t *testing.T, body *hclsyntax.Body, name string) string {
	t.Helper()
	v, ok := m.value(t, body, name)
	if !ok || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	return v.AsString()
}

// isSensitiveVar reports whether attribute name of body is exactly a
// reference to a variable declared sensitive.
func (m *tfModule) isSensitiveVar(t *testing.T, body *hclsyntax.Body, name string) bool {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		return false
	}
	st, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "var" {
		return false
	}
	v := m.variables[st.Traversal[1].(hcl.TraverseAttr).Name]
	if v == nil {
		return false
	}
	sens, ok := m.value(t, v.Body, "sensitive")
	return ok && sens.True()
}

func blocksOf(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// The Terraform export parses with HashiCorp's HCL parser, is formatted as
// terraform fmt writes it, and every resource meets the provider's schema
// and rules; each resource has one import block, secrets are sensitive
// variables, and code = file(...) reads the Action's code.
func TestTerraformMeetsProviderSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		tenant    func() *tenant
		resources []string
	}{
		{"custom", customTenant, []string{"auth0_action.sms_gateway_phonemigrate", "auth0_trigger_actions.custom_phone_provider", "auth0_phone_provider.custom", "auth0_phone_notification_template.otp_verify"}},
		{"twilio", twilioTenant, []string{"auth0_phone_provider.twilio", "auth0_phone_notification_template.otp_enroll", "auth0_phone_notification_template.otp_verify"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ten := tc.tenant()
			files := exportOf(t, exportCase{tc.name, tc.tenant, iacexport.Options{Format: iacexport.FormatTerraform}})
			m := parseModule(t, files)
			if diff := cmp.Diff(tc.resources, m.order); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			for _, key := range m.order {
				b := m.resources[key]
				typ := b.Labels[0]
				s, ok := providerSchema[typ]
				if !ok {
					t.Errorf("%s: not a resource type of the export", key)
					continue
				}
				checkBlock(t, key, b.Body, s)
				checkRules(t, m, ten, key, b.Body)
			}
			// One import block per resource, to a declared resource, with the
			// tenant's id.
			imported := map[string]string{}
			for _, ib := range m.imports {
				to := ib.Body.Attributes["to"]
				st, ok := to.Expr.(*hclsyntax.ScopeTraversalExpr)
				if !ok {
					t.Errorf("import to is not a resource address")
					continue
				}
				addr := st.Traversal.RootName() + "." + st.Traversal[1].(hcl.TraverseAttr).Name
				if m.resources[addr] == nil {
					t.Errorf("import to %s, which is not declared", addr)
				}
				imported[addr] = m.str(t, ib.Body, "id")
			}
			for _, key := range m.order {
				if imported[key] == "" {
					t.Errorf("%s has no import block", key)
				}
			}
			for _, p := range ten.providers {
				if imported["auth0_phone_provider."+p.Name] != p.ID {
					t.Errorf("provider imported from %q, want %q", imported["auth0_phone_provider."+p.Name], p.ID)
				}
			}
			if _, ok := m.resources["auth0_trigger_actions.custom_phone_provider"]; ok && imported["auth0_trigger_actions.custom_phone_provider"] != "custom-phone-provider" {
				t.Errorf("bindings imported from %q, want the trigger name", imported["auth0_trigger_actions.custom_phone_provider"])
			}
			// Every variable is sensitive and used.
			for n, v := range m.variables {
				if sens, ok := m.value(t, v.Body, "sensitive"); !ok || !sens.True() {
					t.Errorf("variable %s is not sensitive", n)
				}
			}
		})
	}
}

func checkRules(t *testing.T, m *tfModule, ten *tenant, key string, body *hclsyntax.Body) {
	t.Helper()
	switch typ := strings.SplitN(key, ".", 2)[0]; typ {
	case "auth0_phone_provider":
		name := m.str(t, body, "name")
		if name != "twilio" && name != "custom" {
			t.Errorf("%s: name %q", key, name)
		}
		conf := blocksOf(body, "configuration")[0].Body
		dm, _ := m.value(t, conf, "delivery_methods")
		var got []string
		for _, v := range dm.AsValueSlice() {
			got = append(got, v.AsString())
		}
		if len(got) < 1 || len(got) > 2 || slices.ContainsFunc(got, func(s string) bool { return s != "text" && s != "voice" }) {
			t.Errorf("%s: delivery_methods %q", key, got)
		}
		sid, from, mssid := m.str(t, conf, "sid"), m.str(t, conf, "default_from"), m.str(t, conf, "mssid")
		if from != "" && mssid != "" || (from != "" || mssid != "") && sid == "" {
			t.Errorf("%s: sid %q default_from %q mssid %q break the provider's rules", key, sid, from, mssid)
		}
		creds := blocksOf(body, "credentials")[0].Body
		switch name {
		case "twilio":
			if !m.isSensitiveVar(t, creds, "auth_token") {
				t.Errorf("%s: credentials.auth_token is not a sensitive variable", key)
			}
		case "custom":
			if len(creds.Attributes) != 0 {
				t.Errorf("%s: a custom provider has credentials {}", key)
			}
		}
	case "auth0_phone_notification_template":
		tp := m.str(t, body, "type")
		if !slices.Contains([]string{"otp_verify", "otp_enroll", "change_password", "blocked_account", "password_breach"}, tp) {
			t.Errorf("%s: type %q", key, tp)
		}
		content := blocksOf(body, "content")[0].Body
		if a, ok := content.Attributes["from"]; ok {
			if v, _ := a.Expr.Value(m.ctx); v.AsString() == "" {
				t.Errorf("%s: from must not be empty", key)
			}
		}
		text := m.str(t, blocksOf(content, "body")[0].Body, "text")
		for _, want := range ten.templates {
			if want.Type == tp && want.Customized() && text != want.Content.Text {
				t.Errorf("%s: body.text = %q, want the tenant's %q (HCL escapes)", key, text, want.Content.Text)
			}
		}
	case "auth0_action":
		if d, ok := m.value(t, body, "deploy"); !ok || !d.True() {
			t.Errorf("%s: deploy must be true", key)
		}
		code := m.str(t, body, "code")
		var want string
		for _, a := range ten.actions {
			if a.Name == m.str(t, body, "name") {
				want = a.Code
			}
		}
		if code != want || code == "" {
			t.Errorf("%s: code = file(...) reads %q, want the Action's code", key, code)
		}
		trig := blocksOf(body, "supported_triggers")[0].Body
		if m.str(t, trig, "id") != "custom-phone-provider" || m.str(t, trig, "version") != "v1" {
			t.Errorf("%s: supported_triggers %q %q", key, m.str(t, trig, "id"), m.str(t, trig, "version"))
		}
		for _, sb := range blocksOf(body, "secrets") {
			if !m.isSensitiveVar(t, sb.Body, "value") {
				t.Errorf("%s: secret %s is not a sensitive variable", key, m.str(t, sb.Body, "name"))
			}
		}
	case "auth0_trigger_actions":
		if m.str(t, body, "trigger") != "custom-phone-provider" {
			t.Errorf("%s: trigger %q", key, m.str(t, body, "trigger"))
		}
		for _, ab := range blocksOf(body, "actions") {
			if id := m.str(t, ab.Body, "id"); !strings.HasPrefix(id, "<id of auth0_action.") {
				t.Errorf("%s: actions.id = %q, want an auth0_action's id", key, id)
			}
		}
	}
}
