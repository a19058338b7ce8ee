package phonemigrate

import (
	"errors"
	"fmt"
)

// Sentinel errors a [Client] error can be matched against with errors.Is.
// They classify the HTTP status of an [*APIError].
var (
	ErrBadRequest   = errors.New("bad request")        // 400
	ErrUnauthorized = errors.New("unauthorized")       // 401
	ErrForbidden    = errors.New("forbidden")          // 403; legacy Guardian endpoints under UPE
	ErrNotFound     = errors.New("not found")          // 404
	ErrConflict     = errors.New("conflict")           // 409
	ErrRateLimited  = errors.New("rate limited")       // 429
	ErrServer       = errors.New("auth0 server error") // 5xx
)

// APIError is a non-2xx answer from the Management API. Message is Auth0's
// "message" field (never the raw body, which could echo a secret).
type APIError struct {
	Method     string // HTTP method
	Path       string // path below /api/v2, e.g. "/connections/con_1"
	StatusCode int
	ErrorCode  string // Auth0's "errorCode", when present
	Message    string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	if e.Method == "" && e.Path == "" {
		return fmt.Sprintf("auth0: %d: %s", e.StatusCode, msg)
	}
	return fmt.Sprintf("auth0: %s %s: %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// Is matches the sentinel errors for e's status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == 400
	case ErrUnauthorized:
		return e.StatusCode == 401
	case ErrForbidden:
		return e.StatusCode == 403
	case ErrNotFound:
		return e.StatusCode == 404
	case ErrConflict:
		return e.StatusCode == 409
	case ErrRateLimited:
		return e.StatusCode == 429
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}
