package phonemigrate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// The session's hooks see a migration about to start, before any write:
// Review gets the plan, Approve decides; a refusal or a "no" writes
// nothing, not even a checkpoint.
func TestRunStopsBeforeWriting(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("refused by review")
	tests := []struct {
		name         string
		review       error
		approve      bool
		wantErr      error
		wantDeclined bool
	}{
		{name: "review refuses", review: errRefused, approve: true, wantErr: errRefused},
		{name: "approve says no", approve: false, wantDeclined: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := scenario("legacy-twilio")
			before := mt.snapshot()
			m, store := newMigrator(t, mt)
			var reviewed, approved *phonemigrate.Plan
			res, err := m.Run(t.Context(), phonemigrate.Session{
				Options: baseOptions(),
				Review: func(_ context.Context, _ *phonemigrate.Options, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) error {
					if resume != nil {
						t.Errorf("Review resume = %+v, want nil for a migration about to start", resume)
					}
					reviewed = p
					return tt.review
				},
				Approve: func(_ context.Context, p *phonemigrate.Plan, _ *phonemigrate.Checkpoint) (bool, error) {
					approved = p
					return tt.approve, nil
				},
			})
			if !errors.Is(err, tt.wantErr) || res.Declined != tt.wantDeclined {
				t.Fatalf("Run = %+v, %v; want error %v, declined %v", res, err, tt.wantErr, tt.wantDeclined)
			}
			if reviewed == nil || len(reviewed.Steps) == 0 || res.Plan != reviewed {
				t.Errorf("Review saw plan %v, result plan %v: want the plan, in the result too", reviewed, res.Plan)
			}
			if tt.review == nil && approved != reviewed {
				t.Errorf("Approve saw %v, want the reviewed plan", approved)
			}
			if res.State != "" {
				t.Errorf("State = %q, want \"\" (the migration did not run)", res.State)
			}
			if diff := cmp.Diff(before, mt.snapshot(), cmpTenant); diff != "" {
				t.Errorf("tenant written (-before +after):\n%s", diff)
			}
			if _, err := store.Load(t.Context()); !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
				t.Errorf("checkpoint after a stop before writing: %v, want none", err)
			}
		})
	}
}

// Without Approve no one stands between the plan and the first write, so
// the migration starts from the plan's reads; after an Approve it reads
// the tenant again (a colleague's edit made meanwhile is migrated).
func TestRunReadsAgainAfterApprove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		approve   bool
		wantReads int // GET /tenants/settings
	}{
		{name: "unattended", wantReads: 1},
		{name: "approved", approve: true, wantReads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := countReads(scenario("legacy-twilio"))
			m, _ := newMigrator(t, c, phonemigrate.WithConfirmStaleAfter(time.Hour))
			o := baseOptions()
			o.TestRecipients, o.SkipTest = nil, true
			s := phonemigrate.Session{Options: o, Review: func(context.Context, *phonemigrate.Options, *phonemigrate.Plan, *phonemigrate.Checkpoint) error {
				return nil
			}}
			if tt.approve {
				s.Approve = func(context.Context, *phonemigrate.Plan, *phonemigrate.Checkpoint) (bool, error) { return true, nil }
			}
			res, err := m.Run(t.Context(), s)
			if err != nil || res.State != phonemigrate.StateCompleted {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			if n := c.counts()["TenantSettings"]; n != tt.wantReads {
				t.Errorf("tenant settings read %d times, want %d", n, tt.wantReads)
			}
		})
	}
}

// A migration stopped part-way is shown to Review as its checkpoint (no
// new plan), resumed, and the result says from where.
func TestRunResumes(t *testing.T) {
	t.Parallel()
	mt := mixedMFAUnset()
	m, store := newMigrator(t, mockOver(t, mt, false, inject(mt, injection{method: "CreatePhoneProvider"})))
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, errBoom) {
		t.Fatalf("Apply = %v, want the injected failure", err)
	}
	m2, _ := newMigrator(t, mt, phonemigrate.WithStore(store))
	var reviewed, approved *phonemigrate.Checkpoint
	res, err := m2.Run(t.Context(), phonemigrate.Session{
		Options: baseOptions(),
		Review: func(_ context.Context, _ *phonemigrate.Options, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) error {
			if p != nil {
				t.Errorf("Review got a new plan for a migration under way")
			}
			reviewed = resume
			return nil
		},
		Approve: func(_ context.Context, _ *phonemigrate.Plan, resume *phonemigrate.Checkpoint) (bool, error) {
			approved = resume
			return true, nil
		},
	})
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Run = %+v, %v; want completed", res, err)
	}
	if reviewed == nil || approved == nil || reviewed.ResumePoint() != phonemigrate.StateActionDeployed {
		t.Errorf("Review saw %+v, Approve %+v; want the checkpoint resuming from action_deployed", reviewed, approved)
	}
	if res.ResumedFrom != phonemigrate.StateActionDeployed {
		t.Errorf("ResumedFrom = %q, want action_deployed", res.ResumedFrom)
	}
}

