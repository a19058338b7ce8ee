// Package actionrun runs the JavaScript of an Auth0 custom-phone-provider
// Action in a real Node.js process, with the event and api objects built the
// way Auth0 builds them, and reports what the Action decided.
//
// It exists so that generated Actions (package actiongen) and the fake tenant
// (package phonemigratetest) can prove, offline, what a deployed Action does:
// which HTTP requests it makes, and whether it calls
// api.notification.retry or api.notification.drop.
//
// # What the Action sees
//
// [Run] writes the code to a temporary directory as a CommonJS module and
// runs it in a fresh worker thread of a long-lived `node` process (found
// on PATH, started on the first run and shared by every run of the Go
// process) with a small embedded harness. The harness requires the module
// and awaits
//
//	exports.onExecuteCustomPhoneProvider(event, api)
//
// where event is the JSON encoding of [Event] (field names as in Auth0's
// event reference: event.notification.as_text, event.request.user_agent,
// event.connection.strategy, event.client.client_id, event.tenant.id,
// event.secrets.NAME, ...). Optional fields that are empty are absent, as
// they are in Auth0: notification.code, notification.from,
// notification.locale, request.hostname, request.language,
// request.user_agent, event.connection when [Event.Connection] is nil,
// event.user when [Event.User] is nil, and empty fields of both.
// event.request.geoip is always an empty object and event.client.metadata
// and event.secrets are always objects. event.organization,
// event.custom_domain and event.transaction are not provided.
//
// api.notification.retry(reason) and api.notification.drop(reason) record
// the outcome; if several calls are made, the last one counts, as Auth0
// documents. api.cache.get/set/delete keep values in memory for the one
// execution, with Auth0's documented limits (20 entries, 64-byte keys, 4 kB
// values, 8 kB in total, 24 h at most). The Action runs with Node's
// built-ins only: global fetch (Node 18+), node:crypto, and so on. It may
// make real HTTP requests.
//
// # Outcomes
//
// [Run] returns a [Result] for everything the Action itself does, including
// throwing: a handler that returns without calling retry or drop is [Sent];
// one that throws (or rejects, or throws from a timer callback) is [Threw]
// with the error's message as the reason. Run returns an error only for
// problems of the harness: node missing ([ErrNodeNotFound]), code that fails
// to load or does not export onExecuteCustomPhoneProvider
// ([ErrInvalidCode]), an execution longer than Auth0's 20 seconds
// ([ErrTimeout]), a cancelled context, or an execution that ends without
// reporting (the Action calling process.exit, say).
//
// # Isolation
//
// Each execution has its own worker thread: a new V8 isolate with its own
// globals, module cache, api.cache and timers, so nothing an Action does
// to its JavaScript world survives into the next execution, and
// executions run in parallel. They share the node process: its file
// descriptors, working directory and environment as node started with it
// (process.env is a copy per execution). A worker that runs past its time
// or whose context is cancelled is terminated, even in a busy loop, and
// Run returns at once even when the worker is blocked in a system call
// (execSync, say) and ends only when the call returns. A worker's heap is
// limited to 256 MB: an Action that allocates without end fails its own
// run. An Action that kills the whole process (process.kill(process.pid))
// fails the executions running with it, and the next run starts a new
// process; the process ends with the Go process, whatever its workers are
// doing, and on Unix takes the processes Actions started with it (it leads
// a process group of its own; one an Action detaches escapes).
// This is a test harness, not a security boundary: an Action can do
// whatever the user running it can.
//
// # Secrets
//
// The event, secrets included, reaches node on its standard input and the
// worker in memory, never in arguments or the environment. The harness
// prints nothing. Every secret
// value of four characters or more is replaced by "[redacted]" in the
// returned reason, log lines and error messages, in every form package
// redact finds (JSON- or URL-escaped, base64 as in a Basic authorization
// header, hex, any letter case), so that a careless Action cannot leak a
// secret into test output; text is cut to its limits after redaction, or
// before a secret, never through one.
//
// Results travel on file descriptor 3, so Run needs a platform where
// [os/exec.Cmd.ExtraFiles] works (not Windows).
package actionrun

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

