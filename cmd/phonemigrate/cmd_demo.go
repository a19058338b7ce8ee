package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// demoRecipient is the phone number the demo's messages go to. It is in
// the 555-01xx range reserved for fiction; the fake never sends anything
// outside this process.
const demoRecipient = "+15555550100"

// demoMessage is one delivery in demo output.
type demoMessage struct {
	Route     string `json:"route"`
	Text      string `json:"text"`
	Delivered bool   `json:"delivered"`
	Detail    string `json:"detail,omitempty"`
}

// demoOutput is the --json output of demo.
type demoOutput struct {
	Scenario string             `json:"scenario"`
	Message  demoRequest        `json:"message"`
	Before   demoMessage        `json:"before"`
	Plan     *phonemigrate.Plan `json:"plan"`
	State    string             `json:"state"`
	Steps    []jsonTransition   `json:"steps"`
	After    demoMessage        `json:"after"`
	Match    bool               `json:"match"`
}

type demoRequest struct {
	Kind           string `json:"kind"`
	Connection     string `json:"connection,omitempty"`
	Recipient      string `json:"recipient"`
	DeliveryMethod string `json:"delivery_method"`
}

// errDemoMismatch makes demo exit 1 when the deliveries differ.
var errDemoMismatch = errors.New("the message sent after the migration differs from the one sent before")

// runDemo runs the whole story against an embedded fake tenant: a code sent
// the legacy way, the plan, the migration (provider test messages go to the
// demo recipient and are confirmed by checking the fake received them), the
// same code sent the new way, and both deliveries side by side.
func runDemo(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("demo")
	var (
		scen    scenarioFlag
		jsonOut bool
		log     logging
	)
	scen.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the demo's result as JSON (schema in docs/cli.md)")
	log.register(fs)
	if err := c.parseFlags(fs, "demo", args, log.check, scen.check); err != nil {
		return err
	}
	sc := scen.sc
	out := io.Writer(c.stdout)
	if jsonOut {
		out = io.Discard
	}
	prog := newProgress(c.stderr, log.quiet, c.stderrTTY)
	logger := log.logger(c.stderr)

	srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(20*time.Millisecond, 1))
	defer srv.Close()
	fmt.Fprintf(out, "phonemigrate demo: scenario %s, a fake Auth0 tenant at %s (offline).\n\n", sc, srv.BaseURL)

	req, canSend := demoNotifyRequest(srv.State())
	var before phonemigratetest.Delivery
	if canSend {
		ds, err := srv.Deliver(ctx, []phonemigratetest.NotifyRequest{req})
		if err != nil {
			return fmt.Errorf("sending the message before the migration: %w", err)
		}
		before = ds[0]
		fmt.Fprintf(out, "1. Before: a %s code to %s, sent the way the tenant sends it today.\n", req.Kind, req.Recipient)
		fmt.Fprintf(out, "   %s\n\n", describeDelivery(before))
	} else {
		fmt.Fprintf(out, "1. Before: the tenant has no Passwordless SMS connection and no MFA phone factor, so there is no message to send.\n\n")
	}

	cl, err := c.connect(ctx, tenantConfig{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)}, logger)
	if err != nil {
		return err
	}
	m, err := phonemigrate.New(cl,
		phonemigrate.WithTenant("demo-"+string(sc)),
		phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(prog.observe),
		phonemigrate.WithPollInterval(10*time.Millisecond),
	)
	if err != nil {
		return err
	}
	// seen is how many messages had reached the demo recipient when the
	// last test message was confirmed.
	seen := arrivals(srv, demoRecipient)
	opts := phonemigrate.Options{
		// The fake's Twilio account; a fake value, not a secret.
		TwilioAuthToken: phonemigrate.Secret(phonemigratetest.TwilioAuthToken),
		TestRecipients:  []string{demoRecipient},
		// Twilio targets inside a generated Action call the fake Twilio.
		TwilioAPIBaseURL: srv.Twilio().URL,
		// Auth0 gives no delivery feedback for test messages; a person
		// would check their phone. The demo checks the fake instead.
		Confirm: func(ctx context.Context, t phonemigrate.TestMessage) (bool, error) {
			n := arrivals(srv, t.Recipient)
			got := n > seen
			seen = n
			prog.note("  test message by %s to %s: %s", t.Method, t.Recipient, map[bool]string{true: "arrived", false: "did not arrive"}[got])
			return got, nil
		},
	}
	plan, err := m.Plan(ctx, opts)
	if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		fmt.Fprintf(out, "2. Nothing to migrate: the tenant is already on the Unified Phone Experience.\n")
		if jsonOut {
			return c.writeJSON(demoOutput{
				Scenario: string(sc), Message: toDemoRequest(req), Before: toDemoMessage(before),
				State: string(phonemigrate.StateAlreadyUnified), Steps: []jsonTransition{}, After: toDemoMessage(before), Match: before.Delivered,
			})
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !canSend {
		return errors.New("the plan found something to migrate but the demo has no message to send")
	}
	fmt.Fprintf(out, "2. Plan (nothing written yet):\n%s\n", indent(printable(plan.Text()), "   "))
	if plan.Provider == phonemigrate.ProviderKindCustom {
		if _, err := exec.LookPath("node"); err != nil {
			return errors.New("the demo migrates to a custom phone provider whose Action runs in Node.js, and node is not on PATH; install Node.js 18 or later")
		}
	}
	fmt.Fprintf(out, "3. Migrating (progress on stderr)...\n")
	prog.note("Migrating the fake tenant:")
	res, err := m.Apply(ctx, opts)
	if err != nil {
		return fmt.Errorf("the migration failed: %w", err)
	}
	fmt.Fprintf(out, "   Migration %s: the plan's %d steps, %d state transitions in all (progress above).\n\n", res.State, len(plan.Steps), len(prog.steps))

	ds, err := srv.Deliver(ctx, []phonemigratetest.NotifyRequest{req})
	if err != nil {
		return fmt.Errorf("sending the message after the migration: %w", err)
	}
	after := ds[0]
	fmt.Fprintf(out, "4. After: the same %s code to %s, sent the new way.\n", req.Kind, req.Recipient)
	fmt.Fprintf(out, "   %s\n\n", describeDelivery(after))

	// The one before/after check, shared with rehearse and the
	// integration tests.
	cmp := phonemigratetest.Compare([]phonemigratetest.Delivery{before}, []phonemigratetest.Delivery{after})[0]
	match := cmp.Same
	fmt.Fprintf(out, "5. Side by side:\n")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "   \tbefore\tafter\n")
	fmt.Fprintf(tw, "   route\t%s\t%s\n", before.Route, after.Route)
	fmt.Fprintf(tw, "   delivered\t%s\t%s\n", yesNo(before.Delivered), yesNo(after.Delivered))
	fmt.Fprintf(tw, "   text\t%s\t%s\n", before.Text, after.Text)
	tw.Flush()
	if match {
		fmt.Fprintf(out, "\nMatch: the user gets the same message, now through the Unified Phone Experience.\n")
	} else {
		fmt.Fprintf(out, "\nMismatch: the user would get a different message (or none) after the migration: %s.\n", printable(strings.Join(cmp.Why, "; ")))
	}
	if jsonOut {
		if err := c.writeJSON(demoOutput{
			Scenario: string(sc),
			Message:  toDemoRequest(req),
			Before:   toDemoMessage(before),
			Plan:     plan,
			State:    string(res.State),
			Steps:    jsonSteps(prog.steps),
			After:    toDemoMessage(after),
			Match:    match,
		}); err != nil {
			return err
		}
	}
	if !match {
		return errDemoMismatch
	}
	return nil
}

