package filestore

import (
	"sync"
)

// SyncGroup makes the checkpoint saves of many [Store]s durable
// together (a group commit), for a fleet that saves thousands of
// checkpoints: a save through a group writes its file and renames it into
// place, then waits until one flush of the whole filesystem that began
// after the rename has finished. Saves arriving while a flush runs share
// the next one, so a thousand tenants cost a few flushes a moment instead
// of a thousand fsyncs. A save still returns only once its checkpoint is
// on disk: a crash never loses the record of a completed write.
//
// On Linux the flush is syncfs(2) of the checkpoint's filesystem; elsewhere
// each save syncs its own file and directory (no grouping). The zero value
// is not usable; use [NewSyncGroup]. It is safe for concurrent use.
type SyncGroup struct {
	mu   sync.Mutex
	dirs map[string]*syncDir
	// flush is flushFS but in tests.
	flush func(dir string) error
}

// NewSyncGroup returns an empty group.
func NewSyncGroup() *SyncGroup { return &SyncGroup{dirs: map[string]*syncDir{}, flush: flushFS} }

// syncDir is the group commit of the saves in one directory.
type syncDir struct {
	mu        sync.Mutex
	cond      *sync.Cond
	requested uint64 // the last ticket handed out
	durable   uint64 // every ticket up to this one is on disk
	flushing  bool
}

// WithSyncGroup makes s save through g (see [SyncGroup]) and returns s.
func (s *Store) WithSyncGroup(g *SyncGroup) *Store {
	s.group = g
	return s
}

// commit returns once everything written in dir before the call is on
// disk: the first waiter flushes, the others wait for a flush that began
// after they arrived.
func (g *SyncGroup) commit(dir string) error {
	g.mu.Lock()
	d := g.dirs[dir]
	if d == nil {
		d = &syncDir{}
		d.cond = sync.NewCond(&d.mu)
		g.dirs[dir] = d
	}
	g.mu.Unlock()

	d.mu.Lock()
	defer d.mu.Unlock()
	d.requested++
	ticket := d.requested
	for d.durable < ticket {
		if d.flushing {
			d.cond.Wait()
			continue
		}
		d.flushing = true
		upto := d.requested
		d.mu.Unlock()
		err := g.flush(dir)
		d.mu.Lock()
		d.flushing = false
		d.cond.Broadcast()
		if err != nil {
			return err // the waiters flush again themselves
		}
		d.durable = max(d.durable, upto)
	}
	return nil
}
