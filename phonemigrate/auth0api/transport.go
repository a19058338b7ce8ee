package auth0api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// userAgent is sent on every request.
const userAgent = "unifiedphone-phonemigrate (go-auth0/v3.0.0)"

// maxErrorBody bounds how much of an error response is read for its
// "message" and "errorCode" fields.
const maxErrorBody = 64 << 10

// MaxResponseBody is the largest response body the client reads; a larger
// one fails the call with [ErrResponseTooLarge] after reading at most this
// much. Management API answers are a few KiB.
const MaxResponseBody = 8 << 20

// ErrResponseTooLarge is matched by the error of a call whose response body
// was larger than [MaxResponseBody].
var ErrResponseTooLarge = errors.New("auth0api: response body larger than 8 MiB")

// ErrRedirect is matched by the error of a call the server answered with a
// redirect. Redirects are never followed: the request carries credentials
// (the Authorization header, or the client secret posted to the token
// endpoint), which must reach no other host and never travel over plain
// http to a host that is not loopback.
var ErrRedirect = errors.New("auth0api: the server answered with a redirect, which is never followed")

// ErrMalformedResponse is matched by the error of a call whose 2xx answer
// was not a JSON object or array where one was expected (for example
// "null").
var ErrMalformedResponse = errors.New("auth0api: malformed response")

// TimeoutError reports an attempt that got no answer in time: no response
// headers within the response-header timeout, or not the whole answer
// within the per-attempt timeout. It matches context.DeadlineExceeded with
// errors.Is.
type TimeoutError struct {
	What  string        // "response headers" or "a complete answer"
	After time.Duration // the timeout that expired
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no %s from the server within %s", e.What, e.After)
}

// Is matches context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// ctxKey marks requests for the transport.
type ctxKey int

const (
	keyReplaySafe ctxKey = iota + 1 // the request may be sent twice (sets a value)
	keyEmptyOK                      // an empty 2xx body may be read as {}
	keyEmptyUnset                   // a 204 or an empty 2xx body means nothing configured
)

// replaySafe marks ctx's request as safe to send again after a 5xx or a
// connection error that happened after the request was written.
func replaySafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyReplaySafe, true)
}

// emptyOK marks ctx's request as one whose response body is not used, so an
// empty 2xx body is handed to go-auth0 as "{}" (which it would otherwise
// reject with "the server responded with nothing").
func emptyOK(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyEmptyOK, true)
}

// emptyMeansUnset marks ctx's request as a read whose empty answer means
// "nothing configured": a 204, or a 2xx with no body, is handed to
// go-auth0 as 200 "{}" (recorded: untouched tenants answered GET
// /guardian/factors/sms/templates with 204 and no body, and with {}).
// "null" stays an [ErrMalformedResponse].
func emptyMeansUnset(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyEmptyUnset, true)
}

func flag(ctx context.Context, k ctxKey) bool { v, _ := ctx.Value(k).(bool); return v }

// statusError is a retryable status (429, 408, 5xx) the transport gave up
// on. It is returned as an error instead of a response so that go-auth0's
// retrier, which sleeps at least a second after every such response without
// watching the context, never sees one. The adapter turns it into a
// *phonemigrate.APIError.
type statusError struct {
	StatusCode int
	ErrorCode  string
	Message    string
	Attempts   int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("status %d after %d attempt(s): %s", e.StatusCode, e.Attempts, e.Message)
}

// authorizer supplies the Authorization header value of a request.
type authorizer interface {
	authorization(ctx context.Context) (string, error)
}

type staticToken string

func (t staticToken) authorization(context.Context) (string, error) {
	return "Bearer " + string(t), nil
}

// transport is the http.RoundTripper under go-auth0: authorization, pacing,
// per-attempt timeouts, retries and debug logging.
type transport struct {
	base http.RoundTripper
	auth authorizer // nil: send no Authorization header
	// limiter paces requests client-side (nil: no pacing). It is replaced
	// once, on the first answer that says how many requests the server's
	// bucket has left (see syncBucket).
	limiter     atomic.Pointer[rate.Limiter]
	synced      sync.Once
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	maxWait     time.Duration
	timeout     time.Duration // per attempt, body included
	headerTime  time.Duration // until the response headers
	// timer times both when base implements AttemptTimer (nil: the
	// real clock).
	timer  AttemptTimer
	logger *slog.Logger
	// scheme and host are the only ones requests may go to (the Management
	// API's, whose root also serves the token endpoint).
	scheme, host string
	replayAny    bool // every request is replay-safe (token endpoint)
	// passRetryable returns 429, 408 and 5xx answers as responses, for
	// go-auth0's retrier (Config.SDKRetrier).
	passRetryable bool

	// Hooks for tests.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(max time.Duration) time.Duration // uniform in [0, max]
}

