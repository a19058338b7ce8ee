package phonemigrate

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// Integrations at risk: under the Unified Phone Experience the legacy
// Guardian phone endpoints answer 403 (auth0-domain §4, §12.2), so any
// service of the customer that still calls them breaks at the switch. The
// evidence that such a service exists: client grants for the Management
// API holding a guardian scope, and sapi/fapi tenant log entries (a
// Management API call that succeeded/failed) whose details.request.path
// is one of those endpoints.

// IntegrationsReport lists the applications that may break at the
// tenant switch.
type IntegrationsReport struct {
	// Grants are the applications whose Management API grant holds a
	// guardian scope (read:guardian_factors, update:guardian_factors).
	Grants []grantAtRisk `json:"grants"`
	// Calls are the calls to endpoints that stop working, seen in the
	// tenant logs, by application and endpoint.
	Calls []callAtRisk `json:"calls"`
	// LogsRead is how many sapi/fapi entries were read; LogsSince the date
	// of the oldest (zero when none); LogsComplete is true when they are
	// every entry the tenant keeps, false when Auth0's 1,000-result cap
	// stopped the reading.
	LogsRead     int       `json:"logs_read"`
	LogsSince    time.Time `json:"logs_since,omitzero"`
	LogsComplete bool      `json:"logs_complete"`
	// Unreadable says what could not be read (a missing scope, say); the
	// report is then incomplete.
	Unreadable []string `json:"unreadable,omitempty"`
}

// grantAtRisk is one application allowed to call the legacy Guardian
// endpoints.
type grantAtRisk struct {
	ClientID string   `json:"client_id"`
	Name     string   `json:"name,omitempty"`
	Scopes   []string `json:"scopes"`
	// Self marks the application the migration itself calls as: it needs
	// these scopes only before the switch, and is not at risk.
	Self bool `json:"self,omitempty"`
}

