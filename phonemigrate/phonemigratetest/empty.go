package phonemigratetest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
)

// The rest of a tenant, as an empty one answers it. A default
// `a0deploy export` reads some 150 endpoints besides the phone ones (rules,
// hooks, roles, prompts, attack protection, email templates, ...) and an
// import writes back what it read; Terraform reads /guardian/policies on
// every plan of auth0_guardian. The fake answers them the way a new tenant
// with nothing configured does (auth0-domain.md §12.4): lists empty, in the
// wrapper the request's paging asks for (see rawList; key names from
// Auth0's API); settings objects with Auth0's defaults, kept when a client
// writes them (PATCH merges, PUT replaces) so that it reads back what it
// wrote; what an empty tenant does not have (email provider, email
// templates, the default theme) 404, which is what deploy-cli expects.

// emptyList is a list endpoint of an empty tenant.
type emptyList struct {
	path string // route below /api/v2
	key  string // the list's key in a wrapper answer
	// actions-style wrapper ({"modules":[],"per_page":N}) instead of the
	// classic one.
	actionsStyle bool
}

var emptyLists = []emptyList{
	{path: "/actions/modules", key: "modules", actionsStyle: true},
	{path: "/connection-profiles", key: "connection_profiles"},
	{path: "/connections-directory-provisionings", key: "directory_provisionings"},
	{path: "/custom-domains", key: "custom_domains"},
	{path: "/event-streams", key: "eventStreams"},
	{path: "/flows", key: "flows"},
	{path: "/flows/vault/connections", key: "connections"},
	{path: "/forms", key: "forms"},
	{path: "/hooks", key: "hooks"},
	{path: "/log-streams", key: "log_streams"},
	{path: "/network-acls", key: "network_acls"},
	{path: "/organizations", key: "organizations"},
	{path: "/prompts/rendering", key: "configs"},
	{path: "/rate-limit-policies", key: "rate_limit_policies"},
	{path: "/roles", key: "roles"},
	{path: "/rules", key: "rules"},
	{path: "/rules-configs", key: "rules_configs"},
	{path: "/self-service-profiles", key: "self_service_profiles"},
	{path: "/token-exchange-profiles", key: "token_exchange_profiles"},
	{path: "/user-attribute-profiles", key: "user_attribute_profiles"},
}

// emptySetting is a settings object of an empty tenant: GET answers what
// was last written, or def; the write methods PATCH (merge) or PUT
// (replace) store it.
type emptySetting struct {
	path   string // route below /api/v2 (may hold {wildcards})
	def    func() any
	writes []string
}

func obj0() any { return map[string]any{} }

