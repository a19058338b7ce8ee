package phonemigratetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func TestNewServerFromInvalid(t *testing.T) {
	t.Parallel()
	v := phonemigrate.SnapshotVersion
	tests := []struct {
		name string
		snap *phonemigrate.Snapshot
	}{
		{"nil", nil},
		{"other version", &phonemigrate.Snapshot{Version: v + 1}},
		{"connection without id", &phonemigrate.Snapshot{Version: v, Connections: []phonemigrate.SnapshotConnection{{Name: "sms"}}}},
		{"repeated connection id", &phonemigrate.Snapshot{Version: v, Connections: []phonemigrate.SnapshotConnection{{ID: "c", Name: "a"}, {ID: "c", Name: "b"}}}},
		{"template without id", &phonemigrate.Snapshot{Version: v, PhoneTemplates: []phonemigrate.SnapshotTemplate{{Type: "otp_verify"}}}},
		{"gateway secret not base64url", &phonemigrate.Snapshot{Version: v, Connections: []phonemigrate.SnapshotConnection{{ID: "c", Name: "a", Options: map[string]any{
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
			a := &phonemigrate.Snapshot{Version: 1, PhoneConsolidatedExperience: tt.want}
			b := &phonemigrate.Snapshot{Version: 1, PhoneConsolidatedExperience: tt.got}
			if got := DiffSnapshots(a, b) == ""; got != tt.same {
				t.Errorf("same = %v, want %v", got, tt.same)
			}
		})
	}
	a := &phonemigrate.Snapshot{Version: 1, PhoneTemplates: []phonemigrate.SnapshotTemplate{{ID: "tem_1", Type: "otp_verify", Text: "a"}}}
	b := &phonemigrate.Snapshot{Version: 1, PhoneTemplates: []phonemigrate.SnapshotTemplate{{ID: "tem_2", Type: "otp_verify", Text: "a"}}}
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
	snap := &phonemigrate.Snapshot{
		Version:                     phonemigrate.SnapshotVersion,
		PhoneConsolidatedExperience: &on,
		Guardian:                    phonemigrate.SnapshotGuardian{Factors: []phonemigrate.SnapshotFactor{{Name: "sms", Enabled: true}}, MessageTypes: []string{"sms"}},
		PhoneProviders:              []phonemigrate.SnapshotProvider{{ID: "pro_1", Name: "custom", DeliveryMethods: []string{"text"}}},
		Actions: []phonemigrate.SnapshotAction{{ID: "act_1", Name: "sender", Runtime: "node22", Status: "built", Deployed: true,
			SupportedTriggers: []string{"custom-phone-provider"}, Secrets: map[string]string{},
			Code: `exports.onExecuteCustomPhoneProvider = async () => { await fetch("https://api.twilio.com/"); };`}},
		Bindings: []phonemigrate.SnapshotBinding{{ID: "b1", ActionID: "act_1", ActionName: "sender", DisplayName: "sender"}},
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
