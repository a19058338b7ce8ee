// Package delivery holds the rules for phone delivery methods and phone
// factors under Auth0's Unified Phone Experience, with no Auth0 calls.
//
// A tenant-level phone provider delivers messages by one or both of two
// methods, [Text] (SMS) and [Voice]. The phone factors a tenant uses —
// Passwordless SMS, MFA SMS, MFA voice — must be covered by those methods:
// the factors in use must be a subset of the provider's delivery methods.
// [Decide] applies that rule to a planned change of delivery methods and says
// whether the user has to act first.
//
// A [Set] is a small comparable value. It converts between the three wire
// forms Auth0 uses: provider delivery methods ("text", "voice"), MFA message
// types ("sms", "voice") and the words people write ("SMS + Voice").
package delivery

import (
	"errors"
	"fmt"
	"strings"
)

// Method is a delivery method, in the wire form phone providers use.
type Method string

// The delivery methods a phone provider supports.
const (
	Text  Method = "text"  // SMS
	Voice Method = "voice" // a phone call that reads the message
)

// methods lists every Method in wire order; bit i of a Set is methods[i].
var methods = [...]Method{Text, Voice}

func (m Method) bit() Set {
	for i, x := range methods {
		if x == m {
			return 1 << i
		}
	}
	return 0
}

// Valid reports whether m is one of the known methods.
func (m Method) Valid() bool { return m.bit() != 0 }

// MessageType returns the MFA (Guardian) message type for m: "sms" for
// [Text], "voice" for [Voice], "" for an unknown method.
func (m Method) MessageType() string {
	switch m {
	case Text:
		return "sms"
	case Voice:
		return "voice"
	}
	return ""
}

// Set is a set of delivery methods. It is a comparable value; the zero Set
// is empty. Set implements [encoding.TextMarshaler] and
// [encoding.TextUnmarshaler] using the [Set.String] and [Parse] forms, so it
// can be used in JSON documents and as a command-line flag value.
type Set uint8

// all is the Set of every known method.
const all = Set(1<<len(methods) - 1)

// ErrEmpty is returned by [Parse] for empty input and by [Decide] when the
// factors or the desired delivery methods are empty.
var ErrEmpty = errors.New("delivery: empty set of delivery methods")

// UnknownError reports a word that names no delivery method.
type UnknownError struct {
	Word string // the word as written
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("delivery: unknown delivery method %q (want sms, text or voice)", e.Word)
}

// Of returns the Set holding the given methods. Unknown methods are ignored.
func Of(methods ...Method) Set {
	var s Set
	for _, m := range methods {
		s |= m.bit()
	}
	return s
}

// Parse reads a set of delivery methods as people and tools write it. Words
// are case-insensitive and separated by "+", ",", "&", "/", "and" or spaces;
// "sms" and "text" mean [Text], "voice" means [Voice]. The word "none" alone
// is the empty Set, so that every [Set.String] value parses back. Examples
// that parse: "SMS", "text", "Voice", "SMS + Voice", "sms+voice",
// "text,voice", "voice, text".
//
// Parse returns [ErrEmpty] for input with no words and an [*UnknownError]
// for any other word; it never panics.
func Parse(s string) (Set, error) {
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		switch r {
		case '+', ',', '&', '/', ' ', '\t', '\n', '\r':
			return true
		}
		return false
	})
	if len(fields) == 0 {
		return 0, ErrEmpty
	}
	if len(fields) == 1 && fields[0] == "none" {
		return 0, nil
	}
	var set Set
	for _, f := range fields {
		switch f {
		case "sms", "text":
			set |= Text.bit()
		case "voice":
			set |= Voice.bit()
		case "and":
		default:
			return 0, &UnknownError{Word: f}
		}
	}
	if set == 0 {
		return 0, ErrEmpty
	}
	return set, nil
}

// FromMessageTypes converts MFA (Guardian) phone message types, "sms" and
// "voice", to a Set. Case is ignored. An empty list gives the empty Set; an
// unknown type gives an [*UnknownError].
func FromMessageTypes(types []string) (Set, error) {
	var set Set
	for _, t := range types {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "sms":
			set |= Text.bit()
		case "voice":
			set |= Voice.bit()
		default:
			return 0, &UnknownError{Word: t}
		}
	}
	return set, nil
}

