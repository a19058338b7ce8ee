package auth0api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auth0/go-auth0/v3/management"
	"github.com/auth0/go-auth0/v3/management/option"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// maxLogsPerPage is Auth0's page size limit for GET /logs.
const maxLogsPerPage = 100

// Logs implements [watch.TenantLogs]: GET /logs. A query (Q, Sort,
// Page, PerPage) goes through go-auth0's logs client, with Q sent as the
// documented q parameter; checkpoint paging (Take > 0) is a plain GET
// /logs?from=&take= on the same HTTP client (same token, retries, rate
// limit handling and redaction), because Auth0 answers it with a bare
// array, which go-auth0 v3.0.0's paginated response type cannot decode.
func (c *Client) Logs(ctx context.Context, q watch.LogQuery) ([]watch.LogEvent, error) {
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
	out := make([]watch.LogEvent, 0, len(res.Results))
	for _, l := range res.Results {
		if l == nil {
			continue
		}
		e := c.logEvent(l.GetLogID(), l.GetType(), l.GetDescription(), l.Date.GetString(), l.GetDetails())
		e.ClientID, e.ClientName = l.GetClientID(), l.GetClientName()
		out = append(out, e)
	}
	return out, nil
}

func (c *Client) logsFrom(ctx context.Context, q watch.LogQuery) ([]watch.LogEvent, error) {
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
		ClientID    string         `json:"client_id"`
		ClientName  string         `json:"client_name"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("auth0api: %s %s: answer is not a list of log events: %w", method, path, err)
	}
	out := make([]watch.LogEvent, 0, len(list))
	for _, l := range list {
		e := c.logEvent(l.LogID, l.Type, l.Description, l.Date, l.Details)
		e.ClientID, e.ClientName = l.ClientID, l.ClientName
		out = append(out, e)
	}
	return out, nil
}

// logEvent builds a LogEvent with every secret the client knows removed
// from its description and the strings of its details (a log entry can
// quote a gateway URL with credentials, or a request with a token): they
// are secrets from the moment they are read.
func (c *Client) logEvent(id, typ, desc, date string, details map[string]any) watch.LogEvent {
	t, _ := time.Parse(time.RFC3339Nano, date)
	secrets := c.secrets.Values()
	var clean func(v any) any
	clean = func(v any) any {
		switch x := v.(type) {
		case string:
			return redact.Text(x, secrets...)
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
	return watch.LogEvent{ID: id, Type: typ, Description: redact.Text(desc, secrets...), Date: t, Details: d}
}

// ClientGrants implements [phonemigrate.ClientGrants]: GET /client-grants
// (checkpoint paging, 50 a page, to the end).
func (c *Client) ClientGrants(ctx context.Context) ([]phonemigrate.ClientGrant, error) {
	const method, path = http.MethodGet, "/client-grants"
	take := 50
	page, err := c.m.ClientGrants.List(ctx, &management.ListClientGrantsRequestParameters{Take: &take})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := []phonemigrate.ClientGrant{}
	it := page.Iterator()
	for it.Next(ctx) {
		if len(out) >= maxItems {
			return nil, fmt.Errorf("auth0api: %s %s: more than %d client grants; the server keeps paging", method, path, maxItems)
		}
		if g := it.Current(); g != nil {
			out = append(out, phonemigrate.ClientGrant{ID: str(g.ID), ClientID: str(g.ClientID), Audience: str(g.Audience), Scope: g.Scope})
		}
	}
	if err := it.Err(); err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	return out, nil
}

// ClientName implements [phonemigrate.ClientGrants]: GET
// /clients/{id}?fields=name,client_id.
func (c *Client) ClientName(ctx context.Context, clientID string) (string, error) {
	method, path := http.MethodGet, "/clients/"+esc(clientID)
	if clientID == "" {
		return "", invalid(method, path, "empty client id")
	}
	fields, include := "name,client_id", true
	r, err := c.m.Clients.Get(ctx, clientID, &management.GetClientRequestParameters{Fields: &fields, IncludeFields: &include})
	if err != nil {
		return "", c.fail(ctx, method, path, err)
	}
	return str(r.Name), nil
}

// OwnClientID returns the client_id of the application this Client calls
// the Management API as: Config.ClientID, or the azp (else sub without
// "@clients") claim of a Config.Token that is a JWT; "" when unknown. The
// integrations-at-risk report tells it apart from the customer's services.
func (c *Client) OwnClientID() string { return c.self }

func ownClientID(cfg Config) string {
	if cfg.ClientID != "" {
		return cfg.ClientID
	}
	parts := strings.Split(cfg.Token.Reveal(), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Azp string `json:"azp"`
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	if claims.Azp != "" {
		return claims.Azp
	}
	return strings.TrimSuffix(claims.Sub, "@clients")
}
