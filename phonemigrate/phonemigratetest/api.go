package phonemigratetest

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Auth0 error messages the fake answers with (verbatim where Auth0's is
// known; see ../../shared/reference/auth0-domain.md).
const (
	msgDeprecatedFeature  = "Insufficient privileges to use this deprecated feature. To handle Phone Provider/Templates refer to Tenant Phone Settings"
	msgMessageTypeNotSupp = "Message Type is not supported by the configured phone provider"
	msgPhoneFactorMissing = "The phone factor does not exist."
	msgProviderConflict   = "Custom phone provider conflict."
	msgBadNotification    = "Bad Operation on Notification Resource"
	msgMissingCredentials = "Payload validation error: 'Missing required property: credentials'"
	msgProviderNotConfig  = "Phone provider has not been configured."
	msgTemplateConflict   = "Phone template already configured for tenant"
	msgInvalidJSON        = "Invalid request payload JSON format"
	msgConnectionNotFound = "The connection does not exist"
	msgDraftNotBuilt      = "A draft must be in the 'built' state before it can be deployed."
	msgCardinalityPhone   = "custom-phone-provider can only have one supported Action"
	codeCardinalityPhone  = "actions_cardinality_custom_phone_provider_not_allowed"
)

// apiErr is an error answer computed under the lock and written after it.
type apiErr struct {
	status  int
	message string
	code    string
}

func (e *apiErr) write(w http.ResponseWriter) { writeError(w, e.status, e.message, e.code) }

func badRequest(msg string) *apiErr { return &apiErr{status: http.StatusBadRequest, message: msg} }

func payloadErr(format string) *apiErr {
	return badRequest("Payload validation error: '" + format + "'")
}

// readBody decodes a JSON object body. An empty body is an empty object.
func readBody(r *http.Request) (map[string]any, *apiErr) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, badRequest(msgInvalidJSON)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, badRequest(msgInvalidJSON)
	}
	return m, nil
}

// apiFunc computes a Management API answer: a status and a JSON body (nil
// for none), or an Auth0-shaped error. [Server.handle] writes it.
type apiFunc func(r *http.Request) (int, any, *apiErr)

// withBody returns an apiFunc that decodes the request's JSON object body
// (see readBody) before f runs, and answers 400 when it is not one. The
// body is read before any lock is taken: a slow client never holds s.mu.
func withBody(f func(r *http.Request, body map[string]any) (int, any, *apiErr)) apiFunc {
	return func(r *http.Request) (int, any, *apiErr) {
		body, e := readBody(r)
		if e != nil {
			return 0, nil, e
		}
		return f(r, body)
	}
}

// collection is a kind of resource the {id} path value addresses.
type collection struct {
	// find returns the index of the element with this id, or -1; the
	// caller holds s.mu.
	find     func(s *Server, id string) int
	notFound func() *apiErr
}

var (
	connections = collection{(*Server).findConnLocked, func() *apiErr {
		return &apiErr{status: http.StatusNotFound, message: msgConnectionNotFound, code: "inexistent_connection"}
	}}
	providers = collection{(*Server).findProviderLocked, func() *apiErr {
		return &apiErr{status: http.StatusNotFound, message: msgProviderNotConfig}
	}}
	templates = collection{(*Server).findTemplateLocked, func() *apiErr {
		return &apiErr{status: http.StatusNotFound, message: "Phone template not found"}
	}}
	actions = collection{(*Server).findActionLocked, func() *apiErr {
		return &apiErr{status: http.StatusNotFound, message: "That action does not exist."}
	}}
)

// item returns an apiFunc for one element of c: with s.mu held it finds
// the element the {id} path value names, answers c's 404 when there is
// none, and otherwise runs f with its index (s.mu still held).
func (s *Server) item(c collection, f func(r *http.Request, i int) (int, any, *apiErr)) apiFunc {
	return func(r *http.Request) (int, any, *apiErr) {
		s.mu.Lock()
		defer s.mu.Unlock()
		i := c.find(s, r.PathValue("id"))
		if i < 0 {
			return 0, nil, c.notFound()
		}
		return f(r, i)
	}
}

// itemWithBody is item for requests with a JSON body: the body is decoded
// first (a bad body is 400 even for an unknown id, as before), then the
// element is looked up under s.mu.
func (s *Server) itemWithBody(c collection, f func(r *http.Request, i int, body map[string]any) (int, any, *apiErr)) apiFunc {
	return withBody(func(r *http.Request, body map[string]any) (int, any, *apiErr) {
		return s.item(c, func(r *http.Request, i int) (int, any, *apiErr) { return f(r, i, body) })(r)
	})
}

// jsonList maps xs to a JSON array that is never null.
func jsonList[T any](xs []T, f func(T) any) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// listByDisabled maps items to JSON, keeping only those whose disabled flag
// matches the ?disabled= query when the request has one (the list
// endpoints of providers and templates).
func listByDisabled[T any](r *http.Request, items []T, disabled func(T) bool, toJSON func(T) map[string]any) []any {
	q := r.URL.Query()
	out := []any{}
	for _, x := range items {
		if q.Has("disabled") && strconv.FormatBool(disabled(x)) != q.Get("disabled") {
			continue
		}
		out = append(out, toJSON(x))
	}
	return out
}

