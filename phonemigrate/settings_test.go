package phonemigrate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func TestSettingsOptions(t *testing.T) {
	t.Parallel()
	flag := func(k string) string { return "--" + k }
	for _, tc := range []struct {
		name        string
		in          phonemigrate.Settings
		want        phonemigrate.Options
		wantSetting string
		wantProblem string
	}{
		{name: "defaults with a test", in: phonemigrate.Settings{TestTo: []string{"+15551230001"}},
			want: phonemigrate.Options{Provider: phonemigrate.ProviderAuto, TestRecipients: []string{"+15551230001"}}},
		{name: "everything", in: phonemigrate.Settings{Provider: " Custom ", Delivery: "SMS + Voice", SkipTest: true, AllowReplace: true, SkipTwilioCheck: true, EvidenceTimeout: 5 * time.Second},
			want: phonemigrate.Options{Provider: phonemigrate.ProviderKindCustom, Delivery: delivery.Of(delivery.Text, delivery.Voice), SkipTest: true, AllowReplace: true, SkipTwilioCheck: true, EvidenceTimeout: 5 * time.Second}},
		{name: "provider", in: phonemigrate.Settings{Provider: "sns", SkipTest: true}, wantSetting: "provider", wantProblem: `"sns" is not one of auto, twilio, custom`},
		{name: "delivery", in: phonemigrate.Settings{Delivery: "fax", SkipTest: true}, wantSetting: "delivery", wantProblem: `"fax" is not one of text, voice, text,voice`},
		{name: "not E.164", in: phonemigrate.Settings{TestTo: []string{"+15551230001", "0155512"}}, wantSetting: "test_to", wantProblem: `"0155512" is not a phone number in E.164 form such as +15551234567`},
		{name: "leading zero", in: phonemigrate.Settings{TestTo: []string{"+0155512300"}}, wantSetting: "test_to", wantProblem: `"+0155512300" is not a phone number in E.164 form such as +15551234567`},
		{name: "both", in: phonemigrate.Settings{TestTo: []string{"+15551230001"}, SkipTest: true}, wantSetting: "skip_test", wantProblem: "cannot be used together with --test_to"},
		{name: "neither", in: phonemigrate.Settings{}, wantSetting: "test_to", wantProblem: "is required: give E.164 numbers to test the new provider, or --skip_test to skip the test explicitly"},
		{name: "negative evidence", in: phonemigrate.Settings{SkipTest: true, EvidenceTimeout: -time.Second}, wantSetting: "evidence_timeout", wantProblem: "must be a positive duration such as 20s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.in.Options(flag)
			if tc.wantSetting == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b delivery.Set) bool { return a == b })); diff != "" {
					t.Errorf("Options (-want +got):\n%s", diff)
				}
				return
			}
			var se *phonemigrate.SettingError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SettingError", err)
			}
			if diff := cmp.Diff(&phonemigrate.SettingError{Setting: tc.wantSetting, Problem: tc.wantProblem}, se); diff != "" {
				t.Errorf("SettingError (-want +got):\n%s", diff)
			}
		})
	}
}
