package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func runRollback(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("rollback")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		yes     bool
		force   bool
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	fs.BoolVar(&force, "force", false, "roll back even what changed on the tenant since the migration (otherwise such changes are listed and nothing is written, exit 3)")
	planOnly := fs.Bool("plan", false, "print the writes the rollback would make now, in order, writing nothing (GET requests only)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "rollback", args, log.check); err != nil {
		return err
	}
	if !yes && !c.stdinTTY && !*planOnly {
		return usageErrorf("rollback needs --yes when stdin is not a terminal (nothing was written)")
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	path := cf.resolve(tenant)
	s, err := c.newSession(ctx, tenant, path, log)
	if err != nil {
		return err
	}
	cp, err := s.migrator.Status(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		return usageErrorf("there is no checkpoint at %s, and rollback restores only what a checkpointed apply changed (nothing was written)", path)
	}
	if err != nil {
		return err
	}
	if *planOnly {
		p, err := s.migrator.RollbackPlan(ctx)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: p})
		}
		fmt.Fprint(c.stdout, printable(p.Text()))
		fmt.Fprintf(c.stdout, "\nFrom checkpoint %s (state %s); nothing was written.\n", path, cp.State)
		return nil
	}
	if !yes {
		ok, err := c.ask(fmt.Sprintf("Roll %s back from %s to its legacy phone setup?", tenant.Name(), cp.State))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(c.stderr, "Nothing was written.")
			return nil
		}
	}
	s.progress.note("Rolling back %s (checkpoint %s):", tenant.Name(), path)
	res, rbErr := s.migrator.Rollback(ctx, phonemigrate.RollbackOptions{Force: force})
	out := applyOutput{Tenant: tenant.Name(), Checkpoint: path, Steps: jsonSteps(s.progress.steps)}
	if res != nil {
		out.State = string(res.State)
		out.AlreadyDone = res.AlreadyDone
	}
	if rbErr != nil {
		out.Error = rbErr.Error()
		if jsonOut && out.State != "" {
			_ = c.writeJSON(out)
		}
		return rbErr
	}
	if jsonOut {
		return c.writeJSON(out)
	}
	if out.AlreadyDone {
		fmt.Fprintf(c.stdout, "Nothing to do: %s was already rolled back (checkpoint %s).\n", tenant.Name(), path)
		return nil
	}
	fmt.Fprintf(c.stdout, "Rollback of %s %s; checkpoint %s.\n", tenant.Name(), out.State, path)
	return nil
}
