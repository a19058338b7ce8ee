package phonemigrate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// hookProof is what running the send-phone-message Action and its copy (the
// planned custom-phone-provider Action) in Node showed, before anything is
// written. Both run on the same sample events — every MFA message type the
// old trigger received (otp_enroll, otp_verify) by every delivery method
// MFA uses — the original with the legacy event Auth0 builds for
// send-phone-message, the copy with the custom-phone-provider event; every
// HTTP request either makes goes to a local recording server instead of
// its destination (actionrun.WithRecorder), and both get the same stand-in
// secret values (never the real ones). The requests must be identical:
// method, URL, headers and body, after the sample's code and timestamps
// are replaced by placeholders.
type hookProof struct {
	// Ran is false when the proof could not run; NotRun says why (node is
	// not installed, npm dependencies are not installed locally, ...), and
	// the Action is carried unproven.
	Ran    bool   `json:"ran"`
	NotRun string `json:"not_run,omitempty"`
	// Samples are the sample events, with what each Action did.
	Samples []proofSample `json:"samples,omitempty"`
	// Differences lists every way the copy's requests differ from the
	// original's; empty when they are identical. Apply refuses a plan with
	// differences unless [Options.AcceptActionDifferences].
	Differences []string `json:"differences,omitempty"`
	// Consumers are the delivery model's IDs ("mfa/text/otp_verify") of
	// the sample events on which the copy differs, each once: what the
	// CLI's --accept-difference ID accepts, as it does the rehearsal's.
	Consumers []string `json:"consumers,omitempty"`
}

// proofSample is one sample event of a [hookProof].
type proofSample struct {
	MessageType    string `json:"message_type"`    // otp_enroll or otp_verify
	DeliveryMethod string `json:"delivery_method"` // text or voice
	// Requests is how many HTTP requests the original made; Same says the
	// copy made the same ones.
	Requests int  `json:"requests"`
	Same     bool `json:"same"`
	// Original and Copy are the outcomes: the original "sent" or "threw",
	// the copy "sent", "drop" (a throw of the original becomes a drop),
	// "retry" or "threw".
	Original string `json:"original"`
	Copy     string `json:"copy"`
}

// proofError is returned by Apply, before any write, when the [hookProof]
// found differences and [Options.AcceptActionDifferences] is not set.
// [ExitCode] maps it to 3.
type proofError struct {
	Action      string
	Differences []string
}

func (e *proofError) Error() string {
	return fmt.Sprintf("the copy of the send-phone-message Action %q does not make the same requests as the original (%d difference(s), listed in the plan: %s); fix the Action, or accept the differences (--accept-difference ID for each consumer the plan lists, Options.AcceptActionDifferences); nothing was written",
		e.Action, len(e.Differences), e.Differences[0])
}

// Sample values of a proof.
const (
	proofRecipient = "+15555550142"
	proofCode      = "493817"
	proofClientID  = "proof-client-id"
	proofUserID    = "auth0|proofuser"
)

// proofTexts are the texts of a proof's sample events, by message type:
// what Auth0 gives the original in event.message_options.text (the legacy
// Guardian message) and the copy in event.notification.as_text (the
// tenant phone template the migration leaves for that type). A type
// missing from either takes a sample sentence, the same on both sides.
type proofTexts struct {
	original, copy map[string]string
}

// of returns the original's and the copy's text of message type mt.
func (t proofTexts) of(mt, tenant string) (original, cp string) {
	sample := proofCode + " is your " + map[string]string{"otp_enroll": "enrollment", "otp_verify": "verification"}[mt] + " code for " + tenant + "."
	original, cp = t.original[mt], t.copy[mt]
	if original == "" {
		original = sample
	}
	if cp == "" {
		cp = original
	}
	return original, cp
}

// proofTextsOf renders, with the proof's code, the legacy Guardian
// messages of d and the tenant templates in plans (the texts a
// routing Action's MFA target replaces with the Guardian ones).
func proofTextsOf(d *Discovery, in *migrationIntent) proofTexts {
	t := proofTexts{original: map[string]string{}, copy: map[string]string{}}
	render := func(text string) string {
		out, err := renderSample(text, "", proofCode)
		if err != nil {
			return ""
		}
		return out
	}
	if g := d.LegacyTemplates; g != nil {
		t.original["otp_enroll"], t.original["otp_verify"] = render(g.EnrollmentMessage), render(g.VerificationMessage)
	}
	for _, ti := range in.Templates {
		if ti.Type == "otp_enroll" || ti.Type == "otp_verify" {
			t.copy[ti.Type] = render(ti.Text)
		}
	}
	return t
}

