package phonemigrate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// readCounter is a Client that counts the reads it passes on.
type readCounter struct {
	phonemigrate.Client
	mu sync.Mutex
	n  map[string]int
}

func countReads(c phonemigrate.Client) *readCounter {
	return &readCounter{Client: c, n: map[string]int{}}
}

func (c *readCounter) inc(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
}

func (c *readCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *readCounter) TenantSettings(ctx context.Context) (phonemigrate.TenantSettings, error) {
	c.inc("TenantSettings")
	return c.Client.TenantSettings(ctx)
}

func (c *readCounter) ListSMSConnections(ctx context.Context) ([]phonemigrate.Connection, error) {
	c.inc("ListSMSConnections")
	return c.Client.ListSMSConnections(ctx)
}

func (c *readCounter) GetConnection(ctx context.Context, id string) (phonemigrate.Connection, error) {
	c.inc("GetConnection")
	return c.Client.GetConnection(ctx, id)
}

func (c *readCounter) GuardianFactors(ctx context.Context) ([]phonemigrate.GuardianFactor, error) {
	c.inc("GuardianFactors")
	return c.Client.GuardianFactors(ctx)
}

func (c *readCounter) PhoneMessageTypes(ctx context.Context) (delivery.Set, error) {
	c.inc("PhoneMessageTypes")
	return c.Client.PhoneMessageTypes(ctx)
}

func (c *readCounter) SelectedPhoneProvider(ctx context.Context) (string, error) {
	c.inc("SelectedPhoneProvider")
	return c.Client.SelectedPhoneProvider(ctx)
}

func (c *readCounter) LegacyTwilio(ctx context.Context) (phonemigrate.LegacyTwilio, error) {
	c.inc("LegacyTwilio")
	return c.Client.LegacyTwilio(ctx)
}

func (c *readCounter) LegacyPhoneTemplates(ctx context.Context) (phonemigrate.LegacyPhoneTemplates, error) {
	c.inc("LegacyPhoneTemplates")
	return c.Client.LegacyPhoneTemplates(ctx)
}

func (c *readCounter) ListPhoneProviders(ctx context.Context) ([]phonemigrate.PhoneProvider, error) {
	c.inc("ListPhoneProviders")
	return c.Client.ListPhoneProviders(ctx)
}

func (c *readCounter) ListPhoneTemplates(ctx context.Context) ([]phonemigrate.PhoneTemplate, error) {
	c.inc("ListPhoneTemplates")
	return c.Client.ListPhoneTemplates(ctx)
}

func (c *readCounter) GetAction(ctx context.Context, id string) (phonemigrate.Action, error) {
	c.inc("GetAction")
	return c.Client.GetAction(ctx, id)
}

func (c *readCounter) ListActionsByTrigger(ctx context.Context, trigger string) ([]phonemigrate.Action, error) {
	c.inc("ListActionsByTrigger")
	return c.Client.ListActionsByTrigger(ctx, trigger)
}

func (c *readCounter) TriggerBindings(ctx context.Context, trigger string) ([]phonemigrate.Binding, error) {
	c.inc("TriggerBindings")
	return c.Client.TriggerBindings(ctx, trigger)
}

