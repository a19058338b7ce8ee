// Package iacexport writes a migrated tenant's phone configuration as
// infrastructure as code, so that a team managing its tenant with
// terraform-provider-auth0 or auth0-deploy-cli does not undo the migration
// on its next run.
//
// Both tools can silently revert the Unified Phone Experience: Terraform's
// auth0_connection has no use_phone_provider and sends an sms connection's
// whole options on any update (terraform-provider-auth0#1549, #1708), a
// config saying phone_consolidated_experience = false turns the tenant
// switch off, and auth0_guardian reverts the MFA message types;
// auth0-deploy-cli PATCHes every connection with the options in its files,
// the whole tenant object, the phone templates, and with
// AUTH0_ALLOW_DELETE=true deletes the phone provider and the Action an old
// export does not list.
//
// [Read] reads the tenant's phone configuration through a
// [phonemigrate.Client] (reads only) and [Terraform] or [DeployCLI] turn it
// into files; [Export] does both. No secret value is ever written: Auth0
// never returns Twilio auth tokens or Action secret values, and the legacy
// secrets still held in connection options (a gateway's signing secret, a
// Twilio token) are written as references — Terraform variables declared
// sensitive, deploy-cli ##KEYWORD## placeholders — that the team fills in.
// Output is deterministic; HCL is formatted as terraform fmt would.
package iacexport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/internal/privatefile"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotUnified is returned by [Read] and [Export] when the tenant's
	// phone_consolidated_experience is not on: an export would describe the
	// legacy setup the migration replaces. Run the migration first.
	ErrNotUnified = errors.New("tenant is not on the Unified Phone Experience")

	// ErrUnknownFormat is returned by [ParseFormat], [ParseLayout] and
	// [Export] for a format or layout they do not know.
	ErrUnknownFormat = errors.New("unknown export format")

	// ErrSecretInOutput is returned by [Terraform], [DeployCLI] and
	// [Export] if a secret value read from the tenant would end up in a
	// file. It guards against a bug; no file is returned.
	ErrSecretInOutput = errors.New("a secret value would be written")

	// ErrOutputExists is returned by [Files.WriteDir] when the directory
	// exists and is not empty; nothing is written.
	ErrOutputExists = errors.New("output directory is not empty")
)

// Format is the tool an export is for.
type Format string

// The formats.
const (
	FormatTerraform Format = "terraform"  // terraform-provider-auth0 ≥ 1.49
	FormatDeployCLI Format = "deploy-cli" // auth0-deploy-cli ≥ 8.44
)

// ParseFormat returns the format named s ("terraform" or "deploy-cli"),
// or an error wrapping [ErrUnknownFormat].
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatTerraform, FormatDeployCLI:
		return f, nil
	}
	return "", fmt.Errorf("iacexport: %w %q (want terraform or deploy-cli)", ErrUnknownFormat, s)
}

// Layout is how a deploy-cli export is laid out.
type Layout string

// The deploy-cli layouts.
const (
	LayoutYAML      Layout = "yaml"      // one tenant.yaml (the default)
	LayoutDirectory Layout = "directory" // deploy-cli's directory format (JSON files)
)

// ParseLayout returns the layout named s ("yaml", "directory"; "" is
// yaml), or an error wrapping [ErrUnknownFormat].
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(strings.TrimSpace(s))); l {
	case "", LayoutYAML:
		return LayoutYAML, nil
	case LayoutDirectory:
		return l, nil
	}
	return "", fmt.Errorf("iacexport: %w: layout %q (want yaml or directory)", ErrUnknownFormat, s)
}

// Options choose what [Export] writes.
type Options struct {
	Format Format
	// Layout applies to FormatDeployCLI only; "" is LayoutYAML.
	Layout Layout
}

