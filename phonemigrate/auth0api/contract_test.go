package auth0api_test

// Contract tests: the real go-auth0 v3 client, through auth0api, against the
// fake tenant of package phonemigratetest over HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// Seeded ids of the fake's scenarios.
const (
	gatewayConnID   = "con_Gw7tQ2mN8xLp4RvZ" // legacy-gateway
	unifiedProvider = "pro_8mQ3vR6tY1uI4oPa" // unified
	unifiedVerify   = "tem_2xC5vB8nM1qW4eRt" // unified otp_verify
)

// fake starts a fake tenant and a Client for it with tiny backoffs.
func fake(t *testing.T, sc phonemigratetest.Scenario, opts ...func(*auth0api.Config)) (*auth0api.Client, *phonemigratetest.Server) {
	t.Helper()
	return fakeWith(t, sc, nil, opts...)
}

// fakeWith is fake with options for the fake tenant.
func fakeWith(t *testing.T, sc phonemigratetest.Scenario, srvOpts []phonemigratetest.Option, opts ...func(*auth0api.Config)) (*auth0api.Client, *phonemigratetest.Server) {
	t.Helper()
	srv := phonemigratetest.NewServer(sc, append([]phonemigratetest.Option{phonemigratetest.WithActionBuild(0, 1)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	cfg := auth0api.Config{
		BaseURL:     srv.BaseURL,
		Token:       phonemigrate.Secret(srv.Token),
		MaxAttempts: 3,
		MinBackoff:  time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := auth0api.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, srv
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error = %v, want one matching %v", err, target)
	}
}

func TestContractTenant(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyGateway)
	// Most legacy tenants have no such setting at all (recorded): nil.
	s := must[phonemigrate.TenantSettings](t)(c.TenantSettings(t.Context()))
	if s.PhoneConsolidatedExperience != nil {
		t.Fatalf("PhoneConsolidatedExperience = %v, want nil (absent)", *s.PhoneConsolidatedExperience)
	}
	mixed, _ := fake(t, phonemigratetest.Mixed)
	if s := must[phonemigrate.TenantSettings](t)(mixed.TenantSettings(t.Context())); s.PhoneConsolidatedExperience == nil || *s.PhoneConsolidatedExperience {
		t.Fatalf("mixed: PhoneConsolidatedExperience = %v, want false", s.PhoneConsolidatedExperience)
	}
	ts, err := c.SetPhoneConsolidatedExperience(t.Context(), true)
	noErr(t, err)
	if ts.PhoneConsolidatedExperience == nil || !*ts.PhoneConsolidatedExperience {
		t.Errorf("PATCH answered phone_consolidated_experience %v, want true", ts.PhoneConsolidatedExperience)
	}
	if got := srv.State().TenantSettings["phone_consolidated_experience"]; got != true {
		t.Errorf("fake state phone_consolidated_experience = %v, want true", got)
	}
	if got := srv.State().TenantSettings["friendly_name"]; got == nil {
		t.Error("PATCH /tenants/settings lost other settings")
	}
	s = must[phonemigrate.TenantSettings](t)(c.TenantSettings(t.Context()))
	if s.PhoneConsolidatedExperience == nil || !*s.PhoneConsolidatedExperience {
		t.Errorf("PhoneConsolidatedExperience after switch = %v, want true", s.PhoneConsolidatedExperience)
	}
}

func TestContractConnections(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyGateway)
	seeded := srv.State().Connections[1]
	conns := must[[]phonemigrate.Connection](t)(c.ListSMSConnections(t.Context()))
	want := []phonemigrate.Connection{{ID: gatewayConnID, Name: "sms", Strategy: "sms", Options: seeded.Options}}
	if diff := cmp.Diff(want, conns); diff != "" {
		t.Fatalf("ListSMSConnections (-want +got):\n%s", diff)
	}
	got := must[phonemigrate.Connection](t)(c.GetConnection(t.Context(), gatewayConnID))
	if diff := cmp.Diff(want[0], got); diff != "" {
		t.Errorf("GetConnection (-want +got):\n%s", diff)
	}

	// Whole-options replace: every key survives, unknown ones included.
	opts := got.Options
	opts["use_phone_provider"] = true
	updated := must[phonemigrate.Connection](t)(c.ReplaceConnectionOptions(t.Context(), gatewayConnID, opts))
	if diff := cmp.Diff(opts, updated.Options); diff != "" {
		t.Errorf("options answered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(opts, srv.State().Connections[1].Options); diff != "" {
		t.Errorf("options stored (-want +got):\n%s", diff)
	}
	for _, k := range []string{"custom_flag", "upstream_params", "gateway_authentication", "totp"} {
		if _, ok := srv.State().Connections[1].Options[k]; !ok {
			t.Errorf("option %q lost", k)
		}
	}

	_, err := c.GetConnection(t.Context(), "con_missing")
	wantIs(t, err, phonemigrate.ErrNotFound)
	_, err = c.ReplaceConnectionOptions(t.Context(), "con_missing", map[string]any{})
	wantIs(t, err, phonemigrate.ErrNotFound)
}

// TestContractConnectionPaging lists more SMS connections than one page
// (take=50) holds, following the "next" checkpoint.
func TestContractConnectionPaging(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyGateway)
	for i := range 60 {
		body := fmt.Sprintf(`{"name":"sms-%02d","strategy":"sms","options":{"n":%d}}`, i, i)
		req, _ := http.NewRequest("POST", srv.BaseURL+"/connections", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("seeding connection %d: status %d", i, resp.StatusCode)
		}
	}
	srv.ResetRequests()
	conns := must[[]phonemigrate.Connection](t)(c.ListSMSConnections(t.Context()))
	if len(conns) != 61 {
		t.Fatalf("ListSMSConnections returned %d connections, want 61", len(conns))
	}
	seen := map[string]bool{}
	for _, cn := range conns {
		if cn.Strategy != "sms" || seen[cn.ID] {
			t.Errorf("unexpected or repeated connection %+v", cn)
		}
		seen[cn.ID] = true
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 pages", n)
	}
}

func TestContractGuardianLegacy(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.MFATwilio)
	factors := must[[]phonemigrate.GuardianFactor](t)(c.GuardianFactors(t.Context()))
	var sms *phonemigrate.GuardianFactor
	for i := range factors {
		if factors[i].Name == "sms" {
			sms = &factors[i]
		}
	}
	if sms == nil || !sms.Enabled {
		t.Errorf("GuardianFactors = %+v, want sms enabled", factors)
	}
	if got := must[delivery.Set](t)(c.PhoneMessageTypes(t.Context())); got != delivery.Of(delivery.Text, delivery.Voice) {
		t.Errorf("PhoneMessageTypes = %v", got)
	}
	if got := must[string](t)(c.SelectedPhoneProvider(t.Context())); got != "twilio" {
		t.Errorf("SelectedPhoneProvider = %q", got)
	}
	tw := must[phonemigrate.LegacyTwilio](t)(c.LegacyTwilio(t.Context()))
	if diff := cmp.Diff(phonemigrate.LegacyTwilio{SID: phonemigratetest.TwilioSID, From: phonemigratetest.TwilioFrom, AuthToken: phonemigratetest.TwilioAuthToken}, tw); diff != "" {
		t.Errorf("LegacyTwilio (-want +got):\n%s", diff)
	}
	tpl := must[phonemigrate.LegacyPhoneTemplates](t)(c.LegacyPhoneTemplates(t.Context()))
	if diff := cmp.Diff(phonemigrate.LegacyPhoneTemplates{EnrollmentMessage: phonemigratetest.MFAEnrollmentMessage, VerificationMessage: phonemigratetest.MFAVerificationMessage}, tpl); diff != "" {
		t.Errorf("LegacyPhoneTemplates (-want +got):\n%s", diff)
	}
	noErr(t, c.SetPhoneMessageTypes(t.Context(), delivery.Of(delivery.Text)))
	if diff := cmp.Diff([]string{"sms"}, srv.State().Guardian.MessageTypes); diff != "" {
		t.Errorf("stored message types (-want +got):\n%s", diff)
	}
}

