package fleet

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// Outcome is how a tenant's run ended.
type Outcome string

// The outcomes of a tenant.
const (
	OutcomeCompleted      Outcome = "completed"       // migrated in this run
	OutcomeAlreadyDone    Outcome = "already_done"    // its checkpoint said completed; nothing written
	OutcomeAlreadyUnified Outcome = "already_unified" // already on the Unified Phone Experience; nothing written
	OutcomeFailed         Outcome = "failed"          // see Error and ExitCode; the checkpoint lets a rerun resume
	// OutcomeNeedsRepair: the tenant is switched to the Unified Phone
	// Experience and users get no code now; nothing written. Error names
	// the findings and the repair ('phonemigrate repair' or
	// [phonemigrate.Migrator.Repair] on that tenant), after which a rerun
	// migrates it.
	OutcomeNeedsRepair Outcome = "needs_repair"
	OutcomeCanceled    Outcome = "canceled" // the run was cancelled before or while it ran
)

// OK reports whether o is a success (nothing left to do for the tenant).
func (o Outcome) OK() bool {
	return o == OutcomeCompleted || o == OutcomeAlreadyDone || o == OutcomeAlreadyUnified
}

// TenantResult is what happened to one tenant.
type TenantResult struct {
	Name       string             `json:"name"`
	Outcome    Outcome            `json:"outcome"`
	State      phonemigrate.State `json:"state,omitempty"`
	Checkpoint string             `json:"checkpoint"`
	// ResumedFrom is the state the run resumed from, when a checkpoint of an
	// unfinished migration existed.
	ResumedFrom phonemigrate.State `json:"resumed_from,omitempty"`
	AlreadyDone bool               `json:"already_done,omitempty"`
	// Steps counts the state transitions of this run.
	Steps    int           `json:"steps"`
	Duration time.Duration `json:"-"`
	// Error is the failure, as text without secrets; ExitCode is what the
	// CLI would exit with for this tenant alone ([phonemigrate.ExitCode]:
	// 2 bad input, 3 user action first, 1 otherwise).
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exit_code"`

	err error
}

// Err returns the tenant's error (errors.Is/As work on it), or nil.
func (r TenantResult) Err() error { return r.err }

// MarshalJSON adds "duration_ms" to the JSON form.
func (r TenantResult) MarshalJSON() ([]byte, error) {
	type plain TenantResult
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(r), r.Duration.Milliseconds()})
}

// Report is the result of [Runner.Run]. Its JSON form is
//
//	{"started": RFC 3339, "duration_ms": N, "concurrency": N,
//	 "total": N, "succeeded": N, "failed": N,
//	 "tenants": [{"name", "outcome", "state", "checkpoint", "resumed_from",
//	              "already_done", "steps", "duration_ms", "error", "exit_code"}, ...]}
//
// with tenants in file order; "failed" counts every tenant that is not a
// success (failed or canceled).
type Report struct {
	Started     time.Time      `json:"started"`
	Duration    time.Duration  `json:"-"`
	Concurrency int            `json:"concurrency"`
	Tenants     []TenantResult `json:"tenants"`
}

// Failed counts the tenants whose outcome is not a success.
func (r *Report) Failed() int {
	n := 0
	for _, t := range r.Tenants {
		if !t.Outcome.OK() {
			n++
		}
	}
	return n
}

// MarshalJSON adds the counts and "duration_ms".
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		DurationMS int64 `json:"duration_ms"`
		Total      int   `json:"total"`
		Succeeded  int   `json:"succeeded"`
		Failed     int   `json:"failed"`
	}{(*plain)(r), r.Duration.Milliseconds(), len(r.Tenants), len(r.Tenants) - r.Failed(), r.Failed()})
}

// Table renders the report as a text table, one row per tenant in file
// order, then a totals line:
//
//	TENANT   OUTCOME    STATE      STEPS  DURATION  ERROR
//	acme-eu  completed  completed  10     2.31s
//	acme-us  failed     failed     3      410ms     injected 500 ...
//
//	2 tenants: 1 succeeded, 1 failed (12.04s, concurrency 2).
//
// Errors are shortened to their first 120 characters on one line.
func (r *Report) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tOUTCOME\tSTATE\tSTEPS\tDURATION\tERROR")
	for _, t := range r.Tenants {
		state := string(t.State)
		if state == "" {
			state = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", t.Name, t.Outcome, state, t.Steps, roundDuration(t.Duration), shorten(t.Error, 120))
	}
	tw.Flush()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	plural := "s"
	if len(r.Tenants) == 1 {
		plural = ""
	}
	return strings.Join(lines, "\n") + fmt.Sprintf("\n\n%d tenant%s: %d succeeded, %d failed (%s, concurrency %d).\n",
		len(r.Tenants), plural, len(r.Tenants)-r.Failed(), r.Failed(), roundDuration(r.Duration), r.Concurrency)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
