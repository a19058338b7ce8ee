package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// DefaultEvidenceTimeout is how long Apply looks for a test message's
// delivery status in the Twilio account when [Options.EvidenceTimeout] is
// zero.
const DefaultEvidenceTimeout = 30 * time.Second

// evidenceTwilio is [TestOutcome.Evidence] when the message was looked up in
// the Twilio account.
const evidenceTwilio = "twilio"

// statusNotFound is [TestOutcome.Status] when no message or call to the
// recipient appeared in the Twilio account within the evidence timeout.
const statusNotFound = "not_found"

// errTestNotDelivered is wrapped by the [*testDeliveryError] Apply returns
// when Twilio reports a test message failed or undelivered, or does not
// list it: the migration stops before the tenant switch.
var errTestNotDelivered = errors.New("test message not delivered")

// TestOutcome is what is known about one test message: recorded in
// [Checkpoint.Tests] (and so in Result.Checkpoint) and shown by the CLI.
// Auth0's try endpoint answers 202 ("queued") whatever happens next, so a
// message counts as received only with delivery evidence (Twilio's status)
// or a person's word; otherwise AssumedReceived says it was counted without
// either.
type TestOutcome struct {
	To     string          `json:"to"`
	Method delivery.Method `json:"delivery_method"`
	// Evidence is where Status comes from: EvidenceTwilio, or "" when there
	// is no delivery evidence (a custom provider, or SkipTwilioCheck).
	Evidence string `json:"evidence,omitempty"`
	// Status is Twilio's last status of the message (queued, sending,
	// sent, delivered, undelivered, failed) or call (queued, ringing,
	// in-progress, completed, busy, no-answer, failed), or StatusNotFound.
	Status string `json:"status,omitempty"`
	// SID is the Twilio message or call sid.
	SID string `json:"sid,omitempty"`
	// ErrorCode is Twilio's error_code of a failed message (0 when none).
	ErrorCode int `json:"error_code,omitempty"`
	// Confirmed is true when Options.Confirm (a person) said it arrived.
	Confirmed bool `json:"confirmed,omitempty"`
	// AssumedReceived is true when it was counted as received with neither
	// delivery evidence nor a person saying so.
	AssumedReceived bool `json:"assumed_received,omitempty"`
	// Reason is the failure the tenant logs hold for it (masked: no phone
	// number, no secret), with Status StatusFailureLogged.
	Reason string `json:"reason,omitempty"`
}

// Summary is one line for a person, e.g. "text test message to
// +15555550100: Twilio status delivered (SM…)" or "…: assumed received (no
// delivery evidence)".
func (t TestOutcome) Summary() string {
	s := fmt.Sprintf("%s test message to %s: ", t.Method, t.To)
	switch {
	case t.Evidence == evidenceTwilio && t.Status == statusNotFound:
		s += "not found in the Twilio account"
	case t.Evidence == evidenceTwilio:
		s += "Twilio status " + t.Status
		if t.ErrorCode != 0 {
			s += fmt.Sprintf(" (error %d)", t.ErrorCode)
		}
		if t.SID != "" {
			s += " (" + t.SID + ")"
		}
	case t.Status == statusFailureLogged:
		s += "the tenant logs hold its failure: " + t.Reason
	case t.Status == statusNoFailureLogged:
		s += "no failure in the tenant logs"
	default:
		s += "no delivery evidence"
	}
	switch {
	case t.Confirmed:
		s += "; confirmed received"
	case t.AssumedReceived && t.Status == statusNoFailureLogged:
		s = fmt.Sprintf("%s test message to %s: assumed received (no delivery evidence; no failure in the tenant logs)", t.Method, t.To)
	case t.AssumedReceived:
		s = fmt.Sprintf("%s test message to %s: assumed received (no delivery evidence)", t.Method, t.To)
	}
	return s
}

// testDeliveryError is returned by Apply when Twilio reports a test message
// failed or undelivered (calls: failed, busy, no-answer, canceled), or it
// was not found within the evidence timeout. It wraps
// [errTestNotDelivered]; the migration stops at provider_configured, before
// the tenant switch.
type testDeliveryError struct {
	Outcome TestOutcome
	Account string        // the Twilio account sid looked in
	Waited  time.Duration // the evidence timeout, for statusNotFound
}

