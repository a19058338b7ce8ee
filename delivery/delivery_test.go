package delivery

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	sms      = Of(Text)
	voice    = Of(Voice)
	smsVoice = Of(Text, Voice)
	nonEmpty = []Set{sms, voice, smsVoice}
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Set
	}{
		{"SMS", sms},
		{"sms", sms},
		{"text", sms},
		{"Text", sms},
		{"Voice", voice},
		{"voice", voice},
		{"SMS + Voice", smsVoice},
		{"sms+voice", smsVoice},
		{"text,voice", smsVoice},
		{"voice, text", smsVoice},
		{"Voice & SMS", smsVoice},
		{"sms/voice", smsVoice},
		{"SMS and Voice", smsVoice},
		{"  text  ", sms},
		{"text,text", sms},
		{"none", 0},
		{"NONE", 0},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		wantErr  error
		wantWord string
	}{
		{in: "", wantErr: ErrEmpty},
		{in: "   ", wantErr: ErrEmpty},
		{in: " + , ", wantErr: ErrEmpty},
		{in: "and", wantErr: ErrEmpty},
		{in: "email", wantWord: "email"},
		{in: "sms+fax", wantWord: "fax"},
		{in: "none+sms", wantWord: "none"},
		{in: "smsvoice", wantWord: "smsvoice"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", tt.in)
			continue
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
		}
		if tt.wantWord != "" {
			var ue *UnknownError
			if !errors.As(err, &ue) || ue.Word != tt.wantWord {
				t.Errorf("Parse(%q) error = %v, want UnknownError for %q", tt.in, err, tt.wantWord)
			}
		}
	}
}

func TestFromMessageTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []string
		want    Set
		wantErr bool
	}{
		{in: nil, want: 0},
		{in: []string{"sms"}, want: sms},
		{in: []string{"voice"}, want: voice},
		{in: []string{"voice", "sms"}, want: smsVoice},
		{in: []string{"SMS", "sms"}, want: sms},
		{in: []string{"text"}, wantErr: true},
		{in: []string{""}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := FromMessageTypes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("FromMessageTypes(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("FromMessageTypes(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSetForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set          Set
		methods      []Method
		messageTypes []string
		str          string
	}{
		{0, nil, nil, "none"},
		{sms, []Method{Text}, []string{"sms"}, "SMS"},
		{voice, []Method{Voice}, []string{"voice"}, "Voice"},
		{Of(Voice, Text), []Method{Text, Voice}, []string{"sms", "voice"}, "SMS + Voice"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.methods, tt.set.Methods()); diff != "" {
			t.Errorf("%v.Methods() mismatch (-want +got):\n%s", tt.str, diff)
		}
		if diff := cmp.Diff(tt.messageTypes, tt.set.MessageTypes()); diff != "" {
			t.Errorf("%v.MessageTypes() mismatch (-want +got):\n%s", tt.str, diff)
		}
		if got := tt.set.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		back, err := FromMessageTypes(tt.set.MessageTypes())
		if err != nil || back != tt.set {
			t.Errorf("FromMessageTypes(%v.MessageTypes()) = %v, %v; want the same set", tt.str, back, err)
		}
	}
}

func TestSetOperations(t *testing.T) {
	t.Parallel()
	if !Set(0).Empty() || sms.Empty() {
		t.Error("Empty() wrong")
	}
	if Of(Method("fax")) != 0 || Method("fax").Valid() || !Text.Valid() {
		t.Error("unknown methods must be ignored and invalid")
	}
	if Set(0).Has(Text) || !sms.Has(Text) || sms.Has(Voice) || smsVoice.Has(Method("fax")) {
		t.Error("Has() wrong")
	}
	for _, a := range append(nonEmpty, 0) {
		for _, b := range append(nonEmpty, 0) {
			wantSubset := true
			for _, m := range a.Methods() {
				if !b.Has(m) {
					wantSubset = false
				}
			}
			if got := a.SubsetOf(b); got != wantSubset {
				t.Errorf("%v.SubsetOf(%v) = %v, want %v", a, b, got, wantSubset)
			}
			minus := a.Minus(b)
			for _, m := range methods {
				if want := a.Has(m) && !b.Has(m); minus.Has(m) != want {
					t.Errorf("%v.Minus(%v).Has(%v) = %v, want %v", a, b, m, minus.Has(m), want)
				}
			}
			if u := a.Union(b); !a.SubsetOf(u) || !b.SubsetOf(u) || !u.Minus(a).SubsetOf(b) {
				t.Errorf("%v.Union(%v) = %v", a, b, u)
			}
		}
	}
}

func TestTextMarshaling(t *testing.T) {
	t.Parallel()
	type doc struct {
		Delivery Set `json:"delivery"`
	}
	for _, s := range append(nonEmpty, 0) {
		b, err := json.Marshal(doc{s})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"delivery":"` + s.String() + `"}`; string(b) != want {
			t.Errorf("json.Marshal = %s, want %s", b, want)
		}
		var got doc
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if got.Delivery != s {
			t.Errorf("round trip of %v gave %v", s, got.Delivery)
		}
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"delivery":"fax"}`), &d); err == nil {
		t.Error("json.Unmarshal of an unknown method succeeded")
	}
	var flagValue Set
	if err := flagValue.Set("text,voice"); err != nil || flagValue != smsVoice {
		t.Errorf("Set(text,voice) = %v, %v", flagValue, err)
	}
}

