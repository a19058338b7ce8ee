package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// scanFiles appends every file under dir to all, for a leak scan.
func scanFiles(t *testing.T, dir string, all *bytes.Buffer) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		fmt.Fprintf(all, "== file %s\n%s\n", path, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoLeak fails for each form found in text, showing where with the
// secret masked.
func assertNoLeak(t *testing.T, text string, forms ...string) {
	t.Helper()
	for _, f := range forms {
		if i := strings.Index(text, f); f != "" && i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+len(f)+50)
			t.Errorf("a secret form leaked:\n...%s...", strings.ReplaceAll(text[lo:hi], f, "<SECRET>"))
		}
	}
}

// echoingTwilio is a Twilio API that answers every request 401 with a
// message echoing the Basic authorization it received, decoded.
func echoingTwilio(t *testing.T) *httptest.Server {
	t.Helper()
	tw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"code": 20003, "status": 401,
			"message": "Authenticate: bad credentials " + user + ":" + pass + " (" + r.Header.Get("Authorization") + ")"})
	}))
	t.Cleanup(tw.Close)
	return tw
}

// TestGuardianTwilioTokenRedacted (#23 item 4): the Twilio token carried
// over from Guardian's legacy settings is a secret from the moment it is
// read, so a Twilio 401 that echoes the credentials leaks it neither on
// stderr, nor in --json, nor in the checkpoint, nor in fleet output.
func TestGuardianTwilioTokenRedacted(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewUnstartedServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
			srv.UseSecrets(leakSentinels)
			srv.Start()
			defer srv.Close()
			tw := echoingTwilio(t)
			dir := t.TempDir()
			// No TWILIO_AUTH_TOKEN: the Guardian token is carried over.
			env := map[string]string{envBaseURL: srv.BaseURL, envClientID: srv.ClientID, envClientSecret: leakSentinels.ClientSecret, envWatch: "0"}
			var all bytes.Buffer
			cli := recordCLI(t, env, &all, false)
			cp := filepath.Join(dir, "cp.json")
			if code := cli("apply", "--yes", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", tw.URL, "--checkpoint", cp); code == 0 {
				t.Fatal("apply succeeded with Twilio refusing the token")
			}
			cli("apply", "--yes", "--json", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", tw.URL, "--checkpoint", cp)
			cli("status", "--json", "--checkpoint", cp)
			fleetFile := filepath.Join(dir, "fleet.json")
			fleet := fmt.Sprintf(`[{"name": "t", "base_url": %q, "client_id_env": "AUTH0_CLIENT_ID", "client_secret_env": "AUTH0_CLIENT_SECRET", "checkpoint": "fleet-cp.json", "options": {"skip_test": true, "twilio_api_url": %q}}]`, srv.BaseURL, tw.URL)
			if err := os.WriteFile(fleetFile, []byte(fleet), 0o600); err != nil {
				t.Fatal(err)
			}
			cli("apply", "--yes", "--fleet", fleetFile)
			cli("apply", "--yes", "--json", "--fleet", fleetFile)
			scanFiles(t, dir, &all)
			if !strings.Contains(all.String(), "bad credentials") {
				t.Fatalf("Twilio's echo never reached the output; the scan proves nothing:\n%s", all.String())
			}
			assertNoLeak(t, all.String(), append(leakForms(), base64.StdEncoding.EncodeToString([]byte(leakSentinels.TwilioAuthToken)))...)
		})
	}
}

// TestTenantDataFilesPrivate (#23 item 13): the files that can hold tenant
// data — the snapshot, every export file, the checkpoint — are 0600 and
// the directories the CLI creates for them 0700, whatever the umask; a
// symlink at --out is replaced, not followed.
func TestTenantDataFilesPrivate(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "snap.json")
	if err := os.Symlink(victim, snap); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"snapshot", "--quiet", "--out", snap},
		{"export", "--format", "terraform", "--out", filepath.Join(dir, "tf")},
		{"export", "--format", "deploy-cli", "--layout", "directory", "--out", filepath.Join(dir, "dc", "nested")},
	} {
		if code, _, stderr := runCLI(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine" {
		t.Errorf("snapshot --out followed the symlink: the file it pointed at now holds %q", b)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Errorf("only %d files and directories written; the check proves little", n)
	}
}
