package phonemigrate_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// sharedGatewayDifference migrates a copy of the shared-gateway tenant
// (two connections, one gateway URL, different JWT settings) and returns
// the findings Check reports for the second connection (its words and its
// request): the differences a person accepts (as the CLI takes them from
// its rehearsal).
func sharedGatewayDifferences(t *testing.T) []phonemigrate.Finding {
	t.Helper()
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
	if err := srv.Make(t.Context(), phonemigratetest.AddSharedGatewayConnection); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	h, err := m.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []phonemigrate.Invariant
	for _, f := range h.Findings {
		got = append(got, f.Invariant)
		if want := "passwordless/" + phonemigratetest.SharedGatewayConnection + "/text/otp_verify"; f.Consumer != want {
			t.Errorf("finding's consumer = %q, want %q", f.Consumer, want)
		}
	}
	if diff := cmp.Diff([]phonemigrate.Invariant{phonemigrate.InvariantSameWords, phonemigrate.InvariantSameRequest}, got); diff != "" {
		t.Fatalf("Check on the migrated copy (-want +got):\n%s", diff)
	}
	return h.Findings
}

// TestCheckHonoursAcceptedDifferences: a difference accepted at apply is
// recorded in the checkpoint, and Check lists it as accepted, healthy —
// until the tenant differs in any other way.
func TestCheckHonoursAcceptedDifferences(t *testing.T) {
	requireNode(t)
	t.Parallel()
	accepted := sharedGatewayDifferences(t)

	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
	if err := srv.Make(t.Context(), phonemigratetest.AddSharedGatewayConnection); err != nil {
		t.Fatal(err)
	}
	o := fakeOptions(srv)
	o.AcceptedDifferences = accepted
	res, err := m.Apply(t.Context(), o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if diff := cmp.Diff(accepted, res.Checkpoint.Accepted); diff != "" {
		t.Errorf("checkpoint's accepted differences (-want +got):\n%s", diff)
	}
	h, err := m.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !h.Healthy() || h.State != "unified" {
		t.Errorf("Check after the accepted migration: state %s, findings %+v; want unified, none", h.State, h.Findings)
	}
	if diff := cmp.Diff(accepted, h.Accepted); diff != "" {
		t.Errorf("Health.Accepted (-want +got):\n%s", diff)
	}

	// Apply again on the completed checkpoint: nothing to do, not unhealthy.
	if _, err := m.Apply(t.Context(), o); err != nil && !errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		t.Errorf("Apply again: %v", err)
	}

	// Another Migrator, without the checkpoint, counts the difference.
	_, other := fakeTenantOn(t, srv)
	if h, err := other.Check(t.Context()); err != nil || h.Healthy() {
		t.Errorf("Check without the checkpoint: healthy=%v err=%v; want the difference counted", h != nil && h.Healthy(), err)
	}

	// Someone resets the template: a difference nobody accepted.
	if err := srv.Make(t.Context(), phonemigratetest.ResetTemplates); err != nil {
		t.Fatal(err)
	}
	h, err = m.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h.Healthy() {
		t.Errorf("Check after the template reset: healthy; want the new difference reported")
	}
	for _, f := range h.Findings {
		if f.Invariant != phonemigrate.InvariantSameWords {
			t.Errorf("unexpected finding after the template reset: %+v", f)
		}
	}
}

// TestAcceptedDifferencesValidated: a consumer without a code, or a
// finding naming no consumer, cannot be accepted; Apply refuses before
// writing.
func TestAcceptedDifferencesValidated(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]phonemigrate.Finding{
		"broken":      {Invariant: phonemigrate.InvariantSameRequest, Consumer: "passwordless/sms/text/otp_verify", Problem: "p", Broken: true},
		"no consumer": {Invariant: phonemigrate.InvariantSameWords, Problem: "p"},
		"no code":     {Invariant: phonemigrate.InvariantConsumersGetCodes, Consumer: "passwordless/sms/text/otp_verify", Problem: "p"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
			o := fakeOptions(srv)
			o.AcceptedDifferences = []phonemigrate.Finding{f}
			_, err := m.Apply(t.Context(), o)
			var ie *phonemigrate.InputError
			if !errors.As(err, &ie) || ie.Field != "AcceptedDifferences" {
				t.Fatalf("Apply: %v; want an InputError on AcceptedDifferences", err)
			}
			for _, r := range srv.Requests() {
				if r.Method != "GET" {
					t.Errorf("refused Apply wrote: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}