func (e *testDeliveryError) Error() string {
	o := e.Outcome
	if o.Status == statusFailureLogged {
		return fmt.Sprintf("%v: the tenant logs hold the failure of the %s test message to %s: %s", errTestNotDelivered, o.Method, o.To, o.Reason)
	}
	if o.Status == statusNotFound {
		return fmt.Sprintf("%v: no %s to %s appeared in Twilio account %s within %s of the test", errTestNotDelivered,
			map[delivery.Method]string{delivery.Text: "message", delivery.Voice: "call"}[o.Method], o.To, e.Account, e.Waited)
	}
	s := fmt.Sprintf("%v: Twilio reports the %s test message to %s (%s) as %s", errTestNotDelivered, o.Method, o.To, o.SID, o.Status)
	if o.ErrorCode != 0 {
		s += fmt.Sprintf(" (error %d)", o.ErrorCode)
	}
	return s
}

func (e *testDeliveryError) Unwrap() error { return errTestNotDelivered }

// Twilio statuses that end a message or call, and those that mean it did
// not reach the person.
var (
	finalStatus = map[string]bool{"delivered": true, "undelivered": true, "failed": true, "read": true, "canceled": true,
		"completed": true, "busy": true, "no-answer": true}
	badStatus = map[string]bool{"undelivered": true, "failed": true, "canceled": true, "busy": true, "no-answer": true, statusNotFound: true}
)

// evidenceSkew is how far before the try a message's date_created may be
// (Twilio dates have one-second resolution, and clocks differ).
const evidenceSkew = 5 * time.Second

// twilioItem is a message or call as Twilio lists it.
type twilioItem struct {
	SID         string `json:"sid"`
	To          string `json:"to"`
	Status      string `json:"status"`
	DateCreated string `json:"date_created"`
	ErrorCode   *int   `json:"error_code"`
}

// evidence looks in the Twilio account for the message or call to out.To
// created since the try (one not already claimed by an earlier test of this
// run), then follows its status until it is final or the timeout passes,
// and records what it found in out. Messages are listed by To only (page
// size 20, newest first) and matched on date_created: Twilio's DateSent
// filter would miss a message not sent yet, whose date_sent is null.
func (r *run) evidence(ctx context.Context, tw *twilioClient, out *TestOutcome, since time.Time, claimed map[string]bool) error {
	timeout := r.o.EvidenceTimeout
	if timeout == 0 {
		timeout = DefaultEvidenceTimeout
	}
	deadline := time.Now().Add(timeout)
	out.Evidence = evidenceTwilio
	listPath, onePath := "/Messages.json", "/Messages/"
	if out.Method == delivery.Voice {
		listPath, onePath = "/Calls.json", "/Calls/"
	}
	var found *twilioItem
	for n := 0; ; n++ {
		if found == nil {
			var page struct {
				Messages []twilioItem `json:"messages"`
				Calls    []twilioItem `json:"calls"`
			}
			status, te, err := tw.get(ctx, listPath, url.Values{"To": {out.To}, "PageSize": {"20"}}, &page)
			if err := evidenceErr(status, te, err, tw.sid); err != nil {
				return err
			}
			items := page.Messages
			if out.Method == delivery.Voice {
				items = page.Calls
			}
			for i := range items { // newest first: the last match is the oldest
				it := items[i]
				created, perr := time.Parse(time.RFC1123Z, it.DateCreated)
				if perr != nil || it.To != out.To || claimed[it.SID] || created.Before(since.Add(-evidenceSkew)) {
					continue
				}
				found = &it
			}
			if found != nil {
				claimed[found.SID] = true
				out.SID = found.SID
			}
		} else {
			var it twilioItem
			status, te, err := tw.get(ctx, onePath+url.PathEscape(found.SID)+".json", nil, &it)
			if err := evidenceErr(status, te, err, tw.sid); err != nil {
				return err
			}
			found = &it
		}
		if found != nil {
			out.Status = found.Status
			if found.ErrorCode != nil {
				out.ErrorCode = *found.ErrorCode
			}
			if finalStatus[found.Status] {
				return nil
			}
		}
		if !time.Now().Before(deadline) {
			if found == nil {
				out.Status = statusNotFound
			}
			return nil
		}
		if err := r.m.sleep(ctx, n); err != nil {
			return fmt.Errorf("wait for the Twilio status of the %s test message to %s: %w", out.Method, out.To, err)
		}
	}
}

func evidenceErr(status int, te *twilioAPIError, err error, sid string) error {
	switch {
	case err != nil:
		return fmt.Errorf("look up test message in Twilio: %w", err)
	case status == http.StatusUnauthorized || status == http.StatusNotFound:
		return &twilioCredentialsError{SID: sid, Status: status, Code: te.Code, Message: te.Message}
	case te != nil:
		return fmt.Errorf("look up test message in Twilio account %s: Twilio answered HTTP %d (error %d %s)", sid, status, te.Code, te.Message)
	}
	return nil
}

