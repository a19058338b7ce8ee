package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
)

// tenant describes what the mocked Management API answers.
type tenant struct {
	upe         bool
	connections []phonemigrate.Connection
	mfa         bool
	providers   []phonemigrate.PhoneProvider
}

// expectReads sets up the read calls the migration's discovery makes.
// They may happen any number of times; no write is expected, so gomock
// fails the test if the service ever writes.
func expectReads(c *mock_phonemigrate.MockClient, t tenant) {
	e := c.EXPECT()
	e.TenantSettings(gomock.Any()).Return(phonemigrate.TenantSettings{PhoneConsolidatedExperience: &t.upe}, nil).AnyTimes()
	e.ListSMSConnections(gomock.Any()).Return(t.connections, nil).AnyTimes()
	e.GetConnection(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (phonemigrate.Connection, error) {
		for _, c := range t.connections {
			if c.ID == id {
				return c, nil
			}
		}
		return phonemigrate.Connection{}, &phonemigrate.APIError{StatusCode: 404}
	}).AnyTimes()
	e.GuardianFactors(gomock.Any()).Return([]phonemigrate.GuardianFactor{{Name: "sms", Enabled: t.mfa}}, nil).AnyTimes()
	e.PhoneMessageTypes(gomock.Any()).Return(delivery.Of(delivery.Text), nil).AnyTimes()
	e.SelectedPhoneProvider(gomock.Any()).Return("auth0", nil).AnyTimes()
	e.LegacyTwilio(gomock.Any()).Return(phonemigrate.LegacyTwilio{}, &phonemigrate.APIError{StatusCode: 404}).AnyTimes()
	e.LegacyPhoneTemplates(gomock.Any()).Return(phonemigrate.LegacyPhoneTemplates{}, &phonemigrate.APIError{StatusCode: 404}).AnyTimes()
	e.ListPhoneProviders(gomock.Any()).Return(t.providers, nil).AnyTimes()
	e.ListActionsByTrigger(gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
	e.TriggerBindings(gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
	e.ListPhoneTemplates(gomock.Any()).Return(nil, nil).AnyTimes()
	// The integrations-at-risk report (plan and check before the switch).
	e.ClientGrants(gomock.Any()).Return(nil, nil).AnyTimes()
	e.Logs(gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
}

var gatewayConnection = phonemigrate.Connection{
	ID: "con_1", Name: "sms", Strategy: "sms",
	Options: map[string]any{
		"provider":    "sms_gateway",
		"gateway_url": "https://sms.example.com/send",
		"from":        "+15005550006",
		"gateway_authentication": map[string]any{
			"method": "bearer", "audience": "urn:gw", "subject": "urn:Auth0", "secret": "s3cret",
		},
		"template": "Your code: @@password@@",
		"syntax":   "md_with_macros",
	},
}

var twilioProvider = phonemigrate.PhoneProvider{ID: "pro_1", Name: phonemigrate.ProviderTwilio,
	Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", DefaultFrom: "+15005550006", DeliveryMethods: delivery.Of(delivery.Text)}}

func TestStatus(t *testing.T) {
	tests := []struct {
		name   string
		tenant tenant
		want   Status
	}{
		{"already unified", tenant{upe: true, mfa: true, providers: []phonemigrate.PhoneProvider{twilioProvider}}, Status{Unified: true, Eligible: true}},
		{"switched without a provider", tenant{upe: true, mfa: true}, Status{Unified: true, Eligible: true, Problems: 1}},
		{"nothing to migrate", tenant{}, Status{}},
		{"gateway tenant", tenant{connections: []phonemigrate.Connection{gatewayConnection}},
			Status{Eligible: true, Provider: phonemigrate.ProviderKindCustom, Steps: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			client := mock_phonemigrate.NewMockClient(ctrl)
			expectReads(client, tt.tenant)

			got, err := (&StatusService{Client: client}).Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
		})
	}
}

// An Auth0 outage is returned, wrapped, and still matches the sentinel.
func TestStatusAPIError(t *testing.T) {
	ctrl := gomock.NewController(t)
	client := mock_phonemigrate.NewMockClient(ctrl)
	client.EXPECT().TenantSettings(gomock.Any()).
		Return(phonemigrate.TenantSettings{}, &phonemigrate.APIError{Method: "GET", Path: "/tenants/settings", StatusCode: 503, Message: "Service Unavailable"})

	_, err := (&StatusService{Client: client}).Status(context.Background())
	if !errors.Is(err, phonemigrate.ErrServer) {
		t.Fatalf("err = %v, want one matching phonemigrate.ErrServer", err)
	}
	if !strings.HasPrefix(err.Error(), "phone migration status: ") {
		t.Errorf("err = %q, want it wrapped by the service", err)
	}
}

// The program itself runs against fake tenants.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "legacy-gateway  {Unified:false Eligible:true Provider:custom Steps:7 NeedsTwilioToken:false Problems:0}\n" +
		"unified         {Unified:true Eligible:true Provider: Steps:0 NeedsTwilioToken:false Problems:0}\n" +
		"empty           {Unified:false Eligible:false Provider: Steps:0 NeedsTwilioToken:false Problems:0}\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
