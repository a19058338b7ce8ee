package auth0api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auth0/go-auth0/v3/management"
	"github.com/auth0/go-auth0/v3/management/option"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// maxLogsPerPage is Auth0's page size limit for GET /logs.
const maxLogsPerPage = 100

// Logs implements [phonemigrate.TenantLogs]: GET /logs. A query (Q, Sort,
// Page, PerPage) goes through go-auth0's logs client, with Q sent as the
// documented q parameter; checkpoint paging (Take > 0) is a plain GET
// /logs?from=&take= on the same HTTP client (same token, retries, rate
// limit handling and redaction), because Auth0 answers it with a bare
// array, which go-auth0 v3.0.0's paginated response type cannot decode.
func (c *Client) Logs(ctx context.Context, q phonemigrate.LogQuery) ([]phonemigrate.LogEvent, error) {
	method, path := http.MethodGet, "/logs"
	switch {
	case q.Take > maxLogsPerPage || q.PerPage > maxLogsPerPage:
		return nil, invalid(method, path, "at most %d log events a page", maxLogsPerPage)
	case q.Take < 0 || q.PerPage < 0 || q.Page < 0:
		return nil, invalid(method, path, "negative page or size")
	}
	if q.Take > 0 {
		return c.logsFrom(ctx, q)
	}
	params := &management.ListLogsRequestParameters{}
	page, per := q.Page, q.PerPage
	if per == 0 {
		per = 50
	}
	params.SetPage(&page)
	params.SetPerPage(&per)
	if q.Sort != "" {
		sort := q.Sort
		params.SetSort(&sort)
	}
	var opts []option.RequestOption
	if q.Q != "" {
		opts = append(opts, option.WithQueryParameters(url.Values{"q": {q.Q}}))
	}
	res, err := c.m.Logs.List(ctx, params, opts...)
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := make([]phonemigrate.LogEvent, 0, len(res.Results))
	for _, l := range res.Results {
		if l == nil {
			continue
		}
		out = append(out, c.logEvent(l.GetLogID(), l.GetType(), l.GetDescription(), l.Date.GetString(), l.GetDetails()))
	}
	return out, nil
}

func (c *Client) logsFrom(ctx context.Context, q phonemigrate.LogQuery) ([]phonemigrate.LogEvent, error) {
	method, path := http.MethodGet, "/logs"
	v := url.Values{"take": {strconv.Itoa(q.Take)}}
	if q.From != "" {
		v.Set("from", q.From)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path+"?"+v.Encode(), nil)
	if err != nil {
		return nil, invalid(method, path, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		code, msg := parseErrorBody(raw)
		secrets := c.secrets.Values()
		return nil, &phonemigrate.APIError{Method: method, Path: path, StatusCode: resp.StatusCode,
			ErrorCode: serverText(code, maxMessage, secrets), Message: serverText(msg, maxMessage, secrets)}
	}
	if len(raw) > MaxResponseBody {
		return nil, fmt.Errorf("auth0api: %s %s: answer larger than %d bytes", method, path, MaxResponseBody)
	}
	var list []struct {
		LogID       string         `json:"log_id"`
		Type        string         `json:"type"`
		Description string         `json:"description"`
		Date        string         `json:"date"`
		Details     map[string]any `json:"details"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("auth0api: %s %s: answer is not a list of log events: %w", method, path, err)
	}
	out := make([]phonemigrate.LogEvent, 0, len(list))
	for _, l := range list {
		out = append(out, c.logEvent(l.LogID, l.Type, l.Description, l.Date, l.Details))
	}
	return out, nil
}

// logEvent builds a LogEvent with every secret the client knows removed
// from its description and the strings of its details (a log entry can
// quote a gateway URL with credentials, or a request with a token): they
// are secrets from the moment they are read.
func (c *Client) logEvent(id, typ, desc, date string, details map[string]any) phonemigrate.LogEvent {
	t, _ := time.Parse(time.RFC3339Nano, date)
	secrets := c.secrets.Values()
	var clean func(v any) any
	clean = func(v any) any {
		switch x := v.(type) {
		case string:
			return phonemigrate.Redact(x, secrets...)
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[k] = clean(e)
			}
			return m
		case []any:
			l := make([]any, len(x))
			for i, e := range x {
				l[i] = clean(e)
			}
			return l
		}
		return v
	}
	d, _ := clean(details).(map[string]any)
	if details == nil {
		d = nil
	}
	return phonemigrate.LogEvent{ID: id, Type: typ, Description: phonemigrate.Redact(desc, secrets...), Date: t, Details: d}
}
