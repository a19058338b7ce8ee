package auth0api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/auth0/go-auth0/v3/management/core"
)

// errTooManyItems ends a listing that passed maxItems.
var errTooManyItems = errors.New("too many items")

// offsetPages collects an offset-paginated listing (page=N&per_page=M) from
// its first page. A page with fewer items than the page size — the
// per_page Auth0 answered with, else the one asked — is the last, and so
// is the page that brings the count to the answered total: no page past it
// is read (go-auth0's iterator reads one more, always empty). An empty page
// ends it too.
func offsetPages[T any, R any](ctx context.Context, page *core.Page[*int, T, R], asked int, sizes func(R) (perPage, total *float64)) ([]T, error) {
	// sizes must accept a nil R.
	var out []T
	for page != nil {
		out = append(out, page.Results...)
		if len(out) > maxItems {
			return nil, errTooManyItems
		}
		size := asked
		per, total := sizes(page.Response)
		if per != nil && *per >= 1 {
			size = int(*per)
		}
		if len(page.Results) == 0 || len(page.Results) < size || (total != nil && float64(len(out)) >= *total) {
			return out, nil
		}
		next, err := page.GetNextPage(ctx)
		if errors.Is(err, core.ErrNoPages) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		page = next
	}
	return out, nil
}

// failPaging is fail for an error of offsetPages.
func (c *Client) failPaging(ctx context.Context, method, path, what string, err error) error {
	if errors.Is(err, errTooManyItems) {
		return fmt.Errorf("auth0api: %s %s: %w: more than %d %s; the server keeps paging", method, path, ErrListTooLarge, maxItems, what)
	}
	return c.fail(ctx, method, path, err)
}

// ErrListTooLarge is matched by the error of a listing that passed its
// budget: more than MaxListBytes of answers, MaxListItems items or
// MaxListPages pages, as a server that always answers with a next page
// would make it.
var ErrListTooLarge = errors.New("auth0api: the listing passed its budget")

// The budget of one listing (every page of it together).
const (
	MaxListBytes = 32 << 20
	MaxListItems = maxItems
	MaxListPages = 2_000
)

type budgetKey struct{}

// listBudget counts what the pages of one listing used.
type listBudget struct {
	mu    sync.Mutex
	bytes int
	pages int
}

// withListBudget returns ctx carrying a fresh budget: every answer the
// transport reads within it counts against MaxListBytes and MaxListPages.
func withListBudget(ctx context.Context) context.Context {
	return context.WithValue(ctx, budgetKey{}, &listBudget{})
}

// spend counts one page of n bytes against ctx's budget, if it has one.
func spend(ctx context.Context, n int) error {
	b, _ := ctx.Value(budgetKey{}).(*listBudget)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bytes += n
	b.pages++
	if b.bytes > MaxListBytes || b.pages > MaxListPages {
		return fmt.Errorf("%w (%d pages, %d bytes; at most %d pages and %d MiB); the server keeps paging", ErrListTooLarge, b.pages, b.bytes, MaxListPages, MaxListBytes>>20)
	}
	return nil
}
