// Package auth0api implements [phonemigrate.Client] over the Auth0
// Management API with go-auth0 v3 (github.com/auth0/go-auth0/v3). It is the
// only package of the module that imports go-auth0; everything above it
// speaks phonemigrate's own types.
//
// # Construction
//
// [New] builds a [*Client] from a [Config], validated before any network
// traffic. The Management API is addressed either by a tenant Domain
// ("tenant.eu.auth0.com", always HTTPS) or by a full BaseURL
// ("https://host/api/v2"; plain "http://" only for loopback hosts, as used
// with the fake tenant in package phonemigratetest). Exactly one credential
// is accepted: a static management API Token, or a ClientID and ClientSecret
// for the OAuth client-credentials grant against "<scheme>://<host>/oauth/token".
// In client-credentials mode New fetches a token at once, so wrong
// credentials fail at construction with a [*TokenError] instead of as 401s
// later; tokens are refreshed when they expire, within the calling request's
// context.
//
// Invalid configuration is reported as a [*ConfigError] (matching
// [ErrInvalidConfig] with errors.Is). No error, log line or String method of
// this package ever holds the token, the client secret, an auth token sent
// to a phone provider, or a response body (which could echo one of them).
//
// # Errors
//
// A non-2xx answer from Auth0 is returned as a [*phonemigrate.APIError]
// holding the method, the path below /api/v2, the status, and Auth0's JSON
// "errorCode" and "message" fields; it matches the phonemigrate sentinels
// ([phonemigrate.ErrNotFound], [phonemigrate.ErrForbidden], ...) with
// errors.Is. A cancelled or expired context gives an error that matches
// [context.Canceled] or [context.DeadlineExceeded]; transport failures keep
// their underlying error (for example [*net.OpError]) reachable with
// errors.As.
//
// # Retries and pacing
//
// go-auth0's own retrier is switched off and never gets to see a retryable
// status: it sleeps with time.Sleep, ignoring the context, for at least one
// second after every 429, 408 or 5xx it sees — even when retries are
// disabled and even after the last attempt (and a client-level
// option.WithoutRetries is silently ignored by go-auth0 v3.0.0, leaving 2
// attempts and about 3 s of sleep per 429). Instead an HTTP transport of
// this package retries, per request, up to [Config.MaxAttempts] attempts:
//
//   - 429 Too Many Requests and 408 Request Timeout, for every method (the
//     request was not processed);
//   - 5xx, for requests that are safe to replay: GET, HEAD, PUT, DELETE and
//     the PATCH requests this package sends, all of which set values
//     rather than add to them (tenant setting, whole connection options,
//     provider, template, trigger bindings);
//   - connection errors, for replay-safe requests, and for any request
//     (including POST) when the connection failed before the request was
//     fully written. A POST whose connection broke after it was written may
//     have been processed (an Action created, a test SMS sent) and is not
//     retried; the error is returned.
//
// The wait before a retry is the response's Retry-After (seconds or HTTP
// date), else its X-RateLimit-Reset (Unix seconds, as Auth0 sends), else a
// jittered exponential backoff from [Config.MinBackoff] up to
// [Config.MaxBackoff]. A server-requested wait longer than
// [Config.MaxRetryWait] is not waited for: the 429 is returned at once.
// Every wait watches the context and returns as soon as it is done; a wait
// that would outlast the context's deadline is not started, and the last
// error (the 429, say) is returned at once instead.
// [Config.RateLimit] optionally paces all requests client-side with a
// token bucket (golang.org/x/time/rate). [Config.RequestTimeout] (default
// 25 s) bounds each attempt, answer included, and
// [Config.ResponseHeaderTimeout] (default 15 s) the wait for its response
// headers; an attempt cut by either fails with a [*TimeoutError].
//
// # Hostile servers
//
// The client assumes the server may misbehave. Redirects are never followed
// and no request leaves the configured scheme, host and port
// ([ErrRedirect]), so credentials go nowhere else. Answers larger than
// [MaxResponseBody] are refused ([ErrResponseTooLarge]); a null 2xx answer
// is [ErrMalformedResponse], never a nil result. Every error text built
// from an answer (a [*phonemigrate.APIError]'s Message and ErrorCode, a
// [*TokenError]'s fields) has each secret the client knows replaced by
// "[redacted]" — the token or client secret, access tokens, Twilio tokens
// and Action secrets it sent, token and secret option values of the
// connections it sent or read — and its control characters removed, so a
// server echoing the request cannot leak them.
//
// With a [Config.Logger], every attempt is logged at debug level with its
// method, path, status, attempt number and duration — never headers, query
// secrets or bodies.
package auth0api
