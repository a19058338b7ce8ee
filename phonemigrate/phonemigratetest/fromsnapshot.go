package phonemigratetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// GatewayRedirect is a legacy gateway URL of a snapshot that a fake served
// from it ([NewServerFrom]) re-pointed to its own [Gateway].
type GatewayRedirect struct {
	// Connection is the connection's name.
	Connection string `json:"connection"`
	// Original is the gateway_url in the snapshot.
	Original string `json:"original"`
	// Local is the fake Gateway URL the fake tenant uses instead.
	Local string `json:"local"`
}

// ErrInvalidSnapshot is wrapped by [NewServerFrom] for a snapshot it
// cannot serve.
var ErrInvalidSnapshot = errors.New("invalid snapshot")

// NewServerFrom starts a fake tenant seeded from a snapshot (see
// [snapshot.Take]): the same ids, names, options, templates,
// providers, Actions and bindings. The placeholder secrets are made
// consistent: the fake Gateway verifies the JWT with the connections'
// placeholder gateway secrets and their audiences and subjects, and the
// fake Twilio accepts the placeholder tokens of the snapshot's accounts.
// Each legacy gateway_url is re-pointed to the fake Gateway (path
// /gateway/{n}, one per distinct URL), which records what it receives; see
// [Server.GatewayRedirects] and [Server.RestoreGatewayURLs]. Deployed
// Actions are served as deployed (version 1), code and all, but a message
// that would run one is not delivered: the fake never runs a snapshot's
// Action code, whose own HTTP calls it could not keep on this machine
// (an Action the migration creates runs). A snapshot of the fake,
// with the gateway URLs restored, equals snap.
//
// Options are those of [NewServer]; [WithGatewayURL] does not apply.
func NewServerFrom(snap *snapshot.Snapshot, opts ...Option) (*Server, error) {
	s, err := NewUnstartedServerFrom(snap, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.StartAt(s.cfg.addr); err != nil {
		s.Close()
		return nil, fmt.Errorf("phonemigratetest: %w", err)
	}
	return s, nil
}

// NewUnstartedServerFrom is [NewServerFrom] without starting the
// Management API (as [NewUnstartedServer]).
func NewUnstartedServerFrom(snap *snapshot.Snapshot, opts ...Option) (*Server, error) {
	if snap == nil {
		return nil, fmt.Errorf("phonemigratetest: %w: nil snapshot", ErrInvalidSnapshot)
	}
	if snap.Version != snapshot.Version {
		return nil, fmt.Errorf("phonemigratetest: %w: version %d, want %d", ErrInvalidSnapshot, snap.Version, snapshot.Version)
	}
	var (
		redirects []GatewayRedirect
		keys      [][]byte
		claims    []GatewayClaims
	)
	srv, err := newUnstarted("", opts, func(string) (*State, error) { return stateFromSnapshot(snap) })
	if err != nil {
		return nil, err
	}
	// Re-point the gateways now that the fake Gateway has its URL: one
	// local URL per original URL, so connections that shared a gateway
	// still share one.
	locals := map[string]string{}
	for i := range srv.st.Connections {
		c := &srv.st.Connections[i]
		orig, _ := c.Options["gateway_url"].(string)
		if orig == "" {
			continue
		}
		local, ok := locals[orig]
		if !ok {
			local = srv.gateway.URL + "/gateway/" + strconv.Itoa(len(locals)+1)
			locals[orig] = local
		}
		c.Options["gateway_url"] = local
		redirects = append(redirects, GatewayRedirect{Connection: c.Name, Original: orig, Local: local})
		if auth, ok := c.Options["gateway_authentication"].(map[string]any); ok {
			key, err := gatewayKey(auth)
			if err != nil {
				srv.Close()
				return nil, fmt.Errorf("phonemigratetest: %w: connection %s: %v", ErrInvalidSnapshot, c.Name, err)
			}
			keys = append(keys, key)
			aud, _ := auth["audience"].(string)
			sub, _ := auth["subject"].(string)
			claims = append(claims, GatewayClaims{Audience: aud, Subject: sub})
		}
	}
	srv.redirects = redirects
	srv.gateway.SetKeys(keys...)
	srv.gateway.SetClaims(claims...)
	for _, p := range srv.st.PhoneProviders {
		if p.Name == "twilio" && p.Configuration.SID != "" && p.Credentials.AuthToken != "" {
			srv.twilio.AddAccount(p.Configuration.SID, p.Credentials.AuthToken)
		}
	}
	for _, a := range srv.st.Actions {
		if a.Deployed {
			// The deployed version runs a stand-in: the snapshot's code
			// would make its own network calls, to the real gateway or
			// Twilio, which a fake must never reach.
			v := deployedVersion{id: srv.nextUUIDLocked(), number: 1, action: a, created: seedTime, builtAt: a.BuiltAt}
			v.action.Secrets = slices.Clone(a.Secrets)
			v.action.Code = inertActionCode
			srv.versions[a.ID] = v
		}
	}
	return srv, nil
}

// inertActionCode stands in for a snapshot's deployed Action when the fake
// delivers through it.
const inertActionCode = `exports.onExecuteCustomPhoneProvider = async () => {
  throw new Error("an Action from a snapshot is not run by the fake: its own network calls would leave the machine");
};
`

// stateFromSnapshot is the fake's state for snap (gateway URLs still the
// snapshot's).
func stateFromSnapshot(snap *snapshot.Snapshot) (*State, error) {
	st := &State{TenantSettings: map[string]any{}}
	if v := snap.PhoneConsolidatedExperience; v != nil {
		st.TenantSettings["phone_consolidated_experience"] = *v
	}
	if snap.FriendlyName != "" {
		st.TenantSettings["friendly_name"] = snap.FriendlyName
	}
	seen := map[string]bool{}
	for _, c := range snap.Connections {
		if c.ID == "" || c.Name == "" || seen[c.ID] {
			return nil, fmt.Errorf("phonemigratetest: %w: a connection has no id or name, or a repeated id (%q)", ErrInvalidSnapshot, c.ID)
		}
		seen[c.ID] = true
		st.Connections = append(st.Connections, Connection{ID: c.ID, Name: c.Name, Strategy: "sms", Options: deepCopyMap(c.Options),
			Realms: []string{c.Name}, EnabledClients: []string{AppClientID}})
	}
	g := snap.Guardian
	for _, f := range g.Factors {
		st.Guardian.Factors = append(st.Guardian.Factors, Factor{Name: f.Name, Enabled: f.Enabled})
	}
	st.Guardian.MessageTypes = slices.Clone(g.MessageTypes)
	st.Guardian.SelectedProvider = "auth0" // Auth0's default
	if g.SelectedProvider != nil {
		st.Guardian.SelectedProvider = *g.SelectedProvider
	}
	if t := g.Twilio; t != nil {
		st.Guardian.Twilio = GuardianTwilio{SID: t.SID, From: t.From, MessagingServiceSID: t.MessagingServiceSID, AuthToken: t.AuthToken}
	}
	if t := g.Templates; t != nil {
		st.Guardian.Templates = GuardianTemplates{EnrollmentMessage: t.EnrollmentMessage, VerificationMessage: t.VerificationMessage}
	}
	for _, p := range snap.PhoneProviders {
		st.PhoneProviders = append(st.PhoneProviders, PhoneProvider{ID: p.ID, Tenant: TenantName, Name: p.Name, Channel: "phone", Disabled: p.Disabled,
			Configuration: ProviderConfiguration{SID: p.SID, DefaultFrom: p.DefaultFrom, MSSID: p.MSSID, DeliveryMethods: slices.Clone(p.DeliveryMethods)},
			Credentials:   ProviderCredentials{AuthToken: p.AuthToken}, CreatedAt: seedTime, UpdatedAt: seedTime})
	}
	for _, t := range snap.PhoneTemplates {
		if t.ID == "" {
			return nil, fmt.Errorf("phonemigratetest: %w: a %s phone template has no id", ErrInvalidSnapshot, t.Type)
		}
		st.PhoneTemplates = append(st.PhoneTemplates, PhoneTemplate{ID: t.ID, Channel: "phone", Tenant: TenantName, Type: t.Type, Disabled: t.Disabled,
			Content:   PhoneTemplateContent{Syntax: t.Syntax, From: t.From, Body: PhoneTemplateBody{Text: t.Text, Voice: t.Voice}},
			CreatedAt: seedTime, UpdatedAt: seedTime})
	}
	for _, a := range snap.Actions {
		act := Action{ID: a.ID, Name: a.Name, Code: a.Code, Runtime: a.Runtime, Status: a.Status, Deployed: a.Deployed,
			AllChangesDeployed: a.Deployed, CreatedAt: seedTime, UpdatedAt: seedTime}
		if a.Deployed {
			act.DeployedVersion = 1
		}
		if a.Status == "built" {
			act.BuiltAt = seedTime
		}
		for _, t := range a.SupportedTriggers {
			act.SupportedTriggers = append(act.SupportedTriggers, Trigger{ID: t, Version: "v1"})
		}
		names := make([]string, 0, len(a.Secrets))
		for n := range a.Secrets {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			act.Secrets = append(act.Secrets, ActionSecret{Name: n, Value: a.Secrets[n], UpdatedAt: seedTime})
		}
		st.Actions = append(st.Actions, act)
	}
	if len(snap.Bindings) > 0 {
		var bs []Binding
		for _, b := range snap.Bindings {
			bs = append(bs, Binding{ID: b.ID, TriggerID: triggerCustomPhone, ActionID: b.ActionID, ActionName: b.ActionName,
				DisplayName: b.DisplayName, CreatedAt: seedTime, UpdatedAt: seedTime})
		}
		st.TriggerBindings = map[string][]Binding{triggerCustomPhone: bs}
	}
	st.normalize()
	return st, nil
}

// GatewayRedirects lists the legacy gateway URLs [NewServerFrom]
// re-pointed to the fake Gateway (nil for a scenario fake).
func (s *Server) GatewayRedirects() []GatewayRedirect { return slices.Clone(s.redirects) }

// RestoreGatewayURLs puts back, in a snapshot taken of this fake, the
// original gateway URLs of [Server.GatewayRedirects], so that it can be
// compared with the snapshot the fake was served from.
func (s *Server) RestoreGatewayURLs(snap *snapshot.Snapshot) {
	for i := range snap.Connections {
		o := snap.Connections[i].Options
		for _, r := range s.redirects {
			if o["gateway_url"] == r.Local {
				o["gateway_url"] = r.Original
			}
		}
	}
}

// DiffSnapshots returns the differences between two snapshots of a tenant
// (-want +got), empty when they are the same tenant: everything is
// compared, ids included, except that phone_consolidated_experience false
// equals its absence (absent means off, and Auth0 offers no way to remove
// the key once written, so a rollback leaves false behind).
func DiffSnapshots(want, got *snapshot.Snapshot) string {
	off := func(v *bool) bool { return v == nil || !*v }
	return cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".PhoneConsolidatedExperience"
	}, cmp.Comparer(func(a, b *bool) bool {
		if off(a) && off(b) {
			return true
		}
		return a != nil && b != nil && *a == *b
	})))
}
