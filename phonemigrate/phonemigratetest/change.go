package phonemigratetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Change is something done to a tenant outside the migration — by a person
// in the Dashboard, by Terraform or auth0-deploy-cli with a configuration
// from before the migration — that leaves it in one of the starting states
// real tenants are found in: half-migrated, or drifted after a migration.
// [Server.Make] makes changes through the Management API, as they would.
type Change string

// The changes. Each names the write it makes; combined, they give the
// half-migrated starting states (see the package example).
const (
	// SwitchOn turns phone_consolidated_experience on, nothing else: with
	// MFA and no provider, MFA users get no code; Passwordless connections
	// keep their legacy settings.
	SwitchOn Change = "switch_on"
	// SwitchOff turns phone_consolidated_experience off, as Terraform's
	// `phone_consolidated_experience = false` or a deploy-cli import from
	// before the migration does.
	SwitchOff Change = "switch_off"
	// AddTextOnlyProvider creates a Twilio phone provider for the
	// scenario's Twilio account ([TwilioSID]) that delivers text only.
	AddTextOnlyProvider Change = "add_text_only_provider"
	// DisableProvider disables every phone provider.
	DisableProvider Change = "disable_provider"
	// DeleteProvider deletes every phone provider, as deploy-cli with
	// AUTH0_ALLOW_DELETE and an export from before the migration does.
	DeleteProvider Change = "delete_provider"
	// UseProvider sets options.use_phone_provider on every Passwordless
	// SMS connection (every other option re-sent unchanged).
	UseProvider Change = "use_provider"
	// StopUsingProvider removes options.use_phone_provider from every
	// Passwordless SMS connection, as an auth0_connection resource or a
	// deploy-cli import from before the migration does (they write the
	// options whole).
	StopUsingProvider Change = "stop_using_provider"
	// VoiceOnlyProvider makes every phone provider deliver voice only
	// (its configuration re-sent with delivery_methods ["voice"]).
	VoiceOnlyProvider Change = "voice_only_provider"
	// ResetTemplates resets every customised phone template to Auth0's
	// default text (PATCH /branding/phone/templates/{id}/reset), as an
	// IaC import from before the migration leaves them.
	ResetTemplates Change = "reset_templates"
	// DeleteAction deletes every custom-phone-provider Action (force: its
	// bindings go too), as deploy-cli with AUTH0_ALLOW_DELETE does.
	DeleteAction Change = "delete_action"
	// AddSharedGatewayConnection creates a second Passwordless SMS
	// connection, "sms-eu", on the first gateway connection's gateway_url
	// with its own JWT secret, audience and subject, sender and template;
	// the fake gateway accepts its key and claims too.
	AddSharedGatewayConnection Change = "add_shared_gateway_connection"
)

// The second connection AddSharedGatewayConnection creates.
const (
	SharedGatewayConnection = "sms-eu"
	SharedGatewaySecret     = "eu-gateway-signing-secret-0123456789"
	SharedGatewayAudience   = "urn:acme:eu-sms-gateway"
	SharedGatewaySubject    = "urn:auth0:acme-eu"
	SharedGatewayFrom       = "+15550002222"
)

// Changes returns every change, in a stable order.
func Changes() []Change {
	return []Change{SwitchOn, SwitchOff, AddTextOnlyProvider, DisableProvider, DeleteProvider, UseProvider, StopUsingProvider,
		VoiceOnlyProvider, ResetTemplates, DeleteAction, AddSharedGatewayConnection}
}

// ErrUnknownChange is returned (wrapped) by [Server.Make] and [ParseChange]
// for a value that is not one of the changes.
var ErrUnknownChange = errors.New("unknown change")

// ParseChange returns the change named s (case-insensitive, surrounding
// space ignored), or an error wrapping [ErrUnknownChange] that lists the
// valid names.
func ParseChange(s string) (Change, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	var names []string
	for _, c := range Changes() {
		if string(c) == name {
			return c, nil
		}
		names = append(names, string(c))
	}
	return "", fmt.Errorf("%w %q (one of %s)", ErrUnknownChange, s, strings.Join(names, ", "))
}

// Make makes each change, in order, through the fake's Management API
// (authenticated with its token), as someone changing the tenant by hand
// would. It stops at the first change that fails. The requests are served
// in the process, not over the network, so Make also works on a server
// not yet started: one started afterwards serves the made tenant from its
// first request ('phonemigrate fake --make').
func (s *Server) Make(ctx context.Context, changes ...Change) error {
	for _, c := range changes {
		if err := s.makeChange(ctx, c); err != nil {
			return fmt.Errorf("phonemigratetest: %s: %w", c, err)
		}
	}
	return nil
}

