package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// defaultPollInterval is the longest wait between two polls of an Action
// build or deploy unless [WithPollInterval] says otherwise.
const defaultPollInterval = 2 * time.Second

// Migrator discovers, plans, applies and rolls back the migration of one
// tenant. It is not safe for concurrent use; the [Store] lock keeps two
// runs (even in different processes) from working on the same checkpoint.
type Migrator struct {
	c        Client
	store    Store
	log      *slog.Logger
	observer func(Transition)
	poll     time.Duration
	tenant   string
	now      func() time.Time
	// staleAfter is confirmStaleAfter (tests set it with withStaleAfter).
	staleAfter time.Duration
	// steps is the step table the Migrator runs ([steps], the built-in
	// one).
	steps stepTable
	// planned are the reads of the last Plan (see Options.Planned).
	planned *planReads
	// twilioTransport is the transport of twilioHTTP (nil: the default);
	// tests set it with withTwilioTransport.
	twilioTransport http.RoundTripper
	// secrets are the secret values this Migrator knows of (see
	// [WithSecrets]).
	secrets *redact.Set
	// twilioHTTP calls the Twilio REST API (credential check, delivery
	// evidence).
	twilioHTTP *http.Client
}

// New returns a Migrator over c. Without options it keeps its checkpoint in
// memory, logs nothing and polls Action builds backing off from 100ms to
// two seconds.
func New(c Client, opts ...Option) (*Migrator, error) {
	if c == nil {
		return nil, errors.New("phonemigrate: nil Client")
	}
	m := &Migrator{c: c, poll: defaultPollInterval, now: time.Now, staleAfter: confirmStaleAfter, steps: steps()}
	for _, o := range opts {
		if o != nil {
			o.apply(m)
		}
	}
	m.twilioHTTP = newTwilioHTTP(m.twilioTransport)
	if m.store == nil {
		m.store = newMemoryStore()
	}
	if m.secrets == nil {
		m.secrets = redact.NewSet()
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.poll <= 0 {
		return nil, fmt.Errorf("phonemigrate: poll interval must be positive, got %v", m.poll)
	}
	return m, nil
}

// Transition is one state change, reported to the observer and in
// [Result.Steps]. Duration is the time the step took (the Auth0 calls made
// to reach To). Err is set when To is [StateFailed].
type Transition struct {
	From     State
	To       State
	Event    event
	Duration time.Duration
	Err      error
}

// Result is what Apply or Rollback did.
type Result struct {
	State       State        // the state reached
	AlreadyDone bool         // nothing was written: the migration was already completed (or rolled back)
	Plan        *Plan        // the plan followed
	Steps       []Transition // the transitions of this run
	Checkpoint  *Checkpoint  // the final checkpoint
	// ResumedFrom is the state a migration under way was resumed from
	// (Apply, [Migrator.Run]); "" when it started afresh or was completed.
	ResumedFrom State
	// Declined is set when [Session.Approve] said no: nothing was written.
	Declined bool
}

// Status returns the store's checkpoint, or nil and [ErrNoCheckpoint] when
// there is none. It takes no lock and writes nothing.
func (m *Migrator) Status(ctx context.Context) (*Checkpoint, error) {
	return m.load(ctx)
}