var emptySettings = []emptySetting{
	{path: "/attack-protection/bot-detection", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"bot_detection_level": "medium", "challenge_password_policy": "never", "challenge_passwordless_policy": "never",
			"challenge_password_reset_policy": "never", "allowlist": []any{}, "monitoring_mode_enabled": false}
	}},
	{path: "/attack-protection/breached-password-detection", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"enabled": false, "shields": []any{}, "admin_notification_frequency": []any{}, "method": "standard",
			"stage": map[string]any{"pre-user-registration": map[string]any{"shields": []any{}}, "pre-change-password": map[string]any{"shields": []any{}}}}
	}},
	{path: "/attack-protection/brute-force-protection", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"enabled": true, "shields": []any{"block", "user_notification"}, "allowlist": []any{},
			"mode": "count_per_identifier_and_ip", "max_attempts": float64(10)}
	}},
	{path: "/attack-protection/captcha", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"active_provider_id": "auth_challenge", "auth_challenge": map[string]any{"fail_open": false}}
	}},
	{path: "/attack-protection/suspicious-ip-throttling", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"enabled": true, "shields": []any{"admin_notification", "block"}, "allowlist": []any{},
			"stage": map[string]any{"pre-login": map[string]any{"max_attempts": float64(100), "rate": float64(864000)},
				"pre-user-registration": map[string]any{"max_attempts": float64(50), "rate": float64(1200)}}}
	}},
	{path: "/branding", writes: []string{"PATCH"}, def: obj0},
	{path: "/prompts", writes: []string{"PATCH"}, def: func() any {
		return map[string]any{"universal_login_experience": "new", "identifier_first": false, "webauthn_platform_first_factor": false}
	}},
	{path: "/prompts/{prompt}/custom-text/{language}", writes: []string{"PUT"}, def: obj0},
	{path: "/prompts/{prompt}/partials", writes: []string{"PUT"}, def: obj0},
	{path: "/risk-assessments/settings", writes: []string{"PATCH"}, def: func() any { return map[string]any{"enabled": false} }},
	{path: "/risk-assessments/settings/new-device", writes: []string{"PATCH"}, def: func() any { return map[string]any{"remember_for": float64(30)} }},
	{path: "/supplemental-signals", writes: []string{"PATCH"}, def: func() any { return map[string]any{"akamai_enabled": false} }},
	// Nothing configured: {} (recorded for the Guardian Twilio provider).
	{path: "/guardian/factors/push-notification/providers/sns", writes: []string{"PUT", "PATCH"}, def: obj0},
	{path: "/guardian/factors/push-notification/providers/apns", writes: []string{"PUT", "PATCH"}, def: obj0},
	// auth0_guardian (Terraform) reads and writes it on every plan; an
	// empty tenant has no MFA policy.
	{path: "/guardian/policies", writes: []string{"PUT"}, def: func() any { return []any{} }},
	// node-auth0's guardian.factors.phone.get.
	{path: "/guardian/factors/phone/settings", writes: []string{"PUT"}, def: func() any {
		return map[string]any{"otp_length": float64(6), "otp_expiration_time": float64(300)}
	}},
}

// emptyAbsent is what an empty tenant does not have: GET answers 404 (the
// message is the fake's; deploy-cli only looks at the status); a write
// creates it, and GET then answers what was written.
type emptyAbsent struct {
	path, message string
	writes        []string
}

var emptyAbsents = []emptyAbsent{
	{path: "/emails/provider", message: "There is not a configured email provider", writes: []string{"POST", "PATCH"}},
	{path: "/email-templates/{templateName}", message: "Template not found", writes: []string{"PUT", "PATCH"}},
	{path: "/branding/themes/default", message: "There is no default theme", writes: nil},
}

func (s *Server) registerEmptyOn(h func(string, apiFunc)) {
	const p = "/api/v2"
	for _, l := range emptyLists {
		h("GET "+p+l.path, func(r *http.Request) (int, any, *apiErr) {
			if l.actionsStyle {
				_, perPage, e := paging(r, 50)
				if e != nil {
					return 0, nil, e
				}
				return http.StatusOK, listWrapper(l.key, []any{}, 0, 0, perPage), nil
			}
			return rawList(r, l.key, []any{})
		})
	}
	for _, st := range emptySettings {
		h("GET "+p+st.path, func(r *http.Request) (int, any, *apiErr) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if v, ok := s.dirLocked().singletons[r.URL.Path]; ok {
				return http.StatusOK, deepCopyJSON(v), nil
			}
			return http.StatusOK, st.def(), nil
		})
		for _, m := range st.writes {
			h(m+" "+p+st.path, s.writeSetting(st.def, m == "PATCH"))
		}
	}
	for _, a := range emptyAbsents {
		h("GET "+p+a.path, func(r *http.Request) (int, any, *apiErr) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if v, ok := s.dirLocked().singletons[r.URL.Path]; ok {
				return http.StatusOK, deepCopyJSON(v), nil
			}
			return 0, nil, &apiErr{status: http.StatusNotFound, message: a.message}
		})
		for _, m := range a.writes {
			h(m+" "+p+a.path, s.writeSetting(obj0, m == "PATCH"))
		}
	}
}

