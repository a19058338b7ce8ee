package phonemigratetest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDelayedWriteNotAppliedWhenClientGivesUp checks the documented
// behaviour of a delay fault on a request with a body: when the client
// gives up during the delay, the request is not applied.
func TestDelayedWriteNotAppliedWhenClientGivesUp(t *testing.T) {
	t.Parallel()
	srv := NewServer(LegacyTwilio)
	defer srv.Close()
	srv.InjectFault(Fault{Method: "PATCH", Path: "/tenants/settings", DelayMS: 300, Times: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "PATCH", srv.BaseURL+"/tenants/settings", strings.NewReader(`{"phone_consolidated_experience": true}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request answered %d, want the client to give up", resp.StatusCode)
	}
	time.Sleep(400 * time.Millisecond) // past the delay
	if v := srv.State().TenantSettings["phone_consolidated_experience"]; v == true {
		t.Error("the delayed PATCH was applied after the client gave up")
	}
	if rs := srv.Requests(); len(rs) != 1 || rs[0].Status != 0 {
		t.Errorf("request log %+v, want one dropped (status 0) request", rs)
	}
}
