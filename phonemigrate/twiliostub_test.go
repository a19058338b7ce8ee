package phonemigrate_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// newMigrator is phonemigrate.New with the Twilio API calls the in-memory
// tenant's tests make (to https://api.twilio.com: the credential check and
// the delivery evidence) answered by stubTwilio; every other request (the
// HTTP fakes on 127.0.0.1, which have their own fake Twilio) goes out as
// usual.
func newStubbed(c phonemigrate.Client, opts ...phonemigrate.Option) (*phonemigrate.Migrator, error) {
	return phonemigrate.New(c, append([]phonemigrate.Option{phonemigrate.WithTwilioTransport(stubTwilio{next: http.DefaultTransport})}, opts...)...)
}

// stubTwilio is Twilio for the in-memory tenant, which sends nothing
// anywhere: it accepts account fxTwilioSID with fxTwilioToken, and lists,
// for any recipient, one message (or call) created now and already
// delivered (completed).
type stubTwilio struct{ next http.RoundTripper }

var stubSeq atomic.Int64

func (s stubTwilio) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "api.twilio.com" {
		return s.next.RoundTrip(r)
	}
	answer := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
	}
	user, pass, _ := r.BasicAuth()
	base := "/2010-04-01/Accounts/" + fxTwilioSID
	if user != fxTwilioSID || pass != fxTwilioToken || !strings.HasPrefix(r.URL.Path, base) {
		return answer(401, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
	}
	now := time.Now().UTC().Format(time.RFC1123Z)
	to := r.URL.Query().Get("To")
	switch r.URL.Path {
	case base + ".json":
		return answer(200, map[string]any{"sid": fxTwilioSID, "status": "active"})
	case base + "/Messages.json":
		return answer(200, map[string]any{"messages": []map[string]any{{"sid": fmt.Sprintf("SM%032d", stubSeq.Add(1)), "to": to, "status": "delivered", "date_created": now}}})
	case base + "/Calls.json":
		return answer(200, map[string]any{"calls": []map[string]any{{"sid": fmt.Sprintf("CA%032d", stubSeq.Add(1)), "to": to, "status": "completed", "date_created": now}}})
	}
	return answer(404, map[string]any{"code": 20404, "message": "not found", "status": 404})
}
