package phonemigrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
	"github.com/unifiedphone/unifiedphone/internal/safehttp"
)

// Twilio auth token sources, recorded in [migrationIntent.TwilioTokenSource] (never
// the value).
const (
	// TokenSourceOptions: [Options.TwilioAuthToken], given by the caller
	// (the CLI's TWILIO_AUTH_TOKEN or its prompt). It overrides the legacy
	// token, for example after rotating it in Twilio.
	tokenSourceOptions = "options"
	// TokenSourceGuardian: the auth token of the legacy Guardian (MFA)
	// Twilio setting, read from the tenant.
	tokenSourceGuardian = "guardian"
	// TokenSourceConnectionPrefix, followed by a connection id: the
	// options.twilio_token of that Passwordless SMS connection, read from
	// the tenant.
	tokenSourceConnectionPrefix = "connection:"
)

// defaultTwilioAPIBaseURL is the Twilio REST API root the credential check
// and the delivery evidence use when [Options.TwilioAPIBaseURL] is empty.
const defaultTwilioAPIBaseURL = "https://api.twilio.com"

// tokenCandidate is a legacy Twilio auth token the tenant holds.
type tokenCandidate struct {
	source string // tokenSourceGuardian or tokenSourceConnectionPrefix+id
	label  string // how a person knows it
	sid    string
	token  Secret
}

// legacyTwilioTokens lists the Twilio tokens of d's legacy settings: the
// Guardian (MFA) setting first, then each Passwordless SMS connection
// sending through Twilio, by name.
func legacyTwilioTokens(d *Discovery) []tokenCandidate {
	var out []tokenCandidate
	if d.MFAEnabled && d.MFAProvider == mfaProviderTwilio && d.LegacyTwilio != nil && d.LegacyTwilio.AuthToken != "" {
		out = append(out, tokenCandidate{source: tokenSourceGuardian, label: "the legacy MFA (Guardian) Twilio settings",
			sid: d.LegacyTwilio.SID, token: d.LegacyTwilio.AuthToken})
	}
	for i := range d.SMSConnections {
		c := &d.SMSConnections[i]
		p := connectionPath(c)
		if p == nil || p.kind != targetTwilio {
			continue
		}
		if tok := optString(c.Options, "twilio_token"); tok != "" {
			out = append(out, tokenCandidate{source: tokenSourceConnectionPrefix + c.ID, label: fmt.Sprintf("connection %q", c.Name),
				sid: p.twilio.SID, token: Secret(tok)})
		}
	}
	return out
}

