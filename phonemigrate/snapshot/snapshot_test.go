package snapshot_test

import (
	"errors"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"not json", "{", nil},
		{"other version", `{"version": 2}`, snapshot.ErrVersion},
		{"no version", `{}`, snapshot.ErrVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := snapshot.Parse([]byte(tc.in))
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Parse(%s) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}
