package helddeadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestExpire(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx := New(context.WithValue(context.Background(), key{}, "v"))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if ctx.Err() != nil || child.Err() != nil {
		t.Fatalf("Err before Expire: %v, %v", ctx.Err(), child.Err())
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) < 30*time.Minute {
		t.Errorf("Deadline = %v, %v; want about an hour away", d, ok)
	}
	if ctx.Value(key{}) != "v" {
		t.Errorf("the parent's value is lost")
	}
	ctx.Expire()
	ctx.Expire()
	<-child.Done() // a derived context ends with it
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("Err after Expire: %v, %v; want context.DeadlineExceeded", ctx.Err(), child.Err())
	}
}
