//go:build unix

package fleet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

// TestCheckpointConfinementResolvesSymlinks (#23 item 9): a checkpoint
// path of a fleet file (a cloned repository) that reaches outside the
// file's directory through a symlink — a directory or the file itself —
// is refused like "../x.json"; paths that stay inside are accepted.
func TestCheckpointConfinementResolvesSymlinks(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "cps")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "victim.json"), filepath.Join(dir, "linked.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "inside"), filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	for cp, ok := range map[string]bool{
		"cps/x.json":         false,
		"cps/new/dir/x.json": false,
		"linked.json":        false,
		"x.json":             true,
		"inside/x.json":      true,
		"alias/x.json":       true, // a symlink that stays inside
		"new/dir/x.json":     true,
	} {
		t.Run(cp, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(cp)+".json")
			body := `[{"name": "t", "domain": "t.example.com", "token_env": "AUTH0_TOKEN", "checkpoint": "` + cp + `", "options": {"skip_test": true}}]`
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := fleet.Load(file)
			if ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !ok && (err == nil || !strings.Contains(err.Error(), "leaves the fleet file's directory")) {
				t.Errorf("error = %v, want the checkpoint refused", err)
			}
		})
	}
}
