package auth0api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/helddeadline"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// TestErrorPaths applies the same error-path checks to every Client method.
func TestErrorPaths(t *testing.T) {
	t.Parallel()
	for _, ep := range endpoints(t) {
		t.Run(ep.name, func(t *testing.T) { testErrorPaths(t, ep) })
	}
}

// sdkSees counts the answers reaching go-auth0 from c's transport with a
// status its retrier sleeps after (at least a second, even when it will
// not retry): 429, 408 and 5xx. The transport hands those up as errors,
// so the count must stay 0 — which no machine's speed can change, unlike
// timing the call.
func sdkSees(c *Client) *atomic.Int32 {
	var n atomic.Int32
	inner := c.hc.Transport
	c.hc.Transport = rtFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := inner.RoundTrip(r)
		if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500) {
			n.Add(1)
		}
		return resp, err
	})
	return &n
}

// testErrorPaths checks one endpoint's error handling: Auth0 error statuses
// become *phonemigrate.APIError without the body, retries follow the
// method's replay safety, and context errors stay errors.Is-able.
func testErrorPaths(t *testing.T, ep endpoint) {
	const attempts = 3 // setup's MaxAttempts
	retries := func(replayable bool) int {
		if replayable {
			return attempts
		}
		return 1
	}
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		sentinel  error
		wantCode  string
		wantMsg   string
		wantTries int
	}{
		{name: "404", status: 404, body: `{"statusCode":404,"error":"Not Found","message":"The object does not exist.","errorCode":"inexistent_x","echo":"twilio-SECRET"}`,
			sentinel: phonemigrate.ErrNotFound, wantCode: "inexistent_x", wantMsg: "The object does not exist.", wantTries: 1},
		{name: "404-empty-body", status: 404, sentinel: phonemigrate.ErrNotFound, wantTries: 1},
		{name: "403", status: 403, body: `{"statusCode":403,"error":"Forbidden","message":"Insufficient privileges to use this deprecated feature.","errorCode":"operation_not_supported"}`,
			sentinel: phonemigrate.ErrForbidden, wantCode: "operation_not_supported", wantMsg: "Insufficient privileges to use this deprecated feature.", wantTries: 1},
		{name: "409", status: 409, body: `{"statusCode":409,"error":"Conflict","message":"Custom phone provider conflict."}`,
			sentinel: phonemigrate.ErrConflict, wantMsg: "Custom phone provider conflict.", wantTries: 1},
		{name: "400-not-json", status: 400, body: `<html>bad gateway-SECRET</html>`, sentinel: phonemigrate.ErrBadRequest, wantTries: 1},
		{name: "429-exhausted", status: 429, header: map[string]string{"Retry-After": "0"},
			body:     `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`,
			sentinel: phonemigrate.ErrRateLimited, wantCode: "too_many_requests", wantMsg: "Global limit has been reached", wantTries: attempts},
		{name: "500", status: 500, body: `{"statusCode":500,"error":"Internal Server Error","message":"boom"}`,
			sentinel: phonemigrate.ErrServer, wantMsg: "boom", wantTries: retries(ep.replay)},
		{name: "503-no-body", status: 503, sentinel: phonemigrate.ErrServer, wantMsg: "Service Unavailable", wantTries: retries(ep.replay)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			var tries atomic.Int32
			mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
				tries.Add(1)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			sdkRetryable := sdkSees(c)
			_, err := ep.call(context.Background(), c)
			var got *phonemigrate.APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T) is not a *phonemigrate.APIError", err, err)
			}
			want := &phonemigrate.APIError{Method: ep.method, Path: ep.path, StatusCode: tc.status, ErrorCode: tc.wantCode, Message: tc.wantMsg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if n := int(tries.Load()); n != tc.wantTries {
				t.Errorf("attempts = %d, want %d", n, tc.wantTries)
			}
			if s := err.Error(); strings.Contains(s, "SECRET") && !strings.Contains(tc.wantMsg, "SECRET") {
				t.Errorf("error %q leaks the response body", s)
			}
			if n := sdkRetryable.Load(); n != 0 {
				t.Errorf("go-auth0's retrier got %d answers with a retryable status; it sleeps after each", n)
			}
		})
	}

	t.Run("dropped-connection", func(t *testing.T) {
		c, mux, _ := setup(t)
		var tries atomic.Int32
		mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
			tries.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		})
		_, err := ep.call(context.Background(), c)
		if err == nil {
			t.Fatal("no error")
		}
		var apiErr *phonemigrate.APIError
		if errors.As(err, &apiErr) {
			t.Errorf("dropped connection gave an APIError: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "auth0api: "+ep.method+" "+ep.path+": ") {
			t.Errorf("error %q does not name the call", err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error %q leaks the token", err)
		}
		// Go's transport itself may resend an idempotent request once on a
		// connection that died; a POST is sent exactly once.
		if n := int(tries.Load()); ep.replay && n < attempts || !ep.replay && n != 1 {
			t.Errorf("attempts = %d, want %d (replay-safe: %v)", n, retries(ep.replay), ep.replay)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		c, mux, _ := setup(t)
		var tries atomic.Int32
		mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) { tries.Add(1) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ep.call(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not match context.Canceled", err)
		}
		if n := tries.Load(); n != 0 {
			t.Errorf("%d requests sent with a cancelled context", n)
		}
	})

	t.Run("deadline-mid-request", func(t *testing.T) {
		c, mux, _ := setup(t)
		var tries atomic.Int32
		held := make(chan struct{}, 1)
		mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
			tries.Add(1)
			// Hang until the client gives up. The body must be read first:
			// the server notices a closed connection only after that.
			io.Copy(io.Discard, r.Body)
			held <- struct{}{}
			<-r.Context().Done()
		})
		// The deadline expires once the server holds the request, however
		// slow the machine: not before it is sent, not after an answer.
		ctx := helddeadline.New(context.Background())
		done := make(chan error, 1)
		go func() { _, err := ep.call(ctx, c); done <- err }()
		await(t, held, "request at the server")
		ctx.Expire()
		err := await(t, done, "return after the deadline")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not match context.DeadlineExceeded", err)
		}
		if n := tries.Load(); n != 1 {
			t.Errorf("%d requests, want 1 (none after the deadline)", n)
		}
	})
}
