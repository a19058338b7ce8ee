package main

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
)

// envCutWhenHeld, set for a phonemigrate command the tests run (the test
// binary re-executed, see TestMain), puts the command's per-attempt
// timeouts on a clock the test holds: "METHOD PATH URL". No timeout of any
// other request ever expires; each attempt of METHOD PATH (the request's
// URL path, e.g. /api/v2/connections) asks URL (GET) whether the server
// holds it, and once URL answers 200 its shortest armed timeout expires.
// So a test makes exactly the request it hangs be the one cut, by exactly
// the timeout it means, however slow the machine.
const envCutWhenHeld = "PHONEMIGRATE_TEST_CUT_WHEN_HELD"

// cutWhenHeld is the transport envCutWhenHeld installs (an
// auth0api.AttemptTimer over http.DefaultTransport).
type cutWhenHeld struct {
	method, path, heldURL string

	mu    sync.Mutex
	armed map[*http.Request][]*armedCut
}

type armedCut struct {
	d      time.Duration
	expire func()
}

var _ auth0api.AttemptTimer = (*cutWhenHeld)(nil)

// cutWhenHeldFromEnv returns the transport $PHONEMIGRATE_TEST_CUT_WHEN_HELD
// describes, or nil when it is unset.
func cutWhenHeldFromEnv() http.RoundTripper {
	v := os.Getenv(envCutWhenHeld)
	if v == "" {
		return nil
	}
	f := strings.Fields(v)
	if len(f) != 3 {
		panic(envCutWhenHeld + " must be METHOD PATH URL, not " + v)
	}
	return &cutWhenHeld{method: f[0], path: f[1], heldURL: f[2], armed: map[*http.Request][]*armedCut{}}
}

func (c *cutWhenHeld) RoundTrip(r *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(r)
}

func (c *cutWhenHeld) ArmTimeout(r *http.Request, d time.Duration, expire func()) func() {
	if r.Method != c.method || r.URL.Path != c.path {
		return func() {} // held: never expires
	}
	a := &armedCut{d: d, expire: expire}
	c.mu.Lock()
	first := len(c.armed[r]) == 0
	c.armed[r] = append(c.armed[r], a)
	c.mu.Unlock()
	if first {
		// Both timeouts of an attempt are armed before it is sent, so
		// both are armed when the server says it holds it. The attempt's
		// context ends with the attempt, and this question with it.
		go c.cutWhenHeld(r)
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.armed[r] = slices.DeleteFunc(c.armed[r], func(x *armedCut) bool { return x == a })
		if len(c.armed[r]) == 0 {
			delete(c.armed, r)
		}
	}
}

// cutWhenHeld waits until the server holds r, then expires r's shortest
// armed timeout.
func (c *cutWhenHeld) cutWhenHeld(r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), "GET", c.heldURL, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // the attempt ended first
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	c.mu.Lock()
	var cut *armedCut
	for _, a := range c.armed[r] {
		if cut == nil || a.d < cut.d {
			cut = a
		}
	}
	c.mu.Unlock()
	if cut != nil {
		cut.expire()
	}
}
