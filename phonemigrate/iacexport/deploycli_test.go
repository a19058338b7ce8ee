package iacexport_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
)

// deployCLISections are the top-level keys of a deploy-cli export, as
// auth0-deploy-cli 8.43/8.44 names them (examples/yaml/tenant.yaml).
var deployCLISections = []string{"tenant", "phoneProviders", "phoneTemplates", "actions", "triggers", "connections", "guardianPhoneFactorMessageTypes"}

// loadDeployCLI reads an export's deploy-cli document: tenant.yaml, or the
// directory layout's files assembled into the same shape. Values are
// normalised through JSON (numbers are float64).
func loadDeployCLI(t *testing.T, files iacexport.Files) map[string]any {
	t.Helper()
	doc := map[string]any{}
	if f, ok := files.Get("tenant.yaml"); ok {
		if err := yaml.Unmarshal(f.Data, &doc); err != nil {
			t.Fatalf("tenant.yaml: %v", err)
		}
		return normalise(t, doc)
	}
	read := func(f iacexport.File) any {
		var v any
		if err := json.Unmarshal(f.Data, &v); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		return v
	}
	var list = map[string][]any{}
	for _, f := range files {
		dir, file := path.Split(f.Path)
		switch {
		case f.Path == "tenant.json":
			doc["tenant"] = read(f)
		case f.Path == "phone-providers/provider.json":
			doc["phoneProviders"] = read(f)
		case f.Path == "triggers/triggers.json":
			doc["triggers"] = read(f)
		case f.Path == "guardian/phoneFactorMessageTypes.json":
			doc["guardianPhoneFactorMessageTypes"] = read(f)
		case dir == "phone-templates/" && path.Ext(file) == ".json":
			list["phoneTemplates"] = append(list["phoneTemplates"], read(f))
		case dir == "actions/" && path.Ext(file) == ".json":
			list["actions"] = append(list["actions"], read(f))
		case dir == "connections/" && path.Ext(file) == ".json":
			list["connections"] = append(list["connections"], read(f))
		}
	}
	for k, v := range list {
		doc[k] = v
	}
	return normalise(t, doc)
}