func TestContractGuardianUnderUPE(t *testing.T) {
	t.Parallel()
	c, _ := fake(t, phonemigratetest.Unified)
	_, err := c.SelectedPhoneProvider(t.Context())
	wantIs(t, err, phonemigrate.ErrForbidden)
	_, err = c.LegacyTwilio(t.Context())
	wantIs(t, err, phonemigrate.ErrForbidden)
	_, err = c.LegacyPhoneTemplates(t.Context())
	wantIs(t, err, phonemigrate.ErrForbidden)
	var apiErr *phonemigrate.APIError
	if errors.As(err, &apiErr) && !strings.Contains(apiErr.Message, "deprecated") {
		t.Errorf("403 message = %q, want Auth0's deprecated-feature text", apiErr.Message)
	}

	// Message types must stay within the provider's delivery methods.
	noErr(t, c.SetPhoneMessageTypes(t.Context(), delivery.Of(delivery.Text, delivery.Voice)))
	must[phonemigrate.PhoneProvider](t)(c.UpdatePhoneProvider(t.Context(), unifiedProvider, phonemigrate.PhoneProviderRequest{
		Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: phonemigratetest.TwilioSID, DefaultFrom: phonemigratetest.TwilioFrom, DeliveryMethods: delivery.Of(delivery.Text)},
	}))
	err = c.SetPhoneMessageTypes(t.Context(), delivery.Of(delivery.Voice))
	wantIs(t, err, phonemigrate.ErrConflict)
}

