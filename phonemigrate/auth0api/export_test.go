package auth0api

import (
	"context"
	"sync"
	"time"
)

// HoldWaits puts c's waits between attempts (a backoff, a server's
// Retry-After or X-RateLimit-Reset) on a clock the test holds: each wait
// is recorded and ends at once, so a test asserts whether the client
// waited — and how long it meant to — without timing it. sdkSaw counts the
// answers reaching go-auth0 with a status its retrier sleeps after (see
// sdkSees), the one other place a call could wait. Call it before c is
// used concurrently.
func HoldWaits(c *Client) (waits func() []time.Duration, sdkSaw func() int32) {
	var mu sync.Mutex
	var ds []time.Duration
	c.hc.Transport.(*transport).sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		ds = append(ds, d)
		mu.Unlock()
		return ctx.Err()
	}
	n := sdkSees(c)
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), ds...)
	}, n.Load
}

// WaitStarts sends on the returned channel as each of c's waits between
// attempts begins; the wait then runs on the real clock, watching its
// context. A test cancels once the client waits, not after some time.
// Call it before c is used concurrently.
func WaitStarts(c *Client) <-chan time.Duration {
	ch := make(chan time.Duration, 16)
	tr := c.hc.Transport.(*transport)
	sleep := tr.sleep
	tr.sleep = func(ctx context.Context, d time.Duration) error {
		ch <- d
		return sleep(ctx, d)
	}
	return ch
}
