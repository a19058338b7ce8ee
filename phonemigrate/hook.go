package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// MFA through a send-phone-message Action (Guardian's selected provider
// phone-message-hook): the migration copies the Action, unchanged, into the
// custom-phone-provider Action behind a generated adapter
// (actiongen.Hook), proves the copy makes the same requests as the
// original (proof.go), and never writes the original.

// ActionSecretEnvPrefix is the prefix of the environment variables the CLI
// reads the send-phone-message Action's secret values from:
// PHONEMIGRATE_ACTION_SECRET_<NAME>.
const ActionSecretEnvPrefix = "PHONEMIGRATE_ACTION_SECRET_"

// ActionSecretError is returned by Apply, before any write, when
// [Options.ActionSecrets] holds no value for secrets of the
// send-phone-message Action the migration copies: Auth0 never returns
// Action secret values, so the operator gives them. [ExitCode] maps it to
// 2.
type ActionSecretError struct {
	Action  string   // the send-phone-message Action's name
	Missing []string // secret names, sorted
}

func (e *ActionSecretError) Error() string {
	envs := make([]string, len(e.Missing))
	for i, n := range e.Missing {
		envs[i] = ActionSecretEnvPrefix + n
	}
	return fmt.Sprintf("the send-phone-message Action %q has secret(s) %s, whose values Auth0 never returns: give them (%s) so that the copy can carry them; nothing was written",
		e.Action, strings.Join(e.Missing, ", "), strings.Join(envs, ", "))
}

// hookIntent records the Action a plan copies.
func hookIntent(a *Action) *hookCopyIntent {
	h := &hookCopyIntent{ActionID: a.ID, ActionName: a.Name, Runtime: a.Runtime, CodeSHA256: codeHash(a.Code),
		SecretNames: slices.Clone(a.SecretNames), Dependencies: slices.Clone(a.Dependencies)}
	if h.SecretNames == nil {
		h.SecretNames = []string{}
	}
	sort.Strings(h.SecretNames)
	if h.Dependencies == nil {
		h.Dependencies = []ActionDependency{}
	}
	return h
}

// unsentHookTypes are the notification types the custom-phone-provider
// trigger sends and send-phone-message never received; the copy drops
// them.
var unsentHookTypes = []string{"blocked_account", "change_password", "password_breach"}

// hookWarnings are what a person must know before a send-phone-message
// Action is copied.
func hookWarnings(a *Action, o *Options) []string {
	others := []string{}
	for _, t := range a.SupportedTriggers {
		if t != triggerSendPhoneMessage {
			others = append(others, t)
		}
	}
	w := []string{fmt.Sprintf("MFA sends through the send-phone-message Action %q (%s). Its code is copied, unchanged, into the new custom-phone-provider Action behind a generated adapter that builds the legacy event by Auth0's table (otp_verify → second-factor-authentication, otp_enroll → enrollment, text/voice → sms/voice, as_text/as_voice → text, locale → language, client.metadata → client.client_metadata); the original is never modified or unbound (it stays bound to send-phone-message%s), and rollback deletes only the copy.",
		a.Name, a.ID, alsoTriggers(others)),
		fmt.Sprintf("The custom-phone-provider trigger also sends %s notifications, which the send-phone-message Action never received: the copy does not give them to it, it drops them (api.notification.drop; Auth0 logs the drop), so nobody gets them by phone, as before. Edit the copy to deliver them.", strings.Join(unsentHookTypes, ", ")),
	}
	if len(a.SecretNames) > 0 {
		names := slices.Clone(a.SecretNames)
		sort.Strings(names)
		var missing []string
		for _, n := range names {
			if _, ok := o.actionSecret(n); !ok {
				missing = append(missing, n)
			}
		}
		s := fmt.Sprintf("The Action's secrets (%s) are carried by name; Auth0 never returns their values, so Apply takes each from the operator (CLI: %s<NAME>, or a prompt on a terminal)", strings.Join(names, ", "), ActionSecretEnvPrefix)
		if len(missing) > 0 {
			s += "; missing now: " + strings.Join(missing, ", ") + " (Apply stops before any write without them)"
		}
		w = append(w, s+".")
	}
	if len(a.Dependencies) > 0 {
		w = append(w, "The Action's npm dependencies are carried with their versions: "+depsString(a.Dependencies)+".")
	}
	if a.Runtime != "" && a.Runtime != actiongen.Runtime {
		w = append(w, fmt.Sprintf("The send-phone-message Action runs on %s; the copy runs on %s (the only runtime of the custom-phone-provider trigger).", a.Runtime, actiongen.Runtime))
	}
	return w
}

