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
// gives up during the delay, the request is not applied. The client gives
// up once the fake holds its request (the fault has met it), and the fake
// logs the request once it has let it go: no step waits for a guessed
// time.
func TestDelayedWriteNotAppliedWhenClientGivesUp(t *testing.T) {
	t.Parallel()
	srv := NewServer(LegacyTwilio)
	defer srv.Close()
	srv.InjectFault(Fault{Method: "PATCH", Path: "/tenants/settings", DelayMS: int(time.Hour.Milliseconds()), Times: 1})
	ctx, giveUp := context.WithCancel(t.Context())
	defer giveUp()
	req, _ := http.NewRequestWithContext(ctx, "PATCH", srv.BaseURL+"/tenants/settings", strings.NewReader(`{"phone_consolidated_experience": true}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	waitFor(t, "the fake to hold the PATCH", func() bool { return len(srv.Faults()) == 0 })
	giveUp()
	if err := <-answered; err == nil {
		t.Fatal("the request was answered, want the client to have given up")
	}
	waitFor(t, "the fake to log the PATCH", func() bool { return len(srv.Requests()) > 0 })
	if v := srv.State().TenantSettings["phone_consolidated_experience"]; v == true {
		t.Error("the delayed PATCH was applied after the client gave up")
	}
	if rs := srv.Requests(); len(rs) != 1 || rs[0].Status != 0 {
		t.Errorf("request log %+v, want one dropped (status 0) request", rs)
	}
}

// waitFor polls cond until it holds. The bound only matters when it never
// does: a busy machine makes the wait longer, never a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting a minute for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
