package phonemigratetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// twilioCall sends one request to the fake Twilio with basic auth sid:token
// ("" sid: none) and returns the status and decoded JSON body.
func twilioCall(t *testing.T, tw *TwilioAPI, method, path, sid, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, tw.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sid != "" {
		req.SetBasicAuth(sid, token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestTwilioAccount(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyTwilio)
	tw := srv.Twilio()
	tw.AddAccount("ACother000000000000000000000000000", "other-token")
	const path = "/2010-04-01/Accounts/" + TwilioSID + ".json"
	tests := []struct {
		name       string
		sid, token string
		path       string
		reject     bool
		wantStatus int
		want       map[string]any // fields to compare
	}{
		{name: "right credentials", sid: TwilioSID, token: TwilioAuthToken, path: path, wantStatus: 200,
			want: map[string]any{"sid": TwilioSID, "status": "active"}},
		{name: "wrong token", sid: TwilioSID, token: "typo", path: path, wantStatus: 401,
			want: map[string]any{"code": 20003.0, "message": "Authenticate", "status": 401.0, "more_info": "https://www.twilio.com/docs/errors/20003"}},
		{name: "no credentials", path: path, wantStatus: 401, want: map[string]any{"code": 20003.0}},
		{name: "unknown account", sid: "ACunknown", token: "x", path: "/2010-04-01/Accounts/ACunknown.json", wantStatus: 401, want: map[string]any{"code": 20003.0}},
		{name: "another account's resource", sid: "ACother000000000000000000000000000", token: "other-token", path: path, wantStatus: 404,
			want: map[string]any{"code": 20404.0, "status": 404.0}},
		{name: "rejected account", sid: TwilioSID, token: TwilioAuthToken, path: path, reject: true, wantStatus: 401, want: map[string]any{"code": 20003.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reject {
				tw.RejectAccount(TwilioSID)
				defer tw.AddAccount(TwilioSID, TwilioAuthToken)
			}
			status, body := twilioCall(t, tw, "GET", tt.path, tt.sid, tt.token, nil)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, body)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = body[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTwilioMessageLifecycle: a message or call walks through Twilio's
// statuses one read at a time, ends as a failed number says, and is listed
// by To and date.
func TestTwilioMessageLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		channel string // Messages or Calls
		final   string
		want    []string
		code    any
	}{
		{name: "sms delivered", channel: "Messages", want: []string{"queued", "sending", "sent", "delivered"}, code: nil},
		{name: "sms undelivered", channel: "Messages", final: "undelivered", want: []string{"queued", "sending", "sent", "undelivered"}, code: 30003.0},
		{name: "sms failed", channel: "Messages", final: "failed", want: []string{"queued", "failed"}, code: 30008.0},
		{name: "call completed", channel: "Calls", want: []string{"queued", "ringing", "in-progress", "completed"}},
		{name: "call busy", channel: "Calls", final: "busy", want: []string{"queued", "ringing", "busy"}},
		{name: "call no-answer", channel: "Calls", final: "no-answer", want: []string{"queued", "ringing", "no-answer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, Empty)
			tw := srv.Twilio()
			const to = "+15555550100"
			if err := tw.FailNumber(to, tt.final); err != nil {
				t.Fatal(err)
			}
			base := "/2010-04-01/Accounts/" + TwilioSID + "/" + tt.channel
			form := url.Values{"To": {to}, "From": {TwilioFrom}, "Body": {"123456 is your code"}, "Twiml": {"<Response><Say>123456</Say></Response>"}}
			status, created := twilioCall(t, tw, "POST", base+".json", TwilioSID, TwilioAuthToken, form)
			if status != 201 || created["status"] != "queued" {
				t.Fatalf("create: %d %v", status, created)
			}
			sid, _ := created["sid"].(string)
			// Listed by To and by today's date; not by another number.
			today := time.Now().UTC().Format("2006-01-02")
			key := strings.ToLower(tt.channel)
			dateKey := map[string]string{"Messages": "DateSent", "Calls": "StartTime"}[tt.channel]
			for _, q := range []string{"To=" + url.QueryEscape(to) + "&" + dateKey + "%3E=" + today, "To=%2B15555550199"} {
				status, list := twilioCall(t, tw, "GET", base+".json?"+q, TwilioSID, TwilioAuthToken, nil)
				items, _ := list[key].([]any)
				wantN := 1
				if strings.Contains(q, "0199") {
					wantN = 0
				}
				if status != 200 || len(items) != wantN || list["page_size"] != 50.0 {
					t.Fatalf("list %s: %d, %d items: %v", q, status, len(items), list)
				}
			}
			var last map[string]any
			for range 6 {
				_, last = twilioCall(t, tw, "GET", base+"/"+sid+".json", TwilioSID, TwilioAuthToken, nil)
			}
			if diff := cmp.Diff(tt.want, tw.Statuses(sid)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if last["status"] != tt.want[len(tt.want)-1] {
				t.Errorf("final status %v", last["status"])
			}
			if tt.channel == "Messages" && last["error_code"] != tt.code {
				t.Errorf("error_code = %v, want %v", last["error_code"], tt.code)
			}
			if _, err := time.Parse(time.RFC1123Z, last["date_created"].(string)); err != nil {
				t.Errorf("date_created is not Twilio's RFC 2822 form: %v", err)
			}
		})
	}
}

func TestTwilioLostMessage(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	tw := srv.Twilio()
	if err := tw.FailNumber("+15555550100", "lost"); err != nil {
		t.Fatal(err)
	}
	if err := tw.FailNumber("+15555550100", "delivered"); err == nil {
		t.Error("FailNumber accepted a non-failing status")
	}
	base := "/2010-04-01/Accounts/" + TwilioSID + "/Messages"
	status, created := twilioCall(t, tw, "POST", base+".json", TwilioSID, TwilioAuthToken, url.Values{"To": {"+15555550100"}, "From": {TwilioFrom}, "Body": {"x"}})
	if status != 201 {
		t.Fatalf("create: %d", status)
	}
	if _, list := twilioCall(t, tw, "GET", base+".json?To=%2B15555550100", TwilioSID, TwilioAuthToken, nil); len(list["messages"].([]any)) != 0 {
		t.Errorf("a lost message is listed: %v", list)
	}
	if status, _ := twilioCall(t, tw, "GET", base+"/"+created["sid"].(string)+".json", TwilioSID, TwilioAuthToken, nil); status != 404 {
		t.Errorf("a lost message is found: %d", status)
	}
}

// TestTwilioKnowsLegacyAccounts: the accounts of a state's legacy settings
// are registered, and the control API registers and rejects more.
func TestTwilioKnowsLegacyAccounts(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	tw := srv.Twilio()
	tw.registerLegacyAccounts(&State{
		Connections: []Connection{{Name: "sms", Strategy: "sms", Options: map[string]any{"twilio_sid": "ACconn", "twilio_token": "conn-token"}}},
		Guardian:    Guardian{Twilio: GuardianTwilio{SID: "ACguard", AuthToken: "guard-token"}},
	})
	if st, _ := twilioCall(t, tw, "GET", "/2010-04-01/Accounts/ACconn.json", "ACconn", "conn-token", nil); st != 200 {
		t.Errorf("connection account: %d", st)
	}
	if st, _ := twilioCall(t, tw, "GET", "/2010-04-01/Accounts/ACguard.json", "ACguard", "guard-token", nil); st != 200 {
		t.Errorf("guardian account: %d", st)
	}

	// Control API.
	if st, _ := call(t, srv, "POST", "/__fake/twilio/accounts", map[string]any{"sid": "ACnew", "auth_token": "new-token"}); st != 201 {
		t.Fatalf("register: %d", st)
	}
	if st, _ := twilioCall(t, tw, "GET", "/2010-04-01/Accounts/ACnew.json", "ACnew", "new-token", nil); st != 200 {
		t.Errorf("registered account: %d", st)
	}
	if st, _ := call(t, srv, "POST", "/__fake/twilio/accounts/ACnew/reject", map[string]any{}); st != 200 {
		t.Fatalf("reject: %d", st)
	}
	if st, _ := twilioCall(t, tw, "GET", "/2010-04-01/Accounts/ACnew.json", "ACnew", "new-token", nil); st != 401 {
		t.Errorf("rejected account: %d", st)
	}
	for _, bad := range []map[string]any{{"sid": "nope", "auth_token": "x"}, {"sid": "ACx"}, {"sid": "ACx", "auth_token": "x", "extra": 1}} {
		if st, _ := call(t, srv, "POST", "/__fake/twilio/accounts", bad); st != 400 {
			t.Errorf("register %v: %d, want 400", bad, st)
		}
	}
	if st, _ := call(t, srv, "POST", "/__fake/twilio/numbers", map[string]any{"number": "+15555550100", "final": "undelivered"}); st != 200 {
		t.Errorf("fail number: %d", st)
	}
	for _, bad := range []map[string]any{{"number": "+1555", "final": "delivered"}, {"final": "failed"}} {
		if st, _ := call(t, srv, "POST", "/__fake/twilio/numbers", bad); st != 400 {
			t.Errorf("fail number %v: %d, want 400", bad, st)
		}
	}
}
