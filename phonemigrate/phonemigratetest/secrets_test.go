package phonemigratetest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUseSecrets(t *testing.T) {
	t.Parallel()
	sec := Secrets{ManagementToken: "SENTINEL-MGMT", ClientSecret: "SENTINEL-CS", TwilioAuthToken: "SENTINEL-TWILIO", GatewaySecret: "SENTINEL-GATEWAY-KEY"}
	for _, sc := range Scenarios() {
		t.Run(string(sc), func(t *testing.T) {
			srv := NewUnstartedServer(sc)
			srv.UseSecrets(sec)
			srv.Start()
			defer srv.Close()
			if srv.Token != sec.ManagementToken || srv.ClientSecret != sec.ClientSecret {
				t.Errorf("Token/ClientSecret not replaced")
			}
			b, _ := json.Marshal(srv.State())
			for _, old := range []string{TwilioAuthToken, GatewaySecret, GatewaySecretBase64} {
				if strings.Contains(string(b), old) {
					t.Errorf("state still holds the scenario secret %q", old)
				}
			}
			// The legacy routes work with the new values: the gateway and
			// Twilio accept only them now.
			delivered := 0
			for _, req := range []NotifyRequest{{Kind: "passwordless", Recipient: "+15557654321"}, {Kind: "mfa", Recipient: "+15557654321"}} {
				res, err := srv.Notify(t.Context(), req)
				if err != nil {
					continue // the scenario has no such route
				}
				if res.Route != RouteNone && res.Route != RouteLegacyHook && !res.Delivered {
					t.Errorf("%s via %s not delivered: %s", req.Kind, res.Route, res.Detail)
				}
				if res.Delivered {
					delivered++
				}
			}
			if sc != Empty && delivered == 0 {
				t.Error("no message delivered with the replaced secrets")
			}
		})
	}
}

func TestSecretsForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sec  Secrets
		want []string
	}{
		{"none", Secrets{}, nil},
		{"all", Secrets{ManagementToken: "M", ClientSecret: "C", TwilioAuthToken: "T", GatewaySecret: "G?>"}, []string{
			"M", "C", "T", "G?>",
			"Rz8-", // base64url of "G?>" (not "Rz8+")
			base64.StdEncoding.EncodeToString([]byte(TwilioSID + ":T")),
		}},
		{"gateway only", Secrets{GatewaySecret: "key"}, []string{"key", "a2V5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.sec.Forms()); diff != "" {
				t.Errorf("Forms (-want +got):\n%s", diff)
			}
		})
	}
}
