// Package privatefile writes files that can hold tenant data (snapshots,
// exports, checkpoints) so that only their owner can read them, without
// following a symlink someone else planted, and checks that a directory is
// not one where another user could plant one.
package privatefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Modes of what this package creates.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// ErrUnsafeDir is wrapped by [CheckDir] for a directory other users may
// write without the sticky bit.
var ErrUnsafeDir = errors.New("directory writable by other users")

// CheckDir refuses a directory that group or others may write unless it
// has the sticky bit (as /tmp does): there, another user can put or swap a
// file (or a symlink) under any name.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%w: %s (mode %04o, no sticky bit); another user could put files in it; use a private directory (chmod 700)", ErrUnsafeDir, dir, fi.Mode().Perm())
	}
	return nil
}

// WriteFile writes data to path with mode 0600, atomically: a temporary
// file in the same directory, synced, then renamed over path — so a
// symlink at path is replaced, never followed, and an existing file is
// never truncated in place — and the directory synced, so that the new
// content survives a crash once WriteFile returns.
func WriteFile(path string, data []byte) error { return write(path, data, true) }

// WriteFileUnsynced is WriteFile without the syncs: the caller makes the
// file durable itself (for example one syncfs for many files).
func WriteFileUnsynced(path string, data []byte) error { return write(path, data, false) }

func write(path string, data []byte, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	if durable {
		return syncDir(dir)
	}
	return nil
}

// syncDir makes the directory's entries (a rename) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there; NTFS journals renames
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// MkdirAll creates dir and its missing parents with mode 0700.
func MkdirAll(dir string) error { return os.MkdirAll(dir, DirMode) }