// Snapshot is a tenant's phone configuration as [Read] found it.
type Snapshot struct {
	// Providers is the tenant-level phone provider (at most one).
	Providers []phonemigrate.PhoneProvider
	// Templates are the customised phone templates (those with an id).
	Templates []phonemigrate.PhoneTemplate
	// DefaultTemplates are the types the tenant answers only with Auth0's
	// id-less built-in default, by type. Terraform cannot import them; the
	// deploy-cli export lists them (deploy-cli cannot delete a template
	// without an id, so with AUTH0_ALLOW_DELETE=true a type its
	// configuration leaves out fails the import).
	DefaultTemplates []phonemigrate.PhoneTemplate
	// Actions are the Actions bound to the custom-phone-provider trigger,
	// in binding order, with their code.
	Actions []phonemigrate.Action
	// Bindings are the custom-phone-provider trigger's bindings.
	Bindings []phonemigrate.Binding
	// Connections are the SMS connections switched to the phone provider
	// (options.use_phone_provider set), with their complete options.
	Connections []phonemigrate.Connection
	// PhoneFactorEnabled tells whether the MFA phone factor is enabled.
	PhoneFactorEnabled bool
	// MessageTypes are the MFA phone message types.
	MessageTypes delivery.Set
}

// Read reads the tenant's phone configuration through c, with GET requests
// only. It returns an error wrapping [ErrNotUnified] when the tenant's
// phone_consolidated_experience is not true.
func Read(ctx context.Context, c phonemigrate.Client) (*Snapshot, error) {
	ts, err := c.TenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("iacexport: reading the tenant settings: %w", err)
	}
	if ts.PhoneConsolidatedExperience == nil || !*ts.PhoneConsolidatedExperience {
		return nil, fmt.Errorf("iacexport: %w; run 'phonemigrate apply' first (an export now would describe the legacy setup)", ErrNotUnified)
	}
	s := &Snapshot{}
	if s.Providers, err = c.ListPhoneProviders(ctx); err != nil {
		return nil, fmt.Errorf("iacexport: reading the phone provider: %w", err)
	}
	tpls, err := c.ListPhoneTemplates(ctx)
	if err != nil {
		return nil, fmt.Errorf("iacexport: reading the phone templates: %w", err)
	}
	customised := map[string]bool{}
	for _, t := range tpls {
		if t.Customized() {
			s.Templates = append(s.Templates, t)
			customised[t.Type] = true
		}
	}
	for _, t := range tpls {
		if !t.Customized() && !customised[t.Type] && !slices.ContainsFunc(s.DefaultTemplates, func(d phonemigrate.PhoneTemplate) bool { return d.Type == t.Type }) {
			s.DefaultTemplates = append(s.DefaultTemplates, t)
		}
	}
	for _, ts := range [][]phonemigrate.PhoneTemplate{s.Templates, s.DefaultTemplates} {
		sort.SliceStable(ts, func(i, j int) bool {
			if ts[i].Type != ts[j].Type {
				return ts[i].Type < ts[j].Type
			}
			return ts[i].ID < ts[j].ID
		})
	}
	if s.Bindings, err = c.TriggerBindings(ctx, phonemigrate.TriggerCustomPhoneProvider); err != nil {
		return nil, fmt.Errorf("iacexport: reading the %s bindings: %w", phonemigrate.TriggerCustomPhoneProvider, err)
	}
	for _, b := range s.Bindings {
		a, err := c.GetAction(ctx, b.ActionID)
		if err != nil {
			return nil, fmt.Errorf("iacexport: reading Action %s: %w", b.ActionID, err)
		}
		s.Actions = append(s.Actions, a)
	}
	conns, err := c.ListSMSConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("iacexport: reading the SMS connections: %w", err)
	}
	for _, cn := range conns {
		if switched(cn.Options) {
			s.Connections = append(s.Connections, cn)
		}
	}
	sort.SliceStable(s.Connections, func(i, j int) bool { return s.Connections[i].Name < s.Connections[j].Name })
	factors, err := c.GuardianFactors(ctx)
	if err != nil {
		return nil, fmt.Errorf("iacexport: reading the MFA factors: %w", err)
	}
	for _, f := range factors {
		if f.Name == "sms" {
			s.PhoneFactorEnabled = f.Enabled
		}
	}
	if s.MessageTypes, err = c.PhoneMessageTypes(ctx); err != nil {
		return nil, fmt.Errorf("iacexport: reading the MFA phone message types: %w", err)
	}
	return s, nil
}

// switched reports whether connection options send through the tenant's
// phone provider (use_phone_provider true, or a non-empty string such as
// "unified", which Auth0 is reported to accept too).
func switched(opts map[string]any) bool {
	switch v := opts[phonemigrate.UsePhoneProviderKey].(type) {
	case bool:
		return v
	case string:
		return v != "" && v != "false"
	}
	return false
}

