package phonemigratetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"
)

// The envelope of a tenant log entry, as GET /api/v2/logs answers it
// (recorded by go-auth0, TestLogManager_Search; testdata/logs): "_id" and
// "log_id" (the same 56 digits, which sort in arrival order), "date",
// "type", "description", "isMobile", and null — not absent — for
// connection, connection_id, organization_id, organization_name, hostname,
// user_id, user_name, audience, strategy, strategy_type and location_info
// when the entry has none. The fake also keeps the log-stream fields
// Auth0's log schemas require (tenant_name, environment_name,
// $event_schema), so one entry validates against both.

// LogAPISuccess is the type of the entry Auth0 logs for a successful
// Management API write ("Success API Operation").
const LogAPISuccess = "sapi"

// envelopeNulls are the envelope keys Auth0 answers as null when an entry
// has no value for them.
var envelopeNulls = []string{"connection", "connection_id", "organization_id", "organization_name", "hostname",
	"user_id", "user_name", "audience", "strategy", "strategy_type", "location_info", "client_id", "client_name", "ip", "user_agent"}

// logID returns the n-th log id at t: 56 digits that sort in arrival
// order, like Auth0's ("900" + date and time + sequence).
func logID(t time.Time, n int) string {
	return fmt.Sprintf("900%s%06d%015d%018d", t.UTC().Format("20060102150405"), t.Nanosecond()/1000, 1, n)
}

// envelope completes e with the recorded envelope; callers hold s.mu.
func envelope(e LogEvent, id string, t time.Time) {
	e["_id"], e["log_id"] = id, id
	e["date"] = t.UTC().Format("2006-01-02T15:04:05.000Z")
	if _, ok := e["isMobile"]; !ok {
		e["isMobile"] = false
	}
	for _, k := range envelopeNulls {
		if _, ok := e[k]; !ok {
			e[k] = nil
		}
	}
}

// getLog is GET /api/v2/logs/{id}.
func (s *Server) getLog(r *http.Request) (int, any, *apiErr) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.logs, func(e LogEvent) bool { return e["log_id"] == id })
	if i < 0 {
		// Not recorded; the fake's choice of words.
		return 0, nil, &apiErr{status: http.StatusNotFound, message: "log not found", code: "inexistent_log"}
	}
	return http.StatusOK, cloneJSON(s.logs[i]), nil
}

// serveAudited serves an authenticated Management API request and, when
// it is a write that succeeded, logs a sapi entry for caller, as Auth0
// does: details.request.{method (lower case), path, query, body, userAgent,
// ip, channel "api", auth}, details.response.{statusCode, body}. Secret
// values in the logged bodies are masked ("*****", as Auth0 masks a
// password). A write's answer is held until the entry is logged and
// record (the request log) has run, so a client that has its answer finds
// both.
func (s *Server) serveAudited(w http.ResponseWriter, r *http.Request, api http.Handler, caller string, record func(status int)) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		api.ServeHTTP(w, r)
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidJSON, "")
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)
	defer func() {
		record(rec.Code)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}()
	if rec.Code/100 != 2 {
		return
	}
	reqBody := any(map[string]any{})
	if m := decodeObject(body); m != nil {
		reqBody = maskSecrets(m)
	}
	respBody := map[string]any{}
	if m := decodeObject(rec.Body.Bytes()); m != nil {
		for _, k := range []string{"id", "name", "client_id"} {
			if v, ok := m[k]; ok {
				respBody[k] = v
			}
		}
	}
	query := map[string]any{}
	for k, v := range r.URL.Query() {
		query[k] = v[0]
	}
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	e := LogEvent{
		"type": LogAPISuccess, "description": sapiDescription(r.Pattern), "client_id": caller, "client_name": "",
		"ip": ip, "user_agent": "Other 0.0.0 / Other 0.0.0",
		"details": map[string]any{
			"request": map[string]any{
				"auth":    map[string]any{"credentials": map[string]any{}, "strategy": "jwt", "user": map[string]any{}},
				"body":    reqBody,
				"channel": "api", "ip": ip, "method": strings.ToLower(r.Method), "path": r.URL.Path,
				"query": query, "userAgent": r.UserAgent(),
			},
			"response": map[string]any{"body": respBody, "statusCode": rec.Code},
		},
	}
	s.appendLog(e)
}

