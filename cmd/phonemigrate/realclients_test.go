package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// Real clients nobody here wrote, against `phonemigrate fake --tls`, run
// as a user runs them: auth0-deploy-cli (the version
// phonemigrate/iacexport/testdata/deploycli locks; .ci/run installs it) and
// the phonemigrate command itself, each in its own process with the
// environment the fake prints (AUTH0_DOMAIN, AUTH0_ACCESS_TOKEN,
// NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).

// deployCLIModules is where `npm ci` installs auth0-deploy-cli.
var deployCLIModules = filepath.Join("..", "..", "phonemigrate", "iacexport", "testdata", "deploycli", "node_modules")

// requireNodeTool returns node and the JavaScript file of an npm package's
// command, or skips when either is missing — unless
// PHONEMIGRATE_REQUIRE_NODE is set (CI), where it fails.
func requireNodeTool(t *testing.T, script, install string) (node, js string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		js, err = filepath.Abs(script)
		if err == nil {
			_, err = os.Stat(js)
		}
	}
	if err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatalf("node and %s are required (PHONEMIGRATE_REQUIRE_NODE is set; %s): %v", script, install, err)
		}
		t.Skipf("node or %s missing (%s): %v", script, install, err)
	}
	return node, js
}

// tlsFake is a `phonemigrate fake --tls` process.
type tlsFake struct {
	env    map[string]string // the lines it printed
	client *http.Client      // trusts its CA
}

// startTLSFake runs `phonemigrate fake --tls` with args in its own process
// and returns once it has printed its environment lines; the test's
// cleanup interrupts it and waits for it to exit 0.
func startTLSFake(t *testing.T, args ...string) *tlsFake {
	t.Helper()
	pm, err := exec.LookPath("phonemigrate") // testscript.Main puts the test binary there
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(pm, append([]string{"fake", "--tls", "--quiet", "--ca-file", filepath.Join(dir, "ca.pem")}, args...)...)
	cmd.Env = cleanEnv(nil)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := <-exited; err != nil {
			t.Errorf("fake --tls: %v\n%s", err, stderr.String())
		}
	})
	f := &tlsFake{env: map[string]string{}}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
		exited <- cmd.Wait()
	}()
	// Six lines: AUTH0_DOMAIN, AUTH0_TOKEN, PHONEMIGRATE_TWILIO_API_URL,
	// AUTH0_ACCESS_TOKEN, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE.
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for len(f.env) < 6 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("fake --tls stopped after printing %v\n%s", f.env, stderr.String())
			}
			k, v, found := strings.Cut(line, "=")
			if !found {
				t.Fatalf("fake --tls printed %q, not NAME=value", line)
			}
			f.env[k] = v
		case <-timeout.C:
			t.Fatalf("fake --tls printed only %v in 2 minutes", f.env)
		}
	}
	go func() {
		for range lines {
		}
	}()
	for _, k := range []string{envDomain, envToken, "AUTH0_ACCESS_TOKEN", envTwilioAPIURL, "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"} {
		if f.env[k] == "" {
			t.Fatalf("fake --tls printed no %s line: %v\n%s", k, f.env, stderr.String())
		}
	}
	if _, ok := f.env[envBaseURL]; ok {
		t.Fatalf("fake --tls printed %s as well as %s: phonemigrate refuses both", envBaseURL, envDomain)
	}
	ca, err := os.ReadFile(f.env["SSL_CERT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("the CA file holds no certificate:\n%s", ca)
	}
	f.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return f
}

