package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

// TestFleetProgressBar checks the terminal rendering: the bar is redrawn in
// place (\r) as tenants finish, counts failures, and its line is ended once.
func TestFleetProgressBar(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newFleetProgress(&buf, true, false, 4)
	p.event(fleet.Event{Kind: fleet.EventStarted, Tenant: "a", Total: 4})
	p.event(fleet.Event{Kind: fleet.EventFinished, Tenant: "a", Done: 1, Total: 4, Result: &fleet.TenantResult{Outcome: fleet.OutcomeCompleted}})
	p.event(fleet.Event{Kind: fleet.EventFinished, Tenant: "b", Done: 2, Total: 4, Result: &fleet.TenantResult{Outcome: fleet.OutcomeFailed, Error: "boom"}})
	p.finish()
	want := regexp.MustCompile(`^\r\[#####\.{15}\] 1/4 tenants  \d+s\r\[##########\.{10}\] 2/4 tenants  1 failed  \d+s\n$`)
	if !want.Match(buf.Bytes()) {
		t.Errorf("bar output %q does not match %s", buf.String(), want)
	}

	// Not a terminal: one line per finished tenant, no bar.
	buf.Reset()
	p = newFleetProgress(&buf, false, false, 2)
	p.event(fleet.Event{Kind: fleet.EventFinished, Tenant: "b", Done: 1, Total: 2, Result: &fleet.TenantResult{Outcome: fleet.OutcomeFailed, Error: "boom"}})
	p.finish()
	if got, want := buf.String(), "b: failed (0s): boom.\n"; got != want {
		t.Errorf("plain output %q, want %q", got, want)
	}

	// Quiet: nothing.
	buf.Reset()
	p = newFleetProgress(&buf, true, true, 2)
	p.event(fleet.Event{Kind: fleet.EventFinished, Tenant: "b", Done: 1, Total: 2, Result: &fleet.TenantResult{Outcome: fleet.OutcomeCompleted}})
	p.finish()
	if buf.Len() != 0 {
		t.Errorf("quiet output %q", buf.String())
	}
}