// evidenceSource returns the Twilio client that finds delivery evidence
// for a Twilio provider's test messages (resolving and checking the token
// first), or nil when there is none: a custom provider, or
// SkipTwilioCheck.
func (r *run) evidenceSource(ctx context.Context) (*twilioClient, error) {
	in := r.cp.Intent
	if in.Provider != ProviderKindTwilio || in.Twilio == nil || r.o.SkipTwilioCheck {
		return nil, nil
	}
	if err := r.resolveTwilio(ctx); err != nil {
		return nil, err
	}
	return r.m.twilio(r.o, in.Twilio.SID, r.o.TwilioAuthToken), nil
}

// testOutcome records what is known about the test message just tried:
// Twilio's status when tw is set (failing with a [*testDeliveryError] when
// it did not reach the person), else — with no one to confirm — that it is
// assumed received. The outcome is appended to the checkpoint's Tests.
func (r *run) testOutcome(ctx context.Context, tw *twilioClient, to string, meth delivery.Method, since time.Time, claimed map[string]bool) (TestOutcome, error) {
	out := TestOutcome{To: to, Method: meth}
	switch {
	case tw != nil:
		if err := r.evidence(ctx, tw, &out, since, claimed); err != nil {
			return out, err
		}
	case r.cp.Intent.Provider == ProviderKindCustom && r.o.Canary.Window > 0:
		// The canary's logs are readable: a failure of the test message
		// shows there (Auth0 logs nothing documented for a success).
		if err := r.logEvidence(ctx, &out, since); err != nil {
			return out, err
		}
	}
	if (out.Evidence == "" || out.Status == statusNoFailureLogged) && r.o.Confirm == nil {
		out.AssumedReceived = true
	}
	r.cp.Tests = append(r.cp.Tests, out)
	attrs := []any{"tenant", r.cp.Tenant, "to", to, "delivery_method", meth, "evidence", out.Evidence, "status", out.Status}
	switch {
	case out.Status == statusFailureLogged:
		r.m.log.ErrorContext(ctx, "test message failed (tenant logs)", attrs...)
		return out, &testDeliveryError{Outcome: out}
	case badStatus[out.Status]:
		timeout := r.o.EvidenceTimeout
		if timeout == 0 {
			timeout = DefaultEvidenceTimeout
		}
		r.m.log.ErrorContext(ctx, "test message not delivered", attrs...)
		return out, &testDeliveryError{Outcome: out, Account: tw.sid, Waited: timeout}
	case out.AssumedReceived:
		r.m.log.WarnContext(ctx, "test message assumed received (no delivery evidence)", attrs...)
	default:
		r.m.log.InfoContext(ctx, "test message", attrs...)
	}
	return out, nil
}

// evidenceTenantLogs is [TestOutcome.Evidence] when the tenant logs were
// searched for the test message's failure (a custom provider: Auth0 logs a
// failed notification as "fn", and nothing documented for a success).
const evidenceTenantLogs = "tenant_logs"

// statusNoFailureLogged is [TestOutcome.Status] when the tenant logs showed
// no failure of the test message within the canary's poll interval: not
// proof that it arrived, so the outcome stays AssumedReceived unless a
// person confirms it.
const statusNoFailureLogged = "no_failure_logged"

// statusFailureLogged is [TestOutcome.Status] when the tenant logs hold a
// failed notification ("fn") for the test message.
const statusFailureLogged = "failure_logged"

// logEvidence looks in the tenant logs for a failure of the test message
// sent to to at since: one query after the canary's poll interval (the
// logs are known to be readable when the canary is on). A logged failure
// fills out.Status with StatusFailureLogged and out.Reason with the masked
// reason.
func (r *run) logEvidence(ctx context.Context, out *TestOutcome, since time.Time) error {
	wait := r.o.Canary.WithDefaults().PollInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	q := `type:"fn" AND date:[` + since.UTC().Add(-time.Second).Format(time.RFC3339Nano) + ` TO *]`
	evs, err := r.m.c.Logs(ctx, watch.LogQuery{Q: q, Sort: "date:-1", PerPage: 100})
	if err != nil {
		return fmt.Errorf("look up the test message in the tenant logs: %w", err)
	}
	out.Evidence, out.Status = evidenceTenantLogs, statusNoFailureLogged
	for _, e := range evs {
		nt, _ := e.Details["notification_type"].(string)
		rcpt, _ := e.Details["to"].(string)
		if nt == "phone_test" && normalizeNumber(rcpt) == normalizeNumber(out.To) {
			out.Status, out.Reason = statusFailureLogged, watch.MaskReason(watch.FailureReason(e))
			return nil
		}
	}
	return nil
}

// normalizeNumber keeps the digits of a phone number (and a leading +).
func normalizeNumber(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c == '+' && len(b) == 0 {
			b = append(b, c)
		}
	}
	return string(b)
}
