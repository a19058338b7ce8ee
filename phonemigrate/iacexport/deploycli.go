package iacexport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// Files of a deploy-cli export.
const (
	DeployCLIYAMLFile   = "tenant.yaml"         // LayoutYAML
	DeployCLIConfigFile = "config.snippet.json" // keyword names and EXCLUDED_PROPS to merge into config.json
)

// The deploy-cli documents. Field order is the order written.
type (
	dcTenant struct {
		PhoneConsolidatedExperience bool `yaml:"phone_consolidated_experience" json:"phone_consolidated_experience"`
	}
	dcProvider struct {
		Name          string         `yaml:"name" json:"name"`
		Disabled      bool           `yaml:"disabled" json:"disabled"`
		Configuration map[string]any `yaml:"configuration" json:"configuration"`
		Credentials   map[string]any `yaml:"credentials" json:"credentials"`
	}
	dcBody struct {
		Text  string `yaml:"text,omitempty" json:"text,omitempty"`
		Voice string `yaml:"voice,omitempty" json:"voice,omitempty"`
	}
	dcContent struct {
		Syntax string `yaml:"syntax,omitempty" json:"syntax,omitempty"`
		From   string `yaml:"from,omitempty" json:"from,omitempty"`
		Body   dcBody `yaml:"body" json:"body"`
	}
	dcTemplate struct {
		Type     string    `yaml:"type" json:"type"`
		Disabled bool      `yaml:"disabled" json:"disabled"`
		Content  dcContent `yaml:"content" json:"content"`
	}
	dcTrigger struct {
		ID      string `yaml:"id" json:"id"`
		Version string `yaml:"version" json:"version"`
	}
	dcSecret struct {
		Name  string `yaml:"name" json:"name"`
		Value string `yaml:"value" json:"value"`
	}
	dcAction struct {
		Name              string      `yaml:"name" json:"name"`
		Code              string      `yaml:"code" json:"code"`
		Runtime           string      `yaml:"runtime,omitempty" json:"runtime,omitempty"`
		Deployed          bool        `yaml:"deployed" json:"deployed"`
		Dependencies      []any       `yaml:"dependencies" json:"dependencies"`
		Secrets           []dcSecret  `yaml:"secrets" json:"secrets"`
		SupportedTriggers []dcTrigger `yaml:"supported_triggers" json:"supported_triggers"`
	}
	dcBinding struct {
		ActionName  string `yaml:"action_name" json:"action_name"`
		DisplayName string `yaml:"display_name" json:"display_name"`
	}
	dcConnection struct {
		Name     string         `yaml:"name" json:"name"`
		Strategy string         `yaml:"strategy" json:"strategy"`
		Options  map[string]any `yaml:"options" json:"options"`
	}
	dcMessageTypes struct {
		MessageTypes []string `yaml:"message_types" json:"message_types"`
	}
	dcDocument struct {
		Tenant                          dcTenant               `yaml:"tenant"`
		PhoneProviders                  []dcProvider           `yaml:"phoneProviders,omitempty"`
		PhoneTemplates                  []dcTemplate           `yaml:"phoneTemplates,omitempty"`
		Actions                         []dcAction             `yaml:"actions,omitempty"`
		Triggers                        map[string][]dcBinding `yaml:"triggers,omitempty"`
		Connections                     []dcConnection         `yaml:"connections,omitempty"`
		GuardianPhoneFactorMessageTypes dcMessageTypes         `yaml:"guardianPhoneFactorMessageTypes"`
	}
)

// dcKeywords collects the ##KEYWORD## placeholders of an export, with what
// each stands for.
type dcKeywords struct {
	names map[string]string
}

func (k *dcKeywords) add(name, what string) string {
	if k.names == nil {
		k.names = map[string]string{}
	}
	k.names[name] = what
	return "##" + name + "##"
}

