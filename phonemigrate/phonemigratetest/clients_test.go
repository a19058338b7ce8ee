package phonemigratetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/auth0/go-auth0/v3/management"
	"github.com/auth0/go-auth0/v3/management/client"
	"github.com/auth0/go-auth0/v3/management/core"
	"github.com/auth0/go-auth0/v3/management/option"
	"github.com/google/go-cmp/cmp"
)

// v3 returns a go-auth0 v3 client for srv, authenticated with token.
func v3(srv *Server, token string) *client.Management {
	return client.NewWithOptions(option.WithBaseURL(srv.BaseURL), option.WithToken(token), option.WithHTTPClient(srv.Client()))
}

// grantsOf lists every client grant through go-auth0 v3's pager
// (checkpoint paging, take=take).
func grantsOf(t *testing.T, m *client.Management, req *management.ListClientGrantsRequestParameters) []string {
	t.Helper()
	if req == nil {
		req = &management.ListClientGrantsRequestParameters{} // go-auth0 v3 panics on nil
	}
	page, err := m.ClientGrants.List(t.Context(), req)
	if err != nil {
		t.Fatalf("list client grants: %v", err)
	}
	var out []string
	it := page.Iterator()
	for it.Next(t.Context()) {
		g := it.Current()
		out = append(out, g.GetClientID()+" "+g.GetAudience()+" "+strings.Join(g.GetScope(), ","))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClientGrantsThroughGoAuth0 creates, reads, pages, updates and deletes
// client grants with go-auth0 v3, as an "integrations at risk" report or a
// deploy-cli import does, and checks the tenant's seeded grant.
func TestClientGrantsThroughGoAuth0(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	m := v3(srv, srv.Token)
	ctx := t.Context()
	aud := srv.ManagementAudience()

	// Seeded: the fake's own application may manage Guardian factors.
	seeded := grantsOf(t, m, nil)
	if len(seeded) != 1 || !strings.HasPrefix(seeded[0], srv.ClientID+" "+aud+" ") || !strings.Contains(seeded[0], "update:guardian_factors") {
		t.Fatalf("seeded grants = %q", seeded)
	}

	// A service that still calls the legacy Guardian endpoints.
	svc, err := m.Clients.Create(ctx, &management.CreateClientRequestContent{Name: "sms-admin", AppType: management.ClientAppTypeEnumNonInteractive.Ptr()})
	if err != nil {
		t.Fatal(err)
	}
	api, err := m.ResourceServers.Create(ctx, &management.CreateResourceServerRequestContent{Identifier: "https://orders.example/", Name: management.String("Orders")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.ClientGrants.Create(ctx, &management.CreateClientGrantRequestContent{ClientID: svc.ClientID, Audience: aud,
		Scope: []string{"read:guardian_factors", "update:guardian_factors"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.GetID(), "cgr_") {
		t.Errorf("grant id %q, want cgr_…", g.GetID())
	}
	if _, err := m.ClientGrants.Create(ctx, &management.CreateClientGrantRequestContent{ClientID: svc.ClientID, Audience: api.GetIdentifier(), Scope: []string{}}); err != nil {
		t.Fatal(err)
	}

	// Paging through go-auth0's pager (one grant a page) sees all three.
	one := 1
	if got := grantsOf(t, m, &management.ListClientGrantsRequestParameters{Take: &one}); len(got) != 3 {
		t.Errorf("paged grants = %q, want 3", got)
	}
	want := []string{svc.GetClientID() + " " + aud + " read:guardian_factors,update:guardian_factors"}
	if diff := cmp.Diff(want, grantsOf(t, m, &management.ListClientGrantsRequestParameters{ClientID: svc.ClientID, Audience: &aud})); diff != "" {
		t.Errorf("filtered grants (-want +got):\n%s", diff)
	}

	// Update, then read back.
	if _, err := m.ClientGrants.Update(ctx, g.GetID(), &management.UpdateClientGrantRequestContent{Scope: []string{"read:guardian_factors"}}); err != nil {
		t.Fatal(err)
	}
	got, err := m.ClientGrants.Get(ctx, g.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"read:guardian_factors"}, got.GetScope()); diff != "" {
		t.Errorf("scope after update (-want +got):\n%s", diff)
	}

	// Errors: a second grant for the same pair, an unknown client.
	_, err = m.ClientGrants.Create(ctx, &management.CreateClientGrantRequestContent{ClientID: svc.ClientID, Audience: aud, Scope: []string{}})
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 {
		t.Errorf("duplicate grant: %v, want 409", err)
	}
	_, err = m.ClientGrants.Create(ctx, &management.CreateClientGrantRequestContent{ClientID: management.String("nope"), Audience: aud, Scope: []string{}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("grant for an unknown client: %v, want 404", err)
	}

	// Delete the grant; deleting the client removes its other grant.
	if err := m.ClientGrants.Delete(ctx, g.GetID()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ClientGrants.Get(ctx, g.GetID()); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("deleted grant: %v, want 404", err)
	}
	if err := m.Clients.Delete(ctx, svc.GetClientID()); err != nil {
		t.Fatal(err)
	}
	if got := grantsOf(t, m, nil); len(got) != 1 {
		t.Errorf("grants after deleting the client = %q, want the seeded one", got)
	}
}

// TestClientCredentialsOfAnotherApplication checks that an application
// with a Management API grant gets a token of its own, that its writes
// are logged as sapi entries under its client_id, and that one without a
// grant gets none.
func TestClientCredentialsOfAnotherApplication(t *testing.T) {
	t.Parallel()
	srv := newServer(t, MFATwilio)
	created := obj(t, wantStatus(t, srv, "POST", "/api/v2/clients", map[string]any{"name": "sms-admin", "app_type": "non_interactive"}, 201))
	id, secret := created["client_id"].(string), created["client_secret"].(string)
	token := func() (int, map[string]any) {
		status, v := call(t, srv, "POST", "/oauth/token", map[string]any{"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": srv.ManagementAudience()})
		m, _ := v.(map[string]any)
		return status, m
	}
	if status, _ := token(); status != 401 {
		t.Fatalf("token without a grant: %d, want 401", status)
	}
	wantStatus(t, srv, "POST", "/api/v2/client-grants", map[string]any{"client_id": id, "audience": srv.ManagementAudience(), "scope": []any{"update:guardian_factors"}}, 201)
	status, tok := token()
	if status != 200 || tok["scope"] != "update:guardian_factors" {
		t.Fatalf("token: %d %v", status, tok)
	}
	access := tok["access_token"].(string)

	srv.ResetRequests()
	before := len(srv.Logs())
	if st, _ := callTok(t, srv, "GET", "/api/v2/guardian/factors/sms/providers/twilio", nil, access); st != 200 {
		t.Fatalf("read with the service's token: %d", st)
	}
	body := map[string]any{"sid": TwilioSID, "from": TwilioFrom, "auth_token": "svc-rotated-token-1234"}
	if st, _ := callTok(t, srv, "PUT", "/api/v2/guardian/factors/sms/providers/twilio", body, access); st != 200 {
		t.Fatalf("write with the service's token: %d", st)
	}
	// A refused write is not a sapi entry.
	if st, _ := callTok(t, srv, "PUT", "/api/v2/guardian/factors/phone/message-types", map[string]any{"message_types": "x"}, access); st/100 == 2 {
		t.Fatalf("bad write accepted: %d", st)
	}
	logs := srv.Logs()[before:]
	var sapi []LogEvent
	for _, e := range logs {
		if e["type"] == LogAPISuccess {
			sapi = append(sapi, e)
		}
	}
	if len(sapi) != 1 {
		t.Fatalf("sapi entries = %d, want 1 (reads and refused writes are not logged): %v", len(sapi), logs)
	}
	e := sapi[0]
	req := e["details"].(map[string]any)["request"].(map[string]any)
	if e["client_id"] != id || req["method"] != "put" || req["path"] != "/api/v2/guardian/factors/sms/providers/twilio" || e["description"] != "Update Twilio configuration" {
		t.Errorf("sapi entry = %v", e)
	}
	reqBody := req["body"].(map[string]any)
	if reqBody["auth_token"] != "*****" || reqBody["sid"] != TwilioSID {
		t.Errorf("logged body %v: want the token masked, the sid kept", reqBody)
	}
	if resp := e["details"].(map[string]any)["response"].(map[string]any); resp["statusCode"] != 200 {
		t.Errorf("logged response %v", resp)
	}
	// The q filter finds it.
	_, v := call(t, srv, "GET", `/api/v2/logs?q=type:"sapi"`, nil)
	if !slices.ContainsFunc(v.([]any), func(x any) bool { return x.(map[string]any)["client_id"] == id }) {
		t.Errorf("q=type:sapi does not list the service's call: %v", v)
	}
}
