package phonemigratetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStateMessages(t *testing.T) {
	t.Parallel()
	const to = "+15557654321"
	pwless := NotifyRequest{Kind: "passwordless", Connection: "sms", Recipient: to}
	mfa := func(method, typ string) NotifyRequest {
		return NotifyRequest{Kind: "mfa", Recipient: to, DeliveryMethod: method, MessageType: typ}
	}
	tests := []struct {
		sc   Scenario
		want []NotifyRequest
	}{
		{Empty, nil},
		{LegacyGateway, []NotifyRequest{pwless}},
		{LegacyTwilio, []NotifyRequest{pwless}},
		{MFATwilio, []NotifyRequest{mfa("text", "otp_verify"), mfa("text", "otp_enroll"), mfa("voice", "otp_verify"), mfa("voice", "otp_enroll")}},
		{Mixed, []NotifyRequest{pwless, mfa("text", "otp_verify"), mfa("text", "otp_enroll")}},
		{Unified, []NotifyRequest{pwless, mfa("text", "otp_verify"), mfa("text", "otp_enroll")}},
	}
	for _, tt := range tests {
		t.Run(string(tt.sc), func(t *testing.T) {
			srv := newServer(t, tt.sc)
			if diff := cmp.Diff(tt.want, srv.State().Messages(to)); diff != "" {
				t.Errorf("Messages (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("disabled MFA factor", func(t *testing.T) {
		st := newServer(t, MFATwilio).State()
		for i := range st.Guardian.Factors {
			st.Guardian.Factors[i].Enabled = false
		}
		if got := st.Messages(to); got != nil {
			t.Errorf("Messages with the MFA factor disabled = %+v, want none", got)
		}
	})
}

func TestIgnoreGenerated(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	tpl := map[string]any{"type": "otp_enroll", "content": map[string]any{"body": map[string]any{"text": "Code {{ code }}"}}}
	_, created := call(t, srv, "POST", "/api/v2/branding/phone/templates", tpl)
	before := srv.State()
	// Deleted and created again: a new id, the same content.
	call(t, srv, "DELETE", "/api/v2/branding/phone/templates/"+created.(map[string]any)["id"].(string), nil)
	call(t, srv, "POST", "/api/v2/branding/phone/templates", tpl)
	after := srv.State()
	if cmp.Equal(before, after) {
		t.Fatal("fixture: the re-created template should have a new id")
	}
	if diff := cmp.Diff(before, after, IgnoreGenerated); diff != "" {
		t.Errorf("same content, regenerated fields differ (-before +after):\n%s", diff)
	}

	// A real change is still seen.
	call(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": true})
	if cmp.Equal(before, srv.State(), IgnoreGenerated) {
		t.Error("IgnoreGenerated hides a changed tenant setting")
	}

	// Ids and timestamps of re-created resources are ignored, content is not.
	a, b := Action{ID: "a1", Name: "x", Code: "c", CreatedAt: "t1", Secrets: []ActionSecret{{Name: "S", Value: "v", UpdatedAt: "t1"}}},
		Action{ID: "a2", Name: "x", Code: "c", CreatedAt: "t2", Secrets: []ActionSecret{{Name: "S", Value: "v", UpdatedAt: "t2"}}}
	if diff := cmp.Diff(a, b, IgnoreGenerated); diff != "" {
		t.Errorf("re-created Action differs (-a +b):\n%s", diff)
	}
	b.Secrets[0].Value = "other"
	if cmp.Equal(a, b, IgnoreGenerated) {
		t.Error("IgnoreGenerated hides a changed secret value")
	}
}
