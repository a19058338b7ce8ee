package filestore

// SetUID makes s take uid for the current user id.
func SetUID(s *Store, uid int) { s.uid = func() int { return uid } }

// CheckFile is checkFile.
var CheckFile = checkFile
