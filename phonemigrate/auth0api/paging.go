package auth0api

import (
	"context"
	"errors"
	"fmt"

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
		return fmt.Errorf("auth0api: %s %s: more than %d %s; the server keeps paging", method, path, maxItems, what)
	}
	return c.fail(ctx, method, path, err)
}