// TestApplyFreshReadsOnce: an uninterrupted Apply without a provider test
// reads each thing once, skips the legacy Guardian reads that cannot matter
// and the custom-phone-provider Actions and bindings on the Twilio path,
// polls the Action only until built, reads each connection right before
// its whole-options write, and reads back only the MFA message types, whose
// write answers no body. The provider test is a wait: after it the run
// re-reads what its later steps write from, and where the template texts
// come from.
func TestApplyFreshReadsOnce(t *testing.T) {
	t.Parallel()
	discovery := map[string]int{"TenantSettings": 1, "ListSMSConnections": 1, "GuardianFactors": 1, "ListPhoneProviders": 1, "ListPhoneTemplates": 1}
	mfa := map[string]int{"PhoneMessageTypes": 1, "SelectedPhoneProvider": 1, "LegacyTwilio": 1, "LegacyPhoneTemplates": 1}
	custom := map[string]int{"ListActionsByTrigger": 1, "TriggerBindings": 1, "GetAction": 4} // memTenant builds on the third poll; one more read sees the deploy done
	conn := map[string]int{"GetConnection": 1}
	// After the test: the tenant flag, the phone templates, and the
	// template sources (the connections; the Guardian messages with MFA),
	// the MFA message types with MFA.
	afterTest := map[string]int{"TenantSettings": 1, "ListPhoneTemplates": 1}
	afterTestConn := map[string]int{"ListSMSConnections": 1}
	afterTestMFA := map[string]int{"PhoneMessageTypes": 1, "LegacyPhoneTemplates": 1}
	with := func(ms ...map[string]int) map[string]int {
		out := map[string]int{}
		for _, m := range ms {
			for k, v := range m {
				out[k] += v
			}
		}
		return out
	}
	skipTest := func(o *phonemigrate.Options) { o.TestRecipients, o.SkipTest = nil, true }
	confirm := func(o *phonemigrate.Options) {
		o.Confirm = func(context.Context, phonemigrate.TestMessage) (bool, error) { return true, nil }
	}
	tests := []struct {
		name  string
		setup func(mt *memTenant)
		opts  func(o *phonemigrate.Options)
		want  map[string]int // nil: refused as not eligible
	}{
		{"legacy-gateway", nil, skipTest, with(discovery, custom, conn)},
		{"legacy-twilio", nil, skipTest, with(discovery, conn)},
		{"mfa-twilio", nil, skipTest, with(discovery, mfa)},
		{"mixed", nil, skipTest, with(discovery, mfa, custom, conn)},
		{"mixed", func(mt *memTenant) { mt.MsgTypes = nil }, skipTest, // message types written, then read back
			with(discovery, mfa, custom, conn, map[string]int{"PhoneMessageTypes": 1})},
		{"mfa-twilio", func(mt *memTenant) { mt.Selected = "auth0"; mt.LegacyTw = nil }, skipTest, // MFA via Auth0: no Twilio read
			nil},
		{"legacy-twilio", func(mt *memTenant) { mt.UPE = nil }, skipTest, // no tenant flag: off, no probe
			with(discovery, conn)},
		// With a provider test, automatic confirmation or a person's.
		{"legacy-gateway", nil, nil, with(discovery, custom, conn, afterTest, afterTestConn)},
		{"mfa-twilio", nil, nil, with(discovery, mfa, afterTest, afterTestMFA)},
		{"mixed", nil, confirm, with(discovery, mfa, custom, conn, afterTest, afterTestConn, afterTestMFA)},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-%s", i, tt.name), func(t *testing.T) {
			o := baseOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			mt := scenario(tt.name)
			if tt.setup != nil {
				tt.setup(mt)
			}
			c := countReads(mt)
			m, _ := newMigrator(t, c)
			_, err := m.Apply(t.Context(), o)
			if tt.want == nil {
				// MFA through Auth0 with no other legacy settings: refused
				// after discovery, which read no legacy Twilio settings.
				if !errors.Is(err, phonemigrate.ErrNotEligible) {
					t.Fatalf("Apply err = %v, want ErrNotEligible", err)
				}
				if n := c.counts()["LegacyTwilio"]; n != 0 {
					t.Errorf("LegacyTwilio read %d times with MFA sending through Auth0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.counts()); diff != "" {
				t.Errorf("reads of a fresh Apply (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyResumeRereads: a run resumed after a failure re-reads what the
// failed step depends on before it writes again (the discovery of the
// first run may be stale).
func TestApplyResumeRereads(t *testing.T) {
	t.Parallel()
	type pair func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any
	tests := []struct {
		fail injection
		// readThenWrite expects the step's read before its write.
		readThenWrite pair
	}{
		{injection{method: "CreateAction", lost: true}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.ListActionsByTrigger(gomock.Any(), gomock.Any()).DoAndReturn(mt.ListActionsByTrigger),
				e.TriggerBindings(gomock.Any(), gomock.Any()).DoAndReturn(mt.TriggerBindings),
				e.SetTriggerBindings(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.SetTriggerBindings)}
		}},
		{injection{method: "CreatePhoneProvider", lost: true}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.ListPhoneProviders(gomock.Any()).DoAndReturn(mt.ListPhoneProviders),
				e.TestPhoneProvider(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.TestPhoneProvider)}
		}},
		{injection{method: "SetPhoneConsolidatedExperience"}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.TenantSettings(gomock.Any()).DoAndReturn(mt.TenantSettings),
				e.SetPhoneConsolidatedExperience(gomock.Any(), true).DoAndReturn(mt.SetPhoneConsolidatedExperience)}
		}},
		{injection{method: "ReplaceConnectionOptions"}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.GetConnection(gomock.Any(), "con_gw").DoAndReturn(mt.GetConnection),
				e.ReplaceConnectionOptions(gomock.Any(), "con_gw", gomock.Any()).DoAndReturn(mt.ReplaceConnectionOptions)}
		}},
		{injection{method: "SetPhoneMessageTypes"}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.PhoneMessageTypes(gomock.Any()).DoAndReturn(mt.PhoneMessageTypes),
				e.SetPhoneMessageTypes(gomock.Any(), gomock.Any()).DoAndReturn(mt.SetPhoneMessageTypes)}
		}},
		{injection{method: "CreatePhoneTemplate", lost: true}, func(e *mock_phonemigrate.MockClientMockRecorder, mt *memTenant) []any {
			return []any{e.ListPhoneTemplates(gomock.Any()).DoAndReturn(mt.ListPhoneTemplates),
				e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate)}
		}},
	}
	for _, tt := range tests {
		name := tt.fail.method
		if tt.fail.lost {
			name += "/lost"
		}
		t.Run(name, func(t *testing.T) {
			mt := mixedMFAUnset()
			m, store := newMigrator(t, mockOver(t, mt, false, inject(mt, tt.fail)))
			if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, errBoom) {
				t.Fatalf("Apply err = %v, want the injected failure", err)
			}
			c := mockOver(t, mt, false, func(mc *mock_phonemigrate.MockClient) {
				gomock.InOrder(tt.readThenWrite(mc.EXPECT(), mt)...)
			})
			m2, err := newStubbed(c, phonemigrate.WithStore(store), phonemigrate.WithTenant("acme-legacy"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := m2.Apply(t.Context(), baseOptions())
			if err != nil || res.State != phonemigrate.StateCompleted {
				t.Fatalf("resume = %+v, %v", res, err)
			}
		})
	}
}

