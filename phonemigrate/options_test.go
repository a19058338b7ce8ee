package phonemigrate_test

import (
	"errors"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func TestParseProviderKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want phonemigrate.ProviderKind
		bad  bool
	}{
		{in: "", want: phonemigrate.ProviderAuto},
		{in: "auto", want: phonemigrate.ProviderAuto},
		{in: " Auto ", want: phonemigrate.ProviderAuto},
		{in: "twilio", want: phonemigrate.ProviderKindTwilio},
		{in: "TWILIO", want: phonemigrate.ProviderKindTwilio},
		{in: "custom", want: phonemigrate.ProviderKindCustom},
		{in: "sns", bad: true},
		{in: "twilio,custom", bad: true},
	}
	for _, tt := range tests {
		got, err := phonemigrate.ParseProviderKind(tt.in)
		if tt.bad {
			var ie *phonemigrate.InputError
			if !errors.As(err, &ie) || ie.Field != "Provider" || phonemigrate.ExitCode(err) != 2 {
				t.Errorf("ParseProviderKind(%q) = %q, %v; want an InputError for Provider (exit 2)", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseProviderKind(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
