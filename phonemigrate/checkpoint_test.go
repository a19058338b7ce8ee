package phonemigrate_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

func sampleCheckpoint() *phonemigrate.Checkpoint {
	types := delivery.Of(delivery.Text)
	return &phonemigrate.Checkpoint{
		Version: phonemigrate.CheckpointVersion, Tenant: "acme", State: phonemigrate.StateFailed, LastGood: phonemigrate.StateTenantSwitched,
		Error:   "boom",
		Created: phonemigrate.Created{ActionID: "act_1", ProviderID: "pro_1", TemplateIDs: []string{"tem_1"}},
		Originals: phonemigrate.Originals{
			PhoneConsolidatedExperience: &phonemigrate.OriginalFlag{Value: ptr(false)},
			ConnectionOptions:           []phonemigrate.OriginalOption{{ConnectionID: "con_1", Connection: "sms", Key: "use_phone_provider", Present: true, Value: false}},
			MFAMessageTypes:             &types,
		},
		UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cp.json")
	s := filestore.New(path)
	if _, err := s.Load(t.Context()); !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		t.Fatalf("Load of nothing: %v", err)
	}
	cp := sampleCheckpoint()
	if err := s.Save(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := s.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cp, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Atomic replace: a second save leaves no temporary file and the file
	// is always a whole checkpoint.
	cp.State = phonemigrate.StateCompleted
	if err := s.Save(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only cp.json", names)
	}
	got, _ = s.Load(t.Context())
	if got.State != phonemigrate.StateCompleted {
		t.Errorf("state = %s", got.State)
	}
	// Even an existing, more permissive file ends up 0600.
	os.Chmod(path, 0o644)
	s.Save(t.Context(), cp)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after resave = %v", fi.Mode().Perm())
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, content string }{
		{"not json", "{not json"},
		{"truncated", `{"version":1,"state":"plan`},
		{"wrong version", `{"version":99,"state":"planned"}`},
		{"unknown state", `{"version":1,"state":"exploded"}`},
		{"unknown last_good", `{"version":1,"state":"failed","last_good":"nowhere"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			os.WriteFile(path, []byte(tt.content), 0o600)
			_, err := filestore.New(path).Load(t.Context())
			var ce *phonemigrate.CheckpointError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Errorf("err = %v, want *CheckpointError for %s", err, path)
			}
			if phonemigrate.ExitCode(err) != 2 {
				t.Errorf("exit code %d", phonemigrate.ExitCode(err))
			}
		})
	}
}

func TestFileStoreLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cp.json")
	a, b := filestore.New(path), filestore.New(path)
	unlock, err := a.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".lock"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
	if _, err := b.Lock(t.Context()); !errors.Is(err, phonemigrate.ErrLocked) {
		t.Errorf("second Lock: %v, want ErrLocked", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock2, err := b.Lock(t.Context())
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()

	// A lock file left by a process that no longer runs (whatever it
	// holds) is simply locked again: the kernel released its lock.
	for _, content := range []string{strconv.Itoa(deadPID(t)) + "\n", "garbage"} {
		os.WriteFile(path+".lock", []byte(content), 0o600)
		unlock3, err := a.Lock(t.Context())
		if err != nil {
			t.Fatalf("leftover lock file %q not taken: %v", content, err)
		}
		unlock3()
	}
}

// TestFileStoreLockRace: any number of runs trying to take the lock at
// once, with a leftover lock file from a crashed run: exactly one gets it
// (there is no remove-then-create of a stale lock to race on).
func TestFileStoreLockRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cp.json")
	os.WriteFile(path+".lock", []byte(strconv.Itoa(deadPID(t))+"\n"), 0o600)
	const runs = 16
	var (
		mu      sync.Mutex
		holders int
		start   = make(chan struct{})
		wg      sync.WaitGroup
		unlocks []func() error
	)
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			unlock, err := filestore.New(path).Lock(t.Context())
			if err == nil {
				mu.Lock()
				holders++
				unlocks = append(unlocks, unlock)
				mu.Unlock()
			} else if !errors.Is(err, phonemigrate.ErrLocked) {
				t.Errorf("Lock: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if holders != 1 {
		t.Errorf("%d runs hold the lock, want exactly 1", holders)
	}
	for _, u := range unlocks {
		u()
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Skipf("cannot start a process: %v", err)
	}
	pid := p.Pid
	p.Wait()
	return pid
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	s := phonemigrate.NewMemoryStore()
	if _, err := s.Load(t.Context()); !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		t.Fatal(err)
	}
	cp := sampleCheckpoint()
	s.Save(t.Context(), cp)
	cp.Tenant = "changed after save"
	got, _ := s.Load(t.Context())
	if got.Tenant != "acme" {
		t.Errorf("store shares memory with the caller")
	}
	unlock, _ := s.Lock(t.Context())
	if _, err := s.Lock(t.Context()); !errors.Is(err, phonemigrate.ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	if _, err := s.Lock(t.Context()); err != nil {
		t.Errorf("lock after unlock: %v", err)
	}
}

// TestApplyFileStore runs a migration on a file store: the file is 0600,
// holds no secret, and a second Migrator (a new process) resumes from it.
func TestApplyFileStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cp.json")
	mt := scenario("mixed")
	m, _ := newStubbed(mockOver(t, mt, false, inject(mt, injection{method: "ReplaceConnectionOptions"})),
		phonemigrate.WithStore(filestore.New(path)), phonemigrate.WithPollInterval(time.Millisecond))
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, s := range []string{fxTwilioToken, fxGwSecret, fxGatewayURL} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("checkpoint file holds a secret")
		}
	}
	m2, _ := newStubbed(mt, phonemigrate.WithStore(filestore.New(path)), phonemigrate.WithPollInterval(time.Millisecond))
	res, err := m2.Apply(t.Context(), baseOptions())
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume from file = %v, %v", res, err)
	}
	cp, err := m2.Status(t.Context())
	if err != nil || cp.State != phonemigrate.StateCompleted || cp.Plan == nil {
		t.Errorf("Status = %+v, %v", cp, err)
	}
}

func TestCheckpointNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state, lastGood phonemigrate.State
		next            phonemigrate.Next
		resume          phonemigrate.State
	}{
		{phonemigrate.StateNew, "", phonemigrate.NextStart, ""},
		{phonemigrate.StateRolledBack, "", phonemigrate.NextStart, ""},
		{phonemigrate.StateAlreadyUnified, "", phonemigrate.NextStart, ""},
		{phonemigrate.StateCompleted, "", phonemigrate.NextNone, ""},
		{phonemigrate.StateRollingBack, "", phonemigrate.NextRollback, ""},
		{phonemigrate.StateFailed, phonemigrate.StateRollingBack, phonemigrate.NextRollback, ""},
		{phonemigrate.StateFailed, phonemigrate.StateTenantSwitched, phonemigrate.NextApply, phonemigrate.StateTenantSwitched},
		// Failed before a plan was recorded (Twilio refused the token while
		// planning): nothing was written, no migration is in progress.
		{phonemigrate.StateFailed, "", phonemigrate.NextStart, ""},
		{phonemigrate.StateFailed, phonemigrate.StateDiscovered, phonemigrate.NextStart, ""},
		{phonemigrate.StateDiscovered, "", phonemigrate.NextStart, ""},
		{phonemigrate.StateFailed, phonemigrate.StatePlanned, phonemigrate.NextApply, phonemigrate.StatePlanned},
		{phonemigrate.StateProviderTested, "", phonemigrate.NextApply, phonemigrate.StateProviderTested}, // interrupted
	}
	for _, tt := range tests {
		cp := &phonemigrate.Checkpoint{State: tt.state, LastGood: tt.lastGood}
		if got := cp.Next(); got != tt.next {
			t.Errorf("%s/%s: Next = %s, want %s", tt.state, tt.lastGood, got, tt.next)
		}
		if got := cp.ResumePoint(); got != tt.resume {
			t.Errorf("%s/%s: ResumePoint = %q, want %q", tt.state, tt.lastGood, got, tt.resume)
		}
	}
	var none *phonemigrate.Checkpoint
	if none.Next() != phonemigrate.NextStart {
		t.Errorf("nil checkpoint: Next = %s, want start", none.Next())
	}
}