// recorder is an http.RoundTripper that logs each request the client sends,
// in the client's order (the fake's own log is in completion order).
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, status))
	r.mu.Unlock()
	return resp, err
}

// TestIntegrationCallSequence pins the Management API requests of a fresh
// migration of each scenario over the real go-auth0 client and the fake
// tenant (testdata/calls/*.txt; -update rewrites them): reads first, each
// once, then the writes in the order the rules require, each verified from
// its answer (a read right before the whole-options connection write); the
// provider test is a wait, after which the run re-reads what each later
// step writes from (and the template texts' sources, before the switch).
func TestIntegrationCallSequence(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(time.Hour, 1)) // built on the first read
			t.Cleanup(srv.Close)
			rec := &recorder{}
			cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token), HTTPClient: &http.Client{Transport: rec}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := newStubbed(cl, phonemigrate.WithPollInterval(5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			st := srv.State()
			var ids []string
			for _, c := range st.Connections {
				ids = append(ids, c.ID, "{connection_id}")
			}
			for _, a := range st.Actions {
				ids = append(ids, a.ID, "{action_id}")
			}
			for _, p := range st.PhoneProviders {
				ids = append(ids, p.ID, "{provider_id}")
			}
			for _, p := range st.PhoneTemplates {
				ids = append(ids, p.ID, "{template_id}")
			}
			r := strings.NewReplacer(ids...)
			var b strings.Builder
			rec.mu.Lock()
			for _, line := range rec.log {
				fmt.Fprintln(&b, r.Replace(line))
			}
			rec.mu.Unlock()
			golden(t, "calls/"+string(sc)+".txt", []byte(b.String()))
		})
	}
}

