package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// The pre-write rehearsal of plan and apply: before apply writes anything
// it proves the outcome. It reads the tenant (snapshot.Take:
// reads only), serves the copy from a fake tenant on loopback
// (phonemigratetest.NewServerFrom, gateways played by fake gateways that
// verify each connection's JWT), migrates the copy with the same options,
// sends every consumer's message before and after, and compares what
// arrives (destination, sender, recipient, text, JWT audience and
// subject). A consumer that would receive something else is a difference;
// apply refuses (exit 3, nothing written) while any difference is not
// accepted with --accept-difference ID, where ID is the consumer's path
// ("passwordless/sms/text/otp_verify", "mfa/voice/otp_enroll") that plan
// prints. --no-rehearse (or PHONEMIGRATE_REHEARSE=0) skips it; plan says so.

// envRehearse turns the pre-write rehearsal off when "0".
const envRehearse = "PHONEMIGRATE_REHEARSE"

// proveFlags are plan's and apply's rehearsal flags.
type proveFlags struct {
	skip   bool
	accept stringList
}

func (p *proveFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&p.skip, "no-rehearse", false, "do not rehearse the migration on a fake copy of the tenant before writing (the plan then says the outcome is not proven)")
	fs.Var(&p.accept, "accept-difference", "accept that consumer `ID` (as the plan lists it, e.g. passwordless/sms/text/otp_verify, mfa/voice/otp_enroll) receives something else after the migration, as the rehearsal or the proof of a send-phone-message Action's copy found it; repeatable")
}

// acceptsProof reports whether the accepted IDs name every consumer on
// which the proof of plan's send-phone-message Action copy found a
// difference: --accept-difference accepts those as it accepts the
// rehearsal's (--accept-action-differences, older, accepts them all).
func (p *proveFlags) acceptsProof(plan *phonemigrate.Plan) bool {
	if plan == nil || plan.Proof == nil || len(plan.Proof.Consumers) == 0 {
		return false
	}
	for _, id := range plan.Proof.Consumers {
		if !slices.Contains(p.accept, id) {
			return false
		}
	}
	return true
}

// check refuses an --accept-difference that is not a consumer ID: a typo
// would otherwise accept nothing, silently.
func (p *proveFlags) check() error {
	for _, id := range p.accept {
		if !outcome.ValidID(id) {
			return usageErrorf("--accept-difference %q is not a consumer ID such as passwordless/sms/text/otp_verify or mfa/voice/otp_enroll (the plan lists them; nothing was written)", id)
		}
	}
	return nil
}

// enabled reports whether the rehearsal runs.
func (p *proveFlags) enabled(getenv func(string) string) bool {
	return !p.skip && getenv(envRehearse) != "0"
}

// rehearsalRecipient receives every rehearsed message (on the fake).
const rehearsalRecipient = "+15555550123"

// difference is one consumer that would receive something else.
type difference struct {
	ID       string   `json:"id"`
	Why      []string `json:"why"`
	Accepted bool     `json:"accepted"`
}

// rehearsal is what the pre-write rehearsal found.
type rehearsal struct {
	// Skipped says why it did not run ("" when it ran).
	Skipped     string       `json:"skipped,omitempty"`
	Consumers   int          `json:"consumers"`
	Differences []difference `json:"differences"`
	// accepted are the findings check reports on the migrated copy for
	// the consumers accepted with --accept-difference: what apply records
	// (phonemigrate.Options.AcceptedDifferences) so that check, later,
	// does not count them — and counts anything else.
	accepted []phonemigrate.Finding
}

// unaccepted returns the differences not accepted.
func (r *rehearsal) unaccepted() []difference {
	var out []difference
	for _, d := range r.Differences {
		if !d.Accepted {
			out = append(out, d)
		}
	}
	return out
}

// errOutcomeDiffers is apply's refusal: exit 3, nothing written.
type errOutcomeDiffers struct {
	ids []string
	// fleet: the IDs are accepted in the fleet file, not with a flag.
	fleet bool
}

func (e *errOutcomeDiffers) Error() string {
	how := "accept each with --accept-difference ID"
	if e.fleet {
		how = "list each in the tenant's options.accept_differences"
	}
	return fmt.Sprintf("the rehearsal shows that %d consumer(s) would receive something else after the migration (%s); nothing was written: fix the tenant, or %s", len(e.ids), strings.Join(e.ids, ", "), how)
}

// consumerID is the stable ID of a rehearsed path, the delivery model's
// consumer id (package outcome).
func consumerID(r phonemigratetest.NotifyRequest) string {
	method, typ := r.DeliveryMethod, r.MessageType
	if method == "" || method == "sms" {
		method = "text"
	}
	if typ == "" {
		typ = "otp_verify"
	}
	if r.Kind == "passwordless" {
		return fmt.Sprintf("passwordless/%s/%s/%s", r.Connection, method, typ)
	}
	return fmt.Sprintf("mfa/%s/%s", method, typ)
}

