package phonemigratetest

import (
	"context"
	"fmt"
	"strings"
)

// Delivery is one message as the user receives it: what [Server.Notify]
// said about the route, and what reached the destination — the fake
// [Gateway] or the fake [TwilioAPI] — for it: who sent it, to whom, by
// which channel, with which text, and for a gateway the claims of the JWT
// it verified. The text is the one that arrived (a custom-phone-provider
// Action may render its own), or, for Auth0's own simulated sender, the
// rendered text.
type Delivery struct {
	// Path names the message: "passwordless CONNECTION text otp_verify"
	// or "mfa text|voice otp_verify|otp_enroll".
	Path    string        `json:"path"`
	Request NotifyRequest `json:"request"`
	Route   string        `json:"route"`
	// Via is where the message arrived: "gateway", "twilio/sms",
	// "twilio/voice", "auth0" (simulated) or "" (nowhere).
	Via       string `json:"via"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	Text      string `json:"text"`
	// Claims are the aud and sub of the gateway JWT (gateway only).
	Claims    map[string]string `json:"claims,omitempty"`
	Delivered bool              `json:"delivered"`
	Detail    string            `json:"detail,omitempty"`
}

// PathName is the [Delivery.Path] of a request.
func PathName(r NotifyRequest) string {
	method, typ := r.DeliveryMethod, r.MessageType
	if method == "" || method == "sms" {
		method = "text"
	}
	if typ == "" {
		typ = "otp_verify"
	}
	if r.Kind == "passwordless" {
		return fmt.Sprintf("passwordless %s %s %s", r.Connection, method, typ)
	}
	return fmt.Sprintf("%s %s %s", r.Kind, method, typ)
}

// Deliver sends each request through the tenant as it is now, one after
// the other, and returns what the user receives for each. It fails only
// for a request Notify cannot interpret. Do not send other messages
// through the same fake meanwhile: each message is matched with what its
// destinations received while it was sent.
func (s *Server) Deliver(ctx context.Context, reqs []NotifyRequest) ([]Delivery, error) {
	out := make([]Delivery, 0, len(reqs))
	for _, r := range reqs {
		gw, tw := len(s.gateway.Messages()), len(s.twilio.Messages())
		res, err := s.Notify(ctx, r)
		if err != nil {
			return nil, err
		}
		d := Delivery{Path: PathName(r), Request: r, Route: res.Route, Text: res.Text, Delivered: res.Delivered, Detail: res.Detail}
		gms, tms := s.gateway.Messages()[gw:], s.twilio.Messages()[tw:]
		switch {
		case len(gms) > 0:
			m := gms[len(gms)-1]
			d.Via, d.Sender, d.Recipient, d.Text = "gateway", m.Sender, m.Recipient, m.Body
			if m.Verified {
				d.Claims = map[string]string{}
				for _, k := range []string{"aud", "sub"} {
					if v, ok := m.Claims[k]; ok {
						d.Claims[k] = fmt.Sprint(v)
					}
				}
			}
		case len(tms) > 0:
			m := tms[len(tms)-1]
			d.Via, d.Sender, d.Recipient, d.Text = "twilio/"+m.Channel, m.From, m.To, m.Body
			if d.Sender == "" {
				d.Sender = m.MessagingServiceSID
			}
		case res.Route == RouteLegacyAuth0 && res.Delivered:
			d.Via, d.Sender, d.Recipient = "auth0", "auth0", r.Recipient
		}
		out = append(out, d)
	}
	return out, nil
}

// Comparison is one path before and after a change (a migration, a
// rollback): Same when both were delivered, with the same text, to the
// same recipient, from the same sender, through the same destination
// (gateway, Twilio SMS or call, Auth0's own sender) (and, when
// both went to a gateway, with the same JWT audience and subject); else
// Why lists each difference.
type Comparison struct {
	Path   string   `json:"path"`
	Before Delivery `json:"before"`
	After  Delivery `json:"after"`
	Same   bool     `json:"same"`
	Why    []string `json:"why,omitempty"`
}

// Compare pairs before[i] with after[i] (the same requests, sent before
// and after a change, by [Server.Deliver]) and says, path by path, whether
// the user receives the same message. It is the one before/after check of
// `phonemigrate demo`, `phonemigrate rehearse` and the integration tests.
func Compare(before, after []Delivery) []Comparison {
	out := make([]Comparison, 0, len(before))
	for i, b := range before {
		c := Comparison{Path: b.Path, Before: b}
		if i >= len(after) {
			c.Why = []string{"no message was sent after"}
			out = append(out, c)
			continue
		}
		a := after[i]
		c.After = a
		c.Why = differences(b, a)
		c.Same = len(c.Why) == 0
		out = append(out, c)
	}
	return out
}

// AllSame reports whether every comparison is the same.
func AllSame(cs []Comparison) bool {
	for _, c := range cs {
		if !c.Same {
			return false
		}
	}
	return true
}

func differences(b, a Delivery) []string {
	var why []string
	if !b.Delivered {
		why = append(why, "not delivered before: "+b.Detail)
	}
	if !a.Delivered {
		why = append(why, "not delivered after: "+a.Detail)
	}
	if len(why) > 0 {
		return why
	}
	if b.Recipient != a.Recipient {
		why = append(why, fmt.Sprintf("recipient %q before, %q after", b.Recipient, a.Recipient))
	}
	if b.Sender != a.Sender {
		why = append(why, fmt.Sprintf("sender %q before, %q after", b.Sender, a.Sender))
	}
	if b.Via != a.Via {
		why = append(why, fmt.Sprintf("arrived through %s before, %s after", b.Via, a.Via))
	}
	if b.Text != a.Text {
		why = append(why, textDifference(b.Text, a.Text))
	}
	if b.Claims != nil && a.Claims != nil && (b.Claims["aud"] != a.Claims["aud"] || b.Claims["sub"] != a.Claims["sub"]) {
		why = append(why, fmt.Sprintf("gateway token aud/sub %s/%s before, %s/%s after", b.Claims["aud"], b.Claims["sub"], a.Claims["aud"], a.Claims["sub"]))
	}
	return why
}

// textDifference says where two texts part: the differing middle of each
// after their common prefix and suffix.
func textDifference(b, a string) string {
	br, ar := []rune(b), []rune(a)
	p := 0
	for p < len(br) && p < len(ar) && br[p] == ar[p] {
		p++
	}
	sfx := 0
	for sfx < len(br)-p && sfx < len(ar)-p && br[len(br)-1-sfx] == ar[len(ar)-1-sfx] {
		sfx++
	}
	bm, am := string(br[p:len(br)-sfx]), string(ar[p:len(ar)-sfx])
	switch {
	case am == "":
		return fmt.Sprintf("text differs: %q is missing after (before %q, after %q)", bm, b, a)
	case bm == "":
		return fmt.Sprintf("text differs: %q is added after (before %q, after %q)", am, b, a)
	}
	return fmt.Sprintf("text differs: %q before where %q after (before %q, after %q)", strings.TrimSpace(bm), strings.TrimSpace(am), b, a)
}