// File is one file of an export. Path is slash-separated and relative to
// the output directory.
type File struct {
	Path string
	Data []byte
}

// Files are an export's files, sorted by path.
type Files []File

// Get returns the file at path.
func (fs Files) Get(path string) (File, bool) {
	for _, f := range fs {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// WriteDir writes the files under dir, creating it; files are 0600 and
// the directories it creates 0700 (an export describes the tenant and
// names its secrets). It refuses, with an
// error wrapping [ErrOutputExists] and without writing anything, when dir
// exists and is not empty, so that it never overwrites a team's files.
func (fs Files) WriteDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("iacexport: %w: %s", ErrOutputExists, dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("iacexport: %w", err)
	}
	for _, f := range fs {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := privatefile.MkdirAll(filepath.Dir(p)); err != nil {
			return fmt.Errorf("iacexport: %w", err)
		}
		if err := privatefile.WriteFile(p, f.Data); err != nil {
			return fmt.Errorf("iacexport: %w", err)
		}
	}
	return nil
}

// Export reads the tenant through c and returns the files for o.Format.
func Export(ctx context.Context, c phonemigrate.Client, o Options) (Files, error) {
	switch o.Format {
	case FormatTerraform, FormatDeployCLI:
	default:
		return nil, fmt.Errorf("iacexport: %w %q (want terraform or deploy-cli)", ErrUnknownFormat, o.Format)
	}
	layout, err := ParseLayout(string(o.Layout))
	if err != nil {
		return nil, err
	}
	s, err := Read(ctx, c)
	if err != nil {
		return nil, err
	}
	if o.Format == FormatTerraform {
		return Terraform(s)
	}
	return DeployCLI(s, layout)
}

// finish sorts files by path and checks that none holds a secret value of
// s.
func finish(s *Snapshot, files Files) (Files, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var secrets []string
	for _, c := range s.Connections {
		secrets = append(secrets, redact.OptionSecrets(c.Options)...)
	}
	for _, f := range files {
		for _, sec := range secrets {
			if len(sec) >= 4 && strings.Contains(string(f.Data), sec) {
				return nil, fmt.Errorf("iacexport: %w (in %s)", ErrSecretInOutput, f.Path)
			}
		}
	}
	return files, nil
}

// replaceSecrets returns a deep copy of opts with each secret (by
// phonemigrate's one rule, [redact.FindOptionSecrets]: values under
// secret keys, a URL's user info and secret query parameters) replaced by
// repl(path), path naming the secret ("gateway_authentication.secret",
// "gateway_url.password").
func replaceSecrets(opts map[string]any, repl func(path string) string) map[string]any {
	return redact.ReplaceOptionSecrets(opts, func(s redact.OptionSecret) string { return repl(s.Path) })
}

// namer hands out names by the rule of auth0 tf generate: runs of
// characters other than [a-zA-Z0-9_] become "_", leading digits and
// dashes are dropped, "_" is trimmed, the result is lowercased, and a
// repeated name gets "_2", "_3", ...
type namer struct{ used map[string]int }

func newNamer() *namer { return &namer{used: map[string]int{}} }

func (n *namer) name(s string) string {
	base := sanitize(s)
	if base == "" {
		base = "unnamed"
	}
	n.used[base]++
	if k := n.used[base]; k > 1 {
		return fmt.Sprintf("%s_%d", base, k)
	}
	return base
}

func sanitize(s string) string {
	var b strings.Builder
	run := false
	for _, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			if !run {
				b.WriteByte('_')
			}
			run = true
			continue
		}
		run = false
		b.WriteRune(r)
	}
	out := strings.TrimLeft(b.String(), "0123456789-")
	return strings.ToLower(strings.Trim(out, "_"))
}

// keyword returns s as an upper-case deploy-cli keyword / variable stem:
// sanitize's rule, upper-cased.
func keyword(parts ...string) string {
	var out []string
	for _, p := range parts {
		if s := sanitize(p); s != "" {
			out = append(out, s)
		}
	}
	return strings.ToUpper(strings.Join(out, "_"))
}
