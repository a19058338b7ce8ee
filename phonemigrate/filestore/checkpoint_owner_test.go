//go:build unix

package filestore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// fakeInfo is an fs.FileInfo with a chosen owner and mode.
type fakeInfo struct {
	uid  uint32
	mode fs.FileMode
}

func (f fakeInfo) Name() string       { return "cp.json" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return &syscall.Stat_t{Uid: f.uid} }

func TestCheckFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fi      fakeInfo
		uid     int
		problem string // "" = accepted
	}{
		{name: "own 0600", fi: fakeInfo{uid: 1000, mode: 0o600}, uid: 1000},
		{name: "own 0644", fi: fakeInfo{uid: 1000, mode: 0o644}, uid: 1000},
		{name: "other user", fi: fakeInfo{uid: 1001, mode: 0o600}, uid: 1000, problem: "is owned by user id 1001, not by you (1000)"},
		{name: "root's file, user runs", fi: fakeInfo{uid: 0, mode: 0o600}, uid: 1000, problem: "owned by user id 0"},
		{name: "user's file, root runs", fi: fakeInfo{uid: 1000, mode: 0o600}, uid: 0, problem: "owned by user id 1000"},
		{name: "group writable", fi: fakeInfo{uid: 1000, mode: 0o620}, uid: 1000, problem: "writable by group or others (mode 0620)"},
		{name: "world writable", fi: fakeInfo{uid: 1000, mode: 0o666}, uid: 1000, problem: "writable by group or others (mode 0666)"},
		{name: "directory", fi: fakeInfo{uid: 1000, mode: fs.ModeDir | 0o700}, uid: 1000, problem: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := filestore.CheckFile("/shared/cp.json", tc.fi, tc.uid)
			if tc.problem == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var ce *phonemigrate.CheckpointError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("error = %v, want a CheckpointError saying %q", err, tc.problem)
			}
			if phonemigrate.ExitCode(err) != 2 {
				t.Errorf("ExitCode = %d, want 2", phonemigrate.ExitCode(err))
			}
		})
	}
}

// TestFileStoreRefusesForeignFiles: Load, Lock (and so Apply, Rollback and
// Status) refuse a checkpoint or a lock owned by another user or writable
// by others, with exit code 2 and nothing changed.
func TestFileStoreRefusesForeignFiles(t *testing.T) {
	t.Parallel()
	me := os.Getuid()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, s *filestore.Store, path string)
		lock  bool // the lock, not the checkpoint, is the bad file
	}{
		{name: "checkpoint of another user", setup: func(t *testing.T, s *filestore.Store, path string) {
			filestore.SetUID(s, me+4242)
		}},
		{name: "world-writable checkpoint", setup: func(t *testing.T, s *filestore.Store, path string) {
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "lock of another user", lock: true, setup: func(t *testing.T, s *filestore.Store, path string) {
			if err := os.WriteFile(path+".lock", []byte("999999999\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			filestore.SetUID(s, me+4242)
		}},
		{name: "group-writable lock", lock: true, setup: func(t *testing.T, s *filestore.Store, path string) {
			if err := os.WriteFile(path+".lock", []byte("999999999\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path+".lock", 0o660); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			s := filestore.New(path)
			if err := s.Save(t.Context(), sampleCheckpoint()); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, s, path)
			var err error
			if tc.lock {
				_, err = s.Lock(t.Context())
			} else {
				_, err = s.Load(t.Context())
			}
			var ce *phonemigrate.CheckpointError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a CheckpointError", err)
			}
			if phonemigrate.ExitCode(err) != 2 {
				t.Errorf("ExitCode = %d, want 2", phonemigrate.ExitCode(err))
			}
			if tc.lock {
				if _, serr := os.Stat(path + ".lock"); serr != nil {
					t.Errorf("the foreign lock was removed: %v", serr)
				}
			}
			srv, m := fakeMigrator(t, s)
			before := srv.State()
			if _, rerr := m.Rollback(t.Context()); !errors.As(rerr, &ce) {
				t.Errorf("Rollback error = %v, want a CheckpointError", rerr)
			}
			if _, aerr := m.Apply(t.Context(), phonemigrate.Options{SkipTest: true}); !errors.As(aerr, &ce) {
				t.Errorf("Apply error = %v, want a CheckpointError", aerr)
			}
			if diff := cmp.Diff(before, srv.State()); diff != "" {
				t.Errorf("tenant changed (-before +after):\n%s", diff)
			}
		})
	}
}
