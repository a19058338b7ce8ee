package phonemigratetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

func TestNewServerFromInvalid(t *testing.T) {
	t.Parallel()
	v := snapshot.Version
	tests := []struct {
		name string
		snap *snapshot.Snapshot
	}{
		{"nil", nil},
		{"other version", &snapshot.Snapshot{Version: v + 1}},
		{"connection without id", &snapshot.Snapshot{Version: v, Connections: []snapshot.Connection{{Name: "sms"}}}},
		{"repeated connection id", &snapshot.Snapshot{Version: v, Connections: []snapshot.Connection{{ID: "c", Name: "a"}, {ID: "c", Name: "b"}}}},
		{"template without id", &snapshot.Snapshot{Version: v, PhoneTemplates: []snapshot.Template{{Type: "otp_verify"}}}},
		{"gateway secret not base64url", &snapshot.Snapshot{Version: v, Connections: []snapshot.Connection{{ID: "c", Name: "a", Options: map[string]any{
			"gateway_url": "https://gw.example", "gateway_authentication": map[string]any{"secret": "not base64!", "secret_base64_encoded": true}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := NewServerFrom(tt.snap)
			if !errors.Is(err, ErrInvalidSnapshot) {
				if srv != nil {
					srv.Close()
				}
				t.Fatalf("NewServerFrom = %v, want ErrInvalidSnapshot", err)
			}
		})
	}
}

func TestDiffSnapshots(t *testing.T) {
	t.Parallel()
	f, tr := false, true
	tests := []struct {
		name      string
		want, got *bool
		same      bool
	}{
		{"absent and false", nil, &f, true},
		{"false and absent", &f, nil, true},
		{"true and true", &tr, &tr, true},
		{"absent and true", nil, &tr, false},
		{"false and true", &f, &tr, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &snapshot.Snapshot{Version: 1, PhoneConsolidatedExperience: tt.want}
			b := &snapshot.Snapshot{Version: 1, PhoneConsolidatedExperience: tt.got}
			if got := DiffSnapshots(a, b) == ""; got != tt.same {
				t.Errorf("same = %v, want %v", got, tt.same)
			}
		})
	}
	a := &snapshot.Snapshot{Version: 1, PhoneTemplates: []snapshot.Template{{ID: "tem_1", Type: "otp_verify", Text: "a"}}}
	b := &snapshot.Snapshot{Version: 1, PhoneTemplates: []snapshot.Template{{ID: "tem_2", Type: "otp_verify", Text: "a"}}}
	if DiffSnapshots(a, b) == "" {
		t.Error("a template id change is not a difference")
	}
}

// A snapshot's deployed Action is served as it is, but never run: a
// message through it is not delivered and nothing reaches the network.
func TestNewServerFromDoesNotRunSnapshotActions(t *testing.T) {
	requireNode(t)
	t.Parallel()
	on := true
	snap := &snapshot.Snapshot{
		Version:                     snapshot.Version,
		PhoneConsolidatedExperience: &on,
		Guardian:                    snapshot.Guardian{Factors: []snapshot.Factor{{Name: "sms", Enabled: true}}, MessageTypes: []string{"sms"}},
		PhoneProviders:              []snapshot.Provider{{ID: "pro_1", Name: "custom", DeliveryMethods: []string{"text"}}},
		Actions: []snapshot.Action{{ID: "act_1", Name: "sender", Runtime: "node22", Status: "built", Deployed: true,
			SupportedTriggers: []string{"custom-phone-provider"}, Secrets: map[string]string{},
			Code: `exports.onExecuteCustomPhoneProvider = async () => { await fetch("https://api.twilio.com/"); };`}},
		Bindings: []snapshot.Binding{{ID: "b1", ActionID: "act_1", ActionName: "sender", DisplayName: "sender"}},
	}
	srv, err := NewServerFrom(snap)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := srv.State().Actions[0].Code; got != snap.Actions[0].Code {
		t.Errorf("served code = %q, want the snapshot's", got)
	}
	res, err := srv.Notify(t.Context(), NotifyRequest{Kind: "mfa", Recipient: "+15551234567"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered || !strings.Contains(res.Detail, "not run by the fake") {
		t.Errorf("Notify = %+v, want not delivered, saying why", res)
	}
}