func newTransport(base http.RoundTripper, s *settings) *transport {
	t := &transport{
		base:        base,
		maxAttempts: s.MaxAttempts,
		minBackoff:  s.MinBackoff,
		maxBackoff:  s.MaxBackoff,
		maxWait:     s.MaxRetryWait,
		timeout:     s.RequestTimeout,
		headerTime:  s.ResponseHeaderTimeout,
		logger:      s.Logger,
		scheme:      s.base.Scheme,
		host:        s.base.Host,
		now:         time.Now,
		sleep:       sleepCtx,
		jitter:      func(max time.Duration) time.Duration { return rand.N(max + 1) },
	}
	t.timer, _ = base.(AttemptTimer)
	if s.RateLimit > 0 {
		t.limiter.Store(rate.NewLimiter(s.RateLimit, s.RateBurst))
	}
	return t
}

func (t *transport) replayAll() *transport { t.replayAny = true; return t }

// sleepCtx waits d or until ctx is done, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// outlasts reports whether waiting d would take past ctx's deadline: the
// last error is then returned at once instead of a deadline error later.
func outlasts(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < d
}

// idempotent reports whether method is idempotent per RFC 9110.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper. It never modifies req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	safe := t.replayAny || idempotent(req.Method) || flag(ctx, keyReplaySafe)
	// Without GetBody a body cannot be sent twice: one attempt only.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		if err := t.pace(ctx); err != nil {
			return nil, err
		}
		resp, wrote, err := t.attempt(req, attempt)
		last := attempt >= t.maxAttempts || !replayable
		var wait time.Duration
		if err != nil {
			if wait, err = t.afterError(ctx, err, attempt, last || (!safe && wrote)); err != nil {
				return nil, err
			}
		} else {
			t.syncBucket(resp.Header)
			if !retryableStatus(resp.StatusCode) || t.passRetryable {
				return t.checkBody(ctx, resp)
			}
			if wait, err = t.afterStatus(ctx, resp, attempt, last, safe); err != nil {
				return nil, err
			}
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// pace waits for the client-side rate limit's bucket, if any.
func (t *transport) pace(ctx context.Context) error {
	l := t.limiter.Load()
	if l == nil {
		return nil
	}
	if err := l.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pacer's wait would outlast the context's deadline.
		return fmt.Errorf("client-side rate limit: %v: %w", err, context.DeadlineExceeded)
	}
	return nil
}

// afterError decides after an attempt that got no answer: the wait before
// the next attempt, or the error to return — when stop (the last attempt,
// or a request that is not safe to send twice was written), when the
// error would come again (a token refused, a redirect, an oversized
// answer), or when the wait would outlast the context.
func (t *transport) afterError(ctx context.Context, err error, attempt int, stop bool) (time.Duration, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	var te *TokenError
	// A redirect or an oversized answer would come again.
	final := errors.As(err, &te) || errors.Is(err, ErrRedirect) || errors.Is(err, ErrResponseTooLarge) || errors.Is(err, ErrListTooLarge)
	if stop || final {
		return 0, err
	}
	wait := t.backoff(attempt)
	if outlasts(ctx, wait) {
		return 0, err
	}
	return wait, nil
}

// afterStatus decides after an answer with a retryable status: the wait
// before the next attempt, or the status error to return — on the last
// attempt, for a request not safe to send twice (unless the server says
// it did not act: 429, 408), or when the server's wait is too long or
// would outlast the context.
func (t *transport) afterStatus(ctx context.Context, resp *http.Response, attempt int, last, safe bool) (time.Duration, error) {
	serr := readStatusError(resp, attempt)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if last || !(safe || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout) {
		return 0, serr
	}
	wait, fromServer := t.retryWait(resp.Header, attempt)
	if fromServer && wait > t.maxWait || outlasts(ctx, wait) {
		return 0, serr
	}
	return wait, nil
}