// TestDecideSeedTable reproduces every row of the delivery table in Auth0's
// "Use the Unified Phone Experience for Passwordless" page (DESIGN.md).
func TestDecideSeedTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		factors, current, desired Set
		want                      Action
		missing                   Set
	}{
		{sms, sms, smsVoice, NoAction, 0},
		{sms, sms, voice, UpdateFactors, sms},
		{sms, smsVoice, voice, UpdateFactors, sms},
		{sms, smsVoice, sms, NoAction, 0},
	}
	for _, tt := range tests {
		got, err := Decide(tt.factors, tt.current, tt.desired)
		if err != nil {
			t.Fatalf("Decide(%v, %v, %v): %v", tt.factors, tt.current, tt.desired, err)
		}
		if got.Action != tt.want || got.Missing != tt.missing {
			t.Errorf("Decide(%v, %v, %v) = %v missing %v, want %v missing %v",
				tt.factors, tt.current, tt.desired, got.Action, got.Missing, tt.want, tt.missing)
		}
		if tt.want == UpdateFactors && !strings.Contains(got.Reason, "update the phone factors") {
			t.Errorf("Reason %q does not tell the user to update the phone factors", got.Reason)
		}
	}
}

// TestDecideAllCombinations checks the general rule for all 3×3×3 non-empty
// combinations, against a rule written out independently of Set's bit ops.
func TestDecideAllCombinations(t *testing.T) {
	t.Parallel()
	covered := func(factors, desired Set) (bool, []Method) {
		var missing []Method
		for _, m := range []Method{Text, Voice} {
			if factors.Has(m) && !desired.Has(m) {
				missing = append(missing, m)
			}
		}
		return len(missing) == 0, missing
	}
	n := 0
	for _, f := range nonEmpty {
		for _, c := range nonEmpty {
			for _, d := range nonEmpty {
				n++
				got, err := Decide(f, c, d)
				if err != nil {
					t.Fatalf("Decide(%v, %v, %v): %v", f, c, d, err)
				}
				ok, missing := covered(f, d)
				want := Decision{Action: NoAction}
				if !ok {
					want = Decision{Action: UpdateFactors, Missing: Of(missing...)}
				}
				got.Reason = strings.TrimSpace(got.Reason)
				if got.Reason == "" || !strings.HasSuffix(got.Reason, ".") {
					t.Errorf("Decide(%v, %v, %v).Reason = %q, want one sentence", f, c, d, got.Reason)
				}
				got.Reason = ""
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Decide(%v, %v, %v) mismatch (-want +got):\n%s", f, c, d, diff)
				}
			}
		}
	}
	if n != 27 {
		t.Fatalf("checked %d combinations, want 27", n)
	}
}

func TestDecideErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ factors, current, desired Set }{
		{0, sms, sms},
		{sms, sms, 0},
		{0, 0, 0},
	} {
		if _, err := Decide(tt.factors, tt.current, tt.desired); !errors.Is(err, ErrEmpty) {
			t.Errorf("Decide(%v, %v, %v) error = %v, want ErrEmpty", tt.factors, tt.current, tt.desired, err)
		}
	}
	// A tenant with no tenant-level provider yet has an empty current set.
	if d, err := Decide(sms, 0, sms); err != nil || d.Action != NoAction {
		t.Errorf("Decide(SMS, none, SMS) = %v, %v; want none", d, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"SMS", "sms+voice", "text,voice", "voice, text", "", "none", "fax", "SMS + Voice", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		if s&^all != 0 {
			t.Fatalf("Parse(%q) = %08b has unknown bits", in, uint8(s))
		}
		back, err := Parse(s.String())
		if err != nil || back != s {
			t.Fatalf("Parse(%q) = %v; Parse(String()) = %v, %v", in, s, back, err)
		}
		var methods []string
		for _, m := range s.Methods() {
			methods = append(methods, string(m))
		}
		if len(methods) > 0 {
			if back, err := Parse(strings.Join(methods, ",")); err != nil || back != s {
				t.Fatalf("Parse(Methods of %v) = %v, %v", s, back, err)
			}
		}
	})
}
