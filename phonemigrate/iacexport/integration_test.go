package iacexport_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

func fakeClient(t *testing.T, sc phonemigratetest.Scenario) (*phonemigratetest.Server, phonemigrate.Client) {
	t.Helper()
	srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	t.Cleanup(srv.Close)
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

// Right after a real migration of the fake tenant (over HTTP, with the
// go-auth0 client), the export describes what the migration created, with
// GET requests only and no secret of the tenant in any file.
func TestExportAfterApply(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			srv, cl := fakeClient(t, sc)
			before, err := iacexport.Export(t.Context(), cl, iacexport.Options{Format: iacexport.FormatTerraform})
			if !errors.Is(err, iacexport.ErrNotUnified) || before != nil {
				t.Fatalf("Export before the migration = %d files, %v; want ErrNotUnified", len(before), err)
			}
			m, err := phonemigrate.New(cl, phonemigrate.WithPollInterval(5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Apply(t.Context(), phonemigrate.Options{SkipTest: true, TwilioAuthToken: phonemigratetest.TwilioAuthToken, TwilioAPIBaseURL: srv.Twilio().URL}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			st := srv.State()
			var secrets []string
			for _, c := range st.Connections {
				secrets = append(secrets, redact.OptionSecrets(c.Options)...)
			}
			for _, a := range st.Actions {
				for _, s := range a.Secrets {
					// Action secrets also carry settings (GATEWAY_URL); the
					// credentials are those named so.
					if n := strings.ToUpper(s.Name); strings.Contains(n, "SECRET") || strings.Contains(n, "TOKEN") {
						secrets = append(secrets, s.Value)
					}
				}
			}
			secrets = append(secrets, phonemigratetest.TwilioAuthToken, phonemigratetest.GatewaySecret, srv.Token)
			for _, o := range []iacexport.Options{{Format: iacexport.FormatTerraform}, {Format: iacexport.FormatDeployCLI}, {Format: iacexport.FormatDeployCLI, Layout: iacexport.LayoutDirectory}} {
				srv.ResetRequests()
				files, err := iacexport.Export(t.Context(), cl, o)
				if err != nil {
					t.Fatalf("Export %s %s: %v", o.Format, o.Layout, err)
				}
				for _, r := range srv.Requests() {
					if r.Method != "GET" {
						t.Errorf("Export sent %s %s", r.Method, r.Path)
					}
				}
				all := string(archive(files))
				for _, s := range secrets {
					if len(s) >= 4 && strings.Contains(all, s) {
						t.Errorf("%s export holds a secret of the tenant: %q", o.Format, s)
					}
				}
				// The Action the migration deployed is exported with its code.
				for _, a := range st.Actions {
					if !strings.Contains(all, a.Code) {
						t.Errorf("%s export lacks the code of Action %q", o.Format, a.Name)
					}
				}
				for _, p := range st.PhoneProviders {
					if !strings.Contains(all, fmt.Sprintf("name: %s", p.Name)) && !strings.Contains(all, fmt.Sprintf("%q", p.Name)) {
						t.Errorf("%s export lacks the %s provider", o.Format, p.Name)
					}
				}
				if o.Format == iacexport.FormatTerraform {
					mod := parseModule(t, files)
					for _, key := range mod.order {
						checkBlock(t, key, mod.resources[key].Body, providerSchema[mod.resources[key].Labels[0]])
					}
					if len(mod.imports) != len(mod.order) {
						t.Errorf("%d import blocks for %d resources", len(mod.imports), len(mod.order))
					}
				}
			}
		})
	}
}

// ExampleExport writes the Terraform for a tenant on the Unified Phone
// Experience (here the fake tenant of scenario "unified").
func ExampleExport() {
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()
	ctx := context.Background()
	client, err := auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		fmt.Println(err)
		return
	}
	files, err := iacexport.Export(ctx, client, iacexport.Options{Format: iacexport.FormatTerraform})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Path)
	}
	imports, _ := files.Get(iacexport.TerraformImportsFile)
	fmt.Print(string(imports.Data))
	// Output:
	// EDITS.md
	// phone.tf
	// phone_import.tf
	// phone_variables.tf
	// # Existing objects of the tenant: import them rather than create them.
	//
	// import {
	//   id = "pro_8mQ3vR6tY1uI4oPa"
	//   to = auth0_phone_provider.twilio
	// }
	//
	// import {
	//   id = "tem_7yU0iO3pA6sD9fGh"
	//   to = auth0_phone_notification_template.otp_enroll
	// }
	//
	// import {
	//   id = "tem_2xC5vB8nM1qW4eRt"
	//   to = auth0_phone_notification_template.otp_verify
	// }
}
