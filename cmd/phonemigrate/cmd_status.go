package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// statusOutput is the --json output of status when there is a
// checkpoint: the checkpoint file's path, checkpoint_exists true, and the
// checkpoint's content (no secrets are ever in it).
type statusOutput struct {
	CheckpointFile   string `json:"checkpoint_file"`
	CheckpointExists bool   `json:"checkpoint_exists"`
	*phonemigrate.Checkpoint
}

// noCheckpointOutput is the --json output of status when there is no
// checkpoint: no migration has started, so there is nothing but the path
// looked at and the state "new" (no zero-valued checkpoint fields).
type noCheckpointOutput struct {
	CheckpointFile   string             `json:"checkpoint_file"`
	CheckpointExists bool               `json:"checkpoint_exists"`
	State            phonemigrate.State `json:"state"`
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("status")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the checkpoint as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "status", args, log.check); err != nil {
		return err
	}
	path := cf.path
	if path == "" {
		tenant, err := tf.resolve(c.getenv)
		if err != nil {
			return err
		}
		path = cf.resolve(tenant)
	}
	cp, err := filestore.New(path).Load(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		if jsonOut {
			return c.writeJSON(noCheckpointOutput{CheckpointFile: path, State: phonemigrate.StateNew})
		}
		fmt.Fprintf(c.stdout, "No migration yet: there is no checkpoint at %s.\n", path)
		return nil
	}
	if err != nil {
		return err
	}
	if jsonOut {
		return c.writeJSON(statusOutput{CheckpointFile: path, CheckpointExists: true, Checkpoint: cp})
	}
	fmt.Fprint(c.stdout, printable(statusText(path, cp)))
	return nil
}

func statusText(path string, cp *phonemigrate.Checkpoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tenant:     %s\n", cp.Tenant)
	fmt.Fprintf(&b, "Checkpoint: %s\n", path)
	fmt.Fprintf(&b, "State:      %s\n", cp.State)
	if !cp.UpdatedAt.IsZero() {
		fmt.Fprintf(&b, "Updated:    %s\n", cp.UpdatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if cp.Created.ActionID != "" {
		fmt.Fprintf(&b, "Created Action:   %s\n", cp.Created.ActionID)
	}
	if cp.Created.ProviderID != "" {
		fmt.Fprintf(&b, "Created provider: %s\n", cp.Created.ProviderID)
	}
	if w := cp.Watch; w != nil && !w.From.IsZero() {
		fmt.Fprintf(&b, "Watch:      %s, %s to %s", w.Verdict, w.From.UTC().Format("15:04:05"), w.To.UTC().Format("15:04:05 UTC"))
		if w.Reason != "" {
			fmt.Fprintf(&b, ": %s", w.Reason)
		}
		b.WriteString("\n")
	}
	if cp.Error != "" && cp.State == phonemigrate.StateFailed {
		fmt.Fprintf(&b, "Error:      %s\n", cp.Error)
	}
	switch cp.Next() {
	case phonemigrate.NextRollback:
		b.WriteString("Next: 'phonemigrate rollback' finishes the rollback that did not finish ('phonemigrate apply' refuses until then).\n")
	case phonemigrate.NextApply:
		if cp.State == phonemigrate.StateFailed {
			fmt.Fprintf(&b, "Next: 'phonemigrate apply' resumes after %s; 'phonemigrate rollback' restores what was changed.\n", cp.ResumePoint())
		} else {
			fmt.Fprintf(&b, "Next: 'phonemigrate apply' continues from %s; 'phonemigrate rollback' restores what was changed.\n", cp.ResumePoint())
		}
	case phonemigrate.NextNone:
		b.WriteString("Next: nothing. 'phonemigrate rollback --plan' shows what a rollback would restore now (it refuses, naming why, when the tenant changed since).\n")
	default:
		if cp.State == phonemigrate.StateRolledBack {
			b.WriteString("Next: nothing; the legacy setup was restored ('phonemigrate apply' would start over).\n")
		} else {
			b.WriteString("Next: 'phonemigrate apply' starts a new migration.\n")
		}
	}
	return b.String()
}

// ---- rollback ------------------------------------------------------------
