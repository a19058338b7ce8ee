package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// errUnhealthy makes check exit 1 after printing its findings.
type errUnhealthy struct{ n int }

func (e errUnhealthy) Error() string {
	return fmt.Sprintf("%d invariant(s) of a healthy Unified Phone tenant are violated (listed on stdout)", e.n)
}

// runCheck is `phonemigrate check`: read-only, it lists every violated
// invariant of a healthy tenant on the Unified Phone Experience with what
// users experience and the fix; exit 0 when healthy, 1 when not. The
// differences accepted at apply, recorded in the checkpoint, are listed
// and not counted.
func runCheck(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("check")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "check", args, log.check); err != nil {
		return err
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	// The checkpoint, when there is one, holds the differences accepted at
	// apply (--accept-difference): check lists them and does not count them.
	s, err := c.newSession(ctx, tenant, cf.resolve(tenant), log)
	if err != nil {
		return err
	}
	h, err := s.migrator.Check(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		if err := c.writeJSON(checkOutput{Tenant: tenant.Name(), Healthy: h.Healthy(), Health: h}); err != nil {
			return err
		}
	} else {
		fmt.Fprint(c.stdout, printable(checkText(tenant.Name(), h)))
	}
	if !h.Healthy() {
		return errUnhealthy{len(h.Findings)}
	}
	return nil
}

type checkOutput struct {
	Tenant  string `json:"tenant"`
	Healthy bool   `json:"healthy"`
	*phonemigrate.Health
}

func checkText(tenant string, h *phonemigrate.Health) string {
	var b strings.Builder
	switch h.State {
	case "legacy":
		fmt.Fprintf(&b, "%s is not on the Unified Phone Experience, and no connection is set to use a tenant-level provider: codes go through the legacy settings. 'phonemigrate plan' shows the migration.\n", tenant)
	case "unified":
		fmt.Fprintf(&b, "%s is on the Unified Phone Experience and healthy: every factor in use is served by the tenant-level provider.\n", tenant)
	default:
		fmt.Fprintf(&b, "%s is not healthy: %d problem(s).\n", tenant, len(h.Findings))
	}
	for _, f := range h.Findings {
		mark := "!"
		if f.Broken {
			mark = "✗"
		}
		fmt.Fprintf(&b, "\n%s %s\n    users: %s\n    fix:   %s\n", mark, f.Problem, f.Consequence, f.Fix)
		if f.LikelyCause != "" {
			fmt.Fprintf(&b, "    often: %s\n", f.LikelyCause)
		}
	}
	for _, f := range h.Accepted {
		fmt.Fprintf(&b, "\naccepted at apply (--accept-difference %s): %s\n", f.Consumer, f.Problem)
	}
	if h.Integrations != nil {
		b.WriteString("\n" + h.Integrations.Text())
	}
	if h.Repair != nil && len(h.Repair.Steps) > 0 && !strings.HasPrefix(h.Repair.Steps[0].Title, "Switch the tenant back") {
		fmt.Fprintf(&b, "\nFastest safe repair: 'phonemigrate repair' makes codes flow again through the migrated route: %s.\n", h.Repair.Steps[0].Title)
	} else if h.Repair != nil {
		b.WriteString("\nFastest safe repair: 'phonemigrate repair' switches the tenant back (phone_consolidated_experience false), its only write, so that codes flow through the legacy settings again ('phonemigrate plan' shows what happens to each factor); then 'phonemigrate apply' migrates properly.\n")
	}
	return b.String()
}
