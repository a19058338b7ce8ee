package phonemigratetest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Applications, APIs and their grants: what a client of the Management API
// reads and writes besides the phone settings (auth0-deploy-cli exports and
// imports them; an "integrations at risk" report reads the grants).
//
//	GET|POST         /clients;          GET|PATCH|DELETE /clients/{id}
//	GET|POST         /resource-servers; GET|PATCH|DELETE /resource-servers/{id}
//	GET|POST         /client-grants;    PATCH|DELETE     /client-grants/{id}
//
// Shapes are the ones go-auth0's recordings show (TestClientGrantManager_*,
// TestClient_*): a grant is {"id":"cgr_…","client_id","audience","scope"};
// a created client carries Auth0's defaults (is_first_party, grant_types,
// jwt_configuration, refresh_token, ...); lists answer a plain array, or
// {"total","start","limit",KEY} with include_totals=true.
//
// Every tenant starts with two applications — the one its connections are
// enabled for ([AppClientID], "ACME Web") and the machine-to-machine
// application the fake's own credentials belong to ([Server.ClientID],
// "phonemigrate") — the system API "Auth0 Management API" (audience
// [Server.ManagementAudience]) and one grant: phonemigrate's, with the
// scopes its token carries (read:guardian_factors and
// update:guardian_factors among them, as a migration needs).
//
// POST /oauth/token accepts the client_id and client_secret of any
// application that has a grant for the Management API audience and issues
// a token of its own, so tests can call the API as another integration
// (and find its calls, by client_id, in the sapi log entries).

// directory holds the tenant's applications, APIs and grants as the raw
// JSON objects Auth0 returns (every key a client wrote is kept), and the
// access tokens /oauth/token issued. Guarded by Server.mu.
type directory struct {
	clients         []map[string]any
	resourceServers []map[string]any
	grants          []map[string]any
	tokens          map[string]tokenGrant // access token -> whom it was issued to
	singletons      map[string]any        // singleton settings objects by path (empty.go)
}

type tokenGrant struct {
	clientID string
	scope    string
}

// mgmtScope is what the fake's own token may do (and the scope of the
// seeded grant of its client).
const mgmtScope = "read:connections update:connections read:connections_options update:connections_options read:tenant_settings update:tenant_settings read:guardian_factors update:guardian_factors read:phone_providers create:phone_providers update:phone_providers delete:phone_providers read:phone_templates create:phone_templates update:phone_templates delete:phone_templates read:actions create:actions update:actions delete:actions read:logs"

// mgmtClientName is the name of the fake's own application.
const mgmtClientName = "phonemigrate"

// ManagementAudience is the audience of the tenant's Management API
// ("https://acme-legacy.us.auth0.com/api/v2/"), which client grants and
// /oauth/token name.
func (s *Server) ManagementAudience() string {
	return "https://" + TenantName + ".us.auth0.com/api/v2/"
}

// dirLocked returns the directory, seeding it on first use; callers hold
// s.mu.
func (s *Server) dirLocked() *directory {
	if s.dir != nil {
		return s.dir
	}
	d := &directory{tokens: map[string]tokenGrant{}, singletons: map[string]any{}}
	d.clients = []map[string]any{
		newClientJSON(map[string]any{"name": appName, "client_id": AppClientID, "app_type": "regular_web",
			"callbacks": []any{"https://acme.example/callback"}, "client_secret": "fake-app-secret-" + randomHex(16)}),
		newClientJSON(map[string]any{"name": mgmtClientName, "client_id": s.ClientID, "app_type": "non_interactive",
			"client_secret": s.ClientSecret, "grant_types": []any{"client_credentials"}}),
	}
	d.resourceServers = []map[string]any{{
		"id": "5f1c2d3e4a5b6c7d8e9f0a1b", "name": "Auth0 Management API", "identifier": s.ManagementAudience(),
		"is_system": true, "allow_offline_access": false, "skip_consent_for_verifiable_first_party_clients": false,
		"token_lifetime": 86400, "token_lifetime_for_web": 7200, "signing_alg": "RS256",
		"scopes": scopeObjects(mgmtScope),
	}}
	d.grants = []map[string]any{{
		"id": "cgr_" + "Fk0PhoneMigrate1", "client_id": s.ClientID, "audience": s.ManagementAudience(),
		"scope": stringsToAny(strings.Fields(mgmtScope)),
	}}
	s.dir = d
	return d
}

func scopeObjects(scope string) []any {
	out := []any{}
	for _, sc := range strings.Fields(scope) {
		out = append(out, map[string]any{"value": sc, "description": sc})
	}
	return out
}

func stringsToAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// newClientJSON is a client as Auth0 creates it (defaults from go-auth0's
// recorded POST /clients), with body's keys on top.
func newClientJSON(body map[string]any) map[string]any {
	c := map[string]any{
		"is_first_party":                      true,
		"is_token_endpoint_ip_header_trusted": false,
		"oidc_conformant":                     false,
		"jwt_configuration":                   map[string]any{"secret_encoded": false, "lifetime_in_seconds": float64(36000)},
		"sso_disabled":                        false,
		"cross_origin_auth":                   false,
		"grant_types":                         []any{"authorization_code", "implicit", "refresh_token", "client_credentials"},
		"custom_login_page_on":                true,
		"refresh_token": map[string]any{"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": float64(0),
			"token_lifetime": float64(2592000), "infinite_token_lifetime": true, "infinite_idle_token_lifetime": true, "idle_token_lifetime": float64(1296000)},
	}
	maps.Copy(c, deepCopyMap(body))
	return c
}

// Clients returns the tenant's applications as GET /api/v2/clients answers
// them (client_secret included).
func (s *Server) Clients() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.dirLocked().clients)
}

// ClientGrants returns the tenant's client grants as GET
// /api/v2/client-grants answers them.
func (s *Server) ClientGrants() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.dirLocked().grants)
}

// ResourceServers returns the tenant's APIs as GET /api/v2/resource-servers
// answers them.
func (s *Server) ResourceServers() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.dirLocked().resourceServers)
}

func cloneAll(ms []map[string]any) []map[string]any {
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		out[i] = deepCopyMap(m)
	}
	return out
}

// rawList answers a classic Auth0 list (clients, grants, APIs, roles,
// rules, ...): a plain array; page/per_page a page of it; include_totals
// {"total","start","limit",key}; from/take {key,"next"} (next left out on
// the last page).
func rawList(r *http.Request, key string, items []any) (int, any, *apiErr) {
	q := r.URL.Query()
	if q.Has("from") || q.Has("take") {
		take := 50
		if q.Has("take") {
			n, err := strconv.Atoi(q.Get("take"))
			if err != nil || n < 1 || n > 100 {
				return 0, nil, badRequest("Query validation error: 'Invalid value for take' on property take")
			}
			take = n
		}
		start := 0
		if f := q.Get("from"); f != "" {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 {
				return 0, nil, badRequest("Query validation error: 'Invalid value for from' on property from")
			}
			start = min(n, len(items))
		}
		end := min(start+take, len(items))
		out := map[string]any{key: items[start:end]}
		if end < len(items) {
			out["next"] = strconv.Itoa(end)
		}
		return http.StatusOK, out, nil
	}
	page, perPage, e := paging(r, 50)
	if e != nil {
		return 0, nil, e
	}
	if !q.Has("page") && !q.Has("per_page") && q.Get("include_totals") != "true" {
		return http.StatusOK, items, nil
	}
	start, end := window(len(items), page, perPage)
	if q.Get("include_totals") == "true" {
		return http.StatusOK, map[string]any{"total": len(items), "start": start, "limit": perPage, key: items[start:end]}, nil
	}
	return http.StatusOK, items[start:end], nil
}

// project keeps fields (comma-separated) of m, or drops them when
// include_fields=false, as Auth0's fields parameter does.
func projectFields(r *http.Request, m map[string]any) map[string]any {
	q := r.URL.Query()
	if q.Get("fields") == "" {
		return m
	}
	return project(m, q.Get("fields"), q.Get("include_fields") != "false")
}

// ---- clients ----

func (s *Server) findClientLocked(id string) int {
	return slices.IndexFunc(s.dirLocked().clients, func(c map[string]any) bool { return c["client_id"] == id })
}

var clientsColl = collection{(*Server).findClientLocked, func() *apiErr {
	return &apiErr{status: http.StatusNotFound, message: "The client does not exist", code: "inexistent_client"}
}}

func (s *Server) listClients(r *http.Request) (int, any, *apiErr) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	items := []any{}
	for _, c := range s.dirLocked().clients {
		if at := q.Get("app_type"); at != "" && !slices.Contains(strings.Split(at, ","), str(c["app_type"])) {
			continue
		}
		if fp := q.Get("is_first_party"); fp != "" && strconv.FormatBool(c["is_first_party"] == true) != fp {
			continue
		}
		items = append(items, projectFields(r, deepCopyMap(c)))
	}
	return rawList(r, "clients", items)
}

func str(v any) string { s, _ := v.(string); return s }

