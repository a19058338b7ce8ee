package phonemigratetest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// TwilioAPI is a fake of the two Twilio REST endpoints Auth0 uses to send
// phone messages, a real HTTP server on 127.0.0.1:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json  (form: To, From | MessagingServiceSid, Body)
//	POST /2010-04-01/Accounts/{AccountSid}/Calls.json     (form: To, From, Twiml)
//
// Requests authenticate with HTTP basic auth AccountSid:AuthToken against
// the accounts registered with [TwilioAPI.AddAccount] ([TwilioSID] /
// [TwilioAuthToken] from the start); a wrong or missing token gets Twilio's
// 401 {"code":20003,"message":"Authenticate",...}, so a migration that
// lost the auth token is caught when the next message goes out. Accepted
// messages and calls are recorded.
type TwilioAPI struct {
	// URL is the API root, http://127.0.0.1:port.
	URL string

	hs       *httptest.Server
	mu       sync.Mutex
	accounts map[string]string
	messages received[TwilioMessage]
	seq      int
	// fail* make every request fail (Server.BreakDelivery).
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

func newTwilioAPI() *TwilioAPI {
	t := &TwilioAPI{accounts: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) { t.serve(w, r, "sms") })
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", func(w http.ResponseWriter, r *http.Request) { t.serve(w, r, "voice") })
	t.hs = httptest.NewServer(mux)
	t.URL = t.hs.URL
	return t
}

// Close stops the fake Twilio API, cutting requests still running after
// 5 s (see [Server.Close]).
func (t *TwilioAPI) Close() { closeHTTP(t.hs, "TwilioAPI") }

// AddAccount registers a Twilio account the fake accepts.
func (t *TwilioAPI) AddAccount(sid, authToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts[sid] = authToken
}

// Messages returns a copy of the accepted messages and calls, in order.
func (t *TwilioAPI) Messages() []TwilioMessage { return t.messages.all() }

// Reset forgets the accepted messages.
func (t *TwilioAPI) Reset() { t.messages.reset() }

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}

func (t *TwilioAPI) serve(w http.ResponseWriter, r *http.Request, channel string) {
	sid := r.PathValue("sid")
	user, pass, ok := r.BasicAuth()
	t.mu.Lock()
	want, known := t.accounts[sid]
	failStatus, failCode, failMessage := t.failStatus, t.failCode, t.failMessage
	t.mu.Unlock()
	if failStatus != 0 {
		twilioError(w, failStatus, failCode, failMessage)
		return
	}
	if !ok || user != sid || !known || pass != want {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
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
	t.messages.add(m) // under t.mu: messages stay in SID order
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": m.SID, "account_sid": sid, "to": m.To, "from": m.From, "messaging_service_sid": nullable(m.MessagingServiceSID),
		"body": m.Body, "status": "queued",
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
