package phonemigrate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// Plan is what a migration will write, in order. It is deterministic for a
// given tenant and Options, holds no secret values (they are shown as
// "[redacted]"), and marshals to stable JSON with encoding/json.
type Plan struct {
	// Title heads the text form; empty means "Migration plan". A repair
	// proposal ([UnhealthyError.Repair]) is titled [repairTitle], a
	// rollback plan ([Migrator.RollbackPlan]) [rollbackTitle].
	Title    string       `json:"title,omitempty"`
	Tenant   string       `json:"tenant,omitempty"`
	Provider ProviderKind `json:"provider"`
	Delivery delivery.Set `json:"delivery"`
	Steps    []Step       `json:"steps"`
	// Warnings are things a person should know before applying: unknown
	// template macros, the undocumented use_phone_provider switch, a
	// replaced provider, MFA moving to another sender...
	Warnings []string `json:"warnings,omitempty"`
	// TwilioToken says where the Twilio auth token comes from (carried over
	// from a named legacy setting, or given by the caller) — never its
	// value; empty when Twilio is not used.
	TwilioToken string `json:"twilio_token,omitempty"`
	// TwilioCheck says how the Twilio credentials are verified with Twilio
	// before they are written, or that the check is skipped.
	TwilioCheck string `json:"twilio_check,omitempty"`
	// ActionSecrets names the secrets of the send-phone-message Action
	// the migration copies, whose values the operator gives
	// ([Options.ActionSecret]); empty without such an Action.
	ActionSecrets []string `json:"action_secrets,omitempty"`
	// Hook is the name of that Action; "" without one.
	Hook string `json:"hook,omitempty"`
	// hookProof is what running that Action and its copy on sample events
	// showed; nil without such an Action.
	Proof *hookProof `json:"proof,omitempty"`
	// Integrations are the applications that may break at the switch
	// ([Migrator.IntegrationsAtRisk]); set by [Migrator.Plan] before the
	// switch.
	Integrations *IntegrationsReport `json:"integrations,omitempty"`
}

// Step is one forward step of the migration, or of a repair.
type Step struct {
	// State is the state reached when this step completes; "" for the
	// steps of a repair or a rollback plan, which reach no forward state.
	State State  `json:"state"`
	Title string `json:"title"`
	// Writes are the step's Management API writes, in order: each its
	// Method and Path, Before (the current value, nil when the resource
	// does not exist yet) and After (the value written), showing only the
	// fields the write touches, secrets as "[redacted]", and a Note when
	// the values alone do not explain it.
	Writes []plannedWrite `json:"writes"`
}

// plannedWrite is one Management API write. Before is the current value
// (nil when the resource does not exist yet), After the value written; both show only
// the fields the write touches, with secrets as "[redacted]".
type plannedWrite struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	// Note explains the write when the values alone do not (where a
	// template comes from, what an absent key means).
	Note string `json:"note,omitempty"`
}

// Text returns the plan in a deterministic human-readable form: a header
// (without provider and delivery lines when the plan has no provider, as
// a repair), the warnings, then each step with its writes and their before
// and after values as compact JSON.
func (p *Plan) Text() string {
	var b strings.Builder
	tenant := p.Tenant
	if tenant == "" {
		tenant = "(unnamed tenant)"
	}
	fmt.Fprintf(&b, "%s for %s\n", nonEmpty(p.Title, "Migration plan"), tenant)
	if p.Provider != "" || p.Title == "" {
		fmt.Fprintf(&b, "Provider: %s\nDelivery: %s\n", p.Provider, p.Delivery)
	}
	if p.TwilioToken != "" {
		fmt.Fprintf(&b, "Twilio token: %s\n", p.TwilioToken)
	}
	if p.TwilioCheck != "" {
		fmt.Fprintf(&b, "Twilio check: %s\n", p.TwilioCheck)
	}
	if len(p.ActionSecrets) > 0 {
		fmt.Fprintf(&b, "Action secrets: %s (values from the operator: %s<NAME>)\n", strings.Join(p.ActionSecrets, ", "), ActionSecretEnvPrefix)
	}
	if p.Proof != nil {
		b.WriteString(p.Proof.text())
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, w := range p.Warnings {
			fmt.Fprintf(&b, "  ! %s\n", w)
		}
	}
	if p.Integrations != nil {
		b.WriteString("\n" + p.Integrations.Text())
	}
	for i, s := range p.Steps {
		if s.State == "" {
			fmt.Fprintf(&b, "\n%d. %s\n", i+1, s.Title)
		} else {
			fmt.Fprintf(&b, "\n%d. %s → %s\n", i+1, s.Title, s.State)
		}
		if len(s.Writes) == 0 {
			b.WriteString("   (no writes)\n")
		}
		for _, w := range s.Writes {
			fmt.Fprintf(&b, "   %s %s\n", w.Method, w.Path)
			if w.Before != nil {
				fmt.Fprintf(&b, "     before: %s\n", compactJSON(w.Before))
			}
			if w.After != nil {
				fmt.Fprintf(&b, "     after:  %s\n", compactJSON(w.After))
			}
			if w.Note != "" {
				fmt.Fprintf(&b, "     note:   %s\n", w.Note)
			}
		}
	}
	return b.String()
}

func compactJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(data)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