func TestContractTwilioProvider(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyTwilio)
	if ps := must[[]phonemigrate.PhoneProvider](t)(c.ListPhoneProviders(t.Context())); len(ps) != 0 {
		t.Fatalf("ListPhoneProviders = %+v, want none", ps)
	}
	req := phonemigrate.PhoneProviderRequest{
		Name:          "twilio",
		Configuration: phonemigrate.ProviderConfiguration{SID: phonemigratetest.TwilioSID, DefaultFrom: phonemigratetest.SMSFrom, DeliveryMethods: delivery.Of(delivery.Text)},
		AuthToken:     phonemigrate.Secret(phonemigratetest.TwilioAuthToken),
	}
	p := must[phonemigrate.PhoneProvider](t)(c.CreatePhoneProvider(t.Context(), req))
	want := phonemigrate.PhoneProvider{ID: p.ID, Name: "twilio", Configuration: req.Configuration}
	if diff := cmp.Diff(want, p); diff != "" || p.ID == "" {
		t.Errorf("CreatePhoneProvider (-want +got):\n%s", diff)
	}
	if got := srv.State().PhoneProviders[0].Credentials.AuthToken; got != phonemigratetest.TwilioAuthToken {
		t.Errorf("stored auth token = %q", got)
	}
	_, err := c.CreatePhoneProvider(t.Context(), req)
	wantIs(t, err, phonemigrate.ErrConflict)

	// Update without a token keeps the stored one.
	req.AuthToken = ""
	req.Configuration.DeliveryMethods = delivery.Of(delivery.Text, delivery.Voice)
	p = must[phonemigrate.PhoneProvider](t)(c.UpdatePhoneProvider(t.Context(), p.ID, req))
	if p.Configuration.DeliveryMethods != delivery.Of(delivery.Text, delivery.Voice) {
		t.Errorf("updated delivery methods = %v", p.Configuration.DeliveryMethods)
	}
	if got := srv.State().PhoneProviders[0].Credentials.AuthToken; got != phonemigratetest.TwilioAuthToken {
		t.Errorf("stored auth token after update = %q", got)
	}
	noErr(t, c.TestPhoneProvider(t.Context(), p.ID, "+15550100", delivery.Text))
	list := must[[]phonemigrate.PhoneProvider](t)(c.ListPhoneProviders(t.Context()))
	if len(list) == 1 && list[0].CreatedAt.IsZero() {
		t.Errorf("ListPhoneProviders: no created_at")
	}
	if diff := cmp.Diff([]phonemigrate.PhoneProvider{p}, list, ignoreCreatedAt); diff != "" {
		t.Errorf("ListPhoneProviders (-want +got):\n%s", diff)
	}
	noErr(t, c.DeletePhoneProvider(t.Context(), p.ID))
	wantIs(t, c.DeletePhoneProvider(t.Context(), p.ID), phonemigrate.ErrNotFound)
	wantIs(t, c.TestPhoneProvider(t.Context(), p.ID, "+15550100", delivery.Text), phonemigrate.ErrNotFound)
	_, err = c.UpdatePhoneProvider(t.Context(), p.ID, req)
	wantIs(t, err, phonemigrate.ErrNotFound)
}

