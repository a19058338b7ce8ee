//go:build !unix

package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// Lock creates path + ".lock" exclusively.
func (s *Store) Lock(ctx context.Context) (func() error, error) {
	lock := s.path + ".lock"
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(lock)
				return nil, fmt.Errorf("write lock file: %w", errors.Join(werr, cerr))
			}
			var once sync.Once
			return func() error {
				var rerr error
				once.Do(func() {
					if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
						rerr = fmt.Errorf("remove lock file: %w", err)
					}
				})
				return rerr
			}, nil
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			// The file cannot be created where the user pointed: input to
			// fix, not a failed migration.
			return nil, &phonemigrate.CheckpointError{Path: s.path, Problem: "cannot be created: its directory " + unusableDir(s.path, err)}
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock checkpoint: %w", err)
		}
		if fi, err := os.Lstat(lock); err == nil {
			if err := checkFile(lock, fi, s.currentUID()); err != nil {
				return nil, err
			}
		}
		if attempt > 0 || !staleLock(lock) {
			return nil, fmt.Errorf("%w (lock file %s)", phonemigrate.ErrLocked, lock)
		}
		if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale lock: %w", err)
		}
	}
}

// staleLock reports whether the lock file names a process that no longer
// exists. An unreadable or foreign file is not stale.
func staleLock(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}