// syncBucket restarts the client-side bucket at the first answer that
// carries X-RateLimit-Remaining, with as many tokens as the server says
// are left. The client's bucket starts full before the first request and
// the server's starts when it arrives, so without this the client runs
// ahead of the server by a connection set-up and meets a 429 — which costs
// a whole second, since X-RateLimit-Reset is in whole seconds. Later
// answers do not move it again: the two buckets then refill at the same
// rate.
func (t *transport) syncBucket(h http.Header) {
	l := t.limiter.Load()
	if l == nil {
		return
	}
	rem, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	t.synced.Do(func() {
		burst := l.Burst()
		fresh := rate.NewLimiter(l.Limit(), burst)
		if taken := burst - min(max(rem, 0), burst); taken > 0 {
			fresh.AllowN(time.Now(), taken)
		}
		t.limiter.Store(fresh)
	})
}

// attempt sends one try of req. wrote reports whether the request was
// completely written to a connection (so the server may have acted on it).
// The answer's body is read whole (at most MaxResponseBody) before
// attempt returns, so the per-attempt timeout covers it.
func (t *transport) attempt(req *http.Request, n int) (resp *http.Response, wrote bool, err error) {
	if !strings.EqualFold(req.URL.Scheme, t.scheme) || !strings.EqualFold(req.URL.Host, t.host) {
		// Only a redirect (which the client refuses) or a caller's own
		// CheckRedirect could send a request elsewhere: never with
		// credentials.
		return nil, false, fmt.Errorf("%w (to %s://%s, not the configured %s://%s)", ErrRedirect, req.URL.Scheme, req.URL.Host, t.scheme, t.host)
	}
	parent := req.Context()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	cutByTimeout := &TimeoutError{What: "complete answer", After: t.timeout}
	if t.timeout > 0 && t.timer == nil {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, t.timeout, cutByTimeout)
		defer stop()
	}
	// headersIn is set once the response headers arrived; the
	// header timer then no longer cancels the attempt.
	var headerMu sync.Mutex
	headersIn := false
	// timedOut returns the timeout that cut this attempt, if any.
	timedOut := func(err error) error {
		if parent.Err() == nil {
			var te *TimeoutError
			if cause := context.Cause(ctx); errors.As(cause, &te) {
				return te
			}
		}
		return err
	}
	// net/http may call WroteRequest from its write loop after RoundTrip
	// has returned (the answer came before the body was written), so the
	// callback sets its own variable under mu, never the named result.
	var mu sync.Mutex
	var written bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			mu.Lock()
			written = written || info.Err == nil
			mu.Unlock()
		},
	}
	r := req.Clone(httptrace.WithClientTrace(ctx, trace))
	if n > 1 && req.GetBody != nil {
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, false, fmt.Errorf("replaying request body: %w", gerr)
		}
		r.Body = body
	}
	// The timers start once r exists: a base transport that times them
	// (AttemptTimer) is told which request they are for.
	if t.timeout > 0 && t.timer != nil {
		defer t.timer.ArmTimeout(r, t.timeout, func() { cancel(cutByTimeout) })()
	}
	if t.headerTime > 0 && (t.timeout <= 0 || t.headerTime < t.timeout) {
		defer t.arm(r, t.headerTime, func() {
			headerMu.Lock()
			defer headerMu.Unlock()
			if !headersIn {
				cancel(&TimeoutError{What: "response headers", After: t.headerTime})
			}
		})()
	}
	r.Header.Set("User-Agent", userAgent)
	if t.auth != nil {
		h, aerr := t.auth.authorization(ctx)
		if aerr != nil {
			return nil, false, timedOut(aerr)
		}
		r.Header.Set("Authorization", h)
	}
	start := time.Now()
	resp, err = t.base.RoundTrip(r)
	headerMu.Lock()
	headersIn = true
	headerMu.Unlock()
	mu.Lock()
	w := written
	mu.Unlock()
	if err == nil && resp.StatusCode >= 300 && resp.StatusCode <= 399 && resp.StatusCode != http.StatusNotModified {
		resp.Body.Close()
		err = redirectError(resp)
		resp = nil
	}
	if err == nil {
		err = readBody(resp)
		if err == nil && resp.StatusCode/100 == 2 {
			err = spend(parent, int(resp.ContentLength))
		}
		if err != nil {
			resp = nil
		}
	}
	if err != nil {
		err = timedOut(err)
	}
	t.log(ctx, req, n, resp, err, time.Since(start))
	if err != nil {
		return nil, w, err
	}
	return resp, w, nil
}

