package phonemigratetest

import (
	"errors"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func TestNewServerFromInvalid(t *testing.T) {
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
