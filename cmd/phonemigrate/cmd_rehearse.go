package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// rehearseRecipient is the user every rehearsal message goes to (555-01xx:
// reserved for fiction; nothing leaves the process's fakes anyway).
const rehearseRecipient = "+15555550100"

// rehearseOutput is the --json output of rehearse.
type rehearseOutput struct {
	Snapshot string             `json:"snapshot"`
	Tenant   string             `json:"tenant,omitempty"`
	Plan     *phonemigrate.Plan `json:"plan"`
	State    string             `json:"state"`
	// Gateways are the snapshot's gateway URLs and the local fake gateway
	// that stood in for each.
	Gateways []phonemigratetest.GatewayRedirect `json:"gateways"`
	Paths    []rehearsePath                     `json:"paths"`
	// Same is true when every path delivers the same message after the
	// migration.
	Same bool `json:"same"`
	// RolledBack and Restored say that the rollback ran and that the
	// tenant then equals the snapshot again; RestoreDiff shows what differs
	// otherwise.
	RolledBack  bool   `json:"rolled_back"`
	Restored    bool   `json:"restored"`
	RestoreDiff string `json:"restore_diff,omitempty"`
}

// rehearsePath is one row of the matrix: a comparison with the plan
// warnings that explain a difference.
type rehearsePath struct {
	phonemigratetest.Comparison
	Causes []string `json:"causes,omitempty"`
}

// errRehearsalDiffers makes rehearse exit 1.
var errRehearsalDiffers = errors.New("the rehearsal found differences")

// runRehearse migrates a fake tenant served from a snapshot — plan, apply,
// rollback — and compares, path by path, the message each user receives
// before and after.
func runRehearse(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("rehearse")
	var (
		of      optionFlags
		log     logging
		jsonOut bool
	)
	of.registerOffline(fs)
	log.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the matrix as JSON (schema in docs/cli.md)")
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := c.parseFlags(fs, "rehearse", args, log.check); err != nil {
		return err
	}
	if file == "" {
		return usageErrorf("give the snapshot FILE first, e.g. phonemigrate rehearse snapshot.json --skip-test")
	}
	// The environment's Twilio URL is not used: the rehearsal talks only
	// to its own fake Twilio.
	opts, err := of.options(func(string) string { return "" })
	if err != nil {
		return err
	}
	snap, err := readSnapshot("rehearse", file)
	if err != nil {
		return err
	}
	out := io.Writer(c.stdout)
	if jsonOut {
		out = io.Discard
	}
	prog := newProgress(c.stderr, log.quiet, c.stderrTTY)
	logger := log.logger(c.stderr)

	srv, err := phonemigratetest.NewServerFrom(snap, phonemigratetest.WithActionBuild(20*time.Millisecond, 1))
	if err != nil {
		return usageErrorf("%s: %v", file, err)
	}
	defer srv.Close()
	fmt.Fprintf(out, "phonemigrate rehearse: the tenant of %s, served by a fake Auth0 tenant at %s (offline).\n", printable(file), srv.BaseURL)
	for _, r := range srv.GatewayRedirects() {
		fmt.Fprintf(out, "Connection %s: its gateway %s is played by a fake gateway at %s.\n", printable(r.Connection), printable(redact.URL(r.Original)), r.Local)
	}
	fmt.Fprintln(out)

	cl, err := c.connect(ctx, tenantConfig{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)}, logger)
	if err != nil {
		return err
	}
	tenant := snap.Tenant
	if tenant == "" {
		tenant = "rehearsal"
	}
	m, err := phonemigrate.New(cl, phonemigrate.WithTenant(tenant), phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(prog.observe), phonemigrate.WithPollInterval(10*time.Millisecond))
	if err != nil {
		return err
	}
	opts.TwilioAPIBaseURL = srv.Twilio().URL
	// seen is, per test recipient, how many messages had reached it when
	// its last test message was confirmed.
	seen := map[string]int{}
	for _, r := range opts.TestRecipients {
		seen[r] = arrivals(srv, r)
	}
	opts.Confirm = func(ctx context.Context, t phonemigrate.TestMessage) (bool, error) {
		n := arrivals(srv, t.Recipient)
		got := n > seen[t.Recipient]
		seen[t.Recipient] = n
		prog.note("  test message by %s to %s: %s", t.Method, t.Recipient, map[bool]string{true: "arrived", false: "did not arrive"}[got])
		return got, nil
	}

	res := rehearseOutput{Snapshot: file, Tenant: snap.Tenant, Gateways: []phonemigratetest.GatewayRedirect{}}
	for _, g := range srv.GatewayRedirects() {
		g.Original = redact.URL(g.Original)
		res.Gateways = append(res.Gateways, g)
	}
	plan, err := m.Plan(ctx, opts)
	if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		fmt.Fprintf(out, "Nothing to migrate: the tenant is already on the Unified Phone Experience.\n")
		if jsonOut {
			res.State, res.Same, res.Restored, res.Paths = string(phonemigrate.StateAlreadyUnified), true, true, []rehearsePath{}
			return c.writeJSON(res)
		}
		return nil
	}
	if err != nil {
		return err
	}
	res.Plan = plan
	if plan.Provider == phonemigrate.ProviderKindCustom {
		if _, err := exec.LookPath("node"); err != nil {
			return errors.New("the rehearsal migrates to a custom phone provider whose Action runs in Node.js, and node is not on PATH; install Node.js 18 or later")
		}
	}
	reqs := srv.State().Messages(rehearseRecipient)
	before, err := srv.Deliver(ctx, reqs)
	if err != nil {
		return fmt.Errorf("sending the messages before the migration: %w", err)
	}
	prog.note("Migrating the fake tenant:")
	applied, applyErr := m.Apply(ctx, opts)
	if applyErr == nil {
		res.State = string(applied.State)
		after, err := srv.Deliver(ctx, reqs)
		if err != nil {
			return fmt.Errorf("sending the messages after the migration: %w", err)
		}
		for _, cmp := range phonemigratetest.Compare(before, after) {
			p := rehearsePath{Comparison: cmp}
			if !cmp.Same {
				p.Causes = causes(cmp, plan.Warnings)
			}
			res.Paths = append(res.Paths, p)
		}
	} else {
		res.State = string(phonemigrate.StateFailed)
	}
	if res.Paths == nil {
		res.Paths = []rehearsePath{}
	}

	prog.note("Rolling the fake tenant back:")
	if _, err := m.Rollback(ctx); err != nil {
		res.RestoreDiff = "the rollback failed: " + err.Error()
	} else {
		res.RolledBack = true
		back, err := snapshot.Take(ctx, cl, snap.Tenant)
		if err != nil {
			return fmt.Errorf("reading the tenant after the rollback: %w", err)
		}
		srv.RestoreGatewayURLs(back)
		res.RestoreDiff = phonemigratetest.DiffSnapshots(snap, back)
		res.Restored = res.RestoreDiff == ""
	}
	res.Same = applyErr == nil && allSame(res.Paths)

	if applyErr != nil {
		fmt.Fprintf(out, "The migration failed: %s\n", printable(message(applyErr)))
	} else {
		printMatrix(out, res.Paths)
	}
	if res.Restored {
		fmt.Fprintf(out, "Rollback: the tenant equals the snapshot again.\n")
	} else {
		fmt.Fprintf(out, "Rollback: the tenant does NOT equal the snapshot:\n%s\n", indent(printable(res.RestoreDiff), "  "))
	}
	if jsonOut {
		if err := c.writeJSON(res); err != nil {
			return err
		}
	}
	switch {
	case applyErr != nil:
		return fmt.Errorf("the migration failed on the rehearsal tenant: %w", applyErr)
	case !res.Same || !res.Restored:
		return errRehearsalDiffers
	}
	return nil
}