// TestContractCustomProvider runs the custom provider sequence: Action
// created, built, deployed, bound, then the provider with credentials {}.
func TestContractCustomProvider(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyGateway)
	custom := phonemigrate.PhoneProviderRequest{Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)}}
	// Auth0 accepts a custom provider with no Action at all (recorded);
	// messages then go nowhere until one is deployed and bound.
	early := must[phonemigrate.PhoneProvider](t)(c.CreatePhoneProvider(t.Context(), custom))
	noErr(t, c.DeletePhoneProvider(t.Context(), early.ID))

	code := `exports.onExecuteCustomPhoneProvider = async (event, api) => {};`
	a := must[phonemigrate.Action](t)(c.CreateAction(t.Context(), phonemigrate.ActionRequest{
		Name: "custom-phone-provider", Runtime: "node22", Code: code,
		Secrets:      []phonemigrate.ActionSecret{{Name: "GATEWAY_SECRET", Value: "gw-value"}},
		Dependencies: []phonemigrate.ActionDependency{{Name: "jsonwebtoken", Version: "9.0.2"}},
	}))
	if a.ID == "" || a.Code != code || a.Deployed || !cmp.Equal(a.SecretNames, []string{"GATEWAY_SECRET"}) || !cmp.Equal(a.SupportedTriggers, []string{phonemigrate.TriggerCustomPhoneProvider}) {
		t.Errorf("CreateAction = %+v", a)
	}
	if got := srv.State().Actions[0].Secrets; len(got) != 1 {
		t.Errorf("stored secrets = %+v", got)
	}
	for i := 0; a.Status != "built"; i++ {
		if i == 50 {
			t.Fatalf("Action still %q", a.Status)
		}
		a = must[phonemigrate.Action](t)(c.GetAction(t.Context(), a.ID))
	}
	// Deploy answers before the version is deployed (recorded): reads
	// show it deployed a little later.
	noErr(t, c.DeployAction(t.Context(), a.ID))
	for i := 0; !a.Deployed; i++ {
		if i == 50 {
			t.Fatal("GetAction after deploy: never Deployed")
		}
		a = must[phonemigrate.Action](t)(c.GetAction(t.Context(), a.ID))
	}
	listed := must[[]phonemigrate.Action](t)(c.ListActionsByTrigger(t.Context(), phonemigrate.TriggerCustomPhoneProvider))
	if len(listed) != 1 || listed[0].ID != a.ID {
		t.Errorf("ListActionsByTrigger = %+v", listed)
	}
	bs := must[[]phonemigrate.Binding](t)(c.SetTriggerBindings(t.Context(), phonemigrate.TriggerCustomPhoneProvider, []phonemigrate.BindingRef{{ActionID: a.ID, DisplayName: "cp"}}))
	if len(bs) != 1 || bs[0].ActionID != a.ID || bs[0].DisplayName != "cp" || bs[0].ID == "" {
		t.Errorf("SetTriggerBindings = %+v", bs)
	}
	if got := must[[]phonemigrate.Binding](t)(c.TriggerBindings(t.Context(), phonemigrate.TriggerCustomPhoneProvider)); !cmp.Equal(bs, got) {
		t.Errorf("TriggerBindings = %+v, want %+v", got, bs)
	}

	p := must[phonemigrate.PhoneProvider](t)(c.CreatePhoneProvider(t.Context(), custom))
	// The union trap: go-auth0 decodes a custom configuration as Twilio's.
	list := must[[]phonemigrate.PhoneProvider](t)(c.ListPhoneProviders(t.Context()))
	want := []phonemigrate.PhoneProvider{{ID: p.ID, Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)}}}
	if diff := cmp.Diff(want, list, ignoreCreatedAt); diff != "" {
		t.Errorf("ListPhoneProviders (-want +got):\n%s", diff)
	}
	custom.Configuration.DeliveryMethods = delivery.Of(delivery.Text, delivery.Voice)
	p = must[phonemigrate.PhoneProvider](t)(c.UpdatePhoneProvider(t.Context(), p.ID, custom))
	if p.Configuration.DeliveryMethods != custom.Configuration.DeliveryMethods {
		t.Errorf("UpdatePhoneProvider delivery methods = %v", p.Configuration.DeliveryMethods)
	}

	// A second Action for the trigger is refused (Auth0's 403 and
	// errorCode); a bound Action needs force.
	_, err := c.CreateAction(t.Context(), phonemigrate.ActionRequest{Name: "second", Code: code})
	wantIs(t, err, phonemigrate.ErrForbidden)
	var apiErr *phonemigrate.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != "actions_cardinality_custom_phone_provider_not_allowed" {
		t.Errorf("second custom-phone-provider Action: %v, want errorCode actions_cardinality_custom_phone_provider_not_allowed", err)
	}
	wantIs(t, c.DeleteAction(t.Context(), a.ID, false), phonemigrate.ErrConflict)
	must[[]phonemigrate.Binding](t)(c.SetTriggerBindings(t.Context(), phonemigrate.TriggerCustomPhoneProvider, nil))
	if got := must[[]phonemigrate.Binding](t)(c.TriggerBindings(t.Context(), phonemigrate.TriggerCustomPhoneProvider)); len(got) != 0 {
		t.Errorf("bindings after unbinding all = %+v", got)
	}
	noErr(t, c.DeleteAction(t.Context(), a.ID, true))
	_, err = c.GetAction(t.Context(), a.ID)
	wantIs(t, err, phonemigrate.ErrNotFound)
	wantIs(t, c.DeployAction(t.Context(), a.ID), phonemigrate.ErrNotFound)
	wantIs(t, c.DeleteAction(t.Context(), a.ID, true), phonemigrate.ErrNotFound)
}