// sapiDescriptions name the operation of a route pattern, in Auth0's words
// where its logs are known ("Create a client grant", ...).
var sapiDescriptions = map[string]string{
	"PATCH /tenants/settings":                          "Update tenant settings",
	"POST /connections":                                "Create a connection",
	"PATCH /connections/{id}":                          "Update a connection",
	"DELETE /connections/{id}":                         "Delete a connection",
	"PUT /guardian/factors/{name}":                     "Update a Multi-factor Authentication Factor",
	"PUT /guardian/factors/phone/message-types":        "Update the Multi-factor Authentication phone message types",
	"PUT /guardian/factors/sms/providers/twilio":       "Update Twilio configuration",
	"PUT /guardian/factors/phone/providers/twilio":     "Update Twilio configuration",
	"PUT /guardian/factors/sms/selected-provider":      "Update the Multi-factor Authentication SMS provider",
	"PUT /guardian/factors/phone/selected-provider":    "Update the Multi-factor Authentication phone provider",
	"PUT /guardian/factors/sms/templates":              "Update enrollment and verification SMS templates",
	"PUT /guardian/factors/phone/templates":            "Update enrollment and verification phone templates",
	"PUT /guardian/policies":                           "Update Multi-factor Authentication policies",
	"POST /branding/phone/providers":                   "Create a phone provider",
	"PATCH /branding/phone/providers/{id}":             "Update a phone provider",
	"DELETE /branding/phone/providers/{id}":            "Delete a phone provider",
	"POST /branding/phone/providers/{id}/try":          "Send a test phone notification",
	"POST /branding/phone/templates":                   "Create a phone notification template",
	"PATCH /branding/phone/templates/{id}":             "Update a phone notification template",
	"DELETE /branding/phone/templates/{id}":            "Delete a phone notification template",
	"PATCH /branding/phone/templates/{id}/reset":       "Reset a phone notification template",
	"POST /branding/phone/templates/{id}/try":          "Send a test phone notification template",
	"POST /actions/actions":                            "Create an action",
	"PATCH /actions/actions/{id}":                      "Update an action",
	"DELETE /actions/actions/{id}":                     "Delete an action",
	"POST /actions/actions/{id}/deploy":                "Deploy an action",
	"PATCH /actions/triggers/{triggerId}/bindings":     "Update trigger bindings",
	"POST /clients":                                    "Create a client",
	"PATCH /clients/{id}":                              "Update a client",
	"DELETE /clients/{id}":                             "Delete a client",
	"POST /client-grants":                              "Create client grant",
	"PATCH /client-grants/{id}":                        "Update client grant",
	"DELETE /client-grants/{id}":                       "Delete client grant",
	"POST /resource-servers":                           "Create a resource server",
	"PATCH /resource-servers/{id}":                     "Update a resource server",
	"DELETE /resource-servers/{id}":                    "Delete a resource server",
	"POST /actions/actions/{id}/versions/{vid}/deploy": "Deploy an action version",
}

// sapiDescription describes the operation of a matched route pattern
// ("PATCH /api/v2/connections/{id}").
func sapiDescription(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/api/v2")
	if d, ok := sapiDescriptions[method+" "+path]; ok {
		return d
	}
	verb := map[string]string{"POST": "Create", "PATCH": "Update", "PUT": "Update", "DELETE": "Delete"}[method]
	if verb == "" {
		verb = method
	}
	return verb + " " + strings.Trim(path, "/")
}

// secretKeys are the keys whose values a sapi entry masks, at any depth.
var secretKeys = map[string]bool{
	"auth_token": true, "client_secret": true, "secret": true, "twilio_token": true, "password": true,
	"token": true, "api_key": true, "credentials": true,
}

// maskSecrets returns m with the values of secret keys replaced by
// "*****", and the values of Action secrets ({"name","value"} items of
// "secrets") too.
func maskSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			switch {
			case secretKeys[k] && !isEmptyObject(val):
				out[k] = "*****"
			case k == "secrets":
				out[k] = maskActionSecrets(val)
			default:
				out[k] = maskSecrets(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = maskSecrets(val)
		}
		return out
	}
	return v
}

// decodeObject decodes a JSON object, or returns nil.
func decodeObject(b []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func isEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

func maskActionSecrets(v any) any {
	xs, ok := v.([]any)
	if !ok {
		return maskSecrets(v)
	}
	out := make([]any, len(xs))
	for i, x := range xs {
		m, ok := x.(map[string]any)
		if !ok {
			out[i] = x
			continue
		}
		c := maskSecrets(m).(map[string]any)
		if _, has := c["value"]; has {
			c["value"] = "*****"
		}
		out[i] = c
	}
	return out
}
