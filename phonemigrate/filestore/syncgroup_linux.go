package filestore

import (
	"os"

	"golang.org/x/sys/unix"
)

// flushFS makes everything written to the filesystem holding dir durable
// (syncfs(2)): file data and the renames.
func flushFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// groupFlushes reports whether a SyncGroup flush covers the files written
// before it (true where syncfs exists).
const groupFlushes = true