func TestContractTemplates(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.Unified)
	all := must[[]phonemigrate.PhoneTemplate](t)(c.ListPhoneTemplates(t.Context()))
	// Auth0's id-less defaults of the types the tenant did not customise
	// are listed too (recorded).
	var ts, defaults []phonemigrate.PhoneTemplate
	for _, x := range all {
		if x.Customized() {
			ts = append(ts, x)
		} else {
			defaults = append(defaults, x)
		}
	}
	if len(defaults) != 2 || defaults[0].Type != "blocked_account" || defaults[1].Type != "change_password" {
		t.Errorf("defaults listed = %+v", defaults)
	}
	slices.SortFunc(ts, func(a, b phonemigrate.PhoneTemplate) int { return strings.Compare(b.Type, a.Type) })
	if len(ts) != 2 || ts[0].ID != unifiedVerify || ts[0].Content.Text != phonemigratetest.UnifiedVerifyText || ts[0].Content.Syntax != "liquid" {
		t.Fatalf("ListPhoneTemplates = %+v", ts)
	}
	content := phonemigrate.PhoneTemplateContent{From: "+15550199", Text: "Code {{ code }} & more", Voice: "Your code is {{ code }}"}
	up := must[phonemigrate.PhoneTemplate](t)(c.UpdatePhoneTemplate(t.Context(), unifiedVerify, content, true))
	content.Syntax = "liquid"
	if diff := cmp.Diff(phonemigrate.PhoneTemplate{ID: unifiedVerify, Type: "otp_verify", Disabled: true, Content: content}, up); diff != "" {
		t.Errorf("UpdatePhoneTemplate (-want +got):\n%s", diff)
	}
	if got := srv.State().PhoneTemplates[0].Content.Body.Text; got != content.Text {
		t.Errorf("stored text = %q", got)
	}
	_, err := c.CreatePhoneTemplate(t.Context(), phonemigrate.PhoneTemplate{Type: "otp_verify", Content: content})
	wantIs(t, err, phonemigrate.ErrConflict)
	noErr(t, c.DeletePhoneTemplate(t.Context(), unifiedVerify))
	wantIs(t, c.DeletePhoneTemplate(t.Context(), unifiedVerify), phonemigrate.ErrNotFound)
	_, err = c.UpdatePhoneTemplate(t.Context(), unifiedVerify, content, false)
	wantIs(t, err, phonemigrate.ErrNotFound)
	created := must[phonemigrate.PhoneTemplate](t)(c.CreatePhoneTemplate(t.Context(), phonemigrate.PhoneTemplate{Type: "otp_verify", Content: content}))
	if created.ID == "" || created.Type != "otp_verify" || created.Content.Text != content.Text {
		t.Errorf("CreatePhoneTemplate = %+v", created)
	}
}

// contractCall is one Client method called with valid arguments against a
// scenario where it succeeds, for the shared fault checks.
type contractCall struct {
	name     string
	scenario phonemigratetest.Scenario
	method   string
	path     string // below /api/v2
	replay   bool   // retried after 5xx and drops
	call     func(ctx context.Context, c *auth0api.Client) error
}

