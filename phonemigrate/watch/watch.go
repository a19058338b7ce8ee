// Package watch reads an Auth0 tenant's logs — the only delivery feedback
// Auth0 gives — and says how phone delivery is doing on each path
// (Passwordless and MFA, text and voice): [Delivery] compares a window with
// the one before it, a [Follower] and a [Counter] follow the logs as they
// come, and a [Canary] decides whether a path broke after the tenant
// switched to the Unified Phone Experience. Failure reasons are masked
// ([MaskReason]) before they are kept or shown.
package watch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// TenantLogs reads the tenant logs, the only delivery feedback Auth0 gives
// ("To troubleshoot issues, review the tenant logs").
type TenantLogs interface {
	// Logs returns one page of GET /api/v2/logs: by query (Q, Sort, Page,
	// PerPage) or, when Take > 0, by checkpoint (From, Take; Auth0 then
	// ignores every other parameter and does not guarantee date order).
	Logs(ctx context.Context, q LogQuery) ([]LogEvent, error)
}

// LogQuery is one GET /api/v2/logs request.
type LogQuery struct {
	// Q is a Lucene query, e.g. `type:("fn" OR "gd_send_sms_failure")
	// AND date:[2026-01-01T00:00:00Z TO *]`.
	Q string
	// Sort is "date:1" (oldest first) or "date:-1" (newest first).
	Sort string
	// Page (from 0) and PerPage (at most 100; Auth0 lets a query reach
	// its first 1,000 results).
	Page, PerPage int
	// From is the log_id to continue after and Take (1-100) the page size
	// of checkpoint paging. Take > 0 selects checkpoint paging.
	From string
	Take int
}

