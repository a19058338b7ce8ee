package phonemigratetest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TwilioAPI is a fake of the Twilio REST endpoints Auth0 uses to send phone
// messages and the ones a migration reads to check credentials and find
// delivery evidence, a real HTTP server on 127.0.0.1:
//
//	GET  /2010-04-01/Accounts/{AccountSid}.json                    (the account: sid, friendly_name, status)
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json           (form: To, From | MessagingServiceSid, Body)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json           (query: To, From, DateSent, DateSent<, DateSent>, PageSize)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
//	POST /2010-04-01/Accounts/{AccountSid}/Calls.json              (form: To, From, Twiml)
//	GET  /2010-04-01/Accounts/{AccountSid}/Calls.json              (query: To, From, StartTime, StartTime<, StartTime>, PageSize)
//	GET  /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json
//
// Requests authenticate with HTTP basic auth AccountSid:AuthToken against
// the accounts registered with [TwilioAPI.AddAccount]: [TwilioSID] /
// [TwilioAuthToken], every account whose sid and token appear in the
// scenario's legacy settings (connection twilio_sid/twilio_token, Guardian's
// Twilio setting), and any added through POST /__fake/twilio/accounts. A
// wrong or missing token, or an account told to reject
// ([TwilioAPI.RejectAccount]), gets Twilio's 401
// {"code":20003,"message":"Authenticate",...}, so a migration that lost or
// mistyped the auth token is caught. Reading another account than the one
// authenticated answers 404 {"code":20404,...}.
//
// Accepted messages and calls are recorded with their status history. A
// message starts "queued" and moves one status further each time it is read
// back through the API (sms: queued → sending → sent → delivered; voice:
// queued → ringing → in-progress → completed), so a poller sees the
// transitions Twilio reports. [TwilioAPI.FailNumber] makes what goes to a
// number end "failed" or "undelivered" (voice: "failed", "busy",
// "no-answer"), or "lost": accepted but never listed.
type TwilioAPI struct {
	// URL is the API root, http://127.0.0.1:port.
	URL string

	hs       *httptest.Server
	mu       sync.Mutex
	accounts map[string]string
	rejected map[string]bool
	numbers  map[string]string // recipient → final status ("lost": never listed)
	records  []*twilioRecord
	seq      int
	now      func() time.Time
	// fail* make every message or call fail (Server.BreakDelivery).
	failStatus, failCode int
	failMessage          string
}

func (t *TwilioAPI) setFailure(status, code int, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failStatus, t.failCode, t.failMessage = status, code, msg
}