func normalise(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var keywordRe = regexp.MustCompile(`##([A-Z0-9_]+)##`)

// keywordsIn lists the ##KEYWORD## names used in v.
func keywordsIn(v any) []string {
	b, _ := json.Marshal(v)
	var out []string
	for _, m := range keywordRe.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

func list(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

func obj(v any, keys ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// The deploy-cli export meets auth0-deploy-cli's schema facts: the known
// sections only, the switch on, a custom provider with credentials {}, a
// Twilio token only as a keyword, Action code in the file its code path
// names, the connections' complete options with use_phone_provider and
// their secrets as keywords, and config.snippet.json naming exactly the
// keywords used plus EXCLUDED_PROPS for options.use_phone_provider.
func TestDeployCLIMeetsSchemaFacts(t *testing.T) {
	t.Parallel()
	for _, tc := range exportCases() {
		if tc.opts.Format != iacexport.FormatDeployCLI {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			ten := tc.tenant()
			files := exportOf(t, tc)
			doc := loadDeployCLI(t, files)
			for k := range doc {
				if !slices.Contains(deployCLISections, k) {
					t.Errorf("unknown section %q", k)
				}
			}
			if obj(doc, "tenant")["phone_consolidated_experience"] != true {
				t.Errorf("tenant.phone_consolidated_experience = %v, want true", obj(doc, "tenant")["phone_consolidated_experience"])
			}
			providers := list(doc["phoneProviders"])
			if len(providers) != len(ten.providers) {
				t.Fatalf("%d phoneProviders, want %d", len(providers), len(ten.providers))
			}
			for _, p := range providers {
				creds := obj(p, "credentials")
				switch p["name"] {
				case "custom":
					if creds == nil || len(creds) != 0 {
						t.Errorf("custom provider credentials = %v, want {}", p["credentials"])
					}
				case "twilio":
					if !keywordRe.MatchString(creds["auth_token"].(string)) {
						t.Errorf("twilio credentials.auth_token = %q, want a ##KEYWORD##", creds["auth_token"])
					}
				default:
					t.Errorf("provider name %v", p["name"])
				}
				for _, m := range obj(p, "configuration")["delivery_methods"].([]any) {
					if m != "text" && m != "voice" {
						t.Errorf("delivery method %v", m)
					}
				}
			}
			var types []string
			for _, tp := range list(doc["phoneTemplates"]) {
				types = append(types, tp["type"].(string))
			}
			// Every type the tenant has, Auth0's id-less defaults included
			// (deploy-cli cannot delete those).
			var wantTypes []string
			for _, tp := range ten.templates {
				wantTypes = append(wantTypes, tp.Type)
			}
			sort.Strings(wantTypes)
			sort.Strings(types)
			if diff := cmp.Diff(wantTypes, types); diff != "" {
				t.Errorf("phoneTemplates types (-want +got):\n%s", diff)
			}
			var actionNames []string
			for _, a := range list(doc["actions"]) {
				actionNames = append(actionNames, a["name"].(string))
				code, _ := a["code"].(string)
				f, ok := files.Get(strings.TrimPrefix(code, "./"))
				var want string
				for _, ta := range ten.actions {
					if ta.Name == a["name"] {
						want = ta.Code
					}
				}
				if !ok || string(f.Data) != want {
					t.Errorf("action %v: code %q does not name a file holding its code", a["name"], code)
				}
				if a["deployed"] != true {
					t.Errorf("action %v: deployed = %v", a["name"], a["deployed"])
				}
				for _, s := range list(a["secrets"]) {
					if !keywordRe.MatchString(s["value"].(string)) {
						t.Errorf("action %v secret %v is not a keyword", a["name"], s["name"])
					}
				}
			}
			for _, b := range list(obj(doc, "triggers")["custom-phone-provider"]) {
				if !slices.Contains(actionNames, b["action_name"].(string)) {
					t.Errorf("trigger binding names action %v, which is not exported", b["action_name"])
				}
			}
			conns := list(doc["connections"])
			var switchedNames []string
			for _, c := range ten.connections {
				if c.Options["use_phone_provider"] == true {
					switchedNames = append(switchedNames, c.Name)
				}
			}
			if len(conns) != len(switchedNames) {
				t.Errorf("%d connections, want the %d switched ones", len(conns), len(switchedNames))
			}
			for _, c := range conns {
				opts := obj(c, "options")
				if opts["use_phone_provider"] != true {
					t.Errorf("connection %v lacks use_phone_provider", c["name"])
				}
				for _, tc := range ten.connections {
					if tc.Name != c["name"] {
						continue
					}
					for k := range tc.Options {
						if _, ok := opts[k]; !ok {
							t.Errorf("connection %v: option %q dropped (deploy-cli replaces options whole)", c["name"], k)
						}
					}
				}
			}
			wantMT := ten.types.MessageTypes()
			var gotMT []string
			for _, m := range obj(doc, "guardianPhoneFactorMessageTypes")["message_types"].([]any) {
				gotMT = append(gotMT, m.(string))
			}
			if diff := cmp.Diff(wantMT, gotMT); diff != "" {
				t.Errorf("message_types (-want +got):\n%s", diff)
			}

			// config.snippet.json names exactly the keywords used.
			cf, ok := files.Get(iacexport.DeployCLIConfigFile)
			if !ok {
				t.Fatal("no config.snippet.json")
			}
			var cfg struct {
				Mappings map[string]string   `json:"AUTH0_KEYWORD_REPLACE_MAPPINGS"`
				Excluded map[string][]string `json:"EXCLUDED_PROPS"`
			}
			if err := json.Unmarshal(cf.Data, &cfg); err != nil {
				t.Fatal(err)
			}
			var mapped []string
			for k, v := range cfg.Mappings {
				mapped = append(mapped, k)
				if v != "" {
					t.Errorf("mapping %s has a value: %q", k, v)
				}
			}
			sort.Strings(mapped)
			if diff := cmp.Diff(keywordsIn(doc), mapped); diff != "" {
				t.Errorf("AUTH0_KEYWORD_REPLACE_MAPPINGS names (-used +listed):\n%s", diff)
			}
			if diff := cmp.Diff(map[string][]string{"connections": {"options.use_phone_provider"}}, cfg.Excluded); diff != "" {
				t.Errorf("EXCLUDED_PROPS (-want +got):\n%s", diff)
			}
			edits, _ := files.Get(iacexport.EditsFile)
			for _, k := range mapped {
				if !strings.Contains(string(edits.Data), "##"+k+"##") {
					t.Errorf("EDITS.md does not name keyword %s", k)
				}
			}
		})
	}
}

// deployCLIDir is where the validation script and its npm packages live;
// .ci/run installs them (npm ci).
const deployCLIDir = "testdata/deploycli"

// requireDeployCLI skips when node or the auth0-deploy-cli package is
// missing, unless PHONEMIGRATE_REQUIRE_NODE is set (CI), where it fails.
func requireDeployCLI(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(deployCLIDir, "node_modules", "auth0-deploy-cli", "package.json"))
	}
	if err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatalf("node and auth0-deploy-cli are required (PHONEMIGRATE_REQUIRE_NODE is set; 'npm ci' in %s): %v", deployCLIDir, err)
		}
		t.Skipf("node or auth0-deploy-cli missing (run 'npm ci' in %s): %v", deployCLIDir, err)
	}
	return node
}