// handle adapts an apiFunc to net/http: it writes the error, the status
// alone, or the status with the JSON body.
func (s *Server) handle(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, e := f(r)
		if e != nil {
			e.write(w)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

// router is what registerAPI registers routes on (an *http.ServeMux).
type router interface {
	Handle(pattern string, h http.Handler)
}

func (s *Server) registerAPI(mux *http.ServeMux) { s.registerAPIOn(mux) }

func (s *Server) registerAPIOn(mux router) {
	h := func(pattern string, f apiFunc) {
		mux.Handle(pattern, s.handle(f))
	}
	const p = "/api/v2"
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found", "")
	}))

	h("GET "+p+"/tenants/settings", s.getTenantSettings)
	h("PATCH "+p+"/tenants/settings", withBody(s.patchTenantSettings))

	h("GET "+p+"/connections", s.listConnections)
	h("POST "+p+"/connections", withBody(s.createConnection))
	h("GET "+p+"/connections/{id}", s.item(connections, s.getConnectionLocked))
	h("PATCH "+p+"/connections/{id}", s.itemWithBody(connections, s.patchConnectionLocked))
	h("DELETE "+p+"/connections/{id}", s.deleteConnection)

	h("GET "+p+"/guardian/factors", s.listFactors)
	h("PUT "+p+"/guardian/factors/{name}", withBody(s.putFactor))
	h("GET "+p+"/guardian/factors/phone/message-types", s.getMessageTypes)
	h("PUT "+p+"/guardian/factors/phone/message-types", withBody(s.putMessageTypes))
	for _, f := range []string{"phone", "sms"} {
		h("GET "+p+"/guardian/factors/"+f+"/selected-provider", s.legacy(s.getSelectedProvider))
		h("PUT "+p+"/guardian/factors/"+f+"/selected-provider", s.legacy(withBody(s.putSelectedProvider)))
		h("GET "+p+"/guardian/factors/"+f+"/providers/twilio", s.legacy(s.getGuardianTwilio))
		h("PUT "+p+"/guardian/factors/"+f+"/providers/twilio", s.legacy(withBody(s.putGuardianTwilio)))
		h("GET "+p+"/guardian/factors/"+f+"/templates", s.legacy(s.getGuardianTemplates))
		h("PUT "+p+"/guardian/factors/"+f+"/templates", s.legacy(withBody(s.putGuardianTemplates)))
	}

	h("GET "+p+"/branding/phone/providers", s.listProviders)
	h("POST "+p+"/branding/phone/providers", withBody(s.createProvider))
	h("GET "+p+"/branding/phone/providers/{id}", s.item(providers, s.getProviderLocked))
	h("PATCH "+p+"/branding/phone/providers/{id}", s.itemWithBody(providers, s.patchProviderLocked))
	h("DELETE "+p+"/branding/phone/providers/{id}", s.item(providers, s.deleteProviderLocked))
	h("POST "+p+"/branding/phone/providers/{id}/try", withBody(s.tryProvider))

	h("GET "+p+"/branding/phone/templates", s.listTemplates)
	h("POST "+p+"/branding/phone/templates", withBody(s.createTemplate))
	h("GET "+p+"/branding/phone/templates/{id}", s.item(templates, s.getTemplateLocked))
	h("PATCH "+p+"/branding/phone/templates/{id}", s.itemWithBody(templates, s.patchTemplateLocked))
	h("DELETE "+p+"/branding/phone/templates/{id}", s.item(templates, s.deleteTemplateLocked))
	h("PATCH "+p+"/branding/phone/templates/{id}/reset", s.item(templates, s.resetTemplateLocked))
	h("POST "+p+"/branding/phone/templates/{id}/try", withBody(s.tryTemplate))

	h("GET "+p+"/actions/actions", s.listActions)
	h("POST "+p+"/actions/actions", withBody(s.createAction))
	h("GET "+p+"/actions/actions/{id}", s.item(actions, s.getActionLocked))
	h("PATCH "+p+"/actions/actions/{id}", s.itemWithBody(actions, s.patchActionLocked))
	h("DELETE "+p+"/actions/actions/{id}", s.item(actions, s.deleteActionLocked))
	h("POST "+p+"/actions/actions/{id}/deploy", s.item(actions, s.deployActionLocked))
	h("GET "+p+"/actions/triggers", s.listTriggers)
	h("GET "+p+"/actions/triggers/{triggerId}/bindings", s.listBindings)
	h("PATCH "+p+"/actions/triggers/{triggerId}/bindings", s.patchBindings)

	h("GET "+p+"/logs", s.listLogs)
	h("GET "+p+"/logs/{id}", s.getLog)

	h("GET "+p+"/clients", s.listClients)
	h("POST "+p+"/clients", withBody(s.createClient))
	h("GET "+p+"/clients/{id}", s.item(clientsColl, s.getClientLocked))
	h("PATCH "+p+"/clients/{id}", s.itemWithBody(clientsColl, s.patchClientLocked))
	h("DELETE "+p+"/clients/{id}", s.item(clientsColl, s.deleteClientLocked))
	h("GET "+p+"/resource-servers", s.listResourceServers)
	h("POST "+p+"/resource-servers", withBody(s.createResourceServer))
	h("GET "+p+"/resource-servers/{id}", s.item(resourceServersColl, s.getResourceServerLocked))
	h("PATCH "+p+"/resource-servers/{id}", s.itemWithBody(resourceServersColl, s.patchResourceServerLocked))
	h("DELETE "+p+"/resource-servers/{id}", s.item(resourceServersColl, s.deleteResourceServerLocked))
	h("GET "+p+"/client-grants", s.listClientGrants)
	h("POST "+p+"/client-grants", withBody(s.createClientGrant))
	h("GET "+p+"/client-grants/{id}", s.item(grantsColl, s.getClientGrantLocked))
	h("PATCH "+p+"/client-grants/{id}", s.itemWithBody(grantsColl, s.patchClientGrantLocked))
	h("DELETE "+p+"/client-grants/{id}", s.item(grantsColl, s.deleteClientGrantLocked))

	h("GET "+p+"/connections/{id}/clients", s.item(connections, s.getConnectionClientsLocked))
	h("PATCH "+p+"/connections/{id}/clients", s.patchConnectionClients)
	h("GET "+p+"/actions/actions/{id}/versions", s.item(actions, s.listActionVersionsLocked))
	s.registerEmptyOn(h)
}