func allSame(ps []rehearsePath) bool {
	for _, p := range ps {
		if !p.Same {
			return false
		}
	}
	return true
}

// causes picks the plan warnings that explain a path's difference: those
// naming its connection (Passwordless) or MFA (MFA paths), and, when the
// text differs, those about template variables and macros.
func causes(cmp phonemigratetest.Comparison, warnings []string) []string {
	textDiffers := cmp.Before.Text != cmp.After.Text
	var out []string
	for _, w := range warnings {
		if w == phonemigrate.IaCRevertWarning {
			continue // about the whole tenant's code, not this path
		}
		lw := strings.ToLower(w)
		related := false
		switch cmp.Before.Request.Kind {
		case "passwordless":
			related = strings.Contains(w, fmt.Sprintf("%q", cmp.Before.Request.Connection))
		case "mfa":
			related = strings.Contains(lw, "mfa") || strings.Contains(lw, "guardian")
		}
		if textDiffers && (strings.Contains(lw, "liquid variable") || strings.Contains(lw, "macro")) {
			related = true
		}
		if related {
			out = append(out, w)
		}
	}
	return out
}

// printMatrix prints one block per path: before, after, same or different
// and why.
func printMatrix(w io.Writer, ps []rehearsePath) {
	same := 0
	for _, p := range ps {
		verdict := "different"
		if p.Same {
			verdict, same = "same", same+1
		}
		fmt.Fprintf(w, "%s: %s\n", p.Path, verdict)
		fmt.Fprintf(w, "  before: %s\n", printable(describeArrival(p.Before)))
		fmt.Fprintf(w, "  after:  %s\n", printable(describeArrival(p.After)))
		for _, why := range p.Why {
			fmt.Fprintf(w, "  why:    %s\n", printable(why))
		}
		for _, c := range p.Causes {
			fmt.Fprintf(w, "  cause:  %s\n", printable(c))
		}
	}
	fmt.Fprintf(w, "\nMatrix: %d paths, %d same, %d different.\n", len(ps), same, len(ps)-same)
}

// describeArrival is one delivery on one line: route, destination,
// sender, recipient, gateway claims, text.
func describeArrival(d phonemigratetest.Delivery) string {
	if !d.Delivered {
		return fmt.Sprintf("%s, not delivered (%s)", d.Route, d.Detail)
	}
	s := fmt.Sprintf("%s via %s, from %s to %s", d.Route, d.Via, orNone(d.Sender), d.Recipient)
	if d.Claims != nil {
		s += fmt.Sprintf(", JWT aud %s sub %s", orNone(d.Claims["aud"]), orNone(d.Claims["sub"]))
	}
	return s + fmt.Sprintf(": %q", d.Text)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
