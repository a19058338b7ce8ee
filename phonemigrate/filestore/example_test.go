package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// New keeps a tenant's checkpoint in a private file; give it to a Migrator
// with phonemigrate.WithStore(s), so that a run after a crash resumes (or
// rolls back) from what the last one saved.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "checkpoints")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s := filestore.New(filepath.Join(dir, "acme.json"))
	unlock, err := s.Lock(ctx) // one run at a time
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Save(ctx, &phonemigrate.Checkpoint{Version: 1, Tenant: "acme", State: phonemigrate.StateNew}); err != nil {
		log.Fatal(err)
	}
	if _, err := s.Lock(ctx); err != nil {
		fmt.Println("a second run:", errors.Is(err, phonemigrate.ErrLocked))
	}
	if err := unlock(); err != nil {
		log.Fatal(err)
	}

	cp, err := s.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cp.Tenant, cp.State, fi.Mode().Perm())
	// Output:
	// a second run: true
	// acme new -rw-------
}