// callAtRisk is one application's calls to an endpoint that stops working.
type callAtRisk struct {
	ClientID string    `json:"client_id"`
	Name     string    `json:"name,omitempty"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Count    int       `json:"count"`
	Last     time.Time `json:"last,omitzero"`
	// Replacement is the endpoint to call instead, with its scopes.
	Replacement string `json:"replacement"`
	// Self marks the calls of the application the migration runs as: its
	// own earlier runs (a rollback restores Guardian settings through
	// these endpoints), or another script sharing its credentials.
	Self bool `json:"self,omitempty"`
}

// deprecatedGuardian matches the paths of the Guardian endpoints that stop
// working under UPE, and replacements says what replaces each.
var deprecatedGuardian = regexp.MustCompile(`^(?:/api/v2)?/guardian/factors/(?:sms|phone)/(providers/twilio|selected-provider|templates)/?$`)

var replacements = map[string]string{
	"providers/twilio":  "/api/v2/branding/phone/providers (GET, POST, PATCH /{id}; scopes read|create|update:phone_providers)",
	"selected-provider": "/api/v2/branding/phone/providers (the tenant-level provider replaces the selection; scope read:phone_providers)",
	"templates":         "/api/v2/branding/phone/templates (GET, POST, PATCH /{id}; scopes read|create|update:phone_templates)",
}

// replacementFor returns the endpoint that replaces a legacy Guardian
// phone endpoint under the Unified Phone Experience, and whether path is
// one that stops working.
func replacementFor(path string) (string, bool) {
	m := deprecatedGuardian.FindStringSubmatch(path)
	if m == nil {
		return "", false
	}
	return replacements[m[1]], true
}

// guardianScope reports whether a Management API scope reaches the
// Guardian factor endpoints.
func guardianScope(s string) bool { return strings.HasSuffix(s, ":guardian_factors") }

// managementAudience reports whether a grant's audience is a tenant's
// Management API ("https://TENANT/api/v2/").
func managementAudience(a string) bool {
	return strings.HasSuffix(strings.TrimSuffix(a, "/"), "/api/v2")
}

// maxIntegrationLogPages is how many pages of 100 are read: Auth0 lets a
// query reach its first 1,000 results.
const maxIntegrationLogPages = 10

// IntegrationsAtRisk reads the tenant's client grants and its sapi/fapi
// log entries (newest first, at most 1,000) and reports the applications
// that may break when the tenant is switched. It writes nothing. What it
// cannot read (a token without read:client_grants or read:logs) is said in
// [IntegrationsReport.Unreadable], not returned as an error; only a
// cancelled context is.
func (m *Migrator) IntegrationsAtRisk(ctx context.Context) (*IntegrationsReport, error) {
	r := &IntegrationsReport{Grants: []grantAtRisk{}, Calls: []callAtRisk{}}
	if err := m.grantsAtRisk(ctx, r); err != nil {
		return nil, err
	}
	names := map[string]string{} // client id -> name, as the logs give them
	if err := m.callsAtRisk(ctx, r, names); err != nil {
		return nil, err
	}
	name := func(id string) string {
		if n, ok := names[id]; ok || id == "" {
			return n
		}
		n, err := m.c.ClientName(ctx, id)
		if err != nil {
			n = "" // a token without read:clients: the id says who
		}
		names[id] = n
		return n
	}
	for i := range r.Grants {
		r.Grants[i].Name = name(r.Grants[i].ClientID)
	}
	for i := range r.Calls {
		r.Calls[i].Name = name(r.Calls[i].ClientID)
	}
	return r, nil
}

// grantsAtRisk adds to r the applications whose Management API grant holds
// a guardian scope (the migration's own application marked Self). Grants
// it cannot read are noted in r.Unreadable; only a cancelled context is an
// error.
func (m *Migrator) grantsAtRisk(ctx context.Context, r *IntegrationsReport) error {
	self := m.ownClientID()
	grants, err := m.c.ClientGrants(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Unreadable = append(r.Unreadable, "client grants: "+err.Error())
	}
	for _, g := range grants {
		if !managementAudience(g.Audience) {
			continue
		}
		var scopes []string
		for _, s := range g.Scope {
			if guardianScope(s) {
				scopes = append(scopes, s)
			}
		}
		if len(scopes) > 0 {
			sort.Strings(scopes)
			r.Grants = append(r.Grants, grantAtRisk{ClientID: g.ClientID, Scopes: scopes, Self: self != "" && g.ClientID == self})
		}
	}
	return nil
}

// ownClientID is the client id of the application the Migrator's client
// calls as, when the client knows it ("" otherwise).
func (m *Migrator) ownClientID() string {
	if s, ok := m.c.(interface{ OwnClientID() string }); ok {
		return s.OwnClientID()
	}
	return ""
}

// callsAtRisk adds to r the calls to endpoints that stop working found in
// the sapi/fapi log entries (newest first, at most maxIntegrationLogPages
// pages of 100), by application and endpoint, and notes in names the
// applications' names the entries give. Logs it cannot read are noted in
// r.Unreadable; only a cancelled context is an error.
func (m *Migrator) callsAtRisk(ctx context.Context, r *IntegrationsReport, names map[string]string) error {
	calls := map[string]*callAtRisk{}
	r.LogsComplete = true
	for page := 0; page < maxIntegrationLogPages; page++ {
		evs, err := m.c.Logs(ctx, watch.LogQuery{Q: `type:("sapi" OR "fapi")`, Sort: "date:-1", Page: page, PerPage: 100})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Unreadable = append(r.Unreadable, "tenant logs: "+err.Error())
			r.LogsComplete = false
			break
		}
		for _, e := range evs {
			r.noteLogEntry(e, calls, names)
		}
		if len(evs) < 100 {
			break
		}
		if page == maxIntegrationLogPages-1 {
			r.LogsComplete = false
		}
	}
	self := m.ownClientID()
	for _, c := range calls {
		c.Self = self != "" && c.ClientID == self
		r.Calls = append(r.Calls, *c)
	}
	sort.Slice(r.Calls, func(i, j int) bool {
		a, b := r.Calls[i], r.Calls[j]
		if a.ClientID != b.ClientID {
			return a.ClientID < b.ClientID
		}
		return a.Method+a.Path < b.Method+b.Path
	})
	return nil
}

// noteLogEntry counts log entry e: read, and when it is a call to an
// endpoint that stops working, one more call of its application there.
func (r *IntegrationsReport) noteLogEntry(e watch.LogEvent, calls map[string]*callAtRisk, names map[string]string) {
	r.LogsRead++
	if !e.Date.IsZero() && (r.LogsSince.IsZero() || e.Date.Before(r.LogsSince)) {
		r.LogsSince = e.Date
	}
	req, _ := e.Details["request"].(map[string]any)
	path, _ := req["path"].(string)
	repl, ok := replacementFor(path)
	if !ok {
		return
	}
	method, _ := req["method"].(string)
	method = strings.ToUpper(method)
	if e.ClientName != "" {
		names[e.ClientID] = e.ClientName
	}
	k := e.ClientID + " " + method + " " + path
	c := calls[k]
	if c == nil {
		c = &callAtRisk{ClientID: e.ClientID, Method: method, Path: path, Replacement: repl}
		calls[k] = c
	}
	c.Count++
	if e.Date.After(c.Last) {
		c.Last = e.Date
	}
}

// AtRisk reports whether the report found any application at risk.
func (r *IntegrationsReport) AtRisk() bool {
	return r != nil && (slices.ContainsFunc(r.Grants, func(g grantAtRisk) bool { return !g.Self }) ||
		slices.ContainsFunc(r.Calls, func(c callAtRisk) bool { return !c.Self }))
}

// Text is the report for a person.
func (r *IntegrationsReport) Text() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	if !r.AtRisk() && len(r.Unreadable) == 0 {
		grants := "no Management API grant with a guardian scope"
		if len(r.Grants) > 0 {
			grants = "only the application this migration runs as holds a guardian scope"
		}
		calls := ""
		if len(r.Calls) > 0 {
			calls = ", whose only calls to endpoints that stop working are this application's (this tool's own earlier runs, or a script sharing its credentials)"
		}
		fmt.Fprintf(&b, "Integrations at risk: none found (%s; %s%s).\n", grants, r.logsReach(), calls)
		return b.String()
	}
	b.WriteString("Integrations at risk (the legacy Guardian phone endpoints answer 403 after the switch):\n")
	app := func(id, name string) string {
		if name != "" {
			return fmt.Sprintf("%q (%s)", name, id)
		}
		return id
	}
	if !slices.ContainsFunc(r.Grants, func(g grantAtRisk) bool { return !g.Self }) {
		b.WriteString("  no other application's Management API grant holds a guardian scope\n")
	}
	for _, g := range r.Grants {
		if g.Self {
			fmt.Fprintf(&b, "  application %s, which this migration runs as, holds %s: it calls them only before the switch\n", app(g.ClientID, g.Name), strings.Join(g.Scopes, ", "))
			continue
		}
		fmt.Fprintf(&b, "  application %s may call them: its Management API grant holds %s\n", app(g.ClientID, g.Name), strings.Join(g.Scopes, ", "))
	}
	fmt.Fprintf(&b, "  tenant logs: %s\n", r.logsReach())
	if r.LogsRead > 0 && len(r.Calls) == 0 {
		b.WriteString("  no logged call to an endpoint that stops working\n")
	}
	for _, c := range r.Calls {
		who := "application " + app(c.ClientID, c.Name)
		if c.Self {
			who += ", which this migration runs as (its own earlier runs, or a script sharing its credentials),"
		}
		fmt.Fprintf(&b, "  %s called %s %s %d time(s), last %s; use %s\n", who, c.Method, c.Path, c.Count, c.Last.UTC().Format(time.RFC3339), c.Replacement)
	}
	for _, u := range r.Unreadable {
		fmt.Fprintf(&b, "  could not read %s\n", u)
	}
	return b.String()
}

// logsReach says how much of the tenant logs the report read.
func (r *IntegrationsReport) logsReach() string {
	switch {
	case r.LogsRead == 0 && r.LogsComplete:
		return "the tenant logs hold no Management API call (sapi/fapi)"
	case r.LogsRead == 0:
		return "the tenant logs could not be read"
	}
	reach := "every sapi/fapi entry the tenant keeps"
	if !r.LogsComplete {
		reach = "the newest sapi/fapi entries Auth0 lets a query reach"
	}
	return fmt.Sprintf("%d sapi/fapi entries read (%s), back to %s", r.LogsRead, reach, r.LogsSince.UTC().Format(time.RFC3339))
}
