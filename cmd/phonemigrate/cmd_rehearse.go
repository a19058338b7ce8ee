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
	srv, err := phonemigratetest.NewServerFrom(snap, phonemigratetest.WithActionBuild(20*time.Millisecond, 1))
	if err != nil {
		return usageErrorf("%s: %v", file, err)
	}
	defer srv.Close()
	rh := &rehearsalRun{c: c, out: out, jsonOut: jsonOut, srv: srv, snap: snap, file: file, prog: newProgress(c.stderr, log.quiet, c.stderrTTY),
		res: rehearseOutput{Snapshot: file, Tenant: snap.Tenant, Gateways: []phonemigratetest.GatewayRedirect{}, Paths: []rehearsePath{}}}
	if err := rh.connect(ctx, log); err != nil {
		return err
	}
	applyErr, err := rh.run(ctx, opts)
	if err != nil || rh.res.Plan == nil {
		return err // or already unified: nothing to rehearse
	}
	return rh.report(applyErr)
}

// rehearsalRun is one rehearsal: the fake tenant served from the
// snapshot, the Migrator that migrates it, and what it found.
type rehearsalRun struct {
	c       *cli
	out     io.Writer // the matrix for a person (io.Discard with --json)
	jsonOut bool
	srv     *phonemigratetest.Server
	snap    *snapshot.Snapshot
	file    string
	prog    *progress
	cl      phonemigrate.Client
	m       *phonemigrate.Migrator
	res     rehearseOutput
}

// connect says what is served, and connects a Migrator to the fake.
func (rh *rehearsalRun) connect(ctx context.Context, log logging) error {
	fmt.Fprintf(rh.out, "phonemigrate rehearse: the tenant of %s, served by a fake Auth0 tenant at %s (offline).\n", printable(rh.file), rh.srv.BaseURL)
	for _, r := range rh.srv.GatewayRedirects() {
		fmt.Fprintf(rh.out, "Connection %s: its gateway %s is played by a fake gateway at %s.\n", printable(r.Connection), printable(redact.URL(r.Original)), r.Local)
		r.Original = redact.URL(r.Original)
		rh.res.Gateways = append(rh.res.Gateways, r)
	}
	fmt.Fprintln(rh.out)
	logger := log.logger(rh.c.stderr)
	var err error
	if rh.cl, err = rh.c.connect(ctx, tenantConfig{BaseURL: rh.srv.BaseURL, Token: phonemigrate.Secret(rh.srv.Token)}, logger); err != nil {
		return err
	}
	tenant := rh.snap.Tenant
	if tenant == "" {
		tenant = "rehearsal"
	}
	rh.m, err = phonemigrate.New(rh.cl, phonemigrate.WithTenant(tenant), phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(rh.prog.observe), phonemigrate.WithPollInterval(10*time.Millisecond))
	return err
}

// confirmArrivals is Options.Confirm of a rehearsal: a test message
// arrived when a message reached its recipient since the last one.
func (rh *rehearsalRun) confirmArrivals(opts phonemigrate.Options) func(context.Context, phonemigrate.TestMessage) (bool, error) {
	// seen is, per test recipient, how many messages had reached it when
	// its last test message was confirmed.
	seen := map[string]int{}
	for _, r := range opts.TestRecipients {
		seen[r] = arrivals(rh.srv, r)
	}
	return func(ctx context.Context, t phonemigrate.TestMessage) (bool, error) {
		n := arrivals(rh.srv, t.Recipient)
		got := n > seen[t.Recipient]
		seen[t.Recipient] = n
		rh.prog.note("  test message by %s to %s: %s", t.Method, t.Recipient, map[bool]string{true: "arrived", false: "did not arrive"}[got])
		return got, nil
	}
}

// run plans, sends every message before the migration, migrates, sends
// them again and compares, then rolls back and compares the tenant with
// the snapshot. applyErr is the migration's failure (still rolled back);
// err a failure of the rehearsal itself. A tenant already unified leaves
// res.Plan nil.
func (rh *rehearsalRun) run(ctx context.Context, opts phonemigrate.Options) (applyErr, err error) {
	opts.TwilioAPIBaseURL = rh.srv.Twilio().URL
	opts.Confirm = rh.confirmArrivals(opts)
	plan, err := rh.m.Plan(ctx, opts)
	if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		fmt.Fprintf(rh.out, "Nothing to migrate: the tenant is already on the Unified Phone Experience.\n")
		if rh.jsonOut {
			rh.res.State, rh.res.Same, rh.res.Restored = string(phonemigrate.StateAlreadyUnified), true, true
			return nil, rh.c.writeJSON(rh.res)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rh.res.Plan = plan
	if plan.Provider == phonemigrate.ProviderKindCustom {
		if _, err := exec.LookPath("node"); err != nil {
			return nil, errors.New("the rehearsal migrates to a custom phone provider whose Action runs in Node.js, and node is not on PATH; install Node.js 18 or later")
		}
	}
	if applyErr, err = rh.migrate(ctx, opts, plan); err != nil {
		return nil, err
	}
	rh.res.Same = applyErr == nil && allSame(rh.res.Paths)
	return applyErr, rh.rollBack(ctx)
}

// migrate applies the migration to the fake, comparing each path's
// message before and after.
func (rh *rehearsalRun) migrate(ctx context.Context, opts phonemigrate.Options, plan *phonemigrate.Plan) (applyErr, err error) {
	reqs := rh.srv.State().Messages(rehearseRecipient)
	before, err := rh.srv.Deliver(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("sending the messages before the migration: %w", err)
	}
	rh.prog.note("Migrating the fake tenant:")
	applied, applyErr := rh.m.Apply(ctx, opts)
	if applyErr != nil {
		rh.res.State = string(phonemigrate.StateFailed)
		return applyErr, nil
	}
	rh.res.State = string(applied.State)
	after, err := rh.srv.Deliver(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("sending the messages after the migration: %w", err)
	}
	for _, cmp := range phonemigratetest.Compare(before, after) {
		p := rehearsePath{Comparison: cmp}
		if !cmp.Same {
			p.Causes = causes(cmp, plan.Warnings)
		}
		rh.res.Paths = append(rh.res.Paths, p)
	}
	return nil, nil
}

// rollBack rolls the fake back and compares it with the snapshot.
func (rh *rehearsalRun) rollBack(ctx context.Context) error {
	rh.prog.note("Rolling the fake tenant back:")
	if _, err := rh.m.Rollback(ctx); err != nil {
		rh.res.RestoreDiff = "the rollback failed: " + err.Error()
		return nil
	}
	rh.res.RolledBack = true
	back, err := snapshot.Take(ctx, rh.cl, rh.snap.Tenant)
	if err != nil {
		return fmt.Errorf("reading the tenant after the rollback: %w", err)
	}
	rh.srv.RestoreGatewayURLs(back)
	rh.res.RestoreDiff = phonemigratetest.DiffSnapshots(rh.snap, back)
	rh.res.Restored = rh.res.RestoreDiff == ""
	return nil
}

// report prints the matrix and the rollback's outcome (or the JSON), and
// returns what sets the exit code.
func (rh *rehearsalRun) report(applyErr error) error {
	out, res := rh.out, &rh.res
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
	if rh.jsonOut {
		if err := rh.c.writeJSON(res); err != nil {
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