//go:embed harness.cjs
var harness []byte

// Notification is event.notification: the message Auth0 asks the Action to
// deliver. The JSON names are Auth0's; Code, From and Locale are optional and
// absent from the event when empty.
type Notification struct {
	AsText         string `json:"as_text"`
	AsVoice        string `json:"as_voice"`
	Code           string `json:"code,omitempty"`
	DeliveryMethod string `json:"delivery_method"` // "text" or "voice"
	From           string `json:"from,omitempty"`
	Locale         string `json:"locale,omitempty"`
	MessageType    string `json:"message_type"` // otp_verify, otp_enroll, blocked_account, change_password, password_breach
	Recipient      string `json:"recipient"`
}

// Request is event.request: the end user's request that caused the message.
// UserAgent, Hostname and Language are optional and absent when empty.
// event.request.geoip is always present as an empty object.
type Request struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent,omitempty"`
	Method    string `json:"method"`
	Hostname  string `json:"hostname,omitempty"`
	Language  string `json:"language,omitempty"`
}

// Connection is event.connection, optional in Auth0's event. Auth0
// documents id, name and strategy, but its own example event carries only
// {"strategy": "auth0"}: empty ID and Name are absent from the event.
type Connection struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Strategy string `json:"strategy"`
}

// User is event.user: the user the message is for. Auth0 documents user_id
// as always set (a Passwordless SMS user's is "sms|..."), but a code for a
// user who does not exist yet (a Passwordless signup) may come without
// one, so every field is absent when empty.
type User struct {
	UserID      string     `json:"user_id,omitempty"`
	PhoneNumber string     `json:"phone_number,omitempty"`
	Identities  []Identity `json:"identities,omitempty"`
}

// Identity is one entry of event.user.identities.
type Identity struct {
	Connection string `json:"connection"`
	Provider   string `json:"provider"`
	UserID     string `json:"user_id"`
	IsSocial   bool   `json:"isSocial"`
}

