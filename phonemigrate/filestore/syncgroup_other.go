//go:build !linux

package filestore

import "os"

// flushFS is not used where there is no syncfs: each save syncs its own
// file and directory.
func flushFS(dir string) error { return syncPath(dir) }

const groupFlushes = false

// syncPath fsyncs the file or directory at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