// arm starts the timeout d of the attempt r, which expire cuts; the
// function it returns stops it. The base transport's AttemptTimer times
// it when there is one, the real clock otherwise.
func (t *transport) arm(r *http.Request, d time.Duration, expire func()) (stop func()) {
	if t.timer != nil {
		return t.timer.ArmTimeout(r, d, expire)
	}
	timer := time.AfterFunc(d, expire)
	return func() { timer.Stop() }
}

// redirectError describes a redirect answer by status and target scheme
// and host only (a Location's path or query could hold anything).
func redirectError(resp *http.Response) error {
	where := "another location"
	if loc, err := resp.Location(); err == nil {
		where = loc.Scheme + "://" + loc.Host
	}
	return fmt.Errorf("%w (status %d to %s)", ErrRedirect, resp.StatusCode, where)
}

// readBody replaces resp.Body with its content read whole, refusing more
// than MaxResponseBody.
func readBody(resp *http.Response) error {
	defer resp.Body.Close()
	if resp.ContentLength > MaxResponseBody {
		return fmt.Errorf("%w (Content-Length %d)", ErrResponseTooLarge, resp.ContentLength)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if len(data) > MaxResponseBody {
		return ErrResponseTooLarge
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return nil
}

func (t *transport) log(ctx context.Context, req *http.Request, n int, resp *http.Response, err error, d time.Duration) {
	if t.logger == nil || !t.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Int("attempt", n),
		slog.Duration("duration", d),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		// Transport errors name the URL and the failure, nothing secret;
		// token errors are built without response bodies.
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "auth0 request", attrs...)
}

// retryableStatus reports the statuses go-auth0's retrier would sleep on.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// readStatusError consumes and closes resp's body and keeps only Auth0's
// "errorCode" and "message" (or "error") fields.
func readStatusError(resp *http.Response, attempts int) *statusError {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code, msg := parseErrorBody(raw)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &statusError{StatusCode: resp.StatusCode, ErrorCode: code, Message: msg, Attempts: attempts}
}

// parseErrorBody extracts Auth0's error fields from a JSON error body. It
// returns empty strings for anything else; the raw body is never used, as it
// could echo a secret from the request.
func parseErrorBody(raw []byte) (errorCode, message string) {
	var body struct {
		Message   any    `json:"message"`
		Error     any    `json:"error"`
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return "", ""
	}
	message, _ = body.Message.(string)
	if message == "" {
		message, _ = body.Error.(string)
	}
	// Not cut here: the text is redacted first (serverText), so that a
	// secret straddling the cut cannot leave its first half.
	return body.ErrorCode, message
}

// retryWait returns the wait before retry number attempt (1-based) after a
// retryable response, and whether the server asked for it.
func (t *transport) retryWait(h http.Header, attempt int) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(t.now()), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil && unix > 0 {
			return max(time.Unix(unix, 0).Sub(t.now()), 0), true
		}
	}
	return t.backoff(attempt), false
}

// backoff is the jittered exponential backoff before retry number attempt:
// uniform in [b/2, b] with b = min(minBackoff·2^(attempt-1), maxBackoff).
func (t *transport) backoff(attempt int) time.Duration {
	b := t.minBackoff
	for i := 1; i < attempt && b < t.maxBackoff; i++ {
		b *= 2
	}
	b = min(b, t.maxBackoff)
	return b/2 + t.jitter(b-b/2)
}

// checkBody checks a 2xx body (already read whole by attempt): an empty
// one is handed to go-auth0 as "{}" for requests marked emptyOK; "null",
// or an empty body where an answer is needed, is an
// [ErrMalformedResponse] (go-auth0 would decode null into a nil result).
func (t *transport) checkBody(ctx context.Context, resp *http.Response) (*http.Response, error) {
	if resp.StatusCode == http.StatusNoContent && flag(ctx, keyEmptyUnset) {
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent {
		return resp, nil
	}
	data, _ := io.ReadAll(resp.Body)
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0 && (flag(ctx, keyEmptyOK) || flag(ctx, keyEmptyUnset)):
		data = []byte("{}")
	case bytes.Equal(trimmed, []byte("null")):
		if !flag(ctx, keyEmptyOK) {
			return nil, fmt.Errorf("%w: the server answered %d with null", ErrMalformedResponse, resp.StatusCode)
		}
		data = []byte("{}")
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}