// After a failure the result says where the migration is, also when the
// run failed before a transition of its own (a resume with other choices).
func TestRunStateAfterFailure(t *testing.T) {
	t.Parallel()
	mt := mixedMFAUnset()
	m, store := newMigrator(t, mockOver(t, mt, false, inject(mt, injection{method: "CreatePhoneProvider"})))
	res, err := m.Run(t.Context(), phonemigrate.Session{Options: baseOptions()})
	if !errors.Is(err, errBoom) || res.State != phonemigrate.StateFailed {
		t.Fatalf("Run = %+v, %v; want failed with the injected error", res, err)
	}
	o := baseOptions()
	o.Provider = phonemigrate.ProviderKindTwilio // planned as custom
	m2, _ := newMigrator(t, mt, phonemigrate.WithStore(store))
	res, err = m2.Run(t.Context(), phonemigrate.Session{Options: o})
	var ie *phonemigrate.InputError
	if !errors.As(err, &ie) || res.State != phonemigrate.StateFailed || len(res.Steps) != 0 {
		t.Errorf("resume with other choices = %+v, %v; want an *InputError, state failed (the checkpoint's), no step", res, err)
	}
}

// A rollback that did not finish is for Rollback to finish: Run and Apply
// refuse with a *MigrationUnderwayError (exit 3), nothing written.
func TestRunRefusesDuringRollback(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	before := mt.snapshot()
	m, store := newMigrator(t, mt)
	if err := store.Save(t.Context(), &phonemigrate.Checkpoint{Version: phonemigrate.CheckpointVersion, Tenant: "acme-legacy", State: phonemigrate.StateRollingBack}); err != nil {
		t.Fatal(err)
	}
	review := func(context.Context, *phonemigrate.Options, *phonemigrate.Plan, *phonemigrate.Checkpoint) error {
		t.Error("Review called during a rollback")
		return nil
	}
	for name, run := range map[string]func() (*phonemigrate.Result, error){
		"Run": func() (*phonemigrate.Result, error) {
			return m.Run(t.Context(), phonemigrate.Session{Options: baseOptions(), Review: review})
		},
		"Apply": func() (*phonemigrate.Result, error) { return m.Apply(t.Context(), baseOptions()) },
	} {
		_, err := run()
		var mu *phonemigrate.MigrationUnderwayError
		if !errors.As(err, &mu) || mu.Next != phonemigrate.NextRollback || mu.State != phonemigrate.StateRollingBack || phonemigrate.ExitCode(err) != 3 {
			t.Errorf("%s = %v, want a *MigrationUnderwayError for the rollback (exit 3)", name, err)
		}
	}
	if diff := cmp.Diff(before, mt.snapshot(), cmpTenant); diff != "" {
		t.Errorf("tenant written (-before +after):\n%s", diff)
	}
}

// A plan that needs a Twilio token the options lack asks TwilioToken once,
// plans again and migrates with it.
func TestRunAsksTwilioToken(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	delete(mt.Conns[1].Options, "twilio_token")
	m, _ := newMigrator(t, mt)
	o := baseOptions()
	o.TwilioAuthToken = ""
	asked := 0
	res, err := m.Run(t.Context(), phonemigrate.Session{
		Options: o,
		TwilioToken: func(context.Context) (phonemigrate.Secret, error) {
			asked++
			return fxTwilioToken, nil
		},
		Review: func(context.Context, *phonemigrate.Options, *phonemigrate.Plan, *phonemigrate.Checkpoint) error {
			return nil
		},
	})
	if err != nil || res.State != phonemigrate.StateCompleted || asked != 1 {
		t.Fatalf("Run = %+v, %v after %d questions; want completed after one", res, err, asked)
	}
	if diff := cmp.Diff([]string{fxTwilioToken}, mt.Tokens); diff != "" {
		t.Errorf("tokens written to the provider (-want +got):\n%s", diff)
	}
}

// The session holds the store lock from reading the checkpoint to the
// end of the migration: no other run starts between the plan and the
// migration made from it.
func TestRunHoldsTheLock(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	m, store := newMigrator(t, mt)
	other, _ := newMigrator(t, mt, phonemigrate.WithStore(store))
	res, err := m.Run(t.Context(), phonemigrate.Session{
		Options: baseOptions(),
		Approve: func(ctx context.Context, _ *phonemigrate.Plan, _ *phonemigrate.Checkpoint) (bool, error) {
			if _, err := other.Apply(ctx, baseOptions()); !errors.Is(err, phonemigrate.ErrLocked) {
				t.Errorf("Apply while the session waits for Approve = %v, want ErrLocked", err)
			}
			return true, nil
		},
	})
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}
