//go:build !unix

package filestore

import (
	"io/fs"
	"os"
)

// fileOwner is not known on this system: only the permission bits are
// checked.
func fileOwner(fs.FileInfo) (uid int, ok bool) { return 0, false }

// fileLinks is not known on this system.
func fileLinks(fs.FileInfo) (n uint64, ok bool) { return 0, false }

// isSymlinkErr: without O_NOFOLLOW, a symlink is found by Lstat instead.
func isSymlinkErr(error) bool { return false }

// openNoFollow opens path for reading, refusing a symlink (checked with
// Lstat first: this system has no O_NOFOLLOW).
func openNoFollow(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errSymlink}
	}
	return os.Open(path)
}