// ---- tenant settings ----

func (s *Server) upeLocked() bool {
	v, _ := s.st.TenantSettings["phone_consolidated_experience"].(bool)
	return v
}

func (s *Server) getTenantSettings(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, deepCopyMap(s.st.TenantSettings), nil
}

func (s *Server) patchTenantSettings(r *http.Request, body map[string]any) (int, any, *apiErr) {
	if len(body) == 0 {
		return 0, nil, payloadErr("Too few properties defined (0), minimum 1")
	}
	if v, ok := body["phone_consolidated_experience"]; ok {
		if _, isBool := v.(bool); !isBool {
			return 0, nil, payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("phone_consolidated_experience")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range body {
		if k == "flags" {
			if nf, ok := v.(map[string]any); ok {
				old, _ := s.st.TenantSettings["flags"].(map[string]any)
				merged := maps.Clone(old)
				if merged == nil {
					merged = map[string]any{}
				}
				maps.Copy(merged, nf)
				s.st.TenantSettings["flags"] = merged
				continue
			}
		}
		s.st.TenantSettings[k] = v
	}
	return http.StatusOK, deepCopyMap(s.st.TenantSettings), nil
}

func (e *apiErr) withProp(p string) *apiErr {
	e.message += " on property " + p
	return e
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// ---- connections ----

func (s *Server) findConnLocked(id string) int {
	return slices.IndexFunc(s.st.Connections, func(c Connection) bool { return c.ID == id })
}

func connJSON(c Connection, forList bool) map[string]any {
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if forList {
		delete(m, "enabled_clients")
	}
	return m
}

func (s *Server) listConnections(r *http.Request) (int, any, *apiErr) {
	q := r.URL.Query()
	strategies := q["strategy"]
	name := q.Get("name")
	s.mu.Lock()
	var list []Connection
	for _, c := range s.st.Connections {
		if len(strategies) > 0 && !slices.Contains(strategies, c.Strategy) {
			continue
		}
		if name != "" && c.Name != name {
			continue
		}
		list = append(list, c)
	}
	s.mu.Unlock()
	items := func(cs []Connection) []any {
		return jsonList(cs, func(c Connection) any { return connJSON(c, true) })
	}

	switch {
	case q.Has("take") || q.Has("from"):
		take := 50
		if q.Has("take") {
			n, err := strconv.Atoi(q.Get("take"))
			if err != nil || n < 1 || n > 1000 {
				return 0, nil, badRequest("Query validation error: 'Invalid value for take' on property take")
			}
			take = n
		}
		start := 0
		if from := q.Get("from"); from != "" {
			start = slices.IndexFunc(list, func(c Connection) bool { return c.ID == from })
			if start < 0 {
				return 0, nil, badRequest("Query validation error: 'Invalid value for from' on property from")
			}
		}
		end := min(start+take, len(list))
		out := map[string]any{"connections": items(list[start:end])}
		if end < len(list) {
			out["next"] = list[end].ID // omitted on the last page: go-auth0 stops there
		}
		return http.StatusOK, out, nil
	case q.Has("page") || q.Has("per_page"):
		page, _ := strconv.Atoi(q.Get("page"))
		perPage := 50
		if q.Has("per_page") {
			perPage, _ = strconv.Atoi(q.Get("per_page"))
		}
		if page < 0 || perPage < 1 {
			return 0, nil, badRequest("Query validation error: 'Invalid paging parameters'")
		}
		start := min(page*perPage, len(list))
		end := min(start+perPage, len(list))
		if q.Get("include_totals") == "true" {
			return http.StatusOK, map[string]any{"total": len(list), "start": start, "limit": perPage, "connections": items(list[start:end])}, nil
		}
		return http.StatusOK, items(list[start:end]), nil
	default:
		return http.StatusOK, items(list), nil
	}
}

func (s *Server) createConnection(r *http.Request, body map[string]any) (int, any, *apiErr) {
	name, _ := body["name"].(string)
	strategy, _ := body["strategy"].(string)
	if name == "" {
		return 0, nil, payloadErr("Missing required property: name")
	}
	if strategy == "" {
		return 0, nil, payloadErr("Missing required property: strategy")
	}
	c := Connection{Name: name, Strategy: strategy, Options: map[string]any{}, Realms: []string{name}, EnabledClients: []string{}}
	if e := applyConnFields(&c, body, true); e != nil {
		return 0, nil, e
	}
	if c.Options == nil {
		c.Options = map[string]any{}
	}
	if _, ok := c.Options["brute_force_protection"]; !ok && strategy == "sms" {
		c.Options["brute_force_protection"] = true // a new sms connection's default (recorded)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.st.Connections, func(x Connection) bool { return x.Name == name }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "A connection with the same name already exists", code: "connection_conflict"}
	}
	c.ID = s.nextIDLocked("con_")
	s.st.Connections = append(s.st.Connections, c)
	return http.StatusCreated, connJSON(c, false), nil
}

// applyConnFields applies the writable connection fields of body to c.
func applyConnFields(c *Connection, body map[string]any, create bool) *apiErr {
	for k, v := range body {
		switch k {
		case "name", "strategy":
			if !create {
				return payloadErr("Additional properties not allowed: " + k)
			}
		case "options":
			m, ok := v.(map[string]any)
			if !ok {
				return payloadErr("Expected type object but found type " + jsonType(v)).withProp("options")
			}
			c.Options = deepCopyMap(m) // replaces the whole options object, as Auth0 does
		case "display_name":
			sv, ok := v.(string)
			if !ok {
				return payloadErr("Expected type string but found type " + jsonType(v)).withProp(k)
			}
			c.DisplayName = sv
		case "enabled_clients", "realms":
			arr, ok := toStrings(v)
			if !ok {
				return payloadErr("Expected type array but found type " + jsonType(v)).withProp(k)
			}
			if k == "realms" {
				c.Realms = arr
			} else {
				c.EnabledClients = arr
			}
		case "is_domain_connection", "show_as_button":
			bv, ok := v.(bool)
			if !ok {
				return payloadErr("Expected type boolean but found type " + jsonType(v)).withProp(k)
			}
			if k == "is_domain_connection" {
				c.IsDomainConnection = bv
			} else {
				c.ShowAsButton = &bv
			}
		case "metadata":
			m, ok := v.(map[string]any)
			if !ok {
				return payloadErr("Expected type object but found type " + jsonType(v)).withProp(k)
			}
			c.Metadata = m
		default:
			return payloadErr("Additional properties not allowed: " + k)
		}
	}
	return nil
}

func toStrings(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		sv, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, sv)
	}
	return out, true
}

func (s *Server) getConnectionLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, connJSON(s.st.Connections[i], false), nil
}