func (k *dcKeywords) sorted() []string {
	var out []string
	for n := range k.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// DeployCLI returns the auth0-deploy-cli files for s: with LayoutYAML one
// tenant.yaml, with LayoutDirectory deploy-cli's directory format
// (tenant.json, phone-providers/provider.json, phone-templates/TYPE.json,
// actions/NAME.json, triggers/triggers.json, connections/NAME.json,
// guardian/phoneFactorMessageTypes.json); in both the Actions' code in
// actions/NAME/code.js, config.snippet.json (the AUTH0_KEYWORD_REPLACE_MAPPINGS
// names the secrets come from and EXCLUDED_PROPS for
// options.use_phone_provider) and EDITS.md.
func DeployCLI(s *Snapshot, layout Layout) (Files, error) {
	layout, err := ParseLayout(string(layout))
	if err != nil {
		return nil, err
	}
	var (
		kw    dcKeywords
		files Files
		doc   = dcDocument{Tenant: dcTenant{PhoneConsolidatedExperience: true}}
	)
	for _, p := range s.Providers {
		conf := map[string]any{"delivery_methods": methods(p.Configuration.DeliveryMethods)}
		creds := map[string]any{}
		if p.Name == phonemigrate.ProviderTwilio {
			for k, v := range map[string]string{"sid": p.Configuration.SID, "default_from": p.Configuration.DefaultFrom, "mssid": p.Configuration.MSSID} {
				if v != "" {
					conf[k] = v
				}
			}
			creds["auth_token"] = kw.add("TWILIO_AUTH_TOKEN", "the Twilio auth token of the phone provider")
		}
		doc.PhoneProviders = append(doc.PhoneProviders, dcProvider{Name: p.Name, Disabled: p.Disabled, Configuration: conf, Credentials: creds})
	}
	// Auth0's id-less defaults too: deploy-cli cannot delete a template
	// without an id, so with AUTH0_ALLOW_DELETE=true a type left out fails
	// the import ("Unable to find phone template id for type …").
	for _, t := range append(slices.Clone(s.Templates), s.DefaultTemplates...) {
		doc.PhoneTemplates = append(doc.PhoneTemplates, dcTemplate{Type: t.Type, Disabled: t.Disabled, Content: dcContent{
			Syntax: t.Content.Syntax, From: t.Content.From, Body: dcBody{Text: t.Content.Text, Voice: t.Content.Voice},
		}})
	}
	dirs := newNamer()
	seen := map[string]bool{}
	for _, a := range s.Actions {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		dir := dirs.name(a.Name)
		codePath := "actions/" + dir + "/code.js"
		files = append(files, File{Path: codePath, Data: []byte(a.Code)})
		act := dcAction{Name: a.Name, Code: "./" + codePath, Runtime: a.Runtime, Deployed: true, Dependencies: []any{}, Secrets: []dcSecret{},
			SupportedTriggers: []dcTrigger{{ID: phonemigrate.TriggerCustomPhoneProvider, Version: phonemigrate.TriggerVersion}}}
		secrets := append([]string(nil), a.SecretNames...)
		sort.Strings(secrets)
		for _, sec := range secrets {
			act.Secrets = append(act.Secrets, dcSecret{Name: sec, Value: kw.add(keyword("ACTION", dir, sec), fmt.Sprintf("secret %s of Action %q", sec, a.Name))})
		}
		doc.Actions = append(doc.Actions, act)
	}
	if len(s.Bindings) > 0 {
		var bs []dcBinding
		for _, b := range s.Bindings {
			name := b.ActionName
			for _, a := range s.Actions {
				if a.ID == b.ActionID {
					name = a.Name
				}
			}
			bs = append(bs, dcBinding{ActionName: name, DisplayName: displayName(b)})
		}
		doc.Triggers = map[string][]dcBinding{phonemigrate.TriggerCustomPhoneProvider: bs}
	}
	// One stem per connection, unique, names both its file and its
	// keywords: two connections never share a keyword.
	stems := newNamer()
	connStems := make([]string, len(s.Connections))
	for i, c := range s.Connections {
		stem := stems.name(c.Name)
		connStems[i] = stem
		opts := replaceSecrets(c.Options, func(path string) string {
			return kw.add(keyword("CONNECTION", stem, path), fmt.Sprintf("options.%s of connection %q", path, c.Name))
		})
		doc.Connections = append(doc.Connections, dcConnection{Name: c.Name, Strategy: c.Strategy, Options: opts})
	}
	doc.GuardianPhoneFactorMessageTypes.MessageTypes = append([]string{}, s.MessageTypes.MessageTypes()...)

	switch layout {
	case LayoutDirectory:
		add := func(path string, v any) error {
			b, err := marshalJSON(v)
			if err != nil {
				return err
			}
			files = append(files, File{Path: path, Data: b})
			return nil
		}
		var errs []error
		errs = append(errs, add("tenant.json", doc.Tenant))
		if len(doc.PhoneProviders) > 0 {
			errs = append(errs, add("phone-providers/provider.json", doc.PhoneProviders))
		}
		for _, t := range doc.PhoneTemplates {
			errs = append(errs, add("phone-templates/"+sanitize(t.Type)+".json", t))
		}
		adirs := newNamer()
		for _, a := range doc.Actions {
			errs = append(errs, add("actions/"+adirs.name(a.Name)+".json", a))
		}
		if doc.Triggers != nil {
			errs = append(errs, add("triggers/triggers.json", doc.Triggers))
		}
		for i, c := range doc.Connections {
			errs = append(errs, add("connections/"+connStems[i]+".json", c))
		}
		errs = append(errs, add("guardian/phoneFactorMessageTypes.json", doc.GuardianPhoneFactorMessageTypes))
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
	default:
		var b bytes.Buffer
		b.WriteString("# Generated by 'phonemigrate export --format deploy-cli': the tenant's phone\n# configuration on the Unified Phone Experience (auth0-deploy-cli >= 8.44).\n# Read EDITS.md before importing.\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("iacexport: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("iacexport: %w", err)
		}
		files = append(files, File{Path: DeployCLIYAMLFile, Data: b.Bytes()})
	}

	mappings := map[string]string{}
	for _, n := range kw.sorted() {
		mappings[n] = ""
	}
	cfg := struct {
		Mappings map[string]string   `json:"AUTH0_KEYWORD_REPLACE_MAPPINGS"`
		Excluded map[string][]string `json:"EXCLUDED_PROPS"`
	}{mappings, map[string][]string{"connections": {"options." + phonemigrate.UsePhoneProviderKey}}}
	cb, err := marshalJSON(cfg)
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: DeployCLIConfigFile, Data: cb}, File{Path: EditsFile, Data: []byte(deployCLIEdits(s, layout, &kw))})
	return finish(s, files)
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("iacexport: %w", err)
	}
	return b.Bytes(), nil
}