func contractCalls() []contractCall {
	twilio := phonemigrate.PhoneProviderRequest{Name: "twilio", AuthToken: "tok",
		Configuration: phonemigrate.ProviderConfiguration{SID: phonemigratetest.TwilioSID, DefaultFrom: "+15550123", DeliveryMethods: delivery.Of(delivery.Text)}}
	e := func(f func(ctx context.Context, c *auth0api.Client) (any, error)) func(ctx context.Context, c *auth0api.Client) error {
		return func(ctx context.Context, c *auth0api.Client) error { _, err := f(ctx, c); return err }
	}
	const trig = phonemigrate.TriggerCustomPhoneProvider
	return []contractCall{
		{"TenantSettings", phonemigratetest.Empty, "GET", "/tenants/settings", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) { return c.TenantSettings(ctx) })},
		{"SetPhoneConsolidatedExperience", phonemigratetest.Empty, "PATCH", "/tenants/settings", true, func(ctx context.Context, c *auth0api.Client) error {
			_, err := c.SetPhoneConsolidatedExperience(ctx, true)
			return err
		}},
		{"ListSMSConnections", phonemigratetest.LegacyGateway, "GET", "/connections", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) { return c.ListSMSConnections(ctx) })},
		{"GetConnection", phonemigratetest.LegacyGateway, "GET", "/connections/" + gatewayConnID, true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.GetConnection(ctx, gatewayConnID)
		})},
		{"ReplaceConnectionOptions", phonemigratetest.LegacyGateway, "PATCH", "/connections/" + gatewayConnID, true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.ReplaceConnectionOptions(ctx, gatewayConnID, map[string]any{"name": "sms"})
		})},
		{"GuardianFactors", phonemigratetest.MFATwilio, "GET", "/guardian/factors", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) { return c.GuardianFactors(ctx) })},
		{"PhoneMessageTypes", phonemigratetest.MFATwilio, "GET", "/guardian/factors/phone/message-types", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.PhoneMessageTypes(ctx)
		})},
		{"SetPhoneMessageTypes", phonemigratetest.MFATwilio, "PUT", "/guardian/factors/phone/message-types", true, func(ctx context.Context, c *auth0api.Client) error {
			return c.SetPhoneMessageTypes(ctx, delivery.Of(delivery.Text))
		}},
		{"SelectedPhoneProvider", phonemigratetest.MFATwilio, "GET", "/guardian/factors/phone/selected-provider", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.SelectedPhoneProvider(ctx)
		})},
		{"LegacyTwilio", phonemigratetest.MFATwilio, "GET", "/guardian/factors/phone/providers/twilio", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.LegacyTwilio(ctx)
		})},
		{"LegacyPhoneTemplates", phonemigratetest.MFATwilio, "GET", "/guardian/factors/phone/templates", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.LegacyPhoneTemplates(ctx)
		})},
		{"ListPhoneProviders", phonemigratetest.Unified, "GET", "/branding/phone/providers", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.ListPhoneProviders(ctx)
		})},
		{"CreatePhoneProvider", phonemigratetest.LegacyTwilio, "POST", "/branding/phone/providers", false, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.CreatePhoneProvider(ctx, twilio)
		})},
		{"UpdatePhoneProvider", phonemigratetest.Unified, "PATCH", "/branding/phone/providers/" + unifiedProvider, true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.UpdatePhoneProvider(ctx, unifiedProvider, twilio)
		})},
		{"DeletePhoneProvider", phonemigratetest.Unified, "DELETE", "/branding/phone/providers/" + unifiedProvider, true, func(ctx context.Context, c *auth0api.Client) error {
			return c.DeletePhoneProvider(ctx, unifiedProvider)
		}},
		{"TestPhoneProvider", phonemigratetest.Unified, "POST", "/branding/phone/providers/" + unifiedProvider + "/try", false, func(ctx context.Context, c *auth0api.Client) error {
			return c.TestPhoneProvider(ctx, unifiedProvider, "+15550100", delivery.Voice)
		}},
		{"ListPhoneTemplates", phonemigratetest.Unified, "GET", "/branding/phone/templates", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.ListPhoneTemplates(ctx)
		})},
		{"CreatePhoneTemplate", phonemigratetest.Unified, "POST", "/branding/phone/templates", false, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.CreatePhoneTemplate(ctx, phonemigrate.PhoneTemplate{Type: "blocked_account", Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", Text: "blocked"}})
		})},
		{"UpdatePhoneTemplate", phonemigratetest.Unified, "PATCH", "/branding/phone/templates/" + unifiedVerify, true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.UpdatePhoneTemplate(ctx, unifiedVerify, phonemigrate.PhoneTemplateContent{Text: "x {{ code }}"}, false)
		})},
		{"DeletePhoneTemplate", phonemigratetest.Unified, "DELETE", "/branding/phone/templates/" + unifiedVerify, true, func(ctx context.Context, c *auth0api.Client) error {
			return c.DeletePhoneTemplate(ctx, unifiedVerify)
		}},
		{"CreateAction", phonemigratetest.LegacyGateway, "POST", "/actions/actions", false, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.CreateAction(ctx, phonemigrate.ActionRequest{Name: "cp", Code: "exports.onExecuteCustomPhoneProvider = async () => {};"})
		})},
		{"GetAction", phonemigratetest.LegacyGateway, "GET", "/actions/actions/{id}", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.GetAction(ctx, actionID(ctx))
		})},
		{"DeployAction", phonemigratetest.LegacyGateway, "POST", "/actions/actions/{id}/deploy", false, func(ctx context.Context, c *auth0api.Client) error {
			return c.DeployAction(ctx, actionID(ctx))
		}},
		{"ListActionsByTrigger", phonemigratetest.LegacyGateway, "GET", "/actions/actions", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.ListActionsByTrigger(ctx, trig)
		})},
		{"DeleteAction", phonemigratetest.LegacyGateway, "DELETE", "/actions/actions/{id}", true, func(ctx context.Context, c *auth0api.Client) error {
			return c.DeleteAction(ctx, actionID(ctx), true)
		}},
		{"TriggerBindings", phonemigratetest.LegacyGateway, "GET", "/actions/triggers/" + trig + "/bindings", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.TriggerBindings(ctx, trig)
		})},
		{"SetTriggerBindings", phonemigratetest.LegacyGateway, "PATCH", "/actions/triggers/" + trig + "/bindings", true, e(func(ctx context.Context, c *auth0api.Client) (any, error) {
			return c.SetTriggerBindings(ctx, trig, []phonemigrate.BindingRef{{ActionID: actionID(ctx), DisplayName: "cp"}})
		})},
	}
}

type actionKey struct{}

func actionID(ctx context.Context) string { id, _ := ctx.Value(actionKey{}).(string); return id }

// prepare creates (and builds) an Action when the call's path needs one and
// returns a context carrying its id and the call's path with it.
func prepare(t *testing.T, c *auth0api.Client, cc contractCall) (context.Context, string) {
	t.Helper()
	ctx := t.Context()
	if !strings.Contains(cc.path, "{id}") && cc.name != "SetTriggerBindings" {
		return ctx, cc.path
	}
	a := must[phonemigrate.Action](t)(c.CreateAction(ctx, phonemigrate.ActionRequest{Name: "cp", Code: "exports.onExecuteCustomPhoneProvider = async () => {};"}))
	for i := 0; a.Status != "built"; i++ {
		if i == 50 {
			t.Fatalf("Action still %q", a.Status)
		}
		a = must[phonemigrate.Action](t)(c.GetAction(ctx, a.ID))
	}
	if cc.name == "SetTriggerBindings" {
		noErr(t, c.DeployAction(ctx, a.ID))
	}
	return context.WithValue(ctx, actionKey{}, a.ID), strings.Replace(cc.path, "{id}", a.ID, 1)
}

