package phonemigratetest_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestMakeChanges: each set of changes puts a scenario in the starting
// state it names, as phonemigrate's own Check sees it over the real
// go-auth0 client: the violated invariants, and whether users get no
// code.
func TestMakeChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sc      phonemigratetest.Scenario
		changes []phonemigratetest.Change
		want    []phonemigrate.Invariant
		broken  bool
	}{
		{"pristine", phonemigratetest.LegacyTwilio, nil, nil, false},
		{"switched by hand, no provider, MFA", phonemigratetest.MFATwilio, []phonemigratetest.Change{phonemigratetest.SwitchOn},
			[]phonemigrate.Invariant{phonemigrate.InvariantProviderPresent}, true},
		{"text-only provider, voice MFA", phonemigratetest.MFATwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn},
			[]phonemigrate.Invariant{phonemigrate.InvariantProviderCoversFactors}, true},
		{"provider disabled", phonemigratetest.MFATwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.DisableProvider, phonemigratetest.SwitchOn},
			[]phonemigrate.Invariant{phonemigrate.InvariantProviderEnabled}, true},
		{"switched by hand, connection not", phonemigratetest.LegacyTwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn},
			[]phonemigrate.Invariant{phonemigrate.InvariantConnectionsUseProvider}, false},
		{"connection switched, tenant not", phonemigratetest.LegacyTwilio, []phonemigratetest.Change{phonemigratetest.UseProvider},
			[]phonemigrate.Invariant{phonemigrate.InvariantTenantSwitched}, false},
		// By hand, the templates were not migrated: Passwordless users read
		// Auth0's default text instead of their connection's.
		{"migrated by hand", phonemigratetest.LegacyTwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn, phonemigratetest.UseProvider},
			[]phonemigrate.Invariant{phonemigrate.InvariantSameWords}, false},
		{"migrated by hand, connection reverted", phonemigratetest.LegacyTwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn,
			phonemigratetest.UseProvider, phonemigratetest.StopUsingProvider}, []phonemigrate.Invariant{phonemigrate.InvariantConnectionsUseProvider}, false},
		{"migrated by hand, switched off", phonemigratetest.LegacyTwilio, []phonemigratetest.Change{phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn,
			phonemigratetest.UseProvider, phonemigratetest.SwitchOff}, []phonemigrate.Invariant{phonemigrate.InvariantTenantSwitched}, false},
		{"unified, provider deleted", phonemigratetest.Unified, []phonemigratetest.Change{phonemigratetest.DeleteProvider},
			[]phonemigrate.Invariant{phonemigrate.InvariantProviderPresent}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := phonemigratetest.NewServer(tt.sc)
			t.Cleanup(srv.Close)
			if err := srv.Make(t.Context(), tt.changes...); err != nil {
				t.Fatalf("Make: %v", err)
			}
			cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
			if err != nil {
				t.Fatal(err)
			}
			m, err := phonemigrate.New(cl)
			if err != nil {
				t.Fatal(err)
			}
			h, err := m.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var got []phonemigrate.Invariant
			for _, f := range h.Findings {
				got = append(got, f.Invariant)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated invariants (-want +got):\n%s", diff)
			}
			if h.Broken() != tt.broken {
				t.Errorf("Broken() = %v, want %v", h.Broken(), tt.broken)
			}
		})
	}
}

func TestMakeUnknownChange(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.Empty)
	t.Cleanup(srv.Close)
	if err := srv.Make(t.Context(), "paint_it_blue"); !errors.Is(err, phonemigratetest.ErrUnknownChange) {
		t.Errorf("Make(unknown) = %v, want ErrUnknownChange", err)
	}
}
