// Package filestore keeps a migration's checkpoint in a file: a
// [phonemigrate.Store] that writes atomically and durably, locks with a
// file next to it, refuses files and directories other users could have
// written, and shares its syncs with other stores through a [SyncGroup]
// (phonemigrate/fleet runs many tenants at once).
package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/unifiedphone/unifiedphone/internal/privatefile"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

var _ phonemigrate.Store = (*Store)(nil)

// Store keeps the checkpoint in one JSON file, written atomically (a
// temporary file in the same directory, synced, then renamed over the old
// one, and the directory synced, so that a save that returned survives a
// crash) with mode 0600; [Store.WithSyncGroup] shares the syncs of many
// stores. Its lock is a file next to it (path + ".lock")
// created with O_EXCL and holding the owner's process id; a lock whose
// process no longer runs is taken over.
//
// A checkpoint or lock file owned by another user, or writable by group or
// others, is refused with a [*phonemigrate.CheckpointError]: on a shared machine such a
// file could have been written by someone else, and the checkpoint decides
// what Rollback deletes.
type Store struct {
	path  string
	uid   func() int // the current user id; os.Getuid but in tests
	group *SyncGroup // nil: each save syncs its own file and directory
}

// New returns a store for the checkpoint file at path. Nothing is
// created until Save or Lock.
func New(path string) *Store { return &Store{path: path, uid: os.Getuid} }

// checkFile refuses a checkpoint or lock file that another user owns or
// that group or others may write.
func checkFile(path string, fi fs.FileInfo, uid int) error {
	if owner, ok := fileOwner(fi); ok && uid >= 0 && owner != uid {
		return &phonemigrate.CheckpointError{Path: path, Problem: fmt.Sprintf("is owned by user id %d, not by you (%d); refusing a file another user could have written", owner, uid)}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &phonemigrate.CheckpointError{Path: path, Problem: fmt.Sprintf("is writable by group or others (mode %04o); make it private with chmod 600", perm)}
	}
	if !fi.Mode().IsRegular() {
		return &phonemigrate.CheckpointError{Path: path, Problem: "is not a regular file"}
	}
	if n, ok := fileLinks(fi); ok && n > 1 {
		return &phonemigrate.CheckpointError{Path: path, Problem: fmt.Sprintf("has %d hard links; refusing a file that is also another one", n)}
	}
	return nil
}

// errSymlink is the cause of a refused symlink.
var errSymlink = errors.New("is a symbolic link")

// symlinkError is the phonemigrate.CheckpointError of a symlink found at path.
func symlinkError(path string) error {
	return &phonemigrate.CheckpointError{Path: path, Problem: "is a symbolic link; refusing to follow it (someone could point it at another file); remove it"}
}

// checkDir refuses a checkpoint directory other users may write without
// the sticky bit: there they could plant the checkpoint or its lock, or a
// symlink in their place. A missing directory is left to the open that
// follows.
func (s *Store) checkDir() error {
	err := privatefile.CheckDir(filepath.Dir(s.path))
	if errors.Is(err, privatefile.ErrUnsafeDir) {
		return &phonemigrate.CheckpointError{Path: s.path, Problem: "is in an unsafe " + err.Error()}
	}
	return nil
}

// Path returns the checkpoint file path.
func (s *Store) Path() string { return s.path }

// Load reads the checkpoint file.
func (s *Store) Load(ctx context.Context) (*phonemigrate.Checkpoint, error) {
	data, err := s.read()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, phonemigrate.ErrNoCheckpoint
	}
	var ce *phonemigrate.CheckpointError
	if errors.As(err, &ce) {
		return nil, err
	}
	if err != nil {
		// An unreadable file is bad input (exit 2), like a corrupt one.
		problem := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			problem = pe.Err.Error()
		}
		return nil, &phonemigrate.CheckpointError{Path: s.path, Problem: "cannot be read: " + problem}
	}
	return phonemigrate.ParseCheckpoint(data, s.path)
}

// read returns the checkpoint file's content once checkFile accepts it
// (checked on the open file, so a rename in between cannot swap it). A
// symlink is refused, not followed, and so is a directory others may
// write.
func (s *Store) read() ([]byte, error) {
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	f, err := openNoFollow(s.path)
	if isSymlinkErr(err) || errors.Is(err, errSymlink) {
		return nil, symlinkError(s.path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkFile(s.path, fi, s.currentUID()); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

func (s *Store) currentUID() int {
	if s.uid == nil {
		return os.Getuid()
	}
	return s.uid()
}

// Save writes cp atomically with mode 0600 (a temporary file renamed over
// the old one: a symlink in its place is replaced, never followed). A
// directory others may write is refused.
func (s *Store) Save(ctx context.Context, cp *phonemigrate.Checkpoint) error {
	data, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	data = append(data, '\n')
	if err := s.checkDir(); err != nil {
		return err
	}
	if s.group != nil && groupFlushes {
		// Written and renamed into place, then made durable with the other
		// stores' saves by one flush.
		err = privatefile.WriteFileUnsynced(s.path, data)
		if err == nil {
			err = s.group.commit(filepath.Dir(s.path))
		}
	} else {
		err = privatefile.WriteFile(s.path, data)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// unusableDir says why the checkpoint's directory cannot hold it.
func unusableDir(path string, err error) string {
	dir := filepath.Dir(path)
	if errors.Is(err, fs.ErrPermission) {
		return dir + " is not writable"
	}
	return dir + " does not exist"
}
