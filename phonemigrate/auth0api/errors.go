package auth0api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/auth0/go-auth0/v3/management/core"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// ErrIncompleteResponse is matched by the error of a call whose 2xx answer
// lacked something the caller needs, such as the id of a created object.
var ErrIncompleteResponse = errors.New("auth0api: incomplete response")

// fail turns an error of a go-auth0 call into this package's errors:
//
//   - a retryable status the transport gave up on, or any non-2xx status
//     go-auth0 decoded (typed errors such as *management.NotFoundError embed
//     *core.APIError), becomes a *phonemigrate.APIError with only Auth0's
//     "errorCode" and "message" fields;
//   - a cancelled or expired ctx gives an error wrapping ctx.Err();
//   - a *TokenError and transport errors are wrapped (with the *url.Error
//     layer removed, its URL being redundant with the method and path).
//
// Every text taken from the server (Message, ErrorCode, and any other error
// text) has the secrets the client knows replaced by "[redacted]" and its
// control characters removed (see [redact.Text]): a server that
// echoes the request in its message must not put the token, the client
// secret, a Twilio auth token, an Action secret or a gateway secret into an
// error, a log or a checkpoint.
func (c *Client) fail(ctx context.Context, method, path string, err error) error {
	secrets := c.secrets.Values()
	var se *statusError
	if errors.As(err, &se) {
		return &phonemigrate.APIError{Method: method, Path: path, StatusCode: se.StatusCode,
			ErrorCode: serverText(se.ErrorCode, maxMessage, secrets), Message: serverText(se.Message, maxMessage, secrets)}
	}
	var ae *core.APIError
	if errors.As(err, &ae) {
		var code, msg string
		if inner := ae.Unwrap(); inner != nil {
			code, msg = parseErrorBody([]byte(inner.Error()))
		}
		return &phonemigrate.APIError{Method: method, Path: path, StatusCode: ae.StatusCode,
			ErrorCode: serverText(code, maxMessage, secrets), Message: serverText(msg, maxMessage, secrets)}
	}
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("auth0api: %s %s: %w", method, path, cerr)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return redact.Error(fmt.Errorf("auth0api: %s %s: %w", method, path, err), secrets...)
}

// maxMessage bounds (in bytes) a message or error code taken from a
// server's answer; maxDescription a token endpoint's error_description.
const (
	maxMessage     = 500
	maxDescription = 300
)

// serverText is text a server sent, as it may be shown: redacted of
// secrets and control characters first, then cut to at most max bytes
// (at a character boundary) — never the other way round, which would
// leave the first half of a secret straddling the cut.
func serverText(s string, max int, secrets []string) string {
	return truncate(redact.Text(s, secrets...), max)
}

// truncate cuts s to at most n bytes at a character boundary, marking the
// cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// incomplete reports a 2xx answer that lacks what field names.
func incomplete(method, path, what string) error {
	return fmt.Errorf("auth0api: %s %s: %w: no %s", method, path, ErrIncompleteResponse, what)
}
