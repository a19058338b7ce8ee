package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// repairOutput is the --json output of repair.
type repairOutput struct {
	Tenant     string `json:"tenant"`
	Checkpoint string `json:"checkpoint"`
	// Outcome is "repaired", "not_needed" or "declined"; "" when the
	// repair failed before deciding.
	Outcome phonemigrate.RepairOutcome `json:"outcome"`
	Reason  string                     `json:"reason,omitempty"`
	// Repair is the proposal (performed when the outcome is repaired).
	Repair *phonemigrate.Plan `json:"repair,omitempty"`
	// Health is the tenant's health now (after the repair's re-read).
	Health *phonemigrate.Health `json:"health,omitempty"`
	// Routes say where each consumer's codes go after the repair.
	Routes []phonemigrate.Route `json:"routes,omitempty"`
	Error  string               `json:"error,omitempty"`
}

// stillNoCodeError is repair's answer when the tenant was switched back
// but a consumer still gets no code (a connection set to use the provider
// with no legacy settings): exit 3, a person must act.
type stillNoCodeError struct{ consumers []string }

func (e *stillNoCodeError) Error() string {
	verb := "gets"
	if len(e.consumers) > 1 {
		verb = "get"
	}
	return fmt.Sprintf("the tenant is switched back to its legacy phone settings, but %s still %s no code (listed on stdout): give it legacy SMS settings, or fix the provider and switch the tenant on again",
		strings.Join(e.consumers, " and "), verb)
}

// runRepair is `phonemigrate repair`: on a tenant switched to the Unified
// Phone Experience that leaves users without codes, it switches the tenant
// back (one write) so codes flow again through the legacy settings, and
// shows the tenant's health and routes after. It writes nothing when
// nothing is broken.
func runRepair(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("repair")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		yes     bool
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation before the write")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "repair", args, log.check); err != nil {
		return err
	}
	if !yes && !c.stdinTTY {
		return usageErrorf("repair needs --yes when stdin is not a terminal (nothing was written)")
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
	confirm := func(_ context.Context, p *phonemigrate.Plan) (bool, error) {
		// Shown unless the output is JSON or quiet — and always before a
		// question, which is about it.
		if !yes || (!jsonOut && !log.quiet) {
			fmt.Fprint(c.stderr, printable(p.Text()))
		}
		if yes {
			return true, nil
		}
		if len(p.Steps) > 0 && strings.HasPrefix(p.Steps[0].Title, "Switch the tenant back") {
			return c.ask(fmt.Sprintf("Switch %s back to its legacy phone settings?", tenant.Name()))
		}
		return c.ask(fmt.Sprintf("Repair %s as above?", tenant.Name()))
	}
	res, repErr := s.migrator.Repair(ctx, phonemigrate.RepairOptions{Confirm: confirm})
	out := repairOutput{Tenant: tenant.Name(), Checkpoint: path}
	if res != nil {
		out.Outcome, out.Reason, out.Repair, out.Health, out.Routes = res.Outcome, res.Reason, res.Proposal, res.Health, res.Routes
	}
	if repErr == nil && res.Outcome == phonemigrate.RepairDone {
		var none []string
		for _, r := range res.Routes {
			if r.NoCode {
				none = append(none, r.Consumer)
			}
		}
		if len(none) > 0 {
			repErr = &stillNoCodeError{consumers: none}
		}
	}
	if repErr != nil {
		out.Error = repErr.Error()
	}
	if jsonOut {
		if res != nil {
			if err := c.writeJSON(out); err != nil {
				return err
			}
		}
		return repErr
	}
	if res == nil {
		return repErr
	}
	switch res.Outcome {
	case phonemigrate.RepairDeclined:
		fmt.Fprintln(c.stderr, "Nothing was written.")
	case phonemigrate.RepairNotNeeded:
		fmt.Fprintf(c.stdout, "Nothing to repair: %s; nothing was written.\n\n", res.Reason)
		fmt.Fprint(c.stdout, printable(checkText(tenant.Name(), res.Health)))
	case phonemigrate.RepairDone:
		fmt.Fprint(c.stdout, printable(repairText(tenant.Name(), res)))
	}
	return repErr
}

// repairText is repair's report after the write: what was written, where
// codes go now, the tenant's health and what comes next.
func repairText(tenant string, res *phonemigrate.RepairResult) string {
	var b strings.Builder
	n := 0
	if res.Proposal != nil {
		for _, st := range res.Proposal.Steps {
			n += len(st.Writes)
		}
	}
	only := "that was the only write"
	if n > 1 {
		only = fmt.Sprintf("those %d writes were all", n)
	}
	fmt.Fprintf(&b, "Repaired %s: %s; %s.\n", tenant, res.Did, only)
	if len(res.Routes) > 0 {
		b.WriteString("\nWhere codes go now:\n")
		writeRoutes(&b, res.Routes)
	}
	if res.Health != nil {
		b.WriteString("\n")
		b.WriteString(checkText(tenant, res.Health))
	}
	if strings.HasPrefix(res.Did, "switched back") {
		b.WriteString("\nNext: 'phonemigrate plan' and 'phonemigrate apply' migrate properly from these legacy settings (a completed checkpoint: 'phonemigrate rollback' first).\n")
	}
	return b.String()
}

func writeRoutes(w io.Writer, routes []phonemigrate.Route) {
	for _, r := range routes {
		mark := "ok"
		if r.NoCode {
			mark = "✗ "
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, r.Consumer, r.Via)
	}
}

// showRepair prints, when err is an *UnhealthyError proposing a repair,
// the proposal as a plan on w and the command that performs it, and
// returns the proposal (nil otherwise, printing nothing).
func showRepair(w io.Writer, err error, jsonOut bool) *phonemigrate.Plan {
	repair := phonemigrate.RepairOf(err)
	if repair == nil {
		return nil
	}
	if !jsonOut {
		fmt.Fprint(w, printable(repair.Text()))
		fmt.Fprint(w, "\nUsers get no code now. 'phonemigrate repair' makes the write above (and nothing else); then 'phonemigrate apply' migrates properly.\n")
	}
	return repair
}
