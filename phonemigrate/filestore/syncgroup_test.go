package filestore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// TestSyncGroupSharesFlushes: saves that arrive while a flush runs wait for
// one more flush, which they share; none returns before a flush that began
// after it arrived.
func TestSyncGroupSharesFlushes(t *testing.T) {
	g := NewSyncGroup()
	release := make(chan struct{})
	var flushes atomic.Int32
	g.flush = func(string) error {
		if flushes.Add(1) == 1 {
			<-release // the first flush hangs until the others queue up
		}
		return nil
	}
	var wg sync.WaitGroup
	var returned atomic.Int32
	wg.Go(func() {
		if err := g.commit("d"); err != nil {
			t.Error(err)
		}
		returned.Add(1)
	})
	for flushes.Load() == 0 {
		runtime.Gosched()
	}
	const later = 10
	for range later {
		wg.Go(func() {
			if err := g.commit("d"); err != nil {
				t.Error(err)
			}
			returned.Add(1)
		})
	}
	d := func() *syncDir { g.mu.Lock(); defer g.mu.Unlock(); return g.dirs["d"] }()
	for {
		d.mu.Lock()
		n := d.requested
		d.mu.Unlock()
		if n == later+1 {
			break
		}
		runtime.Gosched()
	}
	if n := returned.Load(); n != 0 {
		t.Fatalf("%d saves returned before any flush finished", n)
	}
	close(release)
	wg.Wait()
	if n := flushes.Load(); n != 2 {
		t.Errorf("%d flushes for %d saves, want 2 (the first, then one shared by the %d that queued)", n, later+1, later)
	}
}

// TestSyncGroupRetriesAfterAFailedFlush: a flush that fails fails the save
// that ran it; the next save flushes again.
func TestSyncGroupRetriesAfterAFailedFlush(t *testing.T) {
	g := NewSyncGroup()
	boom := errors.New("disk on fire")
	fail := true
	g.flush = func(string) error {
		if fail {
			fail = false
			return boom
		}
		return nil
	}
	if err := g.commit("d"); !errors.Is(err, boom) {
		t.Fatalf("commit = %v, want the flush's error", err)
	}
	if err := g.commit("d"); err != nil {
		t.Fatalf("second commit = %v", err)
	}
}

// TestFileStoresInASyncGroup: many stores saving at once through one group
// (a real syncfs on Linux) each load back their last checkpoint.
func TestFileStoresInASyncGroup(t *testing.T) {
	dir := t.TempDir()
	g := NewSyncGroup()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			s := New(filepath.Join(dir, fmt.Sprintf("t%02d.json", i))).WithSyncGroup(g)
			for j := range 5 {
				if err := s.Save(context.Background(), &phonemigrate.Checkpoint{Version: 1, Tenant: fmt.Sprintf("t%02d-%d", i, j), State: phonemigrate.StateNew}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range 20 {
		cp, err := New(filepath.Join(dir, fmt.Sprintf("t%02d.json", i))).Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("t%02d-4", i); cp.Tenant != want {
			t.Errorf("tenant %s, want %s", cp.Tenant, want)
		}
	}
}
