package phonemigrate

import "time"

// SetConfirmStaleAfter sets confirmStaleAfter for a test and returns a func
// that restores it.
func SetConfirmStaleAfter(d time.Duration) (restore func()) {
	old := confirmStaleAfter
	confirmStaleAfter = d
	return func() { confirmStaleAfter = old }
}
