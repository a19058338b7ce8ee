package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// planOutput is the --json output of plan (and part of apply's and demo's).
type planOutput struct {
	Tenant string             `json:"tenant"`
	Plan   *phonemigrate.Plan `json:"plan"`
	// Migration is set when a checkpoint shows a migration under way (or
	// completed): plan then shows what apply (or rollback) would do next
	// rather than planning afresh.
	Migration *migrationInProgress `json:"migration,omitempty"`
	// Repair is set (with Findings and Error, and exit 3) when the tenant
	// is switched and leaves users without codes: Plan is then empty, and
	// Repair is what 'phonemigrate repair' would write.
	Repair   *phonemigrate.Plan     `json:"repair,omitempty"`
	Findings []phonemigrate.Finding `json:"findings,omitempty"`
	// Rehearsal is what the pre-write rehearsal found: the consumers that
	// would receive something else, with the IDs --accept-difference takes.
	Rehearsal *rehearsal `json:"rehearsal,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// migrationInProgress is plan's summary of an existing checkpoint.
type migrationInProgress struct {
	Checkpoint string             `json:"checkpoint"`
	State      phonemigrate.State `json:"state"`
	LastGood   phonemigrate.State `json:"last_good,omitempty"`
	Error      string             `json:"error,omitempty"`
	// Next is the command that continues from here: "apply" (resumes the
	// migration), "rollback" (finishes an interrupted rollback) or "none"
	// (completed).
	Next string `json:"next"`
}

func runPlan(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("plan")
	var (
		tf      tenantFlags
		of      optionFlags
		cf      checkpointFlag
		log     logging
		jsonOut bool
		pf      proveFlags
	)
	tf.register(fs)
	of.register(fs)
	cf.register(fs)
	log.register(fs)
	pf.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the plan as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "plan", args, log.check); err != nil {
		return err
	}
	if err := pf.check(); err != nil {
		return err
	}
	opts, err := of.options(c.getenv)
	if err != nil {
		return err
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	// A checkpoint of a migration under way decides what apply does next:
	// show that instead of a fresh plan, which would see a half-migrated
	// tenant (e.g. "already unified" once the tenant switch is done).
	path := cf.resolve(tenant)
	if done, err := c.planFromCheckpoint(ctx, tenant, path, jsonOut, log); done || err != nil {
		return err
	}
	opts.TwilioAuthToken = phonemigrate.Secret(c.getenv(envTwilioToken))
	c.secrets.AddSecret(opts.TwilioAuthToken)
	s, err := c.newSession(ctx, tenant, "", log)
	if err != nil {
		return err
	}
	plan, err := s.migrator.Plan(ctx, opts)
	if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		if jsonOut {
			return c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: &phonemigrate.Plan{Tenant: tenant.Name(), Steps: []phonemigrate.Step{}}})
		}
		fmt.Fprintf(c.stdout, "Nothing to do: %s is already on the Unified Phone Experience.\n", tenant.Name())
		return nil
	}
	if repair := showRepair(c.stdout, err, jsonOut); repair != nil {
		if jsonOut {
			var ue *phonemigrate.UnhealthyError
			errors.As(err, &ue)
			if werr := c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: &phonemigrate.Plan{Tenant: tenant.Name(), Steps: []phonemigrate.Step{}},
				Repair: repair, Findings: ue.Findings, Error: err.Error()}); werr != nil {
				return werr
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	rh, err := c.rehearse(ctx, s.client, tenant.Name(), opts, pf, log.logger(c.stderr), plan.Hook)
	if err != nil {
		return err
	}
	refused := proveOrRefuse(rh)
	if jsonOut {
		out := planOutput{Tenant: tenant.Name(), Plan: plan, Rehearsal: rh}
		if refused != nil {
			out.Error = refused.Error()
		}
		if err := c.writeJSON(out); err != nil {
			return err
		}
		return refused
	}
	fmt.Fprint(c.stdout, printable(plan.Text()+rehearsalText(rh)))
	return refused
}

// planFromCheckpoint reads the checkpoint at path. When it records a
// migration that apply would resume, or one that is completed or being
// rolled back, it prints what comes next and returns true; plan then
// exits 0 without connecting to the tenant. No checkpoint, or one that is
// new, rolled back or already unified (apply starts over), returns false.
// A corrupt, unreadable or foreign checkpoint is a *CheckpointError
// (exit 2), as for apply. Only for a completed migration does it read the
// tenant, as check does: when users get no code now (the provider deleted
// since, say), it shows the repair and returns an *UnhealthyError (exit 3),
// as apply's recheck would.
func (c *cli) planFromCheckpoint(ctx context.Context, tenant tenantConfig, path string, jsonOut bool, log logging) (bool, error) {
	cp, err := filestore.New(path).Load(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cp.Tenant != "" && cp.Tenant != tenant.Name() {
		return false, &phonemigrate.CheckpointError{Path: path, Problem: fmt.Sprintf("belongs to tenant %q, not %q", cp.Tenant, tenant.Name())}
	}
	next := cp.Next()
	if next == phonemigrate.NextStart {
		return false, nil
	}
	mig := &migrationInProgress{Checkpoint: path, State: cp.State, LastGood: cp.LastGood, Error: cp.Error, Next: string(next)}
	rest := &phonemigrate.Plan{Tenant: tenant.Name(), Steps: []phonemigrate.Step{}}
	var text string
	switch next {
	case phonemigrate.NextNone:
		s, err := c.newSession(ctx, tenant, "", log)
		if err != nil {
			return true, err
		}
		h, err := s.migrator.Check(ctx)
		if err != nil {
			return true, err
		}
		if h.Repair != nil {
			ue := &phonemigrate.UnhealthyError{Findings: h.Findings, Repair: h.Repair}
			showRepair(c.stdout, ue, jsonOut)
			if jsonOut {
				if err := c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: rest, Migration: mig, Repair: h.Repair, Findings: h.Findings, Error: ue.Error()}); err != nil {
					return true, err
				}
			}
			return true, ue
		}
		if h.State == "legacy" && cp.Intent != nil && !cp.Intent.Keep && cp.Plan != nil {
			// Legacy again since: apply runs the recorded migration's
			// steps again, within the same checkpoint.
			mig.Next = "apply"
			if jsonOut {
				return true, c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: cp.Plan, Migration: mig})
			}
			fmt.Fprint(c.stdout, printable(fmt.Sprintf("The migration of %s completed (checkpoint %s), but the tenant is on its legacy phone settings again: 'phonemigrate apply' migrates it again within the same checkpoint — the steps of the recorded plan below, each writing only what differs now (a rollback still restores the tenant as it was before the first run):\n\n", tenant.Name(), path)+cp.Plan.Text()))
			return true, nil
		}
		text = fmt.Sprintf("Nothing to do: the migration of %s is completed (checkpoint %s); 'phonemigrate rollback' would restore the legacy setup.\n", tenant.Name(), path)
	case phonemigrate.NextRollback:
		text = fmt.Sprintf("A rollback of %s did not finish (checkpoint %s, state %s); 'phonemigrate rollback' finishes it.\n", tenant.Name(), path, cp.State)
	default:
		from := cp.ResumePoint()
		if cp.Plan != nil {
			rest = remainingPlan(cp.Plan, from)
		}
		var b strings.Builder
		if cp.State == phonemigrate.StateFailed {
			fmt.Fprintf(&b, "The migration of %s is in progress: it failed after %s (checkpoint %s): %s\n", tenant.Name(), from, path, cp.Error)
		} else {
			fmt.Fprintf(&b, "The migration of %s is in progress: it stopped after %s (checkpoint %s).\n", tenant.Name(), from, path)
		}
		fmt.Fprintf(&b, "'phonemigrate apply' resumes from %s with the steps below; 'phonemigrate rollback' undoes what was changed.\n\n", from)
		b.WriteString(rest.Text())
		text = b.String()
	}
	if jsonOut {
		return true, c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: rest, Migration: mig})
	}
	fmt.Fprint(c.stdout, printable(text))
	return true, nil
}

// remainingPlan returns the steps of p that come after the state from,
// which apply resumes from; all of them when from precedes every step.
func remainingPlan(p *phonemigrate.Plan, from phonemigrate.State) *phonemigrate.Plan {
	rest := *p
	rest.Steps = []phonemigrate.Step{}
	for i, s := range p.Steps {
		if s.State == from {
			rest.Steps = append(rest.Steps, p.Steps[i+1:]...)
			return &rest
		}
	}
	rest.Steps = append(rest.Steps, p.Steps...)
	return &rest
}

// ---- apply ---------------------------------------------------------------