// chooseTwilioToken decides where the Twilio auth token for account sid
// comes from: Options.TwilioAuthToken when given, else the legacy token
// read from the tenant (Guardian's first, then the connections'). The
// returned notes go into the plan: they say when the legacy settings hold
// different tokens, or the given token differs from the tenant's, and which
// one is used. It fails with [ErrTwilioTokenRequired] when there is no
// token at all.
func chooseTwilioToken(d *Discovery, sid string, o *Options) (string, []string, error) {
	var cands []tokenCandidate
	for _, c := range legacyTwilioTokens(d) {
		if c.sid == sid {
			cands = append(cands, c)
		}
	}
	var notes []string
	if o.TwilioAuthToken != "" {
		for _, c := range cands {
			if c.token != o.TwilioAuthToken {
				notes = append(notes, fmt.Sprintf("The given Twilio auth token differs from the one in %s for account %s; the given one is used.", c.label, sid))
			}
		}
		return tokenSourceOptions, notes, nil
	}
	if len(cands) == 0 {
		return "", nil, fmt.Errorf("%w: the tenant holds no legacy auth token for Twilio account %s", ErrTwilioTokenRequired, sid)
	}
	use := cands[0]
	for _, c := range cands[1:] {
		if c.token != use.token {
			notes = append(notes, fmt.Sprintf("%s and %s hold different auth tokens for Twilio account %s; the one in %s is used (give the Twilio auth token to use another).",
				upperFirst(use.label), c.label, sid, use.label))
		}
	}
	return use.source, notes, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// tokenFromDiscovery returns the legacy token of source as d read it
// ("" when d does not hold it).
func tokenFromDiscovery(d *Discovery, source string) Secret {
	for _, c := range legacyTwilioTokens(d) {
		if c.source == source {
			return c.token
		}
	}
	return ""
}

// describeTokenSource is the plan's line on where the Twilio token comes
// from (never its value).
func describeTokenSource(source, sid string, d *Discovery) string {
	switch {
	case source == tokenSourceOptions:
		return fmt.Sprintf("given by the caller (TWILIO_AUTH_TOKEN or the prompt) for account %s; it overrides the tenant's legacy token", sid)
	case source == tokenSourceGuardian:
		return fmt.Sprintf("carried over from the legacy MFA (Guardian) Twilio settings of account %s, read from the tenant", sid)
	case strings.HasPrefix(source, tokenSourceConnectionPrefix):
		id := strings.TrimPrefix(source, tokenSourceConnectionPrefix)
		name := id
		if d != nil {
			name = findConnection(d.SMSConnections, id).Name
		}
		return fmt.Sprintf("carried over from connection %q (options.twilio_token) of account %s, read from the tenant", name, sid)
	}
	return ""
}

// twilioCredentialsError is returned by [Migrator.Apply] when Twilio
// rejects the credentials about to be written (checked with GET
// /2010-04-01/Accounts/{sid}.json before the first write that needs them);
// nothing that uses them has been written. Its exit code is 3.
type twilioCredentialsError struct {
	SID     string
	Status  int    // HTTP status Twilio answered (401, 404)
	Code    int    // Twilio's error code (20003 Authenticate, 20404 not found)
	Message string // Twilio's error message
}

func (e *twilioCredentialsError) Error() string {
	return fmt.Sprintf("Twilio rejected the auth token for account %s (HTTP %d, Twilio error %d %s); give the account's current auth token (TWILIO_AUTH_TOKEN) — nothing was written with it",
		e.SID, e.Status, e.Code, e.Message)
}

// twilioClient talks to the Twilio REST API with one account's
// credentials, for the credential check and the delivery evidence.
type twilioClient struct {
	base  string
	sid   string
	token Secret
	hc    *http.Client
}

func (m *Migrator) twilio(o *Options, sid string, token Secret) *twilioClient {
	base := strings.TrimRight(o.TwilioAPIBaseURL, "/")
	if base == "" {
		base = defaultTwilioAPIBaseURL
	}
	return &twilioClient{base: base, sid: sid, token: token, hc: m.twilioHTTP}
}

// twilioAPIError is Twilio's error body.
type twilioAPIError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// get reads path (under /2010-04-01/Accounts/{sid}) into out. A non-2xx
// answer returns its status and Twilio's error; transport errors are
// returned as err and never include the credentials.
func (t *twilioClient) get(ctx context.Context, path string, q url.Values, out any) (int, *twilioAPIError, error) {
	u := t.base + "/2010-04-01/Accounts/" + url.PathEscape(t.sid) + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("twilio request: %w", err)
	}
	req.SetBasicAuth(t.sid, t.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := t.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds no credential, but keep the message short
		}
		return 0, nil, fmt.Errorf("reach Twilio at %s: %w", t.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTwilioBody+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read Twilio's answer: %w", err)
	}
	if len(body) > maxTwilioBody {
		return resp.StatusCode, nil, fmt.Errorf("Twilio's answer to %s is larger than %d bytes", path, maxTwilioBody)
	}
	if resp.StatusCode/100 != 2 {
		te := &twilioAPIError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, te)
		return resp.StatusCode, te, nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("decode Twilio's answer to %s: %w", path, err)
	}
	return resp.StatusCode, nil, nil
}

// checkAccount verifies the credentials with GET
// /2010-04-01/Accounts/{sid}.json: a 401 or 404 is a
// [*twilioCredentialsError]; an account that is not "active" is an error.
func (t *twilioClient) checkAccount(ctx context.Context) error {
	var acct struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	status, te, err := t.get(ctx, ".json", nil, &acct)
	switch {
	case err != nil:
		return fmt.Errorf("check the Twilio credentials (skip with SkipTwilioCheck / --skip-twilio-check where Twilio cannot be reached): %w", err)
	case status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusForbidden:
		return &twilioCredentialsError{SID: t.sid, Status: status, Code: te.Code, Message: te.Message}
	case te != nil:
		return fmt.Errorf("check the Twilio credentials of account %s: Twilio answered HTTP %d (error %d %s)", t.sid, status, te.Code, te.Message)
	case acct.Status != "" && acct.Status != "active":
		return fmt.Errorf("%w: Twilio account %s is %s, not active", ErrNotEligible, t.sid, acct.Status)
	}
	return nil
}

