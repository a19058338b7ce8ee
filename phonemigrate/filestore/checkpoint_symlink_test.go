//go:build unix

package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// TestLockAndCheckpointNoFollow (#23 item 1): a symlink or hard link
// planted where the checkpoint or its lock goes is refused, never followed:
// the file it points at is neither truncated nor written nor created; an
// existing lock file is never truncated; a checkpoint directory other users
// may write (without the sticky bit) is refused.
func TestLockAndCheckpointNoFollow(t *testing.T) {
	t.Parallel()
	const victimText = "export PATH=$HOME/bin:$PATH\n"
	type fixture struct {
		dir, path, victim string
		s                 *filestore.Store
	}
	setup := func(t *testing.T) fixture {
		dir := t.TempDir()
		f := fixture{dir: dir, path: filepath.Join(dir, "cp.json"), victim: filepath.Join(t.TempDir(), ".bashrc")}
		if err := os.WriteFile(f.victim, []byte(victimText), 0o600); err != nil {
			t.Fatal(err)
		}
		f.s = filestore.New(f.path)
		return f
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	refused := func(t *testing.T, what string, err error) {
		t.Helper()
		var ce *phonemigrate.CheckpointError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error = %v, want a CheckpointError", what, err)
		}
	}
	victimIntact := func(t *testing.T, f fixture) {
		t.Helper()
		b, err := os.ReadFile(f.victim)
		if err != nil || string(b) != victimText {
			t.Errorf("the file the link points at changed: %q, %v", b, err)
		}
	}
	t.Run("symlinked lock", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		must(t, os.Symlink(f.victim, f.path+".lock"))
		unlock, err := f.s.Lock(t.Context())
		if err == nil {
			unlock()
		}
		refused(t, "Lock", err)
		victimIntact(t, f)
	})
	t.Run("dangling symlinked lock", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		target := filepath.Join(filepath.Dir(f.victim), "new-file")
		must(t, os.Symlink(target, f.path+".lock"))
		unlock, err := f.s.Lock(t.Context())
		if err == nil {
			unlock()
		}
		refused(t, "Lock", err)
		if _, err := os.Lstat(target); err == nil {
			t.Error("the symlink's target was created")
		}
	})
	t.Run("hard-linked lock", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		must(t, os.Link(f.victim, f.path+".lock"))
		unlock, err := f.s.Lock(t.Context())
		if err == nil {
			unlock()
		}
		refused(t, "Lock", err)
		victimIntact(t, f)
	})
	t.Run("existing lock not truncated", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		must(t, os.WriteFile(f.path+".lock", []byte("notes of mine\n"), 0o600))
		unlock, err := f.s.Lock(t.Context())
		must(t, err)
		must(t, unlock())
		if b, _ := os.ReadFile(f.path + ".lock"); string(b) != "notes of mine\n" {
			t.Errorf("the existing lock file was rewritten: %q", b)
		}
	})
	t.Run("symlinked checkpoint", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		real := filestore.New(f.victim + ".json")
		must(t, real.Save(t.Context(), sampleCheckpoint()))
		must(t, os.Symlink(f.victim+".json", f.path))
		_, err := f.s.Load(t.Context())
		refused(t, "Load", err)
	})
	t.Run("directory others may write", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		must(t, os.Chmod(f.dir, 0o777))
		_, err := f.s.Lock(t.Context())
		refused(t, "Lock", err)
		refused(t, "Save", f.s.Save(t.Context(), sampleCheckpoint()))
		_, err = f.s.Load(t.Context())
		refused(t, "Load", err)
		// With the sticky bit (as /tmp), other users cannot swap our files.
		must(t, os.Chmod(f.dir, 0o777|os.ModeSticky))
		unlock, err := f.s.Lock(t.Context())
		must(t, err)
		must(t, f.s.Save(t.Context(), sampleCheckpoint()))
		must(t, unlock())
	})
}