// Client is event.client: the application the user is logging in to. A nil
// Metadata is sent as an empty object.
type Client struct {
	ClientID string            `json:"client_id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// Tenant is event.tenant. ID is the tenant name. FriendlyName is the
// tenant's friendly_name, optional in Auth0's event and absent when empty.
type Tenant struct {
	ID           string `json:"id"`
	FriendlyName string `json:"friendly_name,omitempty"`
}

// Event is the event object passed to onExecuteCustomPhoneProvider.
type Event struct {
	Notification Notification
	Request      Request
	Connection   *Connection // nil: event.connection is undefined
	User         *User       // nil: event.user is undefined
	Client       Client
	Tenant       Tenant
	Secrets      map[string]string // event.secrets; a nil map is sent as an empty object
}

// wireEvent is the JSON form of Event that the harness receives.
type wireEvent struct {
	Notification Notification      `json:"notification"`
	Request      wireRequest       `json:"request"`
	Connection   *Connection       `json:"connection,omitempty"`
	User         *User             `json:"user,omitempty"`
	Client       Client            `json:"client"`
	Tenant       Tenant            `json:"tenant"`
	Secrets      map[string]string `json:"secrets"`
}

type wireRequest struct {
	Request
	GeoIP struct{} `json:"geoip"`
}

func (ev Event) wire() wireEvent {
	w := wireEvent{
		Notification: ev.Notification,
		Request:      wireRequest{Request: ev.Request},
		Connection:   ev.Connection,
		User:         ev.User,
		Client:       ev.Client,
		Tenant:       ev.Tenant,
		Secrets:      ev.Secrets,
	}
	if w.Client.Metadata == nil {
		w.Client.Metadata = map[string]string{}
	}
	if w.Secrets == nil {
		w.Secrets = map[string]string{}
	}
	return w
}

// Outcome is what the Action decided about the notification.
type Outcome string

// The outcomes of an execution.
const (
	// Sent: the handler returned (or its promise resolved) without calling
	// api.notification.retry or api.notification.drop.
	Sent Outcome = "sent"
	// Retry: the last call the handler made was api.notification.retry.
	// Auth0 logs an error and retries up to 5 times.
	Retry Outcome = "retry"
	// Drop: the last call the handler made was api.notification.drop.
	// Auth0 logs an error and does not retry.
	Drop Outcome = "drop"
	// Threw: the handler threw or its promise rejected, whatever retry or
	// drop calls it made before.
	Threw Outcome = "threw"
)

// Result is the outcome of one execution of an Action.
type Result struct {
	// Outcome is what the Action decided.
	Outcome Outcome
	// Reason is the reason passed to the last retry or drop call, truncated
	// to 1024 characters as Auth0 does, or the message of the thrown error
	// (its first 65,536 characters). It is empty for Sent.
	Reason string
	// Logs holds one entry per console.log, console.info, console.warn,
	// console.error, console.debug or console.trace call, formatted as Node
	// formats them and truncated to 256 characters as Auth0 stores them.
	// Once the calls have logged a million characters, further calls are
	// not kept: one last entry says how many there were.
	Logs []string
	// Requests are the HTTP requests the Action made, in the order they
	// arrived, when it ran [WithRecorder]; nil otherwise. They hold what
	// the Action sent, secret values included: give the Action stand-in
	// secrets when the requests are to be shown.
	Requests []RecordedRequest
}

// Limits Auth0 applies, which Run reproduces.
const (
	// Timeout is how long an Action may run before Auth0 stops it.
	Timeout = 20 * time.Second
	// MaxReasonLen is the number of characters of a retry/drop reason kept.
	MaxReasonLen = 1024
	// MaxLogLen is the number of characters of a console line kept.
	MaxLogLen = 256
)

// Errors Run returns; test with errors.Is.
var (
	// ErrNodeNotFound means no `node` executable is on PATH.
	ErrNodeNotFound = errors.New("actionrun: node executable not found on PATH")
	// ErrInvalidCode means the code could not be loaded as a CommonJS module
	// (a syntax error, or an exception at module level) or does not export
	// a function onExecuteCustomPhoneProvider (onExecuteSendPhoneMessage
	// for [RunSendPhoneMessage]).
	ErrInvalidCode = errors.New("actionrun: invalid Action code")
	// ErrTimeout means the Action ran longer than [Timeout] (or its handler's
	// promise never settled: Auth0 waits for it until then); its worker was
	// ended.
	ErrTimeout = errors.New("actionrun: Action exceeded the execution time limit")
)

// NodeAvailable reports whether a `node` executable is on PATH.
func NodeAvailable() bool {
	_, err := exec.LookPath("node")
	return err == nil
}

// harnessReport is the JSON line the harness writes on fd 3.
type harnessReport struct {
	Outcome      Outcome  `json:"outcome"`
	Reason       string   `json:"reason"`
	Logs         []string `json:"logs"`
	HarnessError string   `json:"harness_error"`
	Message      string   `json:"message"`
}

// Run executes code, the JavaScript source of a custom-phone-provider Action,
// once, with the event ev, and returns what the Action decided.
//
// Run starts a fresh worker thread for every call (about 25 ms of CPU on a
// small machine, 60 ms with the Action's first fetch), so nothing
// (module-level state, api.cache) survives from one call to the next, and
// it is safe for concurrent use. The worker is ended when ctx is done or
// after [Timeout]. Run returns an error, and no Result, only for harness
// problems: [ErrNodeNotFound], [ErrInvalidCode], [ErrTimeout], ctx's error
// (wrapped), or an execution that ends without reporting. An Action that
// throws is a [Threw] Result, not an error.
func Run(ctx context.Context, code string, ev Event, opts ...RunOption) (*Result, error) {
	return run(ctx, code, TriggerCustomPhoneProvider, ev.wire(), ev.Secrets, opts)
}

// run executes code's handler for trigger with the wire event ev.
func run(ctx context.Context, code, trigger string, ev any, secrets map[string]string, opts []RunOption) (*Result, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, ErrNodeNotFound
	}
	cfg := runConfig{timeout: Timeout}
	for _, o := range opts {
		o(&cfg)
	}
	r := redactor(secrets)

	var rec *recorder
	in := harnessInput{Trigger: trigger, Event: ev, HoldTimers: cfg.holdTimers}
	if cfg.record {
		rec = newRecorder()
		defer rec.close()
		in.Redirect = rec.url
	}

	dir, err := os.MkdirTemp("", "actionrun-")
	if err != nil {
		return nil, fmt.Errorf("actionrun: %w", err)
	}
	defer os.RemoveAll(dir)
	actionPath := filepath.Join(dir, "action.cjs")
	if err := os.WriteFile(actionPath, []byte(code), 0o600); err != nil {
		return nil, fmt.Errorf("actionrun: write action: %w", err)
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	p, id, replyc, err := startRun(runCtx, node, poolRequest{Action: actionPath, NodePath: strings.Join(cfg.modulePaths, string(os.PathListSeparator)), Input: &in, secrets: secrets})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("actionrun: %w", ctx.Err())
		}
		return nil, fmt.Errorf("actionrun: %w", err)
	}
	release := cfg.release
	if !cfg.holdTimers {
		release = nil
	}
	rep, err := p.wait(runCtx, id, replyc, release)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("actionrun: %w", ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("actionrun: %s", r.Replace(err.Error()))
	case runCtx.Err() != nil:
		return nil, fmt.Errorf("%w (%s)", ErrTimeout, cfg.timeout)
	}
	if rep.Report == nil {
		msg := strings.TrimSpace(rep.Stderr)
		if rep.Error != "" {
			msg = strings.TrimSpace(rep.Error + "\n" + msg)
		}
		return nil, fmt.Errorf("actionrun: %w (exit code %d)%s", errPoolExited, rep.Exit, colon(r.Replace(msg)))
	}
	return result(*rep.Report, r, rec)
}

// result turns the harness's report into a Result, secrets redacted.
func result(rep harnessReport, r secretRedactor, rec *recorder) (*Result, error) {
	if rep.HarnessError != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCode, r.Replace(rep.Message))
	}
	switch rep.Outcome {
	case Sent, Retry, Drop, Threw:
	default:
		return nil, fmt.Errorf("actionrun: harness reported unknown outcome %q", rep.Outcome)
	}
	// Secrets are redacted before truncating: truncating first would cut a
	// secret that straddles the limit, and its first half would survive.
	res := &Result{
		Outcome: rep.Outcome,
		Reason:  truncate(r.Replace(rep.Reason), MaxReasonLen),
		Logs:    make([]string, 0, len(rep.Logs)),
	}
	if rep.Outcome == Threw {
		res.Reason = r.Replace(rep.Reason)
	}
	for _, l := range rep.Logs {
		res.Logs = append(res.Logs, truncate(r.Replace(l), MaxLogLen))
	}
	if rec != nil {
		res.Requests = rec.requests()
	}
	return res, nil
}

// nodeEnv is the environment node runs with: enough to find executables,
// nothing that changes node's behaviour (NODE_OPTIONS and the like), UTC as
// in Auth0.
func nodeEnv(modulePaths []string) []string {
	env := []string{"TZ=UTC", "NODE_NO_WARNINGS=1"}
	if len(modulePaths) > 0 {
		env = append(env, "NODE_PATH="+strings.Join(modulePaths, string(os.PathListSeparator)))
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// colon is ": " and what, or nothing when what is empty: the end of an
// error message that says what node printed, if anything.
func colon(what string) string {
	if what == "" {
		return ""
	}
	return ": " + what
}

// truncate keeps the first n characters (code points) of s.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// secretRedactor replaces secret values with "[redacted]".
type secretRedactor []string

// redactor returns the redactor of the secret values of at least four
// bytes: they are found in every form package redact finds them in (JSON-
// or URL-escaped, base64, hex, any letter case), so that an Action logging
// an Authorization: Basic header, say, does not leak the secret in it.
func redactor(secrets map[string]string) secretRedactor {
	var vals []string
	for _, v := range secrets {
		if len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	return vals
}

// Replace returns s with the secrets replaced, every other character as
// it was.
func (r secretRedactor) Replace(s string) string {
	if len(r) == 0 {
		return s
	}
	return redact.Values(s, r...)
}

// limitedBuffer keeps the first 8 kB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 8<<10 - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
