package reliability

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// TestConcurrentApplyRefused runs two applies on one tenant and one
// checkpoint file at once, as two processes would (each its own client,
// migrator and FileStore). The first is held inside its first write; the
// second must refuse with ErrLocked without sending a single mutating
// request, and the first then completes as if alone.
func TestConcurrentApplyRefused(t *testing.T) {
	t.Parallel()
	for _, sc := range migrating {
		t.Run(string(sc), func(t *testing.T) {
			t.Parallel()
			srv := newFake(sc)
			defer srv.Close()
			path := filepath.Join(t.TempDir(), "cp.json")

			entered := make(chan struct{})
			release := make(chan struct{})
			h := &hook{base: http.DefaultTransport, target: 1, before: func(*http.Request) {
				close(entered)
				<-release
			}}
			first, err := newMigrator(t.Context(), srv, h, filestore.New(path))
			if err != nil {
				t.Fatal(err)
			}
			type out struct {
				res *phonemigrate.Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := first.Apply(t.Context(), migrateOptions(srv))
				done <- out{res, err}
			}()
			// The first apply reaches its first write, or ends without it
			// (which fails the test); the five minutes only guard against a
			// hang.
			select {
			case <-entered:
			case o := <-done:
				t.Fatalf("the first apply ended before its first write: %v, %v", o.res, o.err)
			case <-time.After(5 * time.Minute):
				t.Fatal("the first apply neither reached its first write nor ended in five minutes")
			}

			before := writesOf(srv.Requests())
			second, err := newMigrator(t.Context(), srv, nil, filestore.New(path))
			if err != nil {
				t.Fatal(err)
			}
			_, err = second.Apply(t.Context(), migrateOptions(srv))
			if !errors.Is(err, phonemigrate.ErrLocked) {
				t.Errorf("second Apply = %v, want ErrLocked", err)
			}
			if got := phonemigrate.ExitCode(err); got != 1 {
				t.Errorf("ExitCode(second) = %d, want 1", got)
			}
			// Rollback and a third apply are refused the same way.
			if _, err := second.Rollback(t.Context()); !errors.Is(err, phonemigrate.ErrLocked) {
				t.Errorf("Rollback during apply = %v, want ErrLocked", err)
			}
			if diff := cmp.Diff(before, writesOf(srv.Requests())); diff != "" {
				t.Errorf("the refused runs wrote to the tenant (-before +after):\n%s", diff)
			}

			close(release)
			o := <-done
			if o.err != nil || o.res.State != phonemigrate.StateCompleted {
				t.Fatalf("first Apply = %v, %v; want completed", o.res, o.err)
			}
			// Once the first is done, the lock is free again.
			res, err := second.Apply(t.Context(), migrateOptions(srv))
			if err != nil || !res.AlreadyDone {
				t.Errorf("Apply after the first finished = %v, %v; want AlreadyDone", res, err)
			}
		})
	}
}