// rehearse proves the outcome of migrating the tenant client reads with
// opts, on a fake copy. It writes nothing to the tenant. hook is the
// send-phone-message Action the plan copies ("" when none): a copy of the
// tenant would run it, and its copy, with their real outbound calls — real
// messages to real phones — so such a tenant is not rehearsed; the plan's
// proof ran both Actions against a recording server instead.
func (c *cli) rehearse(ctx context.Context, client phonemigrate.Client, tenant string, opts phonemigrate.Options, pf proveFlags, logger *slog.Logger, hook string) (*rehearsal, error) {
	if !pf.enabled(c.getenv) {
		why := "--no-rehearse"
		if !pf.skip {
			why = envRehearse + "=0"
		}
		return &rehearsal{Skipped: why, Differences: []difference{}}, nil
	}
	if hook != "" {
		return &rehearsal{Skipped: fmt.Sprintf("MFA goes through the send-phone-message Action %q, whose calls a copy of the tenant would really make; the Proof above ran it and its copy against a recording server instead", hook),
			Differences: []difference{}}, nil
	}
	snap, err := snapshot.Take(ctx, client, tenant)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	srv, err := phonemigratetest.NewServerFrom(snap, phonemigratetest.WithActionBuild(10*time.Millisecond, 1))
	if err != nil {
		return nil, fmt.Errorf("rehearsal: the tenant cannot be copied to a fake: %w", err)
	}
	defer srv.Close()
	cl, err := c.connect(ctx, tenantConfig{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)}, logger)
	if err != nil {
		return nil, err
	}
	m, err := phonemigrate.New(cl, phonemigrate.WithTenant(tenant), phonemigrate.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		phonemigrate.WithPollInterval(10*time.Millisecond))
	if err != nil {
		return nil, err
	}
	// The copy's secrets are placeholders its fakes accept: carry them
	// over; nothing leaves the machine, no test message is needed.
	o := opts
	o.TwilioAuthToken, o.TwilioAPIBaseURL, o.Confirm, o.Planned = "", srv.Twilio().URL, nil, nil
	o.TestRecipients, o.SkipTest, o.Canary = nil, true, watch.Canary{}
	plan, err := m.Plan(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: planning the copy: %w", err)
	}
	if plan.Provider == phonemigrate.ProviderKindCustom {
		if _, err := exec.LookPath("node"); err != nil {
			return nil, usageErrorf("the rehearsal runs the custom provider's Action in Node.js, and node is not on PATH: install Node.js 18 or later, or pass --no-rehearse (the outcome is then not proven before writing; nothing was written)")
		}
	}
	reqs := srv.State().Messages(rehearsalRecipient)
	before, err := srv.Deliver(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: sending before: %w", err)
	}
	out := &rehearsal{Consumers: len(reqs), Differences: []difference{}}
	if _, err := m.Apply(ctx, o); err != nil {
		return nil, fmt.Errorf("rehearsal: migrating the copy failed: %w", err)
	}
	after, err := srv.Deliver(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("rehearsal: sending after: %w", err)
	}
	var ids []string
	for i, cmp := range phonemigratetest.Compare(before, after) {
		if cmp.Same {
			continue
		}
		id := consumerID(reqs[i])
		out.Differences = append(out.Differences, difference{ID: id, Why: cmp.Why, Accepted: slices.Contains(pf.accept, id)})
		if slices.Contains(pf.accept, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		h, err := m.Check(ctx)
		if err != nil {
			return nil, fmt.Errorf("rehearsal: checking the migrated copy: %w", err)
		}
		for _, f := range h.Findings {
			if !f.Broken && slices.Contains(ids, f.Consumer) && (f.Invariant == phonemigrate.InvariantSameWords || f.Invariant == phonemigrate.InvariantSameRequest) {
				out.accepted = append(out.accepted, f)
			}
		}
	}
	return out, nil
}

// rehearsalText is the rehearsal's part of a plan.
func rehearsalText(r *rehearsal) string {
	var b strings.Builder
	switch {
	case r.Skipped != "":
		fmt.Fprintf(&b, "\nNot rehearsed (%s): apply writes without first proving on a fake copy of the tenant that every consumer receives the same.\n", r.Skipped)
	case len(r.Differences) == 0:
		fmt.Fprintf(&b, "\nRehearsed on a fake copy of the tenant: each of the %d consumer(s) receives the same after the migration.\n", r.Consumers)
	default:
		fmt.Fprintf(&b, "\nRehearsed on a fake copy of the tenant: %d of %d consumer(s) would receive something else after the migration:\n", len(r.Differences), r.Consumers)
		for _, d := range r.Differences {
			mark := "✗"
			if d.Accepted {
				mark = "accepted"
			}
			fmt.Fprintf(&b, "  %s %s\n", mark, d.ID)
			for _, w := range d.Why {
				fmt.Fprintf(&b, "      %s\n", w)
			}
		}
		if len(r.unaccepted()) > 0 {
			b.WriteString("apply refuses (nothing written) until each is fixed in the tenant or accepted with --accept-difference ID.\n")
		}
	}
	return b.String()
}

// proveOrRefuse is the check apply makes before its first write.
func proveOrRefuse(r *rehearsal) error {
	var ids []string
	for _, d := range r.unaccepted() {
		ids = append(ids, d.ID)
	}
	if len(ids) > 0 {
		return &errOutcomeDiffers{ids: ids}
	}
	return nil
}