func (s *Server) patchConnectionLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	c := s.st.Connections[i]
	c.Options = deepCopyMap(c.Options)
	if e := applyConnFields(&c, body, false); e != nil {
		return 0, nil, e
	}
	s.st.Connections[i] = c
	return http.StatusOK, connJSON(c, false), nil
}

// deleteConnection answers as recorded: 202 {"deleted_at": …} (the
// deletion is asynchronous), and 204 for a connection already deleted.
func (s *Server) deleteConnection(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	i := s.findConnLocked(id)
	if i < 0 {
		if s.deletedConns[id] {
			return http.StatusNoContent, nil, nil
		}
		return 0, nil, connections.notFound()
	}
	s.st.Connections = slices.Delete(s.st.Connections, i, i+1)
	if s.deletedConns == nil {
		s.deletedConns = map[string]bool{}
	}
	s.deletedConns[id] = true
	return http.StatusAccepted, map[string]any{"deleted_at": now()}, nil
}

// ---- guardian ----

func (s *Server) listFactors(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]any, 0, len(s.st.Guardian.Factors))
	for _, f := range s.st.Guardian.Factors {
		out = append(out, map[string]any{"name": f.Name, "enabled": f.Enabled, "trial_expired": f.TrialExpired})
	}
	return http.StatusOK, out, nil
}

