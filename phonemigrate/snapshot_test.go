package phonemigrate_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// clientOf is a Management API client (go-auth0) of a fake tenant.
func clientOf(t *testing.T, srv *phonemigratetest.Server) phonemigrate.Client {
	t.Helper()
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestSnapshotReadsOnly: with a strict gomock client (every write
// unexpected) a snapshot of each scenario makes no write.
func TestSnapshotReadsOnly(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"legacy-gateway", "legacy-twilio", "mfa-twilio", "mixed", "unified", "empty"} {
		t.Run(name, func(t *testing.T) {
			c := mockOver(t, scenario(name), true, nil)
			if _, err := snapshot.Take(t.Context(), c, name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSnapshotRoundTrip: for every scenario, a snapshot of the fake sends
// only GETs and leaves the tenant as it was; a fake served from the
// snapshot gives back the same snapshot, ids and all (gateway URLs
// restored), and the same JSON.
func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	for _, sc := range phonemigratetest.Scenarios() {
		t.Run(string(sc), func(t *testing.T) {
			srv := phonemigratetest.NewServer(sc)
			t.Cleanup(srv.Close)
			before := srv.State()
			snap, err := snapshot.Take(t.Context(), clientOf(t, srv), "acme")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range srv.Requests() {
				if r.Method != http.MethodGet {
					t.Errorf("snapshot sent %s %s", r.Method, r.Path)
				}
			}
			if diff := cmp.Diff(before, srv.State()); diff != "" {
				t.Errorf("snapshot changed the tenant (-before +after):\n%s", diff)
			}
			// The tenant's name, which phone texts may show, is carried.
			if want, _ := before.TenantSettings["friendly_name"].(string); snap.FriendlyName != want || want == "" {
				t.Errorf("snapshot friendly_name %q, tenant %q", snap.FriendlyName, want)
			}

			fake, err := phonemigratetest.NewServerFrom(snap)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			again, err := snapshot.Take(t.Context(), clientOf(t, fake), "acme")
			if err != nil {
				t.Fatal(err)
			}
			fake.RestoreGatewayURLs(again)
			if diff := cmp.Diff(snap, again); diff != "" {
				t.Errorf("snapshot of the fake served from the snapshot (-file +fake):\n%s", diff)
			}
			a, _ := snap.JSON()
			b, _ := again.JSON()
			if string(a) != string(b) {
				t.Errorf("JSON differs:\n%s\n%s", a, b)
			}
			// Every gateway was re-pointed to the local fake Gateway.
			for _, c := range fake.State().Connections {
				if u, _ := c.Options["gateway_url"].(string); u != "" && !strings.HasPrefix(u, fake.Gateway().URL+"/") {
					t.Errorf("connection %s gateway_url %s is not the fake's gateway", c.Name, u)
				}
			}
		})
	}
}

// TestSnapshotReplacesSecrets: sentinel secrets in every place a tenant
// holds one never reach the snapshot file; each is listed as a stable
// placeholder, and a fake served from the snapshot delivers every message
// (the gateway verifies the placeholder secret, the fake Twilio accepts
// the placeholder token).
func TestSnapshotReplacesSecrets(t *testing.T) {
	t.Parallel()
	sec := phonemigratetest.Secrets{TwilioAuthToken: "SENTINEL-twilio-token-7f3a", GatewaySecret: "SENTINEL-gateway-secret-91bc"}
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.Mixed, phonemigratetest.Unified} {
		t.Run(string(sc), func(t *testing.T) {
			srv := phonemigratetest.NewUnstartedServer(sc)
			srv.UseSecrets(sec)
			srv.Start()
			t.Cleanup(srv.Close)
			snap, err := snapshot.Take(t.Context(), clientOf(t, srv), "")
			if err != nil {
				t.Fatal(err)
			}
			b, err := snap.JSON()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range append(sec.Forms(), "SENTINEL") {
				if strings.Contains(string(b), f) {
					t.Errorf("snapshot holds secret form %q:\n%s", f, b)
				}
			}
			if len(snap.Placeholders) == 0 {
				t.Fatal("no placeholder listed")
			}
			for _, p := range snap.Placeholders {
				if !strings.Contains(string(b), p.Value) {
					t.Errorf("placeholder %s=%q is not in the file", p.Where, p.Value)
				}
			}
			// Stable: a second snapshot is the same file.
			again, _ := snapshot.Take(t.Context(), clientOf(t, srv), "")
			if diff := cmp.Diff(snap, again); diff != "" {
				t.Errorf("second snapshot differs:\n%s", diff)
			}

			fake, err := phonemigratetest.NewServerFrom(snap)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			if sc == phonemigratetest.Unified {
				return // no legacy message to send before the migration
			}
			ds, err := fake.Deliver(t.Context(), fake.State().Messages("+15557654321"))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if !d.Delivered || d.Via == "" {
					t.Errorf("%s not delivered from the snapshot's fake: %s", d.Path, d.Detail)
				}
			}
		})
	}
}

// TestSnapshotRehearsal is the rehearsal in the library: a fake served
// from a snapshot of each legacy scenario migrates, every path delivers
// the same message before and after (phonemigratetest.Compare), and after
// the rollback the tenant's snapshot equals the file again.
func TestSnapshotRehearsal(t *testing.T) {
	requireNode(t)
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			src := phonemigratetest.NewServer(sc)
			t.Cleanup(src.Close)
			snap, err := snapshot.Take(t.Context(), clientOf(t, src), "")
			if err != nil {
				t.Fatal(err)
			}
			src.Close()

			fake, err := phonemigratetest.NewServerFrom(snap, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			cl := clientOf(t, fake)
			m, err := newStubbed(cl, phonemigrate.WithPollInterval(5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			reqs := fake.State().Messages(recipient)
			before := deliverAll(t, fake, reqs)
			o := phonemigrate.Options{SkipTest: true, TwilioAPIBaseURL: fake.Twilio().URL}
			if _, err := m.Apply(t.Context(), o); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			assertSame(t, "after the migration", before, deliverAll(t, fake, reqs))
			if _, err := m.Rollback(t.Context()); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			back, err := snapshot.Take(t.Context(), cl, "")
			if err != nil {
				t.Fatal(err)
			}
			fake.RestoreGatewayURLs(back)
			if diff := phonemigratetest.DiffSnapshots(snap, back); diff != "" {
				t.Errorf("tenant after rollback (-snapshot +now):\n%s", diff)
			}
		})
	}
}
