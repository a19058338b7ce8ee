package phonemigratetest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// BenchmarkGetConnection measures one authenticated Management API round
// trip over loopback HTTP.
func BenchmarkGetConnection(b *testing.B) {
	srv := NewServer(LegacyGateway)
	defer srv.Close()
	c := srv.Client()
	for b.Loop() {
		req, _ := http.NewRequest("GET", srv.BaseURL+"/connections/con_Gw7tQ2mN8xLp4RvZ", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", err, resp)
		}
		resp.Body.Close()
	}
}

// BenchmarkNotifyLegacyGateway measures one Passwordless message through the
// legacy gateway (render, sign the JWT, POST, verify).
func BenchmarkNotifyLegacyGateway(b *testing.B) {
	srv := NewServer(LegacyGateway)
	defer srv.Close()
	for b.Loop() {
		res, err := srv.Notify(context.Background(), NotifyRequest{Kind: "passwordless", Recipient: recipient})
		if err != nil || !res.Delivered {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkNotifyCustomAction measures one message through a custom
// provider: a Node process runs the Action, which POSTs to the gateway.
func BenchmarkNotifyCustomAction(b *testing.B) {
	if !actionrun.NodeAvailable() {
		b.Skip("node is not on PATH")
	}
	srv := NewServer(LegacyGateway, WithActionBuild(0, 0))
	defer srv.Close()
	gwURL := srv.State().Connections[1].Options["gateway_url"].(string)
	time.Sleep(time.Millisecond)
	deployCustomAction(b, srv, "gw", gatewayAction, map[string]string{"GATEWAY_URL": gwURL, "GATEWAY_SECRET": GatewaySecret, "SENDER": SMSFrom}, true)
	call(b, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
		"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}})
	upe(b, srv, "con_Gw7tQ2mN8xLp4RvZ", true)
	for b.Loop() {
		res, err := srv.Notify(context.Background(), NotifyRequest{Kind: "passwordless", Recipient: recipient})
		if err != nil || !res.Delivered {
			b.Fatalf("%v %+v", err, res)
		}
	}
}