// prove runs the original send-phone-message Action hook and the planned
// copy on the sample events of the MFA delivery methods types.
func prove(ctx context.Context, tenant string, hook *Action, copyCode string, secretNames []string, types delivery.Set, texts proofTexts, o *Options) *hookProof {
	p := &hookProof{}
	if !actionrun.NodeAvailable() {
		p.NotRun = "node is not installed on this machine (it runs both Actions)"
		return p
	}
	if missing := missingPackages(hook.Dependencies, o.NodeModules); len(missing) > 0 {
		p.NotRun = "the send-phone-message Action needs npm packages that are not installed locally (" + strings.Join(missing, ", ") +
			"): install them (npm install) and give their node_modules directory (--node-modules DIR, Options.NodeModules) to run the proof"
		return p
	}
	secrets := map[string]string{}
	for _, n := range secretNames {
		secrets[n] = "proof-stand-in-" + n
	}
	opts := []actionrun.RunOption{actionrun.WithRecorder(), actionrun.WithModulePaths(o.NodeModules...)}
	for _, mt := range []string{"otp_enroll", "otp_verify"} {
		for _, m := range types.Methods() {
			dm := string(m)
			text, copyText := texts.of(mt, tenant)
			req := actionrun.Request{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (proof)", Method: "POST", Hostname: tenant + ".auth0.com", Language: "en"}
			legacy := actionrun.LegacyEvent{
				MessageOptions: actionrun.MessageOptions{Recipient: proofRecipient, Text: text, Code: proofCode,
					Action: actionrun.LegacyAction(mt), MessageType: actionrun.LegacyMessageType(dm), Language: "en"},
				Request: req,
				User:    &actionrun.User{UserID: proofUserID},
				Client:  actionrun.LegacyClient{ClientID: proofClientID, Name: "Proof App"},
				Tenant:  actionrun.Tenant{ID: tenant},
				Secrets: secrets,
			}
			ev := actionrun.Event{
				Notification: actionrun.Notification{AsText: copyText, AsVoice: copyText, Code: proofCode, DeliveryMethod: dm,
					Locale: "en", MessageType: mt, Recipient: proofRecipient},
				Request: req,
				User:    &actionrun.User{UserID: proofUserID},
				Client:  actionrun.Client{ClientID: proofClientID, Name: "Proof App"},
				Tenant:  actionrun.Tenant{ID: tenant},
				Secrets: secrets,
			}
			label := mt + " by " + dm
			n := len(p.Differences)
			differs := func() {
				if id := "mfa/" + dm + "/" + mt; len(p.Differences) > n && !slices.Contains(p.Consumers, id) {
					p.Consumers = append(p.Consumers, id)
				}
			}
			// The two run at once: each has its own worker thread and
			// recorder.
			var (
				orig, cp   *actionrun.Result
				oerr, cerr error
				wg         sync.WaitGroup
			)
			wg.Go(func() { orig, oerr = actionrun.RunSendPhoneMessage(ctx, hook.Code, legacy, opts...) })
			cp, cerr = actionrun.Run(ctx, copyCode, ev, opts...)
			wg.Wait()
			switch {
			case ctx.Err() != nil:
				p.NotRun = "cancelled: " + ctx.Err().Error()
				return p
			case oerr != nil && cerr != nil:
				p.NotRun = "neither Action runs on this machine (" + label + "): " + oerr.Error()
				return p
			case oerr != nil:
				p.Differences = append(p.Differences, label+": the original does not run ("+oerr.Error()+"), the copy does")
				differs()
				continue
			case cerr != nil:
				p.Differences = append(p.Differences, label+": the copy does not run: "+cerr.Error())
				differs()
				continue
			}
			s := proofSample{MessageType: mt, DeliveryMethod: dm, Requests: len(orig.Requests), Original: string(orig.Outcome), Copy: string(cp.Outcome)}
			diffs := compareRequests(label, orig.Requests, cp.Requests)
			want := actionrun.Sent
			if orig.Outcome == actionrun.Threw {
				want = actionrun.Drop
			}
			if cp.Outcome != want {
				diffs = append(diffs, fmt.Sprintf("%s: the original %s, the copy ended with %s (%s)", label, orig.Outcome, cp.Outcome, cp.Reason))
			}
			s.Same = len(diffs) == 0
			p.Differences = append(p.Differences, diffs...)
			differs()
			p.Samples = append(p.Samples, s)
		}
	}
	p.Ran = true
	return p
}

// missingPackages lists the dependencies no directory of dirs holds.
func missingPackages(deps []ActionDependency, dirs []string) []string {
	var missing []string
	for _, d := range deps {
		found := false
		for _, dir := range dirs {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d.Name), "package.json")); err == nil {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, d.Name+"@"+d.Version)
		}
	}
	return missing
}