// writeSetting stores a settings object: merged into the current one (or
// def) when merge, else replaced by the body, which may be an array.
func (s *Server) writeSetting(def func() any, merge bool) apiFunc {
	return func(r *http.Request) (int, any, *apiErr) {
		body, e := readJSON(r)
		if e != nil {
			return 0, nil, e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		d := s.dirLocked()
		cur, ok := d.singletons[r.URL.Path]
		if !ok {
			cur = def()
		}
		if m, isObj := body.(map[string]any); merge && isObj {
			base, _ := cur.(map[string]any)
			if base == nil {
				base = map[string]any{}
			}
			maps.Copy(base, m)
			body = base
		}
		d.singletons[r.URL.Path] = body
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
		}
		return status, deepCopyJSON(body), nil
	}
}

// readJSON decodes a JSON body that is an object or an array (PUT
// /guardian/policies and PATCH /connections/{id}/clients take arrays). An
// empty body is an empty object.
func readJSON(r *http.Request) (any, *apiErr) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, badRequest(msgInvalidJSON)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, badRequest(msgInvalidJSON)
	}
	switch v.(type) {
	case map[string]any, []any:
		return v, nil
	}
	return nil, badRequest(msgInvalidJSON)
}

// deepCopyJSON copies a JSON-like value.
func deepCopyJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// ---- /connections/{id}/clients ----

// getConnectionClientsLocked is GET /connections/{id}/clients: the
// connection's enabled clients, {"clients":[{"client_id"}]} (checkpoint
// paging: take, from; "next" left out on the last page).
func (s *Server) getConnectionClientsLocked(r *http.Request, i int) (int, any, *apiErr) {
	items := []any{}
	for _, id := range s.st.Connections[i].EnabledClients {
		items = append(items, map[string]any{"client_id": id})
	}
	if !r.URL.Query().Has("take") {
		// Always checkpoint-paged (Auth0's only form for this endpoint).
		q := r.URL.Query()
		q.Set("take", "50")
		r.URL.RawQuery = q.Encode()
	}
	return rawList(r, "clients", items)
}

// patchConnectionClients is PATCH /connections/{id}/clients: a list of
// {"client_id","status"} that enables (status true) or disables clients.
func (s *Server) patchConnectionClients(r *http.Request) (int, any, *apiErr) {
	body, e := readJSON(r)
	if e != nil {
		return 0, nil, e
	}
	list, ok := body.([]any)
	if !ok {
		return 0, nil, payloadErr("Expected type array but found type " + jsonType(body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findConnLocked(r.PathValue("id"))
	if i < 0 {
		return 0, nil, connections.notFound()
	}
	c := &s.st.Connections[i]
	for _, x := range list {
		m, _ := x.(map[string]any)
		id, on := str(m["client_id"]), m["status"] == true
		if id == "" {
			return 0, nil, payloadErr("Missing required property: client_id")
		}
		has := slices.Contains(c.EnabledClients, id)
		switch {
		case on && !has:
			c.EnabledClients = append(c.EnabledClients, id)
		case !on && has:
			c.EnabledClients = slices.DeleteFunc(c.EnabledClients, func(x string) bool { return x == id })
		}
	}
	return http.StatusOK, nil, nil
}

// listActionVersionsLocked is GET /actions/actions/{id}/versions (node-auth0's
// actions.versions.list): the Action's deployed version, if any, and the
// one being deployed, newest first, in the Actions list wrapper. The fake
// keeps no older versions.
func (s *Server) listActionVersionsLocked(r *http.Request, i int) (int, any, *apiErr) {
	_, perPage, e := paging(r, 50)
	if e != nil {
		return 0, nil, e
	}
	a := s.st.Actions[i]
	items := []any{}
	if d, ok := s.deploys[a.ID]; ok && d != nil {
		items = append(items, versionJSON(d.version, false))
	}
	if v, ok := s.versions[a.ID]; ok {
		items = append(items, versionJSON(v, true))
	}
	return http.StatusOK, listWrapper("versions", items, len(items), 0, perPage), nil
}