// TestContractFaults applies the fake's faults to every Client method:
// 500s and dropped connections (retried only when replay-safe), 429s from
// its rate limiter, and cancelled contexts.
func TestContractFaults(t *testing.T) {
	t.Parallel()
	for _, cc := range contractCalls() {
		t.Run(cc.name, func(t *testing.T) {
			attempts := 1
			if cc.replay {
				attempts = 3
			}
			t.Run("success", func(t *testing.T) {
				c, _ := fake(t, cc.scenario)
				ctx, _ := prepare(t, c, cc)
				noErr(t, cc.call(ctx, c))
			})
			t.Run("500", func(t *testing.T) {
				c, srv := fake(t, cc.scenario)
				ctx, path := prepare(t, c, cc)
				srv.ResetRequests()
				srv.InjectFault(phonemigratetest.Fault{Method: cc.method, Path: path, Status: 500})
				err := cc.call(ctx, c)
				var apiErr *phonemigrate.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v is not an APIError", err)
				}
				if diff := cmp.Diff(&phonemigrate.APIError{Method: cc.method, Path: path, StatusCode: 500, Message: "Injected fault"}, apiErr); diff != "" {
					t.Errorf("APIError (-want +got):\n%s", diff)
				}
				if n := len(srv.Requests()); n != attempts {
					t.Errorf("%d requests, want %d", n, attempts)
				}
			})
			t.Run("500-then-ok", func(t *testing.T) {
				c, srv := fake(t, cc.scenario)
				ctx, path := prepare(t, c, cc)
				srv.InjectFault(phonemigratetest.Fault{Method: cc.method, Path: path, Status: 503, Times: 1})
				err := cc.call(ctx, c)
				if cc.replay {
					noErr(t, err)
				} else {
					wantIs(t, err, phonemigrate.ErrServer)
				}
			})
			t.Run("dropped", func(t *testing.T) {
				c, srv := fake(t, cc.scenario)
				ctx, path := prepare(t, c, cc)
				srv.ResetRequests()
				srv.InjectFault(phonemigratetest.Fault{Method: cc.method, Path: path, Drop: true})
				err := cc.call(ctx, c)
				var apiErr *phonemigrate.APIError
				if err == nil || errors.As(err, &apiErr) {
					t.Fatalf("error = %v, want a transport error", err)
				}
				// The fake logs a dropped request before hanging up, so the
				// log is complete once the call has returned.
				if n := len(srv.Requests()); n < attempts || !cc.replay && n != 1 {
					t.Errorf("%d requests, want %d", n, attempts)
				}
			})
			t.Run("429", func(t *testing.T) {
				c, srv := fake(t, cc.scenario)
				ctx, _ := prepare(t, c, cc)
				// One request per 1000 s: the announced reset is beyond
				// MaxRetryWait, so the 429 comes back at once.
				srv.SetRateLimit(0.001, 1)
				_, _ = c.TenantSettings(ctx) // spend the burst
				srv.ResetRequests()
				// The client's waits are on a held clock: that it did not
				// wait is asserted, not timed.
				waits, sdkSaw := auth0api.HoldWaits(c)
				err := cc.call(ctx, c)
				wantIs(t, err, phonemigrate.ErrRateLimited)
				// Waiting would mean at least MaxRetryWait (30 s), in the
				// transport or in go-auth0's retrier.
				if w := waits(); len(w) != 0 {
					t.Errorf("the client waited %v instead of returning the 429", w)
				}
				if n := sdkSaw(); n != 0 {
					t.Errorf("go-auth0's retrier saw %d retryable answers (it sleeps after each)", n)
				}
				if n := len(srv.Requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
			t.Run("cancelled", func(t *testing.T) {
				c, srv := fake(t, cc.scenario)
				ctx, _ := prepare(t, c, cc)
				srv.ResetRequests()
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				wantIs(t, cc.call(ctx, c), context.Canceled)
				if n := len(srv.Requests()); n != 0 {
					t.Errorf("%d requests with a cancelled context", n)
				}
			})
		})
	}
}

// heldRateClock is a clock for the fake's rate limit (WithRateClock) that
// stands still for its first n requests and then moves an hour per
// request: those n arrive at the same instant, so the bucket does not
// refill between them however slow the machine, and every later one finds
// it refilled.
func heldRateClock(n int32) func() time.Time {
	start := time.Now()
	var calls atomic.Int32
	return func() time.Time {
		return start.Add(time.Duration(max(0, calls.Add(1)-n)) * time.Hour)
	}
}

// TestContractRateLimitRetry: a 429 from the fake's rate limiter is waited
// out (X-RateLimit-Reset) and retried. The limit's clock stands still for
// the two calls, so the second one meets a 429 whatever the machine's
// speed, and moves on for the retry.
func TestContractRateLimitRetry(t *testing.T) {
	t.Parallel()
	c, srv := fakeWith(t, phonemigratetest.LegacyGateway, []phonemigratetest.Option{phonemigratetest.WithRateClock(heldRateClock(2))})
	srv.SetRateLimit(5, 1)
	for range 2 { // the second call is limited and waits for X-RateLimit-Reset
		must[phonemigrate.TenantSettings](t)(c.TenantSettings(t.Context()))
	}
	var limited int
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("%d 429s, want 1 (the second call's first attempt): %+v", limited, srv.Requests())
	}
}

// TestContractCancelDuringRateLimitWait: cancelling while waiting for the
// fake's rate limit to reset (~100 s away) returns at once.
func TestContractCancelDuringRateLimitWait(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.LegacyGateway, func(c *auth0api.Config) { c.MaxRetryWait = time.Hour })
	srv.SetRateLimit(0.01, 1) // reset ~100 s away
	must[phonemigrate.TenantSettings](t)(c.TenantSettings(t.Context()))
	// The cancel comes once the client waits, however slow the machine (a
	// cancel before would end the call without a wait to cut).
	waits := auth0api.WaitStarts(c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.ListSMSConnections(ctx); done <- err }()
	select {
	case d := <-waits:
		if d <= 0 {
			t.Errorf("the client waits %v, want the time to the fake's reset (~100 s)", d)
		}
	case err := <-done:
		t.Fatalf("ListSMSConnections returned (%v) without waiting", err)
	case <-time.After(2 * time.Minute): // only if it never comes
		t.Fatal("the client never waited")
	}
	cancel()
	start := time.Now()
	err := <-done
	d := time.Since(start)
	wantIs(t, err, context.Canceled)
	// The wait cancelled is ~100 s: a return within a tenth of it shows
	// the cancel cut it, however busy the machine.
	t.Logf("returned %v after cancel", d)
	if d >= 10*time.Second {
		t.Errorf("returned %v after cancel: the rate-limit wait was not cut", d)
	}
}