// demoNotifyRequest picks the message to send: a Passwordless code through
// the first SMS connection, else an MFA SMS code.
func demoNotifyRequest(st phonemigratetest.State) (phonemigratetest.NotifyRequest, bool) {
	for _, conn := range st.Connections {
		if conn.Strategy == phonemigrate.StrategySMS {
			return phonemigratetest.NotifyRequest{Kind: "passwordless", Connection: conn.Name, Recipient: demoRecipient, DeliveryMethod: "text", MessageType: "otp_verify"}, true
		}
	}
	for _, f := range st.Guardian.Factors {
		if f.Name == "sms" && f.Enabled {
			return phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: demoRecipient, DeliveryMethod: "text", MessageType: "otp_verify"}, true
		}
	}
	return phonemigratetest.NotifyRequest{}, false
}

func toDemoRequest(r phonemigratetest.NotifyRequest) demoRequest {
	return demoRequest{Kind: r.Kind, Connection: r.Connection, Recipient: r.Recipient, DeliveryMethod: r.DeliveryMethod}
}

func toDemoMessage(r phonemigratetest.Delivery) demoMessage {
	return demoMessage{Route: r.Route, Text: r.Text, Delivered: r.Delivered, Detail: r.Detail}
}

func describeDelivery(r phonemigratetest.Delivery) string {
	s := fmt.Sprintf("route %s, delivered: %s, text: %q", r.Route, yesNo(r.Delivered), r.Text)
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" || l == "\n" {
			b.WriteString(l)
			continue
		}
		b.WriteString(prefix + l)
	}
	return b.String()
}

// arrivals counts the messages for recipient that the fake's gateway
// accepted (token verified, 200) or its Twilio API accepted.
func arrivals(srv *phonemigratetest.Server, recipient string) int {
	n := 0
	for _, m := range srv.Gateway().Messages() {
		if m.Recipient == recipient && m.Verified && m.Status == 200 {
			n++
		}
	}
	for _, m := range srv.Twilio().Messages() {
		if m.To == recipient {
			n++
		}
	}
	return n
}