// timestamps match the times a request may carry: ISO 8601, AWS's compact
// form, and Unix seconds or milliseconds of this century's first half.
var timestamps = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?|\b\d{8}T\d{6}Z\b|\b1[6-9]\d{8}(\d{3})?\b`)

// proofNormalize replaces the sample's code and timestamps by placeholders.
func proofNormalize(s string) string {
	s = strings.ReplaceAll(s, proofCode, "<code>")
	return timestamps.ReplaceAllString(s, "<time>")
}

// compareRequests lists how the copy's requests differ from the original's.
func compareRequests(label string, orig, cp []actionrun.RecordedRequest) []string {
	var out []string
	if len(orig) != len(cp) {
		out = append(out, fmt.Sprintf("%s: the original made %d request(s), the copy %d", label, len(orig), len(cp)))
	}
	for i := range min(len(orig), len(cp)) {
		a, b := orig[i], cp[i]
		at := fmt.Sprintf("%s: request %d", label, i+1)
		if a.Method != b.Method || proofNormalize(a.URL) != proofNormalize(b.URL) {
			out = append(out, fmt.Sprintf("%s: the original calls %s %s, the copy %s %s", at, a.Method, a.URL, b.Method, b.URL))
		}
		ah, bh := proofNormalize(strings.Join(actionrun.HeaderLines(a.Header), "\n")), proofNormalize(strings.Join(actionrun.HeaderLines(b.Header), "\n"))
		if ah != bh {
			out = append(out, fmt.Sprintf("%s: headers differ: original {%s}, copy {%s}", at, strings.ReplaceAll(ah, "\n", "; "), strings.ReplaceAll(bh, "\n", "; ")))
		}
		if ab, bb := proofNormalize(a.Body), proofNormalize(b.Body); ab != bb {
			out = append(out, fmt.Sprintf("%s: bodies differ: original %s, copy %s", at, shorten(ab), shorten(bb)))
		}
	}
	return out
}

func shorten(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// proofText is the plan's account of a proof.
func (p *hookProof) text() string {
	var b strings.Builder
	switch {
	case !p.Ran:
		fmt.Fprintf(&b, "Proof: not run: %s. The send-phone-message Action is carried unproven.\n", p.NotRun)
	case len(p.Differences) == 0:
		fmt.Fprintf(&b, "Proof: the copy made the same requests as the send-phone-message Action (method, URL, headers, body; codes and times excepted) on %d sample event(s):\n", len(p.Samples))
	default:
		fmt.Fprintf(&b, "Proof: the copy does NOT make the same requests as the send-phone-message Action (%d difference(s)); apply refuses unless they are accepted (--accept-difference ID, for each of %s):\n", len(p.Differences), strings.Join(p.Consumers, ", "))
	}
	for _, s := range p.Samples {
		same := "same"
		if !s.Same {
			same = "DIFFERENT"
		}
		fmt.Fprintf(&b, "  %-10s %-5s %d request(s), original %s, copy %s: %s\n", s.MessageType, s.DeliveryMethod, s.Requests, s.Original, s.Copy, same)
	}
	for _, d := range p.Differences {
		fmt.Fprintf(&b, "  ≠ %s\n", d)
	}
	return b.String()
}

// proofRefusal is the error of a plan with differences not accepted.
func proofRefusal(in *migrationIntent, p *hookProof, o *Options) error {
	if p == nil || len(p.Differences) == 0 || o.AcceptActionDifferences {
		return nil
	}
	return &proofError{Action: in.Hook.ActionName, Differences: p.Differences}
}