// resolve replaces each ##KEYWORD## in the strings of v with
// "value-of-KEYWORD", as deploy-cli loads them with validate.js' mappings.
func resolve(v any) any {
	switch v := v.(type) {
	case string:
		return keywordRe.ReplaceAllString(v, "value-of-$1")
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			m[k] = resolve(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = resolve(x)
		}
		return l
	}
	return v
}

type validateJob struct {
	Input  string `json:"input"`
	Config string `json:"config"`
	Output string `json:"output"`
}

type validateResult struct {
	Assets map[string]any `json:"assets"`
	Error  string         `json:"error"`
}

// runDeployCLI runs testdata/deploycli/validate.js once over jobs (one
// node process: deploy-cli's schema compiles in ~15 s).
func runDeployCLI(t *testing.T, node string, jobs []validateJob) []validateResult {
	t.Helper()
	b, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	jobsPath := filepath.Join(t.TempDir(), "jobs.json")
	if err := os.WriteFile(jobsPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "validate.js", jobsPath)
	cmd.Dir = deployCLIDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("validate.js: %v\n%s", err, out)
	}
	res := make([]validateResult, len(jobs))
	for i, j := range jobs {
		b, err := os.ReadFile(j.Output)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &res[i]); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// auth0-deploy-cli itself loads each deploy-cli export (its YAML or
// directory context, keyword replacement with config.snippet.json's names)
// and validates it (its JSON schema and every handler's validate stage),
// and what it loaded is what the export says. The validation is not a
// formality: the same run rejects an export with a section key it does not
// know (the shipped example's "message-types").
func TestDeployCLIValidatesWithAuth0DeployCLI(t *testing.T) {
	t.Parallel()
	node := requireDeployCLI(t)
	type check struct {
		name  string
		files iacexport.Files
		bad   string // a substring of the expected error; "" for a valid export
	}
	var checks []check
	for _, tc := range exportCases() {
		if tc.opts.Format == iacexport.FormatDeployCLI {
			checks = append(checks, check{name: tc.name, files: exportOf(t, tc)})
		}
	}
	var bad iacexport.Files
	for _, f := range checks[0].files { // custom, deploy-cli yaml
		if f.Path == "tenant.yaml" {
			f.Data = []byte(strings.Replace(string(f.Data), "  message_types:", "  message-types:", 1))
		}
		bad = append(bad, f)
	}
	checks = append(checks, check{name: "message-types", files: bad, bad: "message-types"})

	var jobs []validateJob
	for _, c := range checks {
		dir := filepath.Join(t.TempDir(), "export")
		if err := c.files.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		input := dir
		if _, ok := c.files.Get("tenant.yaml"); ok {
			input = filepath.Join(dir, "tenant.yaml")
		}
		jobs = append(jobs, validateJob{Input: input, Config: filepath.Join(dir, iacexport.DeployCLIConfigFile), Output: filepath.Join(t.TempDir(), "result.json")})
	}
	results := runDeployCLI(t, node, jobs)
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			res := results[i]
			if c.bad != "" {
				if res.Error == "" || !strings.Contains(res.Error, c.bad) {
					t.Errorf("auth0-deploy-cli accepted a bad export (error %q, want one naming %q)", res.Error, c.bad)
				}
				return
			}
			if res.Error != "" {
				t.Fatalf("auth0-deploy-cli rejects the export: %s", res.Error)
			}
			doc := loadDeployCLI(t, c.files)
			for _, a := range list(doc["actions"]) {
				f, _ := c.files.Get(strings.TrimPrefix(a["code"].(string), "./"))
				a["code"] = string(f.Data)
			}
			want := map[string]any{}
			for _, k := range deployCLISections {
				want[k] = resolve(doc[k])
			}
			if diff := cmp.Diff(want, res.Assets); diff != "" {
				t.Errorf("auth0-deploy-cli loaded (-export +deploy-cli):\n%s", diff)
			}
		})
	}
}