// LogEvent is one tenant log event, the fields a delivery watch reads.
type LogEvent struct {
	ID          string         `json:"log_id"`
	Type        string         `json:"type"`
	Date        time.Time      `json:"date"`
	Description string         `json:"description,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
	// ClientID and ClientName name the application that made the call
	// (Management API entries: sapi, fapi).
	ClientID   string `json:"client_id,omitempty"`
	ClientName string `json:"client_name,omitempty"`
}

// Path is one way phone messages reach users.
type Path string

// The delivery paths a watch reports, in this order.
const (
	PathPasswordlessText  Path = "passwordless/text"
	PathPasswordlessVoice Path = "passwordless/voice"
	PathMFAText           Path = "mfa/text"
	PathMFAVoice          Path = "mfa/voice"
)

// Paths lists every [Path].
func Paths() []Path {
	return []Path{PathPasswordlessText, PathPasswordlessVoice, PathMFAText, PathMFAVoice}
}

// deliveryLogTypes are the log types a watch counts (auth0-domain facts:
// cs/cls sent, fn failed, gd_send_* MFA, actions_execution_failed,
// limit_phone).
var deliveryLogTypes = []string{"cs", "fn", "gd_send_sms", "gd_send_sms_failure", "gd_send_voice", "gd_send_voice_failure", "actions_execution_failed", "limit_phone"}

// testNotificationType marks the fn event of a failed provider test
// message (the fake's choice; Auth0 does not document one).
const testNotificationType = "phone_test"

// ReasonCount is one failure reason and how often it occurred.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// PathHealth is the delivery health of one path in a window.
type PathHealth struct {
	Path Path `json:"path"`
	// Sent counts messages Auth0 logged as sent, Failed those it logged as
	// not delivered.
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
	// FailureRate is Failed / (Sent + Failed), 0 without messages.
	FailureRate float64 `json:"failure_rate"`
	// TopErrors are the most frequent failure reasons (at most 3), phone
	// numbers masked.
	TopErrors []ReasonCount `json:"top_errors,omitempty"`
	// RecentSent and RecentFailed count the path's last messages (at most
	// the recent size of the counter, oldest first dropped), so that a
	// break late in a long window is not diluted by the healthy messages
	// before it.
	RecentSent   int `json:"recent_sent"`
	RecentFailed int `json:"recent_failed"`
}

// Minute is one minute of a window: messages sent and failed.
type Minute struct {
	Start  time.Time `json:"start"`
	Sent   int       `json:"sent"`
	Failed int       `json:"failed"`
}

// Health is what the tenant logs say about phone delivery in one
// window.
type Health struct {
	From  time.Time    `json:"from"`
	To    time.Time    `json:"to"`
	Paths []PathHealth `json:"paths"`
	// ActionFailures counts actions_execution_failed events (the
	// custom-phone-provider Action threw or timed out), PhoneLimited
	// limit_phone events, TestFailures failed provider test messages.
	ActionFailures int `json:"action_failures"`
	PhoneLimited   int `json:"phone_limited"`
	TestFailures   int `json:"test_failures"`
	// ActionErrors are the most frequent Action errors.
	ActionErrors []ReasonCount `json:"action_errors,omitempty"`
	// Minutes are per-minute totals, oldest first.
	Minutes []Minute `json:"minutes"`
	// Truncated says the window held more events than Auth0 lets a query
	// reach (1,000): the counts cover the newest part only.
	Truncated bool `json:"truncated,omitempty"`
}

// Path returns the health of p.
func (h Health) Path(p Path) PathHealth {
	for _, x := range h.Paths {
		if x.Path == p {
			return x
		}
	}
	return PathHealth{Path: p}
}

// Report compares a window with the same-length window before it.
type Report struct {
	Current  Health `json:"current"`
	Baseline Health `json:"baseline"`
}

// classify maps an event to its path and outcome; ok is false for events
// that are not a phone message to a user. Only phone evidence counts:
// MFA's gd_send_* types, and Passwordless cs and fn entries whose details
// name a phone recipient (details.body.phone_number of cs, details.to of
// fn) or a notification type (details.notification_type of fn). Auth0
// logs fn for email failures too (details.email_type, details.to an email
// address) and cls for email magic links: neither is about a phone, and
// both are ignored, as is every other type (sapi, s, f, ...).
func classify(e LogEvent) (p Path, failed, ok bool) {
	switch e.Type {
	case "cs":
		body, _ := e.Details["body"].(map[string]any)
		if pn, _ := body["phone_number"].(string); isPhoneNumber(pn) {
			return PathPasswordlessText, false, true
		}
		return "", false, false
	case "fn":
		nt, _ := e.Details["notification_type"].(string)
		to, _ := e.Details["to"].(string)
		switch {
		case nt == testNotificationType:
			return "", false, false
		case nt == "voice":
			return PathPasswordlessVoice, true, true
		case nt != "" && nt != "email", nt == "" && isPhoneNumber(to):
			return PathPasswordlessText, true, true
		}
		return "", false, false
	case "gd_send_sms":
		return PathMFAText, false, true
	case "gd_send_sms_failure":
		return PathMFAText, true, true
	case "gd_send_voice":
		return PathMFAVoice, false, true
	case "gd_send_voice_failure":
		return PathMFAVoice, true, true
	}
	return "", false, false
}

// isPhoneNumber reports whether s looks like a phone number (E.164, with
// the separators Auth0's own examples use), not an email address.
func isPhoneNumber(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 7
}

// customPhoneProvider is the Actions trigger of a custom phone provider
// (phonemigrate.TriggerCustomPhoneProvider).
const customPhoneProvider = "custom-phone-provider"

// phoneActionFailure reports whether an actions_execution_failed entry is
// the custom-phone-provider trigger's (an entry that names no trigger is
// counted, as before: the tenant may log it without one).
func phoneActionFailure(e LogEvent) bool {
	t, _ := e.Details["trigger_id"].(string)
	return t == "" || t == customPhoneProvider
}

// FailureReason is the masked reason of a failure event.
func FailureReason(e LogEvent) string {
	reason := e.Description
	if s, ok := e.Details["error"].(string); ok && s != "" {
		reason = s
	}
	for _, k := range []string{"provider_error", "failure_details", "action_error"} {
		if m, ok := e.Details[k].(map[string]any); ok {
			if s, ok := m["message"].(string); ok && s != "" {
				reason = s
				break
			}
		}
	}
	if reason == "" {
		reason = e.Type
	}
	return MaskReason(reason)
}

var (
	bearerLike = regexp.MustCompile(`(?i)(bearer|basic|token|secret|password|auth)([ =:"]+)[^\s",;]+`)
	urlQuery   = regexp.MustCompile(`(https?://[^\s?"]+)\?[^\s"]*`)
)

// MaskReason makes a failure reason from the tenant logs fit to print:
// phone numbers keep their last two digits ("+•••••••••67") — written with
// any digits (ASCII, full-width, Arabic-Indic, ...) and any separators
// (spaces of every width, hyphens and dashes, '.', '/', '_', ',',
// parentheses) —, URL credentials, credentials after words like bearer,
// token or secret and URL query strings are removed, control and other
// misleading characters stripped, and the text cut at 200 characters.
// Known secret values are removed first (see [redact.Text]); the auth0api
// client removes those it knows when it reads the logs.
func MaskReason(s string, secrets ...string) string {
	s = redact.Text(s, secrets...)
	s = urlQuery.ReplaceAllString(s, "$1?[redacted]")
	for _, u := range urlLike.FindAllString(s, -1) {
		if r := redact.URL(u); r != u {
			s = strings.Replace(s, u, r, 1)
		}
	}
	s = bearerLike.ReplaceAllString(s, "$1$2[redacted]")
	s = maskPhones(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

var urlLike = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"]+`)

// phoneSeparator reports whether r may sit between the digits of a phone
// number as people (and gateways) write them.
func phoneSeparator(r rune) bool {
	switch r {
	case '.', '/', '_', ',', '(', ')':
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Zs, r) || r == '\u2011' || r == '\u2212'
}

// maskPhones replaces every run of at least 7 digits (of any script),
// optionally after '+', joined only by phone separators, by '+' (when it
// had one), a '•' per digit but the last two, and those two.
func maskPhones(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		start := i
		plus := rs[i] == '+' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])
		if !plus && !unicode.IsDigit(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		if plus {
			j++
		}
		var digits []rune
		last := j // just past the last digit
		for j < len(rs) && (unicode.IsDigit(rs[j]) || phoneSeparator(rs[j])) {
			if unicode.IsDigit(rs[j]) {
				digits = append(digits, rs[j])
				last = j + 1
			}
			j++
		}
		if len(digits) < 7 {
			b.WriteString(string(rs[start:last]))
			i = max(last, start+1)
			continue
		}
		if plus {
			b.WriteRune('+')
		}
		b.WriteString(strings.Repeat("•", len(digits)-2))
		b.WriteString(string(digits[len(digits)-2:]))
		i = last
	}
	return b.String()
}

// healthAcc accumulates events into a Health.
type healthAcc struct {
	from, to  time.Time
	seen      map[string]bool
	paths     map[Path]*PathHealth
	reasons   map[Path]map[string]int
	actionErr map[string]int
	h         Health
	minutes   map[int64]*Minute
	recentN   int             // how many last messages per path recent keeps
	recent    map[Path][]bool // the path's last outcomes, true = failed
}

// defaultRecent is how many last messages per path the recent counts keep.
const defaultRecent = 20

func newHealthAcc(from, to time.Time) *healthAcc {
	a := &healthAcc{from: from, to: to, seen: map[string]bool{}, paths: map[Path]*PathHealth{},
		reasons: map[Path]map[string]int{}, actionErr: map[string]int{}, minutes: map[int64]*Minute{},
		recentN: defaultRecent, recent: map[Path][]bool{}}
	for _, p := range Paths() {
		a.paths[p] = &PathHealth{Path: p}
		a.reasons[p] = map[string]int{}
	}
	return a
}

// add counts e once (by log id) when it falls in [from, to).
func (a *healthAcc) add(e LogEvent) {
	if e.ID != "" {
		if a.seen[e.ID] {
			return
		}
		a.seen[e.ID] = true
	}
	if e.Date.Before(a.from) || (!a.to.IsZero() && !e.Date.Before(a.to)) {
		return
	}
	switch e.Type {
	case "actions_execution_failed":
		if !phoneActionFailure(e) {
			return
		}
		a.h.ActionFailures++
		a.actionErr[FailureReason(e)]++
		return
	case "limit_phone":
		a.h.PhoneLimited++
		return
	case "fn":
		if nt, _ := e.Details["notification_type"].(string); nt == testNotificationType {
			a.h.TestFailures++
			return
		}
	}
	p, failed, ok := classify(e)
	if !ok {
		return
	}
	ph := a.paths[p]
	min := e.Date.Truncate(time.Minute)
	m := a.minutes[min.Unix()]
	if m == nil {
		m = &Minute{Start: min.UTC()}
		a.minutes[min.Unix()] = m
	}
	r := append(a.recent[p], failed)
	if len(r) > a.recentN {
		r = r[len(r)-a.recentN:]
	}
	a.recent[p] = r
	if failed {
		ph.Failed++
		m.Failed++
		a.reasons[p][FailureReason(e)]++
	} else {
		ph.Sent++
		m.Sent++
	}
}

func topReasons(m map[string]int, n int) []ReasonCount {
	var out []ReasonCount
	for r, c := range m {
		out = append(out, ReasonCount{Reason: r, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// health returns the accumulated health, with To set to to (or now).
func (a *healthAcc) health(now time.Time) Health {
	h := a.h
	h.From, h.To = a.from.UTC(), a.to.UTC()
	if a.to.IsZero() {
		h.To = now.UTC()
	}
	h.Paths = nil
	for _, p := range Paths() {
		ph := *a.paths[p]
		if n := ph.Sent + ph.Failed; n > 0 {
			ph.FailureRate = float64(ph.Failed) / float64(n)
		}
		ph.TopErrors = topReasons(a.reasons[p], 3)
		for _, f := range a.recent[p] {
			if f {
				ph.RecentFailed++
			} else {
				ph.RecentSent++
			}
		}
		h.Paths = append(h.Paths, ph)
	}
	h.ActionErrors = topReasons(a.actionErr, 3)
	h.Minutes = []Minute{}
	for t := h.From.Truncate(time.Minute); !t.After(h.To); t = t.Add(time.Minute) {
		if m := a.minutes[t.Unix()]; m != nil {
			h.Minutes = append(h.Minutes, *m)
		} else {
			h.Minutes = append(h.Minutes, Minute{Start: t})
		}
		if len(h.Minutes) > 24*60 {
			break // a day of minutes is enough for a sparkline
		}
	}
	return h
}

// deliveryQuery is the Lucene query for delivery events in [from, to)
// (to zero: open).
func deliveryQuery(from, to time.Time) string {
	quoted := make([]string, len(deliveryLogTypes))
	for i, t := range deliveryLogTypes {
		quoted[i] = `"` + t + `"`
	}
	hi := "*]"
	if !to.IsZero() {
		hi = to.UTC().Format(time.RFC3339Nano) + "}"
	}
	return "type:(" + strings.Join(quoted, " OR ") + ") AND date:[" + from.UTC().Format(time.RFC3339Nano) + " TO " + hi
}

// maxQueryPages is how many 100-event pages a window query reads: Auth0
// lets a query reach its first 1,000 results.
const maxQueryPages = 10

// readWindow adds every delivery event of [from, to) to a, newest first,
// page by page; it reports whether the window held more than a query can
// reach.
func readWindow(ctx context.Context, logs TenantLogs, a *healthAcc, from, to time.Time) (truncated bool, err error) {
	q := deliveryQuery(from, to)
	var all []LogEvent // newest first
	defer func() {
		// Counted oldest first, so that the recent counts are the last
		// messages.
		for i := len(all) - 1; i >= 0; i-- {
			a.add(all[i])
		}
	}()
	for page := range maxQueryPages {
		evs, err := logs.Logs(ctx, LogQuery{Q: q, Sort: "date:-1", Page: page, PerPage: 100})
		if err != nil {
			all = nil
			return false, fmt.Errorf("phonemigrate: read tenant logs: %w", err)
		}
		all = append(all, evs...)
		if len(evs) < 100 {
			return false, nil
		}
	}
	return true, nil
}

// ErrInvalidWindow is returned by [Delivery] for a window that ends
// before it starts.
var ErrInvalidWindow = errors.New("phonemigrate: invalid watch window")

// Delivery reads the tenant logs of [from, to) (to zero: now) and of
// the same-length window before from, and reports delivery health per path
// in both. It only reads (GET /api/v2/logs, at most 10 pages per window),
// so it works on any tenant, whoever migrated it.
func Delivery(ctx context.Context, logs TenantLogs, from, to time.Time) (Report, error) {
	now := time.Now()
	end := to
	if end.IsZero() {
		end = now
	}
	if !from.Before(end) {
		return Report{}, fmt.Errorf("%w: %s is not before %s", ErrInvalidWindow, from.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	cur := newHealthAcc(from, to)
	trunc, err := readWindow(ctx, logs, cur, from, to)
	if err != nil {
		return Report{}, err
	}
	base := newHealthAcc(from.Add(-end.Sub(from)), from)
	btrunc, err := readWindow(ctx, logs, base, base.from, from)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Current: cur.health(now), Baseline: base.health(now)}
	rep.Current.Truncated, rep.Baseline.Truncated = trunc, btrunc
	return rep, nil
}

// Follower reads the tenant logs as they grow, one checkpoint page
// (from/take, 100 events) per call: what `watch --follow` and the canary
// in Apply poll with.
type Follower struct {
	logs TenantLogs
	last string
}

// NewFollower starts following after the newest event the tenant has
// now (one GET /api/v2/logs).
func NewFollower(ctx context.Context, logs TenantLogs) (*Follower, error) {
	evs, err := logs.Logs(ctx, LogQuery{Sort: "date:-1", PerPage: 1})
	if err != nil {
		return nil, fmt.Errorf("phonemigrate: read tenant logs: %w", err)
	}
	f := &Follower{logs: logs}
	if len(evs) > 0 {
		f.last = evs[0].ID
	}
	return f, nil
}

// Next returns the events after the last one seen (at most 100; call it
// again for more). Checkpoint paging does not guarantee date order; the
// follower continues after the greatest log id it has seen.
func (f *Follower) Next(ctx context.Context) ([]LogEvent, error) {
	evs, err := f.logs.Logs(ctx, LogQuery{From: f.last, Take: 100})
	if err != nil {
		return nil, fmt.Errorf("phonemigrate: read tenant logs: %w", err)
	}
	for _, e := range evs {
		if e.ID > f.last {
			f.last = e.ID
		}
	}
	return slices.DeleteFunc(evs, func(e LogEvent) bool { return !slices.Contains(deliveryLogTypes, e.Type) }), nil
}

// Counter counts delivery events into a [Health], each event
// once (by log id): what `watch --follow` keeps as it reads.
type Counter struct{ a *healthAcc }

// NewCounter counts events dated from from on.
func NewCounter(from time.Time) *Counter {
	return &Counter{a: newHealthAcc(from, time.Time{})}
}

// Add counts e.
func (c *Counter) Add(e LogEvent) { c.a.add(e) }

// Health returns the counts so far, up to now.
func (c *Counter) Health(now time.Time) Health { return c.a.health(now) }