func (s *Server) makeChange(ctx context.Context, c Change) error {
	switch c {
	case SwitchOn, SwitchOff:
		return s.call(ctx, "PATCH", "/tenants/settings", map[string]any{"phone_consolidated_experience": c == SwitchOn}, nil)
	case AddTextOnlyProvider:
		return s.call(ctx, "POST", "/branding/phone/providers", map[string]any{"name": "twilio",
			"configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []string{"text"}},
			"credentials":   map[string]any{"auth_token": TwilioAuthToken}}, nil)
	case DisableProvider, DeleteProvider:
		var ps struct {
			Providers []struct {
				ID string `json:"id"`
			} `json:"providers"`
		}
		if err := s.call(ctx, "GET", "/branding/phone/providers", nil, &ps); err != nil {
			return err
		}
		for _, p := range ps.Providers {
			var err error
			if c == DeleteProvider {
				err = s.call(ctx, "DELETE", "/branding/phone/providers/"+p.ID, nil, nil)
			} else {
				err = s.call(ctx, "PATCH", "/branding/phone/providers/"+p.ID, map[string]any{"disabled": true}, nil)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case VoiceOnlyProvider:
		var ps struct {
			Providers []struct {
				ID            string         `json:"id"`
				Configuration map[string]any `json:"configuration"`
			} `json:"providers"`
		}
		if err := s.call(ctx, "GET", "/branding/phone/providers", nil, &ps); err != nil {
			return err
		}
		for _, p := range ps.Providers {
			cfg := p.Configuration
			if cfg == nil {
				cfg = map[string]any{}
			}
			cfg["delivery_methods"] = []string{"voice"}
			if err := s.call(ctx, "PATCH", "/branding/phone/providers/"+p.ID, map[string]any{"configuration": cfg}, nil); err != nil {
				return err
			}
		}
		return nil
	case ResetTemplates:
		var ts struct {
			Templates []struct {
				ID string `json:"id"`
			} `json:"templates"`
		}
		if err := s.call(ctx, "GET", "/branding/phone/templates", nil, &ts); err != nil {
			return err
		}
		for _, t := range ts.Templates {
			if t.ID == "" {
				continue // Auth0's default already
			}
			if err := s.call(ctx, "PATCH", "/branding/phone/templates/"+t.ID+"/reset", map[string]any{}, nil); err != nil {
				return err
			}
		}
		return nil
	case DeleteAction:
		var as struct {
			Actions []struct {
				ID string `json:"id"`
			} `json:"actions"`
		}
		if err := s.call(ctx, "GET", "/actions/actions?triggerId="+triggerCustomPhone, nil, &as); err != nil {
			return err
		}
		for _, a := range as.Actions {
			if err := s.call(ctx, "DELETE", "/actions/actions/"+a.ID+"?force=true", nil, nil); err != nil {
				return err
			}
		}
		return nil
	case AddSharedGatewayConnection:
		var conns []struct {
			Options map[string]any `json:"options"`
		}
		if err := s.call(ctx, "GET", "/connections?strategy=sms", nil, &conns); err != nil {
			return err
		}
		var gatewayURL string
		for _, c := range conns {
			if u, _ := c.Options["gateway_url"].(string); u != "" && c.Options["provider"] == "sms_gateway" {
				gatewayURL = u
				break
			}
		}
		if gatewayURL == "" {
			return errors.New("the tenant has no Passwordless connection on a custom SMS gateway to share")
		}
		s.gateway.mu.Lock()
		s.gateway.keys = append(s.gateway.keys, []byte(SharedGatewaySecret))
		s.gateway.claims = append(s.gateway.claims, GatewayClaims{SharedGatewayAudience, SharedGatewaySubject})
		s.gateway.mu.Unlock()
		return s.call(ctx, "POST", "/connections", map[string]any{"name": SharedGatewayConnection, "strategy": "sms",
			"options": map[string]any{"provider": "sms_gateway", "gateway_url": gatewayURL, "from": SharedGatewayFrom,
				"template": "EU code: @@password@@", "syntax": "md_with_macros",
				"gateway_authentication": map[string]any{"method": "bearer", "audience": SharedGatewayAudience,
					"subject": SharedGatewaySubject, "secret": SharedGatewaySecret, "secret_base64_encoded": false}}}, nil)
	case UseProvider, StopUsingProvider:
		var conns []struct {
			ID      string         `json:"id"`
			Options map[string]any `json:"options"`
		}
		if err := s.call(ctx, "GET", "/connections?strategy=sms", nil, &conns); err != nil {
			return err
		}
		for _, conn := range conns {
			opts := conn.Options
			if opts == nil {
				opts = map[string]any{}
			}
			if c == UseProvider {
				opts["use_phone_provider"] = true
			} else {
				delete(opts, "use_phone_provider")
			}
			if err := s.call(ctx, "PATCH", "/connections/"+conn.ID, map[string]any{"options": opts}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w %q", ErrUnknownChange, string(c))
}

// Call sends one Management API request to the fake, as a person or
// script building a tenant would (path relative to /api/v2, e.g.
// "/guardian/factors/sms"), and decodes a JSON answer into out (when not
// nil and the answer has a body). The fake's own handler serves it in
// process — logged, rate-limited and authenticated with [Server.Token]
// as over the network. An answer other than 2xx is an error naming its
// status and body.
func (s *Server) Call(ctx context.Context, method, path string, body, out any) error {
	return s.call(ctx, method, path, body, out)
}

// call is [Server.Call].
func (s *Server) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	// The fake's own handler serves it, as it would serve the request
	// over the network (logged, rate-limited, authenticated).
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1/api/v2"+path, rd)
	if err != nil {
		return err
	}
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := serveInProcess(s.handler, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// serveInProcess answers req with h, without a network. A handler that
// aborts (an injected fault dropping the connection) is an error.
func serveInProcess(h http.Handler, req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			err = fmt.Errorf("%s %s: the fake dropped the connection", req.Method, req.URL.Path)
		}
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), nil
}