// Has reports whether s holds m.
func (s Set) Has(m Method) bool { b := m.bit(); return b != 0 && s&b == b }

// SubsetOf reports whether every method in s is also in t. The empty Set is
// a subset of every Set.
func (s Set) SubsetOf(t Set) bool { return s&all&^t == 0 }

// Minus returns the methods in s that are not in t.
func (s Set) Minus(t Set) Set { return s & all &^ t }

// Union returns the methods in s or t.
func (s Set) Union(t Set) Set { return (s | t) & all }

// Empty reports whether s holds no method.
func (s Set) Empty() bool { return s&all == 0 }

// Methods returns the provider wire form of s, always ordered text, voice.
// It returns nil for the empty Set.
func (s Set) Methods() []Method {
	var out []Method
	for _, m := range methods {
		if s.Has(m) {
			out = append(out, m)
		}
	}
	return out
}

// MessageTypes returns the MFA (Guardian) wire form of s: "sms", "voice",
// in that order. It returns nil for the empty Set.
func (s Set) MessageTypes() []string {
	var out []string
	for _, m := range s.Methods() {
		out = append(out, m.MessageType())
	}
	return out
}

// String returns the form Auth0's documentation uses: "SMS", "Voice",
// "SMS + Voice", or "none" for the empty Set.
func (s Set) String() string {
	switch s & all {
	case Of(Text):
		return "SMS"
	case Of(Voice):
		return "Voice"
	case Of(Text, Voice):
		return "SMS + Voice"
	}
	return "none"
}

// MarshalText implements [encoding.TextMarshaler] with the [Set.String] form.
func (s Set) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse].
func (s *Set) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Set implements flag.Value with [Parse], so a Set can be a flag.
func (s *Set) Set(value string) error { return s.UnmarshalText([]byte(value)) }

// Action says what a person must do before a change of delivery methods.
type Action string

// The actions [Decide] returns.
const (
	// NoAction: the desired delivery methods cover every factor in use.
	NoAction Action = "none"
	// UpdateFactors: the user must update the phone factors in use to be a
	// subset of the delivery methods enabled for the tenant-level provider.
	UpdateFactors Action = "update_factors"
)

// Decision is the outcome of [Decide].
type Decision struct {
	Action  Action
	Missing Set    // factors the desired delivery methods would no longer cover
	Reason  string // one plain sentence a person can act on
}

// Decide applies the subset rule to a change of the tenant-level provider's
// delivery methods from current to desired, given the phone factors in use
// (Passwordless SMS is the factor set {[Text]}; MFA factors come from
// [FromMessageTypes]).
//
// When factors is a subset of desired the Decision is [NoAction]; otherwise
// it is [UpdateFactors] with Missing = factors − desired. current does not
// change the outcome — the rule looks only at where the tenant is going — but
// it is named in the Reason, and may be empty for a tenant that has no
// tenant-level provider yet. Decide returns an error wrapping [ErrEmpty] when
// factors or desired is empty.
//
// Decide reproduces every row of the delivery table in Auth0's "Use the
// Unified Phone Experience for Passwordless" page.
func Decide(factors, current, desired Set) (Decision, error) {
	switch {
	case factors.Empty():
		return Decision{}, fmt.Errorf("decide: no phone factors in use: %w", ErrEmpty)
	case desired.Empty():
		return Decision{}, fmt.Errorf("decide: no desired delivery methods: %w", ErrEmpty)
	}
	if factors.SubsetOf(desired) {
		reason := fmt.Sprintf("The desired delivery methods (%s) cover the phone factors in use (%s); no action is needed.", desired, factors)
		if !current.Empty() && current != desired {
			reason = fmt.Sprintf("Changing delivery from %s to %s still covers the phone factors in use (%s); no action is needed.", current, desired, factors)
		}
		return Decision{Action: NoAction, Reason: reason}, nil
	}
	missing := factors.Minus(desired)
	return Decision{
		Action:  UpdateFactors,
		Missing: missing,
		Reason: fmt.Sprintf("Delivery by %s would no longer cover the %s phone factor in use; update the phone factors to a subset of %s, or keep %s enabled on the tenant-level provider.",
			desired, missing, desired, missing),
	}, nil
}