// TestApplyConfirmKeepsConcurrentEdits: an option someone changes while the
// run waits for a person to confirm the test message survives the
// whole-options connection write (the run re-reads after waiting).
func TestApplyConfirmKeepsConcurrentEdits(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	m, _ := newMigrator(t, mt, phonemigrate.WithConfirmStaleAfter(0)) // every answer counts as a person's
	o := baseOptions()
	o.Confirm = func(context.Context, phonemigrate.TestMessage) (bool, error) {
		mt.mu.Lock()
		defer mt.mu.Unlock()
		for i := range mt.Conns {
			if mt.Conns[i].ID == "con_gw" {
				mt.Conns[i].Options["custom_flag"] = "edited meanwhile"
			}
		}
		return true, nil
	}
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, c := range mt.snapshot().Conns {
		if c.ID == "con_gw" && c.Options["custom_flag"] != "edited meanwhile" {
			t.Errorf("custom_flag = %v after the migration, want the concurrent edit kept", c.Options["custom_flag"])
		}
	}
}

// TestApplyMigratesTemplateEditsMadeDuringTheTest: a colleague edits a
// template source — the Passwordless connection's template, the Guardian
// enrollment message — while the run waits for the test message (here:
// inside Confirm). The tenant template is written with the edited text,
// not the one read before the wait.
func TestApplyMigratesTemplateEditsMadeDuringTheTest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		edit     func(mt *memTenant)
		typ      string
		want     string
	}{
		{"connection template", "legacy-gateway", func(mt *memTenant) {
			for i := range mt.Conns {
				mt.Conns[i].Options["template"] = "Edited meanwhile: @@password@@"
			}
		}, "otp_verify", "Edited meanwhile: {{ code }}"},
		{"guardian enrollment message", "mfa-twilio", func(mt *memTenant) {
			mt.LegacyTemplates.EnrollmentMessage = "Edited meanwhile: {{code}}"
		}, "otp_enroll", "Edited meanwhile: {{code}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario(tt.scenario)
			m, _ := newMigrator(t, mt)
			o := baseOptions()
			o.Confirm = func(context.Context, phonemigrate.TestMessage) (bool, error) {
				mt.mu.Lock()
				defer mt.mu.Unlock()
				tt.edit(mt)
				return true, nil
			}
			res, err := m.Apply(t.Context(), o)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			var got string
			for _, tpl := range mt.snapshot().Templates {
				if tpl.Type == tt.typ && tpl.Customized() {
					got = tpl.Content.Text
				}
			}
			if got != tt.want {
				t.Errorf("%s template text = %q, want the edit made during the test, %q", tt.typ, got, tt.want)
			}
			// The checkpoint records what was written (rollback and check
			// compare with it).
			for _, ti := range res.Checkpoint.Intent.Templates {
				if ti.Type == tt.typ && ti.Text != tt.want {
					t.Errorf("checkpoint intent %s text = %q, want %q", tt.typ, ti.Text, tt.want)
				}
			}
		})
	}
}

// TestApplyFromPlannedReads: Apply given the plan just made (Options.Planned)
// starts from that plan's reads — the tenant is read once for both —, unless
// the plan is stale (a second or more, as after a person's answer), was made
// by another Migrator, or its reads were used already.
func TestApplyFromPlannedReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stale     bool
		other     bool
		wantReads int // GET /tenants/settings, all runs
	}{
		{name: "just planned", wantReads: 1},
		{name: "stale", stale: true, wantReads: 2},
		{name: "another Migrator's plan", other: true, wantReads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The plan's reads stay fresh for an hour (not the default
			// second, which a busy machine can spend between Plan and
			// Apply), or not at all.
			opts := []phonemigrate.Option{phonemigrate.WithConfirmStaleAfter(time.Hour)}
			if tt.stale {
				opts = []phonemigrate.Option{phonemigrate.WithConfirmStaleAfter(0)}
			}
			mt := scenario("legacy-twilio")
			c := countReads(mt)
			m, _ := newMigrator(t, c, opts...)
			o := baseOptions()
			o.TestRecipients, o.SkipTest = nil, true
			planner := m
			if tt.other {
				planner, _ = newMigrator(t, c)
			}
			p, err := planner.Plan(t.Context(), o)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			o.Planned = p
			if _, err := m.Apply(t.Context(), o); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if n := c.counts()["TenantSettings"]; n != tt.wantReads {
				t.Errorf("tenant settings read %d times, want %d", n, tt.wantReads)
			}
		})
	}
}
