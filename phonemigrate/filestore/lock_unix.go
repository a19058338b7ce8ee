//go:build unix

package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// Lock takes an exclusive advisory lock (flock) on path + ".lock", which
// it creates when missing and never removes. The kernel releases the lock
// when the holder exits, however it exits, so there is no stale lock to
// take over and no remove-then-create race between two runs: of any number
// of runs trying at once, exactly one gets it; the others get [phonemigrate.ErrLocked].
//
// The lock file is opened without following a symlink, and an existing
// one is never truncated or written (only a lock file this call creates
// gets the process id). A symlink in its place, a lock file owned by
// another user, writable by group or others, or with other hard links,
// and a directory other users may write without the sticky bit are each a
// [*phonemigrate.CheckpointError].
func (s *Store) Lock(ctx context.Context) (func() error, error) {
	lock := s.path + ".lock"
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	created := true
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if errors.Is(err, fs.ErrExist) {
		created = false
		f, err = os.OpenFile(lock, os.O_RDWR|noFollow, 0)
	}
	if isSymlinkErr(err) {
		return nil, symlinkError(lock)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		// The file cannot be created where the user pointed: input to fix,
		// not a failed migration.
		return nil, &phonemigrate.CheckpointError{Path: s.path, Problem: "cannot be created: its directory " + unusableDir(s.path, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("lock checkpoint: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(lock, fi, s.currentUID())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock file %s)", phonemigrate.ErrLocked, lock)
		}
		return nil, fmt.Errorf("lock checkpoint: %w", err)
	}
	// Who holds it, for a person looking (not used to decide anything);
	// only in a file this call created.
	if created {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	var once sync.Once
	return func() error {
		var rerr error
		once.Do(func() {
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
				rerr = fmt.Errorf("unlock checkpoint: %w", err)
			}
			if err := f.Close(); err != nil && rerr == nil {
				rerr = fmt.Errorf("close lock file: %w", err)
			}
		})
		return rerr
	}, nil
}
