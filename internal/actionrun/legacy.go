package actionrun

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Trigger ids of the Actions Run and RunSendPhoneMessage execute.
const (
	TriggerCustomPhoneProvider = "custom-phone-provider"
	TriggerSendPhoneMessage    = "send-phone-message"
)

// MessageOptions is event.message_options of a send-phone-message Action:
// the MFA message Auth0 asks the Action to deliver (the Guardian template
// already rendered into Text).
type MessageOptions struct {
	Recipient   string `json:"recipient"`
	Text        string `json:"text"`
	Code        string `json:"code"`
	Action      string `json:"action"`       // "enrollment" or "second-factor-authentication"
	MessageType string `json:"message_type"` // "sms" or "voice"
	Language    string `json:"language,omitempty"`
}

// LegacyClient is event.client of a send-phone-message Action.
type LegacyClient struct {
	ClientID       string            `json:"client_id"`
	Name           string            `json:"name"`
	ClientMetadata map[string]string `json:"client_metadata"`
}

// LegacyEvent is the event object passed to onExecuteSendPhoneMessage,
// the handler of the send-phone-message trigger (Auth0's MFA "phone
// message hook"), with the fields Auth0's trigger reference lists:
// event.message_options, event.request, event.user (with identities),
// event.client (client_metadata), event.tenant.id and event.secrets.
type LegacyEvent struct {
	MessageOptions MessageOptions
	Request        Request
	User           *User
	Client         LegacyClient
	Tenant         Tenant
	Secrets        map[string]string
}

type wireLegacyEvent struct {
	MessageOptions MessageOptions    `json:"message_options"`
	Request        wireRequest       `json:"request"`
	User           *User             `json:"user,omitempty"`
	Client         LegacyClient      `json:"client"`
	Tenant         legacyTenant      `json:"tenant"`
	Secrets        map[string]string `json:"secrets"`
}

// legacyTenant is event.tenant of send-phone-message: its id only.
type legacyTenant struct {
	ID string `json:"id"`
}

func (ev LegacyEvent) wire() wireLegacyEvent {
	w := wireLegacyEvent{
		MessageOptions: ev.MessageOptions,
		Request:        wireRequest{Request: ev.Request},
		User:           ev.User,
		Client:         ev.Client,
		Secrets:        ev.Secrets,
	}
	w.Tenant.ID = ev.Tenant.ID
	if w.Client.ClientMetadata == nil {
		w.Client.ClientMetadata = map[string]string{}
	}
	if w.Secrets == nil {
		w.Secrets = map[string]string{}
	}
	return w
}

// RunSendPhoneMessage executes code, the JavaScript source of a
// send-phone-message Action, once: it awaits
//
//	exports.onExecuteSendPhoneMessage(event, api)
//
// with event the JSON encoding of ev and api holding api.cache only (the
// trigger has no api.notification). The Result is [Sent] when the handler
// completes and [Threw] when it throws; errors, limits, secrets and
// options are as for [Run].
func RunSendPhoneMessage(ctx context.Context, code string, ev LegacyEvent, opts ...RunOption) (*Result, error) {
	return run(ctx, code, TriggerSendPhoneMessage, ev.wire(), ev.Secrets, opts)
}

// RunOption changes how [Run] and [RunSendPhoneMessage] execute an Action.
type RunOption func(*runConfig)

type runConfig struct {
	timeout     time.Duration // Timeout, shortened by tests (withTimeout)
	record      bool
	modulePaths []string
	holdTimers  bool
	release     <-chan struct{}
}

// WithRecorder sends every HTTP request the Action makes — global fetch,
// and http/https request and get of node:http and node:https — to a
// recording server instead of its destination. The server answers each
// with 200 and the JSON body {}; the requests, with their original URL,
// are returned in [Result.Requests]. Nothing leaves the machine.
func WithRecorder() RunOption { return func(c *runConfig) { c.record = true } }

// WithModulePaths lets the Action require npm packages installed in dirs
// (each a node_modules directory), through NODE_PATH.
func WithModulePaths(dirs ...string) RunOption {
	return func(c *runConfig) { c.modulePaths = append(c.modulePaths, dirs...) }
}

// WithTimersHeld makes the Action's own timers (setTimeout called from the
// Action's code; Node's and fetch's internal timers are untouched) wait for
// release instead of the wall clock: none fires before release is closed,
// then those pending fire in the order of their delays, and later ones run
// as usual. A nil release holds them for the whole execution. Tests use it
// to exercise a timeout without depending on the machine's speed: close
// release when the server has the request, and the Action's request
// timeout expires then, not before.
func WithTimersHeld(release <-chan struct{}) RunOption {
	return func(c *runConfig) { c.holdTimers, c.release = true, release }
}

// withTimeout replaces [Timeout] for one run (tests).
func withTimeout(d time.Duration) RunOption { return func(c *runConfig) { c.timeout = d } }

// RecordedRequest is one request an Action made under [WithRecorder].
type RecordedRequest struct {
	Method string
	// URL is the URL the Action called.
	URL string
	// Header holds the request's headers, names in canonical form, without
	// the ones the HTTP stack adds by itself (Host, Content-Length,
	// Connection) or the recorder's own.
	Header http.Header
	Body   string
}

// originalURLHeader carries the URL the Action called to the recorder.
const originalURLHeader = "X-Phonemigrate-Original-Url"

// harnessInput is what the harness receives as workerData.input.
type harnessInput struct {
	Trigger  string `json:"trigger"`
	Event    any    `json:"event"`
	Redirect string `json:"redirect,omitempty"`
	// HoldTimers: the Action's timers wait for the pool's release message
	// (see WithTimersHeld).
	HoldTimers bool `json:"holdTimers,omitempty"`
}

type recorder struct {
	srv *httptest.Server
	url string

	mu   sync.Mutex
	reqs []RecordedRequest
}

func newRecorder() *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h := r.Header.Clone()
		orig := h.Get(originalURLHeader)
		for _, k := range []string{originalURLHeader, "Host", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding"} {
			h.Del(k)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, RecordedRequest{Method: r.Method, URL: orig, Header: h, Body: string(body)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	rec.url = rec.srv.URL + "/record"
	return rec
}

func (rec *recorder) requests() []RecordedRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]RecordedRequest, len(rec.reqs))
	copy(out, rec.reqs)
	if out == nil {
		out = []RecordedRequest{}
	}
	return out
}

func (rec *recorder) close() { rec.srv.Close() }

// HeaderLines returns h as sorted "Name: value" lines, for comparing and
// printing recorded requests.
func HeaderLines(h http.Header) []string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	sort.Strings(out)
	return out
}

// LegacyAction is the send-phone-message action name Auth0 gives a message type.
func LegacyAction(messageType string) string {
	switch messageType {
	case "otp_enroll":
		return "enrollment"
	case "otp_verify":
		return "second-factor-authentication"
	}
	return ""
}

// LegacyMessageType is the send-phone-message message_type of a delivery
// method: "sms" for text, "voice" for voice.
func LegacyMessageType(deliveryMethod string) string {
	if strings.EqualFold(deliveryMethod, "voice") {
		return "voice"
	}
	return "sms"
}