func deployCLIEdits(s *Snapshot, layout Layout, kw *dcKeywords) string {
	var b strings.Builder
	where := "tenant.yaml"
	if layout == LayoutDirectory {
		where = "the JSON files next to this one"
	}
	fmt.Fprintf(&b, `# Changes to make to your auth0-deploy-cli configuration

Generated by 'phonemigrate export --format deploy-cli'. %s describes the
tenant's phone configuration after the migration to the Unified Phone Experience.
An export made before the migration reverts it on its next import: deploy-cli
PATCHes every connection with the options in its files (an old export has no
use_phone_provider), PATCHes the whole tenant object and overwrites the phone
templates; with AUTH0_ALLOW_DELETE=true an old export's empty phoneProviders
deletes the phone provider, and the Action it does not list is deleted too.
Needs auth0-deploy-cli 8.44.0 or later (8.43 exports a custom provider without
credentials, which Auth0 rejects).

## Replace, do not merge

Replace these sections of your configuration with the ones exported here:
tenant.phone_consolidated_experience (keep your other tenant settings),
phoneProviders, phoneTemplates, the custom-phone-provider Action(s) and the
custom-phone-provider entry of triggers, guardianPhoneFactorMessageTypes, and the
options of each connection listed (keep its enabled_clients and other fields).

phoneTemplates lists every template type the tenant has, with the texts it
sends today, Auth0's built-in defaults included (%s).
Keep them all. deploy-cli cannot delete a default (it has no id), so with
AUTH0_ALLOW_DELETE=true a type left out fails the import ("Unable to find phone
template id for type …"); an import creates each listed default as a template
with the same text, so nothing your users receive changes.

## config.json

Merge config.snippet.json into your config.json (or the environment). EXCLUDED_PROPS
keeps options.use_phone_provider as the tenant has it whenever deploy-cli updates a
connection. The secrets are not exported; give each keyword its value in
AUTH0_KEYWORD_REPLACE_MAPPINGS (better: through the environment, not a committed
file). An unmapped keyword is sent literally, so set every one:
`, upperFirst(where), defaultTypes(s))
	names := kw.sorted()
	if len(names) == 0 {
		b.WriteString("\n(no keywords: nothing secret in this export)\n")
	}
	for _, n := range names {
		fmt.Fprintf(&b, "\n- ##%s## — %s", n, kw.names[n])
	}
	if len(names) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(`
## Delete these legacy entries

They configure the phone setup the migration replaced; on a migrated tenant their
endpoints answer 403 or would revert it:

- guardianFactorProviders entries for sms (e.g. name sms, provider twilio)
  (guardian/providers/sms-twilio.json in the directory layout)
- guardianPhoneFactorSelectedProvider (guardian/phoneFactorSelectedProvider.json)
- guardianFactorTemplates entries for sms (guardian/templates/sms.json)
- any phoneProviders: [] left from an export made before the migration
`)
	for _, c := range s.Connections {
		legacy := legacyOptionKeys(c.Options)
		if len(legacy) > 0 {
			fmt.Fprintf(&b, "\nConnection %q still holds legacy provider options (%s); they are exported as the\ntenant holds them and are no longer used while use_phone_provider is set.\n", c.Name, strings.Join(legacy, ", "))
		}
	}
	return b.String()
}

// legacyOptionKeys lists the legacy provider options present in opts.
func legacyOptionKeys(opts map[string]any) []string {
	var out []string
	for _, k := range []string{"provider", "gateway_url", "gateway_authentication", "twilio_sid", "twilio_token", "messaging_service_sid"} {
		if v, ok := opts[k]; ok && v != nil {
			out = append(out, k)
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// defaultTypes names the template types exported from Auth0's defaults.
func defaultTypes(s *Snapshot) string {
	var types []string
	for _, t := range s.DefaultTemplates {
		types = append(types, t.Type)
	}
	if len(types) == 0 {
		return "none on this tenant: every type is customised"
	}
	return "here: " + strings.Join(types, ", ")
}