func TestContractClientCredentials(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()
	c, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: phonemigrate.Secret(srv.ClientSecret)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := c.ListSMSConnections(t.Context()); err != nil {
		t.Fatalf("ListSMSConnections: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/oauth/token" || reqs[0].Status != 200 || reqs[1].Status != 200 {
		t.Errorf("requests = %+v, want one token request then one API call", reqs)
	}

	_, err = auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: "wrong-SECRET"})
	var te *auth0api.TokenError
	if !errors.As(err, &te) || te.StatusCode != 401 {
		t.Fatalf("New with a wrong secret: %v, want a 401 *TokenError", err)
	}
	wantIs(t, err, phonemigrate.ErrUnauthorized)
	if strings.Contains(err.Error(), "wrong-SECRET") || strings.Contains(err.Error(), srv.ClientSecret) {
		t.Errorf("error %q holds a secret", err)
	}
}

// TestContractNoSecretsInLogs runs a migration-shaped sequence with debug
// logging and checks no secret reaches the log.
func TestContractNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c, srv := fake(t, phonemigratetest.LegacyTwilio, func(c *auth0api.Config) {
		c.Logger = slogDebug(&buf)
	})
	srv.InjectFault(phonemigratetest.Fault{Method: "POST", Path: "/branding/phone/providers", Status: 429, Times: 1})
	must[phonemigrate.PhoneProvider](t)(c.CreatePhoneProvider(t.Context(), phonemigrate.PhoneProviderRequest{Name: "twilio", AuthToken: phonemigrate.Secret(phonemigratetest.TwilioAuthToken),
		Configuration: phonemigrate.ProviderConfiguration{SID: phonemigratetest.TwilioSID, DefaultFrom: "+15550123", DeliveryMethods: delivery.Of(delivery.Text)}}))
	conns := must[[]phonemigrate.Connection](t)(c.ListSMSConnections(t.Context()))
	b, _ := json.Marshal(conns)
	if !strings.Contains(string(b), phonemigratetest.TwilioAuthToken) {
		t.Fatal("fixture: the connection options should hold the legacy Twilio token")
	}
	for _, s := range []string{srv.Token, phonemigratetest.TwilioAuthToken} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log holds a secret:\n%s", buf.String())
		}
	}
	if !strings.Contains(buf.String(), `"status":429`) {
		t.Errorf("log lacks the 429 attempt:\n%s", buf.String())
	}
}

func slogDebug(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ignoreCreatedAt leaves out the creation times Auth0 (and the fake) set;
// the tests that need them check them on their own.
var ignoreCreatedAt = cmpopts.IgnoreFields(phonemigrate.PhoneProvider{}, "CreatedAt")
