package phonemigrate

import (
	"context"
	"errors"
)

// Session is one run of a migration as an operator makes it — the CLI's
// apply and the fleet runner both run one — for [Migrator.Run]: under the
// store lock it reads the checkpoint, plans a migration about to start,
// lets Review see the plan (or the resume point) and Approve decide, then
// applies or resumes, and says where the run left the migration.
//
// Without Review and Approve nothing stands between the checkpoint and the
// migration: Run is [Migrator.Apply] plus the state after a failure.
type Session struct {
	// Options are the migration's options. Run sets Options.Planned
	// itself: to the plan it made when no Approve stands between that plan
	// and the first write.
	Options Options

	// TwilioToken, when set, is asked for the Twilio auth token when the
	// plan needs one the options lack ([ErrTwilioTokenRequired]); Run then
	// plans again with it and migrates with it.
	TwilioToken func(ctx context.Context) (Secret, error)

	// Review, when set, sees what is about to happen before any write:
	// the plan of a migration about to start (resume nil), or the
	// checkpoint of one about to resume (p nil). It may complete o, the
	// options the migration runs with (Action secret values it asked for,
	// differences a person accepted). An error ends the session with
	// nothing written, and is returned. A completed migration, which Apply
	// only checks again, is not reviewed.
	Review func(ctx context.Context, o *Options, p *Plan, resume *Checkpoint) error

	// Approve, when set, is asked after Review whether to write; false
	// ends the session with nothing written ([Result.Declined]). Leave it
	// nil when no person answers: the migration then starts from the
	// plan's reads (see [Options.Planned]).
	Approve func(ctx context.Context, p *Plan, resume *Checkpoint) (bool, error)
}

// Run runs s: it takes the store lock and reads the checkpoint; a
// migration about to start is planned ([Migrator.Plan], with its typed
// errors, before any write) when Review or Approve is set to see it;
// Review and Approve are asked; then the migration is applied or resumed
// as by [Migrator.Apply] (a rollback that did not finish is a
// [*MigrationUnderwayError]), the lock held throughout, so no other run
// writes between the plan and the migration.
//
// The result is never nil. Its State is where the migration is now: the
// state reached, also after a failure (the checkpoint's state when the
// run failed before reaching one), [StateAlreadyUnified] with
// [ErrAlreadyUnified], and "" when the session stopped before the
// migration ran (nothing written). ResumedFrom is set when a migration
// under way was resumed; Plan is the plan followed (or the one shown).
func (m *Migrator) Run(ctx context.Context, s Session) (*Result, error) {
	defer m.twilioHTTP.CloseIdleConnections()
	res, ran, err := m.session(ctx, &s)
	if ran {
		res, err = m.afterCanary(ctx, s.Options, res, err)
		res = m.settle(ctx, res, err)
	}
	if res == nil {
		res = &Result{}
	}
	if errors.Is(err, ErrAlreadyUnified) {
		res.State = StateAlreadyUnified
	}
	return res, err
}

// session runs s under the store lock. ran reports whether the migration
// itself ran (it may have written); before that, res says what the
// session got to (the plan, a refusal) and nothing was written.
func (m *Migrator) session(ctx context.Context, s *Session) (res *Result, ran bool, err error) {
	o := &s.Options
	m.secrets.AddSecret(o.TwilioAuthToken)
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	cp, err := m.load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		cp = m.newCheckpoint()
	case err != nil:
		return nil, false, err
	}
	p, err := m.prepare(ctx, s, cp)
	if err != nil {
		return &Result{Plan: p}, false, err
	}
	if ok, err := m.approved(ctx, s, p, cp); !ok || err != nil {
		return &Result{Plan: p, Declined: err == nil}, false, err
	}
	from := cp.ResumePoint()
	res, err = m.applyFrom(ctx, cp, *o)
	if res == nil {
		res = &Result{}
	}
	if res.Plan == nil {
		res.Plan = p
	}
	res.ResumedFrom = from
	return res, true, err
}

// prepare is the part of a session before the first write: a migration
// about to start is planned (when someone looks at the plan) and shown to
// Review; one about to resume is shown to Review. The plan returned is
// the one made, nil when none was.
func (m *Migrator) prepare(ctx context.Context, s *Session, cp *Checkpoint) (*Plan, error) {
	var resume *Checkpoint
	var p *Plan
	switch cp.Next() {
	case NextApply:
		resume = cp.shallow()
	case NextStart:
		if s.Review == nil && s.Approve == nil {
			return nil, nil // Apply plans; no one looks
		}
		var err error
		if p, err = m.planAsking(ctx, s); err != nil {
			return p, err
		}
	default:
		return nil, nil // completed (Apply checks it again), or a rollback under way (Apply refuses)
	}
	if s.Review != nil {
		return p, s.Review(ctx, &s.Options, p, resume)
	}
	return p, nil
}

// approved asks s.Approve, when set, before a migration starts or
// resumes; without it, a migration about to start goes on from the
// plan's reads.
func (m *Migrator) approved(ctx context.Context, s *Session, p *Plan, cp *Checkpoint) (bool, error) {
	next := cp.Next()
	if next != NextStart && next != NextApply {
		return true, nil
	}
	if s.Approve == nil {
		if p != nil {
			s.Options.Planned = p
		}
		return true, nil
	}
	var resume *Checkpoint
	if next == NextApply {
		resume = cp.shallow()
	}
	return s.Approve(ctx, p, resume)
}

// shallow returns a copy of cp for a hook to keep: the run goes on
// changing cp itself.
func (cp *Checkpoint) shallow() *Checkpoint {
	c := *cp
	return &c
}

// planAsking plans with s.Options, asking s.TwilioToken for a Twilio auth
// token the plan needs and the options lack.
func (m *Migrator) planAsking(ctx context.Context, s *Session) (*Plan, error) {
	o := &s.Options
	p, err := m.Plan(ctx, *o)
	if !errors.Is(err, ErrTwilioTokenRequired) || o.TwilioAuthToken != "" || s.TwilioToken == nil {
		return p, err
	}
	if o.TwilioAuthToken, err = s.TwilioToken(ctx); err != nil {
		return nil, err
	}
	m.secrets.AddSecret(o.TwilioAuthToken)
	return m.Plan(ctx, *o)
}

// settle fills in where a failed run left the migration when the run
// reached no state of its own (it failed before its first transition):
// the checkpoint's state, "" without one.
func (m *Migrator) settle(ctx context.Context, res *Result, err error) *Result {
	if res == nil {
		res = &Result{}
	}
	if err == nil || res.State != "" {
		return res
	}
	if cp, cerr := m.load(ctx); cerr == nil {
		res.State = cp.State
	}
	return res
}