func (s *Server) createClient(r *http.Request, body map[string]any) (int, any, *apiErr) {
	if str(body["name"]) == "" {
		return 0, nil, payloadErr("Missing required property: name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirLocked()
	body = deepCopyMap(body)
	s.seq++
	body["client_id"] = "fkCl" + strconv.Itoa(s.seq) + randomHex(12)
	body["client_secret"] = "fake-client-secret-" + randomHex(16)
	c := newClientJSON(body)
	d.clients = append(d.clients, c)
	return http.StatusCreated, deepCopyMap(c), nil
}

func (s *Server) getClientLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, projectFields(r, deepCopyMap(s.dir.clients[i])), nil
}

func (s *Server) patchClientLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	for _, k := range []string{"client_id", "tenant"} {
		if _, ok := body[k]; ok {
			return 0, nil, payloadErr("Additional properties not allowed: " + k)
		}
	}
	maps.Copy(s.dir.clients[i], deepCopyMap(body))
	return http.StatusOK, deepCopyMap(s.dir.clients[i]), nil
}

func (s *Server) deleteClientLocked(r *http.Request, i int) (int, any, *apiErr) {
	id := str(s.dir.clients[i]["client_id"])
	s.dir.clients = slices.Delete(s.dir.clients, i, i+1)
	// Auth0 removes the client's grants with it.
	s.dir.grants = slices.DeleteFunc(s.dir.grants, func(g map[string]any) bool { return g["client_id"] == id })
	return http.StatusNoContent, nil, nil
}

// ---- resource servers ----

func (s *Server) findResourceServerLocked(id string) int {
	return slices.IndexFunc(s.dirLocked().resourceServers, func(rs map[string]any) bool { return rs["id"] == id || rs["identifier"] == id })
}

var resourceServersColl = collection{(*Server).findResourceServerLocked, func() *apiErr {
	return &apiErr{status: http.StatusNotFound, message: "The resource server does not exist", code: "inexistent_resource_server"}
}}

func (s *Server) listResourceServers(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := []any{}
	for _, rs := range s.dirLocked().resourceServers {
		items = append(items, projectFields(r, deepCopyMap(rs)))
	}
	return rawList(r, "resource_servers", items)
}

func (s *Server) createResourceServer(r *http.Request, body map[string]any) (int, any, *apiErr) {
	ident := str(body["identifier"])
	if ident == "" {
		return 0, nil, payloadErr("Missing required property: identifier")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirLocked()
	if slices.ContainsFunc(d.resourceServers, func(rs map[string]any) bool { return rs["identifier"] == ident }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "A resource server with the same identifier already exists", code: "resource_server_conflict"}
	}
	rs := map[string]any{"allow_offline_access": false, "skip_consent_for_verifiable_first_party_clients": false,
		"token_lifetime": float64(86400), "token_lifetime_for_web": float64(7200), "signing_alg": "RS256"}
	maps.Copy(rs, deepCopyMap(body))
	s.seq++
	rs["id"] = fmt.Sprintf("63d16a2e5299c7ac%08x", s.seq)
	if _, ok := rs["name"]; !ok {
		rs["name"] = ident
	}
	d.resourceServers = append(d.resourceServers, rs)
	return http.StatusCreated, deepCopyMap(rs), nil
}

func (s *Server) getResourceServerLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, projectFields(r, deepCopyMap(s.dir.resourceServers[i])), nil
}

func (s *Server) patchResourceServerLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	rs := s.dir.resourceServers[i]
	if rs["is_system"] == true {
		return 0, nil, &apiErr{status: http.StatusForbidden, message: "You cannot modify a system resource server", code: "operation_not_supported"}
	}
	if _, ok := body["identifier"]; ok {
		return 0, nil, payloadErr("Additional properties not allowed: identifier")
	}
	maps.Copy(rs, deepCopyMap(body))
	return http.StatusOK, deepCopyMap(rs), nil
}

func (s *Server) deleteResourceServerLocked(r *http.Request, i int) (int, any, *apiErr) {
	rs := s.dir.resourceServers[i]
	if rs["is_system"] == true {
		return 0, nil, &apiErr{status: http.StatusForbidden, message: "You cannot delete a system resource server", code: "operation_not_supported"}
	}
	s.dir.resourceServers = slices.Delete(s.dir.resourceServers, i, i+1)
	s.dir.grants = slices.DeleteFunc(s.dir.grants, func(g map[string]any) bool { return g["audience"] == rs["identifier"] })
	return http.StatusNoContent, nil, nil
}

// ---- client grants ----

func (s *Server) findGrantLocked(id string) int {
	return slices.IndexFunc(s.dirLocked().grants, func(g map[string]any) bool { return g["id"] == id })
}

var grantsColl = collection{(*Server).findGrantLocked, func() *apiErr {
	return &apiErr{status: http.StatusNotFound, message: "The client grant does not exist", code: "inexistent_client_grant"}
}}

