// Package helddeadline provides a context whose deadline passes when a
// test says so: a deadline on a clock the test holds. A test that means
// "the deadline passes while the request is held" expires it then, rather
// than picking a few milliseconds that a busy machine may spend before the
// request is even sent.
package helddeadline

import (
	"context"
	"sync"
	"time"
)

// Context is a context.Context whose deadline passes at Expire: Done then
// closes and Err is context.DeadlineExceeded, as when a real deadline
// passes. Deadline reports a time an hour after New until then, so that
// nothing gives up early for lack of time. Values come from the parent;
// the parent's cancellation does not reach it.
type Context struct {
	context.Context
	at   time.Time
	done chan struct{}
	once sync.Once
}

var _ context.Context = (*Context)(nil)

// New returns a Context with parent's values whose deadline has not
// passed.
func New(parent context.Context) *Context {
	return &Context{Context: parent, at: time.Now().Add(time.Hour), done: make(chan struct{})}
}

// Expire makes the deadline pass. It may be called from any goroutine and
// more than once.
func (c *Context) Expire() { c.once.Do(func() { close(c.done) }) }

// Deadline reports a time an hour after New.
func (c *Context) Deadline() (time.Time, bool) { return c.at, true }

// Done is closed by Expire.
func (c *Context) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded once Expire was called, else nil.
func (c *Context) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
