package auth0api

import (
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// TestRecordedEmptyGuardianAnswers: untouched tenants answered GET
// /guardian/factors/sms/templates with 204 and no body (deploy-cli e2e,
// 2024-10) and with 200 {} (2022-07), and the Guardian Twilio provider
// with {} when nothing is configured (auth0-domain.md §12.4). The legacy
// reads the migration makes take each as "nothing configured".
func TestRecordedEmptyGuardianAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"204 no body", http.StatusNoContent, ""},
		{"200 empty object", http.StatusOK, "{}"},
		{"200 no body", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			answer := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}
			mux.HandleFunc("GET /api/v2/guardian/factors/phone/templates", answer)
			mux.HandleFunc("GET /api/v2/guardian/factors/phone/providers/twilio", answer)
			mux.HandleFunc("GET /api/v2/guardian/factors/phone/selected-provider", answer)
			tpl, err := c.LegacyPhoneTemplates(t.Context())
			if err != nil {
				t.Fatalf("LegacyPhoneTemplates: %v", err)
			}
			if diff := cmp.Diff(phonemigrate.LegacyPhoneTemplates{}, tpl); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
			tw, err := c.LegacyTwilio(t.Context())
			if err != nil {
				t.Fatalf("LegacyTwilio: %v", err)
			}
			if diff := cmp.Diff(phonemigrate.LegacyTwilio{}, tw); diff != "" {
				t.Errorf("twilio (-want +got):\n%s", diff)
			}
			sel, err := c.SelectedPhoneProvider(t.Context())
			if err != nil || sel != "" {
				t.Errorf("SelectedPhoneProvider = %q, %v; want nothing configured", sel, err)
			}
		})
	}
}