func (s *Server) listClientGrants(r *http.Request) (int, any, *apiErr) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	items := []any{}
	for _, g := range s.dirLocked().grants {
		if a := q.Get("audience"); a != "" && g["audience"] != a {
			continue
		}
		if c := q.Get("client_id"); c != "" && g["client_id"] != c {
			continue
		}
		items = append(items, deepCopyMap(g))
	}
	return rawList(r, "client_grants", items)
}

// validScope checks that scope is a list of strings.
func validScope(v any) *apiErr {
	xs, ok := v.([]any)
	if !ok {
		return payloadErr("Expected type array but found type " + jsonType(v)).withProp("scope")
	}
	for _, x := range xs {
		if _, ok := x.(string); !ok {
			return payloadErr("Expected type string but found type " + jsonType(x)).withProp("scope")
		}
	}
	return nil
}

func (s *Server) createClientGrant(r *http.Request, body map[string]any) (int, any, *apiErr) {
	clientID, audience := str(body["client_id"]), str(body["audience"])
	switch {
	case clientID == "":
		return 0, nil, payloadErr("Missing required property: client_id")
	case audience == "":
		return 0, nil, payloadErr("Missing required property: audience")
	}
	if _, ok := body["scope"]; !ok {
		body["scope"] = []any{} // go-auth0 v3 leaves an empty scope out
	}
	if e := validScope(body["scope"]); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirLocked()
	if s.findClientLocked(clientID) < 0 {
		return 0, nil, &apiErr{status: http.StatusNotFound, message: "No client with id " + clientID + " found", code: "inexistent_client"}
	}
	if !slices.ContainsFunc(d.resourceServers, func(rs map[string]any) bool { return rs["identifier"] == audience }) {
		return 0, nil, &apiErr{status: http.StatusNotFound, message: "No resource server with identifier " + audience, code: "inexistent_resource_server"}
	}
	if slices.ContainsFunc(d.grants, func(g map[string]any) bool { return g["client_id"] == clientID && g["audience"] == audience }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "A client grant for this client and audience already exists", code: "client_grant_conflict"}
	}
	g := deepCopyMap(body)
	s.seq++
	g["id"] = "cgr_" + strconv.Itoa(s.seq) + randomHex(6)
	d.grants = append(d.grants, g)
	return http.StatusCreated, deepCopyMap(g), nil
}

func (s *Server) getClientGrantLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, deepCopyMap(s.dir.grants[i]), nil
}

func (s *Server) patchClientGrantLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	for _, k := range []string{"client_id", "audience", "id"} {
		if _, ok := body[k]; ok {
			return 0, nil, payloadErr("Additional properties not allowed: " + k)
		}
	}
	if v, ok := body["scope"]; ok {
		if e := validScope(v); e != nil {
			return 0, nil, e
		}
	}
	maps.Copy(s.dir.grants[i], deepCopyMap(body))
	return http.StatusOK, deepCopyMap(s.dir.grants[i]), nil
}

func (s *Server) deleteClientGrantLocked(r *http.Request, i int) (int, any, *apiErr) {
	s.dir.grants = slices.Delete(s.dir.grants, i, i+1)
	return http.StatusNoContent, nil, nil
}

// ---- tokens ----

// issueClientToken issues an access token for the application with this
// id and secret when it has a grant for the Management API; ok is false
// otherwise.
func (s *Server) issueClientToken(clientID, secret string) (token, scope string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirLocked()
	i := s.findClientLocked(clientID)
	if i < 0 || secret == "" || d.clients[i]["client_secret"] != secret {
		return "", "", false
	}
	gi := slices.IndexFunc(d.grants, func(g map[string]any) bool {
		return g["client_id"] == clientID && g["audience"] == s.ManagementAudience()
	})
	if gi < 0 {
		return "", "", false
	}
	var scopes []string
	if xs, ok := d.grants[gi]["scope"].([]any); ok {
		for _, x := range xs {
			scopes = append(scopes, str(x))
		}
	}
	token = mgmtToken(clientID, strings.Join(scopes, " "))
	d.tokens[token] = tokenGrant{clientID: clientID, scope: strings.Join(scopes, " ")}
	return token, strings.Join(scopes, " "), true
}

// caller returns the client id the request's bearer token was issued to;
// ok is false when the token is missing or unknown.
func (s *Server) caller(r *http.Request) (clientID string, ok bool) {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || tok == "" {
		return "", false
	}
	if tok == s.Token {
		return s.ClientID, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == nil {
		return "", false
	}
	g, ok := s.dir.tokens[tok]
	return g.clientID, ok
}
