package phonemigrate

import (
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// The "serve it over https" advice is given for the gateway URL's scheme
// only; other gateway_url problems are corrected in place.
func TestGatewayAdvice(t *testing.T) {
	t.Parallel()
	base := map[string]any{"provider": "sms_gateway", "from": "Acme",
		"gateway_authentication": map[string]any{"method": "bearer", "subject": "urn:acme", "audience": "urn:gw", "secret": "s3cret"}}
	for _, tc := range []struct {
		url       string
		wantHTTPS bool
	}{
		{"http://sms.example.com/send", true},
		{"ftp://sms.example.com/send", true},
		{"https://sms.example.com:25/send", false},
		{"https://user:pass@sms.example.com/send", false},
		{"https://a b/", false},
	} {
		o := map[string]any{"gateway_url": tc.url}
		for k, v := range base {
			o[k] = v
		}
		_, err := actiongen.GatewayFromOptions(o)
		if err == nil {
			t.Fatalf("%s: GatewayFromOptions accepted it", tc.url)
		}
		if got := strings.Contains(gatewayAdvice(err), "serve it over https"); got != tc.wantHTTPS {
			t.Errorf("%s: advice %q (error %v); want https advice: %v", tc.url, gatewayAdvice(err), err, tc.wantHTTPS)
		}
	}
}
