package phonemigratetest

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Secrets are replacement values for every secret a fake tenant holds, so
// that a test can seed distinctive sentinel values and then search output,
// logs, errors, plans and checkpoints for them. Empty fields keep the
// scenario's value.
type Secrets struct {
	// ManagementToken replaces Server.Token (the bearer token /api/v2
	// accepts and /oauth/token issues).
	ManagementToken string
	// ClientSecret replaces Server.ClientSecret.
	ClientSecret string
	// TwilioAuthToken replaces the Twilio auth token everywhere: the legacy
	// connections' twilio_token, Guardian's legacy Twilio auth token, a
	// Twilio phone provider's credentials, and the token the fake Twilio
	// API accepts for TwilioSID.
	TwilioAuthToken string
	// GatewaySecret replaces the legacy gateway signing key: stored as is
	// (secret_base64_encoded false) or base64url-encoded (true) in the
	// gateway connections, and the only key the fake Gateway accepts.
	GatewaySecret string
	// GatewayURLKey is added to each legacy gateway_url as the query
	// parameter apikey (…/sms?apikey=KEY), a credential some SMS gateways
	// take in the URL; the fake Gateway ignores it.
	GatewayURLKey string
}

// UseSecrets seeds the tenant with s. Call it on a server from
// NewUnstartedServer, before Start: the management token and client secret
// must not change while requests are served.
func (s *Server) UseSecrets(sec Secrets) {
	if sec.ManagementToken != "" {
		s.Token = sec.ManagementToken
	}
	if sec.ClientSecret != "" {
		s.ClientSecret = sec.ClientSecret
	}
	if sec.TwilioAuthToken != "" {
		s.twilio.AddAccount(TwilioSID, sec.TwilioAuthToken)
	}
	if sec.GatewaySecret != "" {
		s.gateway.SetKeys([]byte(sec.GatewaySecret))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec.TwilioAuthToken != "" && s.st.Guardian.Twilio.AuthToken != "" {
		s.st.Guardian.Twilio.AuthToken = sec.TwilioAuthToken
	}
	for i := range s.st.PhoneProviders {
		if c := &s.st.PhoneProviders[i].Credentials; c.AuthToken != "" && sec.TwilioAuthToken != "" {
			c.AuthToken = sec.TwilioAuthToken
		}
	}
	for i := range s.st.Connections {
		opts := s.st.Connections[i].Options
		if u, ok := opts["gateway_url"].(string); ok && u != "" && sec.GatewayURLKey != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			opts["gateway_url"] = u + sep + "apikey=" + url.QueryEscape(sec.GatewayURLKey)
		}
		if _, ok := opts["twilio_token"]; ok && sec.TwilioAuthToken != "" {
			opts["twilio_token"] = sec.TwilioAuthToken
		}
		auth, ok := opts["gateway_authentication"].(map[string]any)
		if !ok || sec.GatewaySecret == "" {
			continue
		}
		if enc, _ := auth["secret_base64_encoded"].(bool); enc {
			auth["secret"] = base64.RawURLEncoding.EncodeToString([]byte(sec.GatewaySecret))
		} else {
			auth["secret"] = sec.GatewaySecret
		}
	}
}

// Forms returns every non-empty secret of s together with the encoded
// forms the fake tenant stores or sends it in — the gateway secret
// base64url-encoded (secret_base64_encoded connections, Action secrets) and
// the Twilio token inside the basic-auth value "TwilioSID:token", base64 —
// so that a leak scan searching output, logs and files for each of them
// also catches a secret that leaked encoded. A scan should add a prefix
// shared by its sentinels (e.g. "SENTINEL") to catch truncated echoes too.
func (s Secrets) Forms() []string {
	var out []string
	for _, v := range []string{s.ManagementToken, s.ClientSecret, s.TwilioAuthToken, s.GatewaySecret, s.GatewayURLKey} {
		if v != "" {
			out = append(out, v)
		}
	}
	if s.GatewaySecret != "" {
		out = append(out, base64.RawURLEncoding.EncodeToString([]byte(s.GatewaySecret)))
	}
	if s.TwilioAuthToken != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(TwilioSID+":"+s.TwilioAuthToken)))
	}
	return out
}
