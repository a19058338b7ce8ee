package phonemigratetest

import (
	"testing"

	v1 "github.com/auth0/go-auth0/management"
)

// TestGoAuth0V1TypedReads reads the sms connection and the phone areas of
// the fake, served over HTTPS (StartTLSAt), with go-auth0 v1 (v1.47.0,
// what terraform-provider-auth0 and many services still use): its typed
// decoding of every answer must succeed and hold the tenant's values,
// before the migration and after a tenant-level provider is added.
func TestGoAuth0V1TypedReads(t *testing.T) {
	t.Parallel()
	srv := NewUnstartedServer(LegacyGateway)
	t.Cleanup(srv.Close)
	if _, err := srv.StartTLSAt(""); err != nil {
		t.Fatal(err)
	}
	m, err := v1.New(srv.Domain(), v1.WithStaticToken(srv.Token), v1.WithClient(srv.Client()), v1.WithRetries(0, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	conn, err := m.Connection.ReadByName(ctx, "sms")
	if err != nil {
		t.Fatalf("Connection.ReadByName: %v", err)
	}
	opts, ok := conn.Options.(*v1.ConnectionOptionsSMS)
	if !ok {
		t.Fatalf("sms connection options decoded as %T", conn.Options)
	}
	if opts.GetProvider() != "sms_gateway" || opts.GetTemplate() != GatewayTemplate || opts.GetGatewayURL() == "" {
		t.Errorf("sms options: provider %q template %q gateway %q", opts.GetProvider(), opts.GetTemplate(), opts.GetGatewayURL())
	}
	ten, err := m.Tenant.Read(ctx)
	if err != nil {
		t.Fatalf("Tenant.Read: %v", err)
	}
	if ten.GetFriendlyName() != TenantFriendlyName {
		t.Errorf("tenant friendly_name %q", ten.GetFriendlyName())
	}
	mt, err := m.Guardian.MultiFactor.Phone.MessageTypes(ctx)
	if err != nil {
		t.Fatalf("Phone.MessageTypes: %v", err)
	}
	if _, err := m.Guardian.MultiFactor.Phone.Provider(ctx); err != nil {
		t.Fatalf("Phone.Provider: %v", err)
	}
	if _, err := m.Guardian.MultiFactor.SMS.Template(ctx); err != nil {
		t.Fatalf("SMS.Template: %v", err)
	}
	if _, err := m.Guardian.MultiFactor.SMS.Twilio(ctx); err != nil {
		t.Fatalf("SMS.Twilio: %v", err)
	}
	if mt == nil {
		t.Error("Phone.MessageTypes answered nothing")
	}

	wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "twilio",
		"configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []any{"text"}},
		"credentials":   map[string]any{"auth_token": TwilioAuthToken}}, 201)
	providers, err := m.Branding.ListPhoneProviders(ctx)
	if err != nil {
		t.Fatalf("Branding.ListPhoneProviders: %v", err)
	}
	if len(providers.Providers) != 1 || providers.Providers[0].GetName() != "twilio" {
		t.Errorf("providers %+v", providers.Providers)
	}
	p, err := m.Branding.ReadPhoneProvider(ctx, providers.Providers[0].GetID())
	if err != nil || p.GetConfiguration().GetSID() != TwilioSID {
		t.Errorf("Branding.ReadPhoneProvider: %+v, %v", p, err)
	}
	tpls, err := m.Branding.ListPhoneNotificationTemplate(ctx)
	if err != nil {
		t.Fatalf("Branding.ListPhoneNotificationTemplate: %v", err)
	}
	if len(tpls.Templates) == 0 {
		t.Errorf("no phone templates (Auth0 lists its defaults)")
	}
	actions, err := m.Action.List(ctx, v1.Parameter("triggerId", "custom-phone-provider"))
	if err != nil {
		t.Fatalf("Action.List: %v", err)
	}
	if len(actions.Actions) != 0 {
		t.Errorf("actions %+v", actions.Actions)
	}
	if _, err := m.Action.Bindings(ctx, "custom-phone-provider"); err != nil {
		t.Fatalf("Action.Bindings: %v", err)
	}
}