// TwilioMessage is one message or call the fake Twilio accepted.
type TwilioMessage struct {
	SID                 string `json:"sid"`
	AccountSID          string `json:"account_sid"`
	Channel             string `json:"channel"` // "sms" (Messages.json) or "voice" (Calls.json)
	To                  string `json:"to"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	// Body is the SMS text, or for a call the text spoken (the <Say> of
	// the Twiml).
	Body string `json:"body"`
}

// twilioRecord is a message with its delivery progress.
type twilioRecord struct {
	msg      TwilioMessage
	created  time.Time
	path     []string // the statuses it goes through, in order
	at       int      // index of the current status in path
	lost     bool
	statuses []string // the statuses reported so far
}

func (r *twilioRecord) status() string { return r.path[r.at] }

// Twilio's documented message and call statuses the fake walks through.
var (
	smsDelivered  = []string{"queued", "sending", "sent", "delivered"}
	callCompleted = []string{"queued", "ringing", "in-progress", "completed"}
)

// failPath is the status path of a message to a number told to fail with
// final.
func failPath(channel, final string) []string {
	switch {
	case channel == "sms" && final == "undelivered":
		return []string{"queued", "sending", "sent", "undelivered"}
	case channel == "voice" && (final == "busy" || final == "no-answer"):
		return []string{"queued", "ringing", final}
	}
	return []string{"queued", "failed"}
}

// Twilio error codes the fake sets on failed messages and calls.
var failCodes = map[string][2]string{
	"failed":      {"30008", "Unknown error"},
	"undelivered": {"30003", "Unreachable destination handset"},
	"busy":        {"", ""},
	"no-answer":   {"", ""},
}

func newTwilioAPI() *TwilioAPI {
	t := &TwilioAPI{accounts: map[string]string{}, rejected: map[string]bool{}, numbers: map[string]string{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2010-04-01/Accounts/{file}", t.getAccount)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) { t.serve(w, r, "sms") })
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", func(w http.ResponseWriter, r *http.Request) { t.serve(w, r, "voice") })
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) { t.list(w, r, "sms") })
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Calls.json", func(w http.ResponseWriter, r *http.Request) { t.list(w, r, "voice") })
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages/{file}", func(w http.ResponseWriter, r *http.Request) { t.one(w, r, "sms") })
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Calls/{file}", func(w http.ResponseWriter, r *http.Request) { t.one(w, r, "voice") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	t.hs = httptest.NewServer(mux)
	t.URL = t.hs.URL
	return t
}

// Close stops the fake Twilio API, cutting requests still running after
// 5 s (see [Server.Close]).
func (t *TwilioAPI) Close() { closeHTTP(t.hs, "TwilioAPI") }

// AddAccount registers a Twilio account the fake accepts (replacing the
// token of a known one, and lifting [TwilioAPI.RejectAccount]).
func (t *TwilioAPI) AddAccount(sid, authToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts[sid] = authToken
	delete(t.rejected, sid)
}

// RejectAccount makes every request for account sid fail authentication
// (401, code 20003), as after its auth token was rotated in Twilio.
func (t *TwilioAPI) RejectAccount(sid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rejected[sid] = true
}

// FailNumber makes messages and calls to number end with status final:
// "failed" or "undelivered" (calls: "failed", "busy" or "no-answer"), or
// "lost" (accepted with 201 but never listed nor found). "" clears it.
func (t *TwilioAPI) FailNumber(number, final string) error {
	switch final {
	case "", "failed", "undelivered", "busy", "no-answer", "lost":
	default:
		return fmt.Errorf("unknown final status %q (want failed, undelivered, busy, no-answer or lost)", final)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if final == "" {
		delete(t.numbers, number)
	} else {
		t.numbers[number] = final
	}
	return nil
}

// Messages returns a copy of the accepted messages and calls, in order.
func (t *TwilioAPI) Messages() []TwilioMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []TwilioMessage{}
	for _, r := range t.records {
		out = append(out, r.msg)
	}
	return out
}

// Statuses returns the statuses the message or call sid was reported with
// through the API so far, in order (nil for an unknown sid).
func (t *TwilioAPI) Statuses(sid string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.records {
		if r.msg.SID == sid {
			return slices.Clone(r.statuses)
		}
	}
	return nil
}

// Reset forgets the accepted messages.
func (t *TwilioAPI) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.records = nil
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}

// auth checks basic auth for the account in the path: it answers 401
// 20003 and returns false when the credentials are wrong, 404 20404 when
// they are right but for another account.
func (t *TwilioAPI) auth(w http.ResponseWriter, r *http.Request, sid string) bool {
	user, pass, ok := r.BasicAuth()
	t.mu.Lock()
	want, known := t.accounts[user]
	rejected := t.rejected[user]
	t.mu.Unlock()
	if !ok || !known || rejected || pass != want {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if user != sid {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource /2010-04-01/Accounts/"+sid+".json was not found")
		return false
	}
	return true
}

func (t *TwilioAPI) getAccount(w http.ResponseWriter, r *http.Request) {
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if !t.auth(w, r, sid) {
		return
	}
	base := "/2010-04-01/Accounts/" + sid
	writeJSON(w, http.StatusOK, map[string]any{
		"sid": sid, "owner_account_sid": sid, "friendly_name": "Fake Twilio account " + sid, "status": "active", "type": "Full",
		"date_created": rfc2822(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)), "date_updated": rfc2822(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)),
		"auth_token": nil, "uri": base + ".json",
		"subresource_uris": map[string]string{"messages": base + "/Messages.json", "calls": base + "/Calls.json"},
	})
}

func (t *TwilioAPI) serve(w http.ResponseWriter, r *http.Request, channel string) {
	sid := r.PathValue("sid")
	if !t.auth(w, r, sid) {
		return
	}
	t.mu.Lock()
	failStatus, failCode, failMessage := t.failStatus, t.failCode, t.failMessage
	t.mu.Unlock()
	if failStatus != 0 {
		twilioError(w, failStatus, failCode, failMessage)
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "Invalid form body")
		return
	}
	m := TwilioMessage{AccountSID: sid, Channel: channel, To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body")}
	if channel == "voice" {
		m.Body = sayText(r.PostForm.Get("Twiml"))
	}
	switch {
	case m.To == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	t.mu.Lock()
	t.seq++
	prefix := "SM"
	if channel == "voice" {
		prefix = "CA"
	}
	m.SID = fmt.Sprintf("%s%032x", prefix, t.seq)
	rec := &twilioRecord{msg: m, created: t.now().UTC().Truncate(time.Second), path: smsDelivered}
	if channel == "voice" {
		rec.path = callCompleted
	}
	switch final := t.numbers[m.To]; final {
	case "":
	case "lost":
		rec.lost = true
	default:
		rec.path = failPath(channel, final)
	}
	rec.statuses = []string{rec.status()}
	t.records = append(t.records, rec) // under t.mu: records stay in SID order
	body := t.jsonLocked(rec)
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, body)
}

// jsonLocked is a message or call as Twilio documents it.
func (t *TwilioAPI) jsonLocked(rec *twilioRecord) map[string]any {
	m := rec.msg
	base := "/2010-04-01/Accounts/" + m.AccountSID
	status := rec.status()
	var sent any
	if status != "queued" && status != "failed" && status != "sending" {
		sent = rfc2822(rec.created)
	}
	var code, msg any
	if c, ok := failCodes[status]; ok && c[0] != "" {
		n, _ := strconv.Atoi(c[0])
		code, msg = n, c[1]
	}
	if m.Channel == "voice" {
		var start any
		if status != "queued" {
			start = rfc2822(rec.created)
		}
		return map[string]any{
			"sid": m.SID, "account_sid": m.AccountSID, "to": m.To, "from": m.From, "status": status, "direction": "outbound-api",
			"date_created": rfc2822(rec.created), "date_updated": rfc2822(rec.created), "start_time": start, "end_time": nil,
			"uri": base + "/Calls/" + m.SID + ".json",
		}
	}
	return map[string]any{
		"sid": m.SID, "account_sid": m.AccountSID, "to": m.To, "from": nullable(m.From), "messaging_service_sid": nullable(m.MessagingServiceSID),
		"body": m.Body, "status": status, "direction": "outbound-api", "num_segments": "1",
		"date_created": rfc2822(rec.created), "date_updated": rfc2822(rec.created), "date_sent": sent,
		"error_code": code, "error_message": msg,
		"uri": base + "/Messages/" + m.SID + ".json",
	}
}

// readLocked returns the message as the API reports it now, then moves it
// one status further.
func (t *TwilioAPI) readLocked(rec *twilioRecord) map[string]any {
	out := t.jsonLocked(rec)
	if st := rec.status(); len(rec.statuses) == 0 || rec.statuses[len(rec.statuses)-1] != st {
		rec.statuses = append(rec.statuses, st)
	}
	if rec.at < len(rec.path)-1 {
		rec.at++
	}
	return out
}

// dateFilter is one of Twilio's DateSent / StartTime filters (YYYY-MM-DD,
// compared by day in UTC).
type dateFilter struct {
	op  string // "=", "<=", ">="
	day time.Time
}

func parseDateFilters(q map[string][]string, name string) ([]dateFilter, error) {
	var out []dateFilter
	for key, op := range map[string]string{name: "=", name + "<": "<=", name + ">": ">="} {
		for _, v := range q[key] {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a date YYYY-MM-DD", key, v)
			}
			out = append(out, dateFilter{op: op, day: d})
		}
	}
	return out, nil
}

func (f dateFilter) match(t time.Time) bool {
	day := t.UTC().Truncate(24 * time.Hour)
	switch f.op {
	case "<=":
		return !day.After(f.day)
	case ">=":
		return !day.Before(f.day)
	}
	return day.Equal(f.day)
}

func (t *TwilioAPI) list(w http.ResponseWriter, r *http.Request, channel string) {
	sid := r.PathValue("sid")
	if !t.auth(w, r, sid) {
		return
	}
	q := r.URL.Query()
	dateKey, key := "DateSent", "messages"
	if channel == "voice" {
		dateKey, key = "StartTime", "calls"
	}
	filters, err := parseDateFilters(q, dateKey)
	if err != nil {
		twilioError(w, http.StatusBadRequest, 20001, err.Error())
		return
	}
	size := 50
	if v := q.Get("PageSize"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 1000 {
			size = n
		}
	}
	t.mu.Lock()
	items := []map[string]any{}
	for i := len(t.records) - 1; i >= 0 && len(items) < size; i-- { // newest first
		rec := t.records[i]
		m := rec.msg
		if rec.lost || m.AccountSID != sid || m.Channel != channel {
			continue
		}
		if to := q.Get("To"); to != "" && m.To != to {
			continue
		}
		if from := q.Get("From"); from != "" && m.From != from {
			continue
		}
		ok := true
		for _, f := range filters {
			// Twilio filters on date_sent / start_time; the fake treats a
			// message not sent yet as sent when it was created.
			ok = ok && f.match(rec.created)
		}
		if ok {
			items = append(items, t.readLocked(rec))
		}
	}
	t.mu.Unlock()
	uri := r.URL.RequestURI()
	writeJSON(w, http.StatusOK, map[string]any{
		key: items, "page": 0, "page_size": size, "first_page_uri": uri, "next_page_uri": nil, "previous_page_uri": nil, "uri": uri, "start": 0, "end": len(items) - 1,
	})
}

func (t *TwilioAPI) one(w http.ResponseWriter, r *http.Request, channel string) {
	sid := r.PathValue("sid")
	if !t.auth(w, r, sid) {
		return
	}
	msid, _ := strings.CutSuffix(r.PathValue("file"), ".json")
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rec := range t.records {
		if rec.msg.SID == msid && rec.msg.AccountSID == sid && rec.msg.Channel == channel && !rec.lost {
			writeJSON(w, http.StatusOK, t.readLocked(rec))
			return
		}
	}
	twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
}

// rfc2822 is Twilio's date format.
func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// registerLegacyAccountsLocked adds every Twilio account whose sid and token
// appear in st's legacy settings.
func (t *TwilioAPI) registerLegacyAccounts(st *State) {
	for _, c := range st.Connections {
		sid, _ := c.Options["twilio_sid"].(string)
		tok, _ := c.Options["twilio_token"].(string)
		if sid != "" && tok != "" {
			t.AddAccount(sid, tok)
		}
	}
	if g := st.Guardian.Twilio; g.SID != "" && g.AuthToken != "" {
		t.AddAccount(g.SID, g.AuthToken)
	}
}

// registerTwilioControl serves the fake Twilio's control endpoints:
//
//	GET    /__fake/twilio/messages                  the accepted messages and calls
//	POST   /__fake/twilio/accounts                  {"sid","auth_token"} registers (or re-enables) an account
//	POST   /__fake/twilio/accounts/{sid}/reject     every request for the account fails with 401 20003
//	POST   /__fake/twilio/numbers                   {"number","final"}: what goes to number ends failed,
//	                                                undelivered, busy, no-answer or lost ("" clears)
func (s *Server) registerTwilioControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /__fake/twilio/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.twilio.Messages())
	})
	mux.HandleFunc("POST /__fake/twilio/accounts", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SID       string `json:"sid"`
			AuthToken string `json:"auth_token"`
		}
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "twilio account: "+err.Error())
			return
		}
		if !strings.HasPrefix(in.SID, "AC") || in.AuthToken == "" {
			controlError(w, http.StatusBadRequest, "twilio account: sid (AC...) and auth_token are required")
			return
		}
		s.twilio.AddAccount(in.SID, in.AuthToken)
		writeJSON(w, http.StatusCreated, map[string]string{"sid": in.SID})
	})
	mux.HandleFunc("POST /__fake/twilio/accounts/{sid}/reject", func(w http.ResponseWriter, r *http.Request) {
		s.twilio.RejectAccount(r.PathValue("sid"))
		writeJSON(w, http.StatusOK, map[string]any{"sid": r.PathValue("sid"), "rejected": true})
	})
	mux.HandleFunc("POST /__fake/twilio/numbers", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Number string `json:"number"`
			Final  string `json:"final"`
		}
		if err := decodeStrict(r, &in); err != nil {
			controlError(w, http.StatusBadRequest, "twilio number: "+err.Error())
			return
		}
		if in.Number == "" {
			controlError(w, http.StatusBadRequest, "twilio number: number is required")
			return
		}
		if err := s.twilio.FailNumber(in.Number, in.Final); err != nil {
			controlError(w, http.StatusBadRequest, "twilio number: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, in)
	})
}

// sayText extracts the text of <Say>...</Say> from Twiml, or returns it
// whole.
func sayText(twiml string) string {
	_, rest, ok := strings.Cut(twiml, "<Say>")
	if !ok {
		return twiml
	}
	text, _, _ := strings.Cut(rest, "</Say>")
	return html.UnescapeString(text)
}