// cleanEnv is this process's environment without the variables that
// phonemigrate reads or that choose a tenant or a CA (AUTH0_*,
// PHONEMIGRATE_*, TWILIO_*, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE), plus
// extra.
func cleanEnv(extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AUTH0_") || strings.HasPrefix(k, "PHONEMIGRATE_") || strings.HasPrefix(k, "TWILIO_") ||
			k == "NODE_EXTRA_CA_CERTS" || k == "SSL_CERT_FILE" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

// run runs name args in dir with the fake's environment (plus extra) and
// returns its exit code and combined output.
func (f *tlsFake) run(t *testing.T, dir string, extra map[string]string, name string, args ...string) (int, string) {
	t.Helper()
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	// Generous: deploy-cli compiles an 8 MB schema, slow on a busy machine.
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// deployCLIJob is one a0deploy command for run.js: "export" or "import"
// with a0deploy's flags as params.
type deployCLIJob struct {
	Command string         `json:"command"`
	Params  map[string]any `json:"params"`
}

// deployCLI is one node process running auth0-deploy-cli
// (phonemigrate/iacexport/testdata/deploycli/run.js) against a fake: it
// runs batches of jobs, one after another, sharing deploy-cli's compiled
// schema, while the test changes the tenant between them.
type deployCLI struct {
	in      io.WriteCloser
	results *bufio.Scanner
	log     *lockedBuffer // deploy-cli's stdout and stderr
	logged  int           // how much of log the last batch returned
	exited  chan error
}

// startDeployCLI starts run.js in dir with the fake's environment; the
// test's cleanup ends its input and waits for it to exit 0.
func (f *tlsFake) startDeployCLI(t *testing.T, node, dir string) *deployCLI {
	t.Helper()
	runJS, err := filepath.Abs(filepath.Join(deployCLIModules, "..", "run.js"))
	if err != nil {
		t.Fatal(err)
	}
	results, resultsW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &deployCLI{log: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd := exec.Command(node, runJS)
	cmd.Dir = dir
	cmd.Env = cleanEnv(f.env)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	cmd.ExtraFiles = []*os.File{resultsW} // file descriptor 3
	if d.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	resultsW.Close()
	d.results = bufio.NewScanner(results)
	d.results.Buffer(nil, 1<<20)
	go func() { d.exited <- cmd.Wait(); results.Close() }()
	t.Cleanup(func() {
		d.in.Close()
		select {
		case err := <-d.exited:
			if err != nil {
				t.Errorf("run.js: %v\n%s", err, d.log.String())
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Errorf("run.js did not exit within a minute of its input's end\n%s", d.log.String())
		}
	})
	return d
}

// run runs jobs, in order, and returns each job's error ("" when it
// succeeded) and what deploy-cli logged meanwhile. Relative paths in the
// jobs' params are relative to dir.
func (d *deployCLI) run(t *testing.T, dir string, jobs ...deployCLIJob) ([]string, string) {
	t.Helper()
	for _, j := range jobs {
		for _, k := range []string{"output_folder", "input_file", "config_file"} {
			if v, ok := j.Params[k].(string); ok && !filepath.IsAbs(v) {
				j.Params[k] = filepath.Join(dir, v)
			}
		}
	}
	batch, _ := json.Marshal(jobs)
	if _, err := d.in.Write(append(batch, '\n')); err != nil {
		t.Fatalf("run.js: %v\n%s", err, d.log.String())
	}
	// Generous: deploy-cli compiles an 8 MB schema, slow on a busy
	// machine; the bound only matters when run.js hangs.
	answered := make(chan bool, 1)
	go func() { answered <- d.results.Scan() }()
	var ok bool
	select {
	case ok = <-answered:
	case <-time.After(8 * time.Minute):
		t.Fatalf("run.js did not answer within 8 minutes\n%s", d.log.String())
	}
	log := d.log.String()
	out := log[d.logged:]
	d.logged = len(log)
	if !ok {
		t.Fatalf("run.js stopped before answering: %v\n%s", d.results.Err(), out)
	}
	var res []struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(d.results.Bytes(), &res); err != nil || len(res) != len(jobs) {
		t.Fatalf("run.js answered %s: %v", d.results.Bytes(), err)
	}
	errs := make([]string, len(res))
	for i, r := range res {
		errs[i] = r.Error
	}
	return errs, out
}

func exportJob(folder string) deployCLIJob {
	return deployCLIJob{"export", map[string]any{"format": "yaml", "output_folder": folder}}
}

func importJob(file, config string) deployCLIJob {
	p := map[string]any{"input_file": file}
	if config != "" {
		p["config_file"] = config
	}
	return deployCLIJob{"import", p}
}

// notify sends one Passwordless code through the fake (/__fake/notify).
func (f *tlsFake) notify(t *testing.T) phonemigratetest.NotifyResult {
	t.Helper()
	body, _ := json.Marshal(phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15555550100"})
	resp, err := f.client.Post("https://"+f.env[envDomain]+"/__fake/notify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res phonemigratetest.NotifyResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// readYAML reads a deploy-cli tenant.yaml.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func writeYAML(t *testing.T, path string, doc map[string]any) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func items(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func byName(v any, name string) map[string]any {
	for _, m := range items(v) {
		if m["name"] == name {
			return m
		}
	}
	return nil
}

// TestDeployCLIRoundTripAgainstFakeTLS: a default `a0deploy export` and
// `a0deploy import` of it succeed against `phonemigrate fake --tls` on the
// legacy tenant, and again after `phonemigrate apply`; then `check` exits
// 0 and Passwordless still goes through the provider with the same words.
func TestDeployCLIRoundTripAgainstFakeTLS(t *testing.T) {
	t.Parallel()
	node, _ := requireNodeTool(t, filepath.Join(deployCLIModules, "auth0-deploy-cli", "lib", "index.js"), "'npm ci' in phonemigrate/iacexport/testdata/deploycli")
	f := startTLSFake(t, "--scenario", "legacy-gateway")
	dir := t.TempDir()
	pm, _ := exec.LookPath("phonemigrate")

	legacy := f.notify(t)
	if legacy.Route != phonemigratetest.RouteLegacyGateway || !legacy.Delivered {
		t.Fatalf("before: %+v", legacy)
	}
	a0deploy := f.startDeployCLI(t, node, dir)
	roundTrip := func(name string) map[string]any {
		t.Helper()
		errs, out := a0deploy.run(t, dir, exportJob(name), importJob(filepath.Join(name, "tenant.yaml"), ""))
		if errs[0] != "" || errs[1] != "" {
			t.Fatalf("a0deploy export, import (%s): %q\n%s", name, errs, out)
		}
		return readYAML(t, filepath.Join(dir, name, "tenant.yaml"))
	}

	before := roundTrip("before")
	sms := byName(before["connections"], "sms")
	if opts, _ := sms["options"].(map[string]any); sms == nil || opts["provider"] != "sms_gateway" {
		t.Errorf("the legacy export's sms connection: %v", sms)
	}
	if res := f.notify(t); res.Route != legacy.Route || res.Text != legacy.Text {
		t.Errorf("after importing the legacy export: %+v, want %+v", res, legacy)
	}

	if code, out := f.run(t, dir, nil, pm, "apply", "--skip-test", "--yes", "--watch", "0"); code != 0 {
		t.Fatalf("phonemigrate apply over TLS: exit %d\n%s", code, out)
	}
	after := roundTrip("after")
	if ten, _ := after["tenant"].(map[string]any); ten["phone_consolidated_experience"] != true {
		t.Errorf("the export after apply: tenant %v", ten)
	}
	if p := items(after["phoneProviders"]); len(p) != 1 || p[0]["name"] != "custom" {
		t.Errorf("the export after apply: phoneProviders %v", after["phoneProviders"])
	}
	if trig, _ := after["triggers"].(map[string]any); len(items(trig["custom-phone-provider"])) != 1 {
		t.Errorf("the export after apply: triggers %v", after["triggers"])
	}

	if code, out := f.run(t, dir, nil, pm, "check"); code != 0 {
		t.Fatalf("phonemigrate check after the round trip: exit %d\n%s", code, out)
	}
	res := f.notify(t)
	if res.Route != phonemigratetest.RouteProviderCustom || !res.Delivered || res.Text != legacy.Text {
		t.Errorf("Passwordless after the round trip: %+v; want it through the provider with %q", res, legacy.Text)
	}
}

// TestDeployCLIImportOfMergedExportWithAllowDelete follows the deploy-cli
// EDITS.md: a team's configuration exported before the migration, merged
// with `phonemigrate export --format deploy-cli` as EDITS.md says, imported
// with AUTH0_ALLOW_DELETE=true. The import succeeds and the migration
// stands. Leaving Auth0's default template types out (what EDITS.md told
// before) fails the same import: deploy-cli cannot delete an id-less
// default.
func TestDeployCLIImportOfMergedExportWithAllowDelete(t *testing.T) {
	t.Parallel()
	node, _ := requireNodeTool(t, filepath.Join(deployCLIModules, "auth0-deploy-cli", "lib", "index.js"), "'npm ci' in phonemigrate/iacexport/testdata/deploycli")
	f := startTLSFake(t, "--scenario", "legacy-gateway")
	dir := t.TempDir()
	pm, _ := exec.LookPath("phonemigrate")

	// The team's configuration, as deploy-cli exported it before.
	a0deploy := f.startDeployCLI(t, node, dir)
	if errs, out := a0deploy.run(t, dir, exportJob("team")); errs[0] != "" {
		t.Fatalf("a0deploy export: %s\n%s", errs[0], out)
	}
	if code, out := f.run(t, dir, nil, pm, "apply", "--skip-test", "--yes", "--watch", "0"); code != 0 {
		t.Fatalf("phonemigrate apply: exit %d\n%s", code, out)
	}
	legacyText := phonemigratetest.GatewayTemplate
	if code, out := f.run(t, dir, nil, pm, "export", "--format", "deploy-cli", "--out", "ours"); code != 0 {
		t.Fatalf("phonemigrate export: exit %d\n%s", code, out)
	}
	edits, err := os.ReadFile(filepath.Join(dir, "ours", "EDITS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Tenant.yaml describes", "Auth0's built-in defaults included", "AUTH0_ALLOW_DELETE=true a type left out fails the import"} {
		if !strings.Contains(string(edits), want) {
			t.Errorf("EDITS.md lacks %q", want)
		}
	}

	// Merge, as EDITS.md says.
	team := readYAML(t, filepath.Join(dir, "team", "tenant.yaml"))
	ours := readYAML(t, filepath.Join(dir, "ours", "tenant.yaml"))
	merged := map[string]any{}
	for k, v := range team {
		merged[k] = v
	}
	ten, _ := merged["tenant"].(map[string]any)
	ten["phone_consolidated_experience"] = true
	for _, k := range []string{"phoneProviders", "phoneTemplates", "guardianPhoneFactorMessageTypes"} {
		merged[k] = ours[k]
	}
	merged["actions"] = append(items(team["actions"]), items(ours["actions"])...)
	trig, _ := merged["triggers"].(map[string]any)
	if trig == nil {
		trig = map[string]any{}
		merged["triggers"] = trig
	}
	ourTrig, _ := ours["triggers"].(map[string]any)
	trig["custom-phone-provider"] = ourTrig["custom-phone-provider"]
	for _, c := range items(ours["connections"]) {
		if mine := byName(merged["connections"], c["name"].(string)); mine != nil {
			mine["options"] = c["options"]
		}
	}
	delete(merged, "guardianPhoneFactorSelectedProvider")
	var providers []any
	for _, p := range items(merged["guardianFactorProviders"]) {
		if p["name"] != "sms" && p["name"] != "phone" {
			providers = append(providers, p)
		}
	}
	merged["guardianFactorProviders"] = providers
	var templates []any
	for _, p := range items(merged["guardianFactorTemplates"]) {
		if p["name"] != "sms" && p["name"] != "phone" {
			templates = append(templates, p)
		}
	}
	merged["guardianFactorTemplates"] = templates

	// config.json: the snippet, every keyword given its value.
	var snippet map[string]any
	raw, err := os.ReadFile(filepath.Join(dir, "ours", "config.snippet.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &snippet); err != nil {
		t.Fatal(err)
	}
	gw, _ := byName(team["connections"], "sms")["options"].(map[string]any)
	values := map[string]any{
		"ACTION_PHONEMIGRATE_CUSTOM_PHONE_PROVIDER_GATEWAY_SECRET": phonemigratetest.GatewaySecret,
		"ACTION_PHONEMIGRATE_CUSTOM_PHONE_PROVIDER_GATEWAY_URL":    gw["gateway_url"],
		"CONNECTION_SMS_GATEWAY_AUTHENTICATION_SECRET":             phonemigratetest.GatewaySecret,
	}
	mappings, _ := snippet["AUTH0_KEYWORD_REPLACE_MAPPINGS"].(map[string]any)
	for k := range mappings {
		v, ok := values[k]
		if !ok {
			t.Fatalf("config.snippet.json names keyword %s, which this test has no value for", k)
		}
		mappings[k] = v
	}
	snippet["AUTH0_ALLOW_DELETE"] = true
	cfg, _ := json.Marshal(snippet)
	if err := os.WriteFile(filepath.Join(dir, "ours", "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	// Control: without the default template types, as EDITS.md said
	// before, the import fails.
	var customised []any
	for _, tp := range items(merged["phoneTemplates"]) {
		if tp["type"] == "otp_verify" {
			customised = append(customised, tp)
		}
	}
	if len(customised) == len(items(merged["phoneTemplates"])) {
		t.Fatalf("the export lists no default template type: %v", merged["phoneTemplates"])
	}
	partial := map[string]any{}
	for k, v := range merged {
		partial[k] = v
	}
	partial["phoneTemplates"] = customised
	writeYAML(t, filepath.Join(dir, "ours", "partial.yaml"), partial)
	writeYAML(t, filepath.Join(dir, "ours", "merged.yaml"), merged)
	errs, out := a0deploy.run(t, filepath.Join(dir, "ours"),
		importJob("partial.yaml", "config.json"), importJob("merged.yaml", "config.json"))
	if !strings.Contains(errs[0], "Unable to find phone template id for type") {
		t.Errorf("import without the default template types: error %q, want the failure EDITS.md warns of", errs[0])
	}
	if errs[1] != "" {
		t.Fatalf("import of the merged configuration with AUTH0_ALLOW_DELETE=true: %s\n%s", errs[1], out)
	}
	if code, out := f.run(t, dir, nil, pm, "check"); code != 0 {
		t.Fatalf("phonemigrate check after the merged import: exit %d\n%s", code, out)
	}
	res := f.notify(t)
	if res.Route != phonemigratetest.RouteProviderCustom || !res.Delivered || !strings.HasPrefix(res.Text, strings.TrimSuffix(legacyText, "@@password@@")) {
		t.Errorf("Passwordless after the merged import: %+v", res)
	}
}

// TestNodeAuth0PhoneAreas runs node-auth0 (the npm package auth0, 7.1.0 as
// testdata/nodeauth0/package-lock.json pins it; .ci/run installs it)
// against `phonemigrate fake --tls` after a migration: its management
// calls for the phone areas — tenant settings, sms connections, phone
// providers and templates, Guardian phone settings and message types,
// Actions with their versions and bindings, client grants, logs and one
// log by id — all answer, in shapes node-auth0 reads, with what the tenant
// holds.
func TestNodeAuth0PhoneAreas(t *testing.T) {
	t.Parallel()
	node, script := requireNodeTool(t, filepath.Join("testdata", "nodeauth0", "node_modules", "auth0", "package.json"), "'npm ci' in cmd/phonemigrate/testdata/nodeauth0")
	script = filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(script))), "phone.js")
	f := startTLSFake(t, "--scenario", "legacy-gateway")
	dir := t.TempDir()
	pm, _ := exec.LookPath("phonemigrate")
	if code, out := f.run(t, dir, nil, pm, "apply", "--skip-test", "--yes", "--watch", "0"); code != 0 {
		t.Fatalf("phonemigrate apply: exit %d\n%s", code, out)
	}
	code, out := f.run(t, dir, nil, node, script)
	if code != 0 {
		t.Fatalf("node phone.js: exit %d\n%s", code, out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("node phone.js printed %q: %v", out, err)
	}
	sel, _ := got["selected_provider"].(map[string]any)
	if sel["status"] != float64(403) {
		t.Errorf("the legacy selected provider under UPE: %v, want node-auth0 to see Auth0's 403", sel)
	}
	delete(got, "selected_provider")
	want := map[string]any{
		"phone_consolidated_experience": true,
		"sms_connections":               []any{map[string]any{"name": "sms", "provider": "sms_gateway", "use_phone_provider": true}},
		"providers":                     []any{map[string]any{"name": "custom", "delivery_methods": []any{"text"}}},
		"templates":                     []any{"blocked_account (default)", "change_password (default)", "otp_enroll (default)", "otp_verify"},
		"factors":                       []any{"otp"},
		"message_types":                 map[string]any{"value": []any{}},
		"phone_settings":                map[string]any{"value": map[string]any{"otp_length": float64(6), "otp_expiration_time": float64(300)}},
		"actions":                       []any{map[string]any{"name": "phonemigrate-custom-phone-provider", "status": "built", "deployed_versions": float64(1)}},
		"bindings":                      []any{"phonemigrate-custom-phone-provider"},
		"grants_with_guardian_scope":    float64(1),
		"sapi_logs":                     float64(5),
		"log_get":                       map[string]any{"type": "sapi", "same_id": true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what node-auth0 read (-want +got):\n%s", diff)
	}
}
