package actiongen

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// docsSampleFile is Auth0's "Custom SMS gateway to custom-phone-provider
// example", byte for byte from the docs (see
// shared/reference/auth0-domain.md §1).
var docsSampleFile = filepath.Join("testdata", "auth0-docs-sample.txt")

// fetchAdapter stands in for <favorite_http_client>: it takes the sample's
// request object and answers with {statusCode}, as request-style clients do,
// using Node's global fetch and a JSON body.
const fetchAdapter = `const request = async (req) => {
  const res = await fetch(req.url, { method: req.method, headers: { ...req.headers, 'Content-Type': 'application/json' }, body: JSON.stringify(req.body) });
  return { statusCode: res.status };
};`

// docsSample returns the sample with its two placeholders filled in and
// nothing else changed.
func docsSample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(docsSampleFile)
	if err != nil {
		t.Fatal(err)
	}
	code := string(b)
	for _, r := range []struct{ old, new string }{
		{"const request = require('<favorite_http_client>');", fetchAdapter},
		{"case '<otp_verify>':", "case 'otp_verify':"},
	} {
		if n := strings.Count(code, r.old); n != 1 {
			t.Fatalf("docs sample has %d occurrences of %q, want 1", n, r.old)
		}
		code = strings.Replace(code, r.old, r.new, 1)
	}
	return code
}

// TestAuth0DocsSample runs Auth0's own sample in the same harness as the
// generated code, against the same gateway and event, and pins down where
// it departs from the legacy contract that the generated code keeps.
func TestAuth0DocsSample(t *testing.T) {
	requireNode(t)
	t.Parallel()

	t.Run("verbatim sample does not load", func(t *testing.T) {
		b, err := os.ReadFile(docsSampleFile)
		if err != nil {
			t.Fatal(err)
		}
		_, err = actionrun.Run(context.Background(), string(b), passwordlessEvent())
		if !errors.Is(err, actionrun.ErrInvalidCode) || !strings.Contains(err.Error(), "<favorite_http_client>") {
			t.Fatalf("Run(verbatim sample) error = %v, want ErrInvalidCode naming the placeholder", err)
		}
	})

	sampleSrv := newFakeServer(t, http.StatusOK)
	genSrv := newFakeServer(t, http.StatusOK)
	ev := passwordlessEvent() // notification.from is empty, as it may be
	ev.Secrets = map[string]string{"GATEWAY_URL": sampleSrv.URL}
	res, err := actionrun.Run(context.Background(), docsSample(t), ev)
	if err != nil {
		t.Fatalf("Run(sample): %v", err)
	}
	if diff := cmp.Diff(&actionrun.Result{Outcome: actionrun.Sent, Logs: []string{"200"}}, res); diff != "" {
		t.Errorf("sample result (-want +got):\n%s", diff)
	}
	gw := &Gateway{URL: genSrv.URL, From: "+1 234 567", ForwardRequestInfo: true,
		Auth: &GatewayAuth{Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: "MySecretToSignTheToken"}}
	if r := run(t, generate(t, Spec{Default: Target{Gateway: gw}}), passwordlessEvent()); r.Outcome != actionrun.Sent {
		t.Fatalf("generated Outcome = %s (%s)", r.Outcome, r.Reason)
	}

	sampleReq, genReq := sampleSrv.only(t), genSrv.only(t)
	_, sampleBody := decodeBody(t, sampleReq.Body)
	_, genBody := decodeBody(t, genReq.Body)

	// Same message to the same recipient.
	for _, k := range []string{"recipient", "body"} {
		if sampleBody[k] != genBody[k] {
			t.Errorf("%s: sample %v, generated %v", k, sampleBody[k], genBody[k])
		}
	}
	// Difference 1: the sample sends no JWT; the legacy gateway got one.
	if h := sampleReq.Header.Get("Authorization"); h != "" {
		t.Errorf("sample Authorization = %q, want none", h)
	}
	verifyGatewayJWT(t, genReq.Header, []byte("MySecretToSignTheToken"), "urn:MySmsGateway", "urn:Auth0")
	// Difference 2: the sample forwards the whole Actions request object;
	// the legacy gateway got {ip, "user-agent"}.
	wantSampleReq := map[string]any{"ip": "167.56.227.117", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "method": "POST",
		"hostname": "acme.eu.auth0.com", "language": "en", "geoip": map[string]any{}}
	if diff := cmp.Diff(wantSampleReq, sampleBody["req"]); diff != "" {
		t.Errorf("sample req (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"ip": "167.56.227.117", "user-agent": "Mozilla/5.0 (X11; Linux x86_64)"}, genBody["req"]); diff != "" {
		t.Errorf("generated req (-want +got):\n%s", diff)
	}
	// Difference 3: sender comes from notification.from, empty here, so the
	// sample sends no sender; the legacy gateway got options.from.
	if s, ok := sampleBody["sender"]; ok {
		t.Errorf("sample sender = %v, want absent", s)
	}
	if genBody["sender"] != "+1 234 567" {
		t.Errorf("generated sender = %v, want +1 234 567", genBody["sender"])
	}
	// Difference 4: the sample's own User-Agent.
	if ua := sampleReq.Header.Get("User-Agent"); ua != "Auth0" {
		t.Errorf("sample User-Agent = %q, want Auth0", ua)
	}

	// Difference 5: no error handling. A gateway failure counts as sent.
	sampleSrv.set(http.StatusServiceUnavailable, "")
	res, err = actionrun.Run(context.Background(), docsSample(t), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != actionrun.Sent {
		t.Errorf("sample with a 503 gateway: Outcome = %s, want sent (it never calls retry)", res.Outcome)
	}
	// Difference 6: only otp_verify is delivered; an MFA enrollment is
	// silently skipped.
	before := len(sampleSrv.got())
	enroll := ev
	enroll.Notification.MessageType = "otp_enroll"
	if _, err := actionrun.Run(context.Background(), docsSample(t), enroll); err != nil {
		t.Fatal(err)
	}
	if n := len(sampleSrv.got()) - before; n != 0 {
		t.Errorf("sample sent %d requests for otp_enroll, want 0", n)
	}
}
