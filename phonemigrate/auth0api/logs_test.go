package auth0api_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

func TestLogs(t *testing.T) {
	t.Parallel()
	c, srv := fake(t, phonemigratetest.Mixed)
	for _, kind := range []string{"passwordless", "mfa", "passwordless"} {
		if _, err := srv.Notify(t.Context(), phonemigratetest.NotifyRequest{Kind: kind, Recipient: "+15550000001"}); err != nil {
			t.Fatal(err)
		}
	}
	types := func(evs []watch.LogEvent) []string {
		out := []string{}
		for _, e := range evs {
			if e.ID == "" || e.Date.IsZero() {
				t.Errorf("event without id or date: %+v", e)
			}
			out = append(out, e.Type)
		}
		return out
	}
	srv.ResetRequests()
	got, err := c.Logs(t.Context(), watch.LogQuery{Q: `type:("cs" OR "fn")`, Sort: "date:1", PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"cs", "cs"}, types(got)); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	q, _ := url.ParseQuery(srv.Requests()[0].Query)
	if q.Get("q") != `type:("cs" OR "fn")` || q.Get("per_page") != "100" || q.Get("sort") != "date:1" {
		t.Errorf("query sent: %v", q)
	}
	// Checkpoint paging continues after a log id, one page at a time.
	next, err := c.Logs(t.Context(), watch.LogQuery{From: got[0].ID, Take: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gd_send_sms"}, types(next)); diff != "" {
		t.Errorf("checkpoint (-want +got):\n%s", diff)
	}
	if _, err := c.Logs(t.Context(), watch.LogQuery{Take: 101}); !errors.Is(err, auth0api.ErrInvalidRequest) {
		t.Errorf("take 101: %v", err)
	}
	srv.InjectFault(phonemigratetest.Fault{Path: "/logs", Status: 403, Times: 2})
	if _, err := c.Logs(t.Context(), watch.LogQuery{Take: 10}); !errors.Is(err, phonemigrate.ErrForbidden) {
		t.Errorf("checkpoint 403: %v", err)
	}
	if _, err := c.Logs(t.Context(), watch.LogQuery{Q: "type:fn"}); !errors.Is(err, phonemigrate.ErrForbidden) {
		t.Errorf("query 403: %v", err)
	}
}

// Checkpoint paging goes through the same transport as every other call:
// a 429 is waited out (X-RateLimit-Reset) and retried. The limit's clock
// stands still for the first two calls, so the second meets a 429 however
// slow the machine.
func TestLogsFromHonoursRateLimit(t *testing.T) {
	t.Parallel()
	c, srv := fakeWith(t, phonemigratetest.MFATwilio, []phonemigratetest.Option{phonemigratetest.WithRateClock(heldRateClock(2))})
	srv.SetRateLimit(20, 1)
	for range 4 {
		if _, err := c.Logs(t.Context(), watch.LogQuery{Take: 100}); err != nil {
			t.Fatal(err)
		}
	}
	n429 := 0
	for _, r := range srv.Requests() {
		if r.Status == 429 {
			n429++
		}
	}
	if n429 != 1 {
		t.Errorf("%d 429s, want 1 (the second call's first attempt)", n429)
	}
	types := []string{}
	for _, e := range srv.Logs() {
		types = append(types, e["type"].(string))
	}
	if len(types) != n429 || (len(types) > 0 && types[0] != "api_limit") {
		t.Errorf("tenant log %v, want one api_limit per 429 (%d)", types, n429)
	}
}