func alsoTriggers(ts []string) string {
	if len(ts) == 0 {
		return ""
	}
	return " and " + strings.Join(ts, ", ")
}

func depsString(deps []ActionDependency) string {
	var s []string
	for _, d := range deps {
		s = append(s, d.Name+"@"+d.Version)
	}
	return strings.Join(s, ", ")
}

// actionSecret returns the operator's value of the send-phone-message
// Action's secret name.
func (o *Options) actionSecret(name string) (Secret, bool) {
	if o == nil || o.ActionSecret == nil {
		return "", false
	}
	v, ok := o.ActionSecret(name)
	return v, ok && v != ""
}

// registerActionSecrets adds the operator's values of the secrets the
// copy carries to set, the Migrator's one notion of what is secret, so
// that every error, log, checkpoint and output is redacted of them.
func registerActionSecrets(set *redact.Set, in *migrationIntent, o *Options) {
	if in == nil || in.Hook == nil {
		return
	}
	for _, n := range in.Hook.SecretNames {
		if v, ok := o.actionSecret(n); ok {
			set.AddSecret(v)
		}
	}
}

// checkActionSecrets fails with an [*ActionSecretError] when o lacks a
// value for a secret the copy carries.
func checkActionSecrets(in *migrationIntent, o *Options) error {
	if in == nil || in.Hook == nil {
		return nil
	}
	var missing []string
	for _, n := range in.Hook.SecretNames {
		if _, ok := o.actionSecret(n); !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &ActionSecretError{Action: in.Hook.ActionName, Missing: missing}
}

// hookTarget is the actiongen target of the copy of a (whose code is the
// one in.Hook planned). With values, every secret must have its value in
// o; without, the values are left empty (a plan shows names only).
func hookTarget(in *migrationIntent, o *Options, a *Action, values bool) (actiongen.Target, error) {
	if a == nil || in.Hook == nil {
		return actiongen.Target{}, errors.New("no send-phone-message Action to copy")
	}
	if values {
		if err := checkActionSecrets(in, o); err != nil {
			return actiongen.Target{}, err
		}
	}
	h := &actiongen.Hook{Name: a.Name, Code: a.Code}
	for _, n := range in.Hook.SecretNames {
		v, _ := o.actionSecret(n)
		h.Secrets = append(h.Secrets, actiongen.Secret{Name: n, Value: v.Reveal()})
	}
	for _, d := range in.Hook.Dependencies {
		h.Dependencies = append(h.Dependencies, actiongen.Dependency{Name: d.Name, Version: d.Version})
	}
	return actiongen.Target{Hook: h}, nil
}

// hookAction returns the send-phone-message Action the plan copies: from
// this run's discovery when fresh, else read again; either way it must
// still hold the planned code.
func (r *run) hookAction(ctx context.Context) (*Action, error) {
	in := r.cp.Intent
	var a *Action
	if r.fresh() && r.d.HookAction != nil && r.d.HookAction.ID == in.Hook.ActionID {
		a = r.d.HookAction
	} else {
		got, err := r.m.c.GetAction(ctx, in.Hook.ActionID)
		if err != nil {
			return nil, fmt.Errorf("read the send-phone-message action %s: %w", in.Hook.ActionID, err)
		}
		a = &got
	}
	if codeHash(a.Code) != in.Hook.CodeSHA256 {
		return nil, fmt.Errorf("%w: the send-phone-message Action %q (%s) was edited since the plan, which proved its code as it was; plan again", ErrConcurrentChange, in.Hook.ActionName, in.Hook.ActionID)
	}
	return a, nil
}