// resolveTwilio makes r.o.TwilioAuthToken the token the plan chose
// (Options.TwilioAuthToken, or the legacy token re-read from where the plan
// found it) and, unless Options.SkipTwilioCheck, verifies it with Twilio.
// It runs once per run, before the first write that sends the token.
func (r *run) resolveTwilio(ctx context.Context) error { return r.resolveTwilioFor(ctx, r.cp.Intent) }

// resolveTwilioFor is resolveTwilio for intent in, which a fresh run calls
// while planning, before the plan is recorded: credentials Twilio rejects
// then fail the plan step, and the next Apply plans again with whatever
// token it is given (or the legacy one).
func (r *run) resolveTwilioFor(ctx context.Context, in *migrationIntent) error {
	if in.Twilio == nil || r.twilioReady {
		return nil
	}
	tok := r.o.TwilioAuthToken
	if tok == "" {
		src := in.TwilioTokenSource
		switch {
		case src == "" || src == tokenSourceOptions:
			return ErrTwilioTokenRequired
		case r.fresh():
			tok = tokenFromDiscovery(r.d, src)
		case src == tokenSourceGuardian:
			tw, err := r.m.c.LegacyTwilio(ctx)
			if err != nil {
				return fmt.Errorf("re-read the legacy Twilio token: %w", err)
			}
			r.m.secrets.AddSecret(tw.AuthToken)
			if tw.SID == in.Twilio.SID {
				tok = tw.AuthToken
			}
		default:
			c, err := r.m.c.GetConnection(ctx, strings.TrimPrefix(src, tokenSourceConnectionPrefix))
			if err != nil {
				return fmt.Errorf("re-read the legacy Twilio token: %w", err)
			}
			r.m.secrets.AddOptions(c.Options)
			if optString(c.Options, "twilio_sid") == in.Twilio.SID {
				tok = Secret(optString(c.Options, "twilio_token"))
			}
		}
		if tok == "" {
			return fmt.Errorf("%w: the legacy Twilio token the plan chose (%s) is no longer on the tenant", ErrTwilioTokenRequired, describeTokenSource(src, in.Twilio.SID, nil))
		}
	}
	r.m.secrets.AddSecret(tok)
	if !r.o.SkipTwilioCheck {
		if err := r.m.twilio(r.o, in.Twilio.SID, tok).checkAccount(ctx); err != nil {
			return err
		}
		r.m.log.InfoContext(ctx, "Twilio accepted the credentials", "tenant", r.cp.Tenant, "account", in.Twilio.SID)
	}
	r.o.TwilioAuthToken = tok
	r.twilioReady = true
	return nil
}

// validateTwilioURL checks Options.TwilioAPIBaseURL: https, or http only
// to a loopback host (the token travels in it).
func validateTwilioURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return &InputError{Field: "TwilioAPIBaseURL", Problem: "is not an absolute URL"}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.Host(u.Hostname()):
	default:
		return &InputError{Field: "TwilioAPIBaseURL", Problem: "must be https (plain http only to a loopback host)"}
	}
	return nil
}

// twilioHTTPTimeout bounds each Twilio API call, answer included, and
// twilioHeaderTimeout the wait for its response headers.
const (
	twilioHTTPTimeout   = 15 * time.Second
	twilioHeaderTimeout = 10 * time.Second
	// maxTwilioBody caps a Twilio answer read into memory.
	maxTwilioBody = 1 << 20
)

// errTwilioRedirect is the error of a Twilio call answered with a
// redirect: never followed, since the request carries the account's
// credentials (Basic authorization) and must go only to the configured
// Twilio API URL.
var errTwilioRedirect = errors.New("Twilio answered with a redirect, which is never followed (the request carries the account's credentials)")

// newTwilioHTTP is the Twilio API client: the Management API client's
// transport rules — no redirect is followed, response headers capped at 64
// KiB and due within 10 s, each call bounded by 15 s (bodies are capped
// when read). rt replaces the transport in tests (nil: the default).
// Plain http reaches only a loopback host ([Options.TwilioAPIBaseURL] is
// validated), and with no redirect followed nothing else is reached.
func newTwilioHTTP(rt http.RoundTripper) *http.Client {
	if rt == nil {
		rt = safehttp.Transport(twilioHeaderTimeout)
	}
	return &http.Client{
		Timeout:   twilioHTTPTimeout,
		Transport: safehttp.Capped(rt),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return fmt.Errorf("%w (status %d to %s://%s)", errTwilioRedirect, req.Response.StatusCode, req.URL.Scheme, req.URL.Host)
		},
	}
}