func (s *Server) putFactor(r *http.Request, body map[string]any) (int, any, *apiErr) {
	v, ok := body["enabled"]
	if !ok {
		return 0, nil, payloadErr("Missing required property: enabled")
	}
	enabled, ok := v.(bool)
	if !ok {
		return 0, nil, payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("enabled")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	i := slices.IndexFunc(s.st.Guardian.Factors, func(f Factor) bool { return f.Name == name })
	if i < 0 {
		return 0, nil, badRequest("Path validation error: 'No enum match for: \"" + name + "\"' on property name (Factor name)")
	}
	s.st.Guardian.Factors[i].Enabled = enabled
	return http.StatusOK, map[string]any{"enabled": enabled}, nil
}

func (s *Server) smsFactorEnabledLocked() bool {
	for _, f := range s.st.Guardian.Factors {
		if f.Name == "sms" {
			return f.Enabled
		}
	}
	return false
}

func (s *Server) getMessageTypes(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, map[string]any{"message_types": slices.Clone(s.st.Guardian.MessageTypes)}, nil
}

// factorToDelivery maps an MFA message type to a provider delivery method.
var factorToDelivery = map[string]string{"sms": "text", "voice": "voice"}

func (s *Server) putMessageTypes(r *http.Request, body map[string]any) (int, any, *apiErr) {
	v, ok := body["message_types"]
	if !ok {
		return 0, nil, payloadErr("Missing required property: message_types")
	}
	types, ok := toStrings(v)
	if !ok {
		return 0, nil, payloadErr("Expected type array but found type " + jsonType(v)).withProp("message_types")
	}
	for _, t := range types {
		if _, ok := factorToDelivery[t]; !ok {
			return 0, nil, payloadErr("No enum match for: \"" + t + "\"").withProp("message_types")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.smsFactorEnabledLocked() {
		return 0, nil, &apiErr{status: http.StatusNotFound, message: msgPhoneFactorMissing}
	}
	if s.upeLocked() {
		var methods []string
		if len(s.st.PhoneProviders) > 0 {
			methods = s.st.PhoneProviders[0].Configuration.DeliveryMethods
		}
		for _, t := range types {
			if !slices.Contains(methods, factorToDelivery[t]) {
				return 0, nil, &apiErr{status: http.StatusConflict, message: msgMessageTypeNotSupp}
			}
		}
	}
	s.st.Guardian.MessageTypes = dedupe(types)
	return http.StatusOK, map[string]any{"message_types": slices.Clone(s.st.Guardian.MessageTypes)}, nil
}

func dedupe(xs []string) []string {
	out := []string{}
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// legacy wraps a legacy Guardian phone endpoint: 403 under UPE.
func (s *Server) legacy(f apiFunc) apiFunc {
	return func(r *http.Request) (int, any, *apiErr) {
		s.mu.Lock()
		upe := s.upeLocked()
		s.mu.Unlock()
		if upe {
			return 0, nil, &apiErr{status: http.StatusForbidden, message: msgDeprecatedFeature}
		}
		return f(r)
	}
}

func (s *Server) getSelectedProvider(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, map[string]any{"provider": s.st.Guardian.SelectedProvider}, nil
}

func (s *Server) putSelectedProvider(r *http.Request, body map[string]any) (int, any, *apiErr) {
	p, _ := body["provider"].(string)
	if !slices.Contains([]string{"auth0", "twilio", "phone-message-hook"}, p) {
		return 0, nil, payloadErr("No enum match for: \"" + p + "\"").withProp("provider")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Guardian.SelectedProvider = p
	return http.StatusOK, map[string]any{"provider": p}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// guardianTwilioJSON is the Guardian Twilio setting as the fake returns it,
// auth token included: real Auth0 returns auth_token from GET and PUT
// (recorded go-auth0 traffic), as it returns a connection's twilio_token.
func guardianTwilioJSON(t GuardianTwilio) map[string]any {
	return map[string]any{"auth_token": nullable(t.AuthToken), "from": nullable(t.From), "messaging_service_sid": nullable(t.MessagingServiceSID), "sid": nullable(t.SID)}
}

func (s *Server) getGuardianTwilio(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, guardianTwilioJSON(s.st.Guardian.Twilio), nil
}

func (s *Server) putGuardianTwilio(r *http.Request, body map[string]any) (int, any, *apiErr) {
	var t GuardianTwilio
	for k, v := range body {
		sv, ok := v.(string)
		if v != nil && !ok {
			return 0, nil, payloadErr("Expected type string but found type " + jsonType(v)).withProp(k)
		}
		switch k {
		case "from":
			t.From = sv
		case "messaging_service_sid":
			t.MessagingServiceSID = sv
		case "auth_token":
			t.AuthToken = sv
		case "sid":
			t.SID = sv
		default:
			return 0, nil, payloadErr("Additional properties not allowed: " + k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Guardian.Twilio = t
	return http.StatusOK, guardianTwilioJSON(t), nil
}

func (s *Server) getGuardianTemplates(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.Guardian.Templates
	return http.StatusOK, map[string]any{"enrollment_message": t.EnrollmentMessage, "verification_message": t.VerificationMessage}, nil
}

func (s *Server) putGuardianTemplates(r *http.Request, body map[string]any) (int, any, *apiErr) {
	var t GuardianTemplates
	for _, k := range []string{"enrollment_message", "verification_message"} {
		v, ok := body[k].(string)
		if !ok {
			return 0, nil, payloadErr("Missing required property: " + k)
		}
		if k == "enrollment_message" {
			t.EnrollmentMessage = v
		} else {
			t.VerificationMessage = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Guardian.Templates = t
	return http.StatusOK, map[string]any{"enrollment_message": t.EnrollmentMessage, "verification_message": t.VerificationMessage}, nil
}

// ---- branding phone providers ----

// providerJSON is the masked provider (credentials are never returned).
func providerJSON(p PhoneProvider) map[string]any {
	cfg := map[string]any{"delivery_methods": slices.Clone(p.Configuration.DeliveryMethods)}
	if p.Configuration.SID != "" {
		cfg["sid"] = p.Configuration.SID
		if p.Configuration.DefaultFrom != "" {
			cfg["default_from"] = p.Configuration.DefaultFrom
		}
		if p.Configuration.MSSID != "" {
			cfg["mssid"] = p.Configuration.MSSID
		}
	}
	return map[string]any{
		"id": p.ID, "tenant": p.Tenant, "name": p.Name, "channel": p.Channel, "disabled": p.Disabled,
		"configuration": cfg, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
	}
}

func (s *Server) findProviderLocked(id string) int {
	return slices.IndexFunc(s.st.PhoneProviders, func(p PhoneProvider) bool { return p.ID == id })
}

func (s *Server) listProviders(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// List items carry "credentials": null (recorded); single answers
	// leave it out.
	out := listByDisabled(r, s.st.PhoneProviders, func(p PhoneProvider) bool { return p.Disabled }, func(p PhoneProvider) map[string]any {
		m := providerJSON(p)
		m["credentials"] = nil
		return m
	})
	return http.StatusOK, map[string]any{"providers": out}, nil
}

// applyProviderBody applies a create or PATCH body to p and validates the
// result. create says whether credentials are required.
func (s *Server) applyProviderBodyLocked(p *PhoneProvider, body map[string]any, create bool) *apiErr {
	if !create && len(body) == 0 {
		return payloadErr("Too few properties defined (0), minimum 1")
	}
	for k := range body {
		if !slices.Contains([]string{"name", "disabled", "configuration", "credentials"}, k) {
			return payloadErr("Additional properties not allowed: " + k)
		}
	}
	if v, ok := body["name"]; ok {
		n, _ := v.(string)
		if n != "twilio" && n != "custom" {
			return payloadErr("No enum match for: \"" + n + "\"").withProp("name")
		}
		p.Name = n
	} else if create {
		return payloadErr("Missing required property: name")
	}
	if v, ok := body["disabled"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("disabled")
		}
		p.Disabled = b
	}
	credsV, hasCreds := body["credentials"]
	if create && (!hasCreds || credsV == nil) {
		return badRequest(msgMissingCredentials)
	}
	if hasCreds {
		creds, ok := credsV.(map[string]any)
		if !ok {
			return payloadErr("Expected type object but found type " + jsonType(credsV)).withProp("credentials")
		}
		p.Credentials = ProviderCredentials{}
		for k, v := range creds {
			if k != "auth_token" {
				return payloadErr("Additional properties not allowed: " + k).withProp("credentials")
			}
			tok, _ := v.(string)
			if tok == "" || len(tok) > 255 {
				return payloadErr("String is too short (0 chars), minimum 1").withProp("credentials.auth_token")
			}
			p.Credentials.AuthToken = tok
		}
	}
	if v, ok := body["configuration"]; ok {
		cfg, isObj := v.(map[string]any)
		if !isObj {
			return payloadErr("Expected type object but found type " + jsonType(v)).withProp("configuration")
		}
		var c ProviderConfiguration
		for k, v := range cfg {
			switch k {
			case "delivery_methods":
				dm, ok := toStrings(v)
				if !ok {
					return payloadErr("Expected type array but found type " + jsonType(v)).withProp("configuration.delivery_methods")
				}
				for _, m := range dm {
					if m != "text" && m != "voice" {
						return payloadErr("No enum match for: \"" + m + "\"").withProp("configuration.delivery_methods")
					}
				}
				c.DeliveryMethods = dedupe(dm)
			case "sid", "default_from", "mssid":
				sv, ok := v.(string)
				if !ok {
					return payloadErr("Expected type string but found type " + jsonType(v)).withProp("configuration." + k)
				}
				switch k {
				case "sid":
					c.SID = sv
				case "default_from":
					c.DefaultFrom = sv
				default:
					c.MSSID = sv
				}
			default:
				return payloadErr("Additional properties not allowed: " + k).withProp("configuration")
			}
		}
		p.Configuration = c
	} else if create {
		return payloadErr("Missing required property: configuration")
	}

	// Validate the result as a whole.
	c := p.Configuration
	if len(c.DeliveryMethods) == 0 {
		return payloadErr("Array is too short (0), minimum 1").withProp("configuration.delivery_methods")
	}
	switch p.Name {
	case "twilio":
		if c.SID == "" {
			return payloadErr("Missing required property: sid").withProp("configuration")
		}
		if p.Credentials.AuthToken == "" {
			return payloadErr("Missing required property: auth_token").withProp("credentials")
		}
		if c.DefaultFrom == "" && c.MSSID == "" {
			return badRequest(msgBadNotification)
		}
	case "custom":
		// Recorded: Auth0 creates a custom provider (201) and accepts a
		// twilio→custom PATCH with no Action set up, and a custom PATCH
		// carrying sid/default_from/auth_token is accepted and echoed.
		// What happens without a deployed, bound Action shows at send
		// time: the message is not delivered (see Server.Notify).
	}
	return nil
}

// boundActionLocked returns the deployed Action bound first to trigger.
func (s *Server) boundActionLocked(trigger string) (Action, bool) {
	for _, b := range s.st.TriggerBindings[trigger] {
		if i := s.findActionLocked(b.ActionID); i >= 0 && s.st.Actions[i].Deployed {
			return s.st.Actions[i], true
		}
	}
	return Action{}, false
}

func (s *Server) createProvider(r *http.Request, body map[string]any) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := PhoneProvider{Tenant: TenantName, Channel: "phone"}
	if e := s.applyProviderBodyLocked(&p, body, true); e != nil {
		return 0, nil, e
	}
	if len(s.st.PhoneProviders) > 0 {
		return 0, nil, &apiErr{status: http.StatusConflict, message: msgProviderConflict}
	}
	p.ID = s.nextIDLocked("pro_")
	p.CreatedAt, p.UpdatedAt = now(), now()
	s.st.PhoneProviders = append(s.st.PhoneProviders, p)
	return http.StatusCreated, providerJSON(p), nil
}

func (s *Server) getProviderLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, providerJSON(s.st.PhoneProviders[i]), nil
}

func (s *Server) patchProviderLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	p := s.st.PhoneProviders[i]
	p.Configuration.DeliveryMethods = slices.Clone(p.Configuration.DeliveryMethods)
	if n, ok := body["name"].(string); ok && n != p.Name {
		// Switching provider kind: the old kind's credentials no longer apply.
		p.Credentials = ProviderCredentials{}
	}
	if e := s.applyProviderBodyLocked(&p, body, false); e != nil {
		return 0, nil, e
	}
	p.UpdatedAt = now()
	s.st.PhoneProviders[i] = p
	return http.StatusOK, providerJSON(p), nil
}

func (s *Server) deleteProviderLocked(r *http.Request, i int) (int, any, *apiErr) {
	s.st.PhoneProviders = slices.Delete(s.st.PhoneProviders, i, i+1)
	return http.StatusNoContent, nil, nil
}

func (s *Server) tryProvider(r *http.Request, body map[string]any) (int, any, *apiErr) {
	to, _ := body["to"].(string)
	if to == "" || len(to) > 16 {
		return 0, nil, payloadErr("Missing required property: to")
	}
	method, _ := body["delivery_method"].(string)
	if method == "" {
		method = "text"
	}
	if method != "text" && method != "voice" {
		return 0, nil, payloadErr("No enum match for: \"" + method + "\"").withProp("delivery_method")
	}
	s.mu.Lock()
	i := s.findProviderLocked(r.PathValue("id"))
	s.mu.Unlock()
	if i < 0 {
		return 0, nil, providers.notFound()
	}
	// Auth0 gives no delivery feedback: the answer is 202 whatever happens.
	// The fake really sends the test message through the provider, so a
	// test can look at the Gateway or Twilio fake to see what arrived.
	s.sendTest(r.Context(), to, method)
	return http.StatusAccepted, map[string]any{"code": http.StatusAccepted, "message": "Test notification successfully sent for processing"}, nil
}

// ---- branding phone templates ----

var templateTypes = []string{"otp_verify", "otp_enroll", "change_password", "blocked_account", "password_breach"}

func templateJSON(t PhoneTemplate) map[string]any {
	body := map[string]any{}
	if t.Content.Body.Text != "" {
		body["text"] = t.Content.Body.Text
	}
	if t.Content.Body.Voice != "" {
		body["voice"] = t.Content.Body.Voice
	}
	// Auth0 answers "from": "" on its defaults, and leaves it out of a
	// customised template written without one.
	content := map[string]any{"syntax": t.Content.Syntax, "body": body}
	if t.Content.From != "" || t.ID == "" {
		content["from"] = t.Content.From
	}
	m := map[string]any{
		"channel": t.Channel, "tenant": t.Tenant, "content": content, "type": t.Type, "disabled": t.Disabled,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt,
	}
	if t.ID != "" {
		m["id"] = t.ID
	}
	return m
}

func (s *Server) findTemplateLocked(id string) int {
	return slices.IndexFunc(s.st.PhoneTemplates, func(t PhoneTemplate) bool { return t.ID == id })
}

// listTemplates answers every customised template and, for each type
// with a built-in default that the tenant has not customised, Auth0's
// default: an entry without an id (recorded), sorted by type.
func (s *Server) listTemplates(r *http.Request) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := effectiveTemplates(s.st.PhoneTemplates)
	out := listByDisabled(r, all, func(t PhoneTemplate) bool { return t.Disabled }, templateJSON)
	return http.StatusOK, map[string]any{"templates": out}, nil
}

// effectiveTemplates is what applies per type: the customised template,
// else Auth0's default (id-less), sorted by type.
func effectiveTemplates(custom []PhoneTemplate) []PhoneTemplate {
	out := slices.Clone(custom)
	for _, typ := range templateTypes {
		if slices.ContainsFunc(custom, func(t PhoneTemplate) bool { return t.Type == typ }) {
			continue
		}
		if d, ok := DefaultPhoneTemplate(typ); ok {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b PhoneTemplate) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// applyContent applies a content object; full says syntax is allowed.
func applyContent(c *PhoneTemplateContent, v any, full bool) *apiErr {
	m, ok := v.(map[string]any)
	if !ok {
		return payloadErr("Expected type object but found type " + jsonType(v)).withProp("content")
	}
	for k, v := range m {
		switch k {
		case "syntax", "from":
			if k == "syntax" && !full {
				return payloadErr("Additional properties not allowed: syntax").withProp("content")
			}
			sv, ok := v.(string)
			if !ok {
				return payloadErr("Expected type string but found type " + jsonType(v)).withProp("content." + k)
			}
			if k == "syntax" {
				c.Syntax = sv
			} else {
				if len(sv) > 16 {
					return payloadErr("String is too long").withProp("content.from")
				}
				c.From = sv
			}
		case "body":
			b, ok := v.(map[string]any)
			if !ok {
				return payloadErr("Expected type object but found type " + jsonType(v)).withProp("content.body")
			}
			for bk, bv := range b {
				sv, ok := bv.(string)
				if !ok || (bk != "text" && bk != "voice") {
					return payloadErr("Invalid property " + bk).withProp("content.body")
				}
				if bk == "text" {
					c.Body.Text = sv
				} else {
					c.Body.Voice = sv
				}
			}
		default:
			return payloadErr("Additional properties not allowed: " + k).withProp("content")
		}
	}
	return nil
}

func (s *Server) createTemplate(r *http.Request, body map[string]any) (int, any, *apiErr) {
	t := PhoneTemplate{Channel: "phone", Tenant: TenantName, Content: PhoneTemplateContent{Syntax: "liquid"}}
	for k, v := range body {
		switch k {
		case "type":
			typ, _ := v.(string)
			if !slices.Contains(templateTypes, typ) {
				return 0, nil, payloadErr("No enum match for: \"" + typ + "\"").withProp("type")
			}
			t.Type = typ
		case "disabled":
			b, ok := v.(bool)
			if !ok {
				return 0, nil, payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("disabled")
			}
			t.Disabled = b
		case "content":
			if e := applyContent(&t.Content, v, true); e != nil {
				return 0, nil, e
			}
		default:
			return 0, nil, payloadErr("Additional properties not allowed: " + k)
		}
	}
	if t.Type == "" {
		return 0, nil, payloadErr("Missing required property: type")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Customising a type that only has Auth0's default is a POST (201,
	// recorded). A second POST of a customised type is not recorded; the
	// fake answers 409, as Auth0's API documents a conflict.
	if slices.ContainsFunc(s.st.PhoneTemplates, func(x PhoneTemplate) bool { return x.Type == t.Type }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: msgTemplateConflict}
	}
	t.ID = s.nextIDLocked("tem_")
	t.CreatedAt, t.UpdatedAt = now(), now()
	s.st.PhoneTemplates = append(s.st.PhoneTemplates, t)
	return http.StatusCreated, templateJSON(t), nil
}

func (s *Server) getTemplateLocked(r *http.Request, i int) (int, any, *apiErr) {
	return http.StatusOK, templateJSON(s.st.PhoneTemplates[i]), nil
}

func (s *Server) patchTemplateLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	t := s.st.PhoneTemplates[i]
	for k, v := range body {
		switch k {
		case "disabled":
			b, ok := v.(bool)
			if !ok {
				return 0, nil, payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("disabled")
			}
			t.Disabled = b
		case "content":
			if e := applyContent(&t.Content, v, false); e != nil {
				return 0, nil, e
			}
		default:
			return 0, nil, payloadErr("Additional properties not allowed: " + k)
		}
	}
	t.UpdatedAt = now()
	s.st.PhoneTemplates[i] = t
	return http.StatusOK, templateJSON(t), nil
}

func (s *Server) deleteTemplateLocked(r *http.Request, i int) (int, any, *apiErr) {
	s.st.PhoneTemplates = slices.Delete(s.st.PhoneTemplates, i, i+1)
	return http.StatusNoContent, nil, nil
}

func (s *Server) resetTemplateLocked(r *http.Request, i int) (int, any, *apiErr) {
	// Reset restores the type's default texts and keeps from (recorded).
	t := &s.st.PhoneTemplates[i]
	d, _ := DefaultPhoneTemplate(t.Type)
	t.Content = PhoneTemplateContent{Syntax: "liquid", From: t.Content.From, Body: d.Content.Body}
	t.UpdatedAt = now()
	return http.StatusOK, templateJSON(*t), nil
}

func (s *Server) tryTemplate(r *http.Request, body map[string]any) (int, any, *apiErr) {
	if to, _ := body["to"].(string); to == "" {
		return 0, nil, payloadErr("Missing required property: to")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findTemplateLocked(r.PathValue("id")) < 0 {
		return 0, nil, templates.notFound()
	}
	return http.StatusAccepted, map[string]any{"message": "Test notification sent"}, nil
}
