package phonemigratetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// call sends method path (relative to srv.URL) with body encoded as JSON
// (nil: no body) and the server's token, and returns the status and the
// decoded JSON answer (nil for an empty body).
func call(t testing.TB, srv *Server, method, path string, body any) (int, any) {
	t.Helper()
	return callTok(t, srv, method, path, body, srv.Token)
}

func callTok(t testing.TB, srv *Server, method, path string, body any, token string) (int, any) {
	t.Helper()
	status, raw, _ := callRaw(t, srv, method, path, body, token)
	if len(bytes.TrimSpace(raw)) == 0 {
		return status, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
	}
	return status, v
}

func callRaw(t testing.TB, srv *Server, method, path string, body any, token string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// obj asserts v is a JSON object.
func obj(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %T %v", v, v)
	}
	return m
}

// newServer starts a server closed at the end of the test.
func newServer(t testing.TB, sc Scenario, opts ...Option) *Server {
	t.Helper()
	srv := NewServer(sc, opts...)
	t.Cleanup(srv.Close)
	return srv
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func jsonValue(t testing.TB, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return v
}

// cmpIgnoreTimes ignores the timestamp fields (CreatedAt, UpdatedAt,
// BuiltAt) of State structs.
var cmpIgnoreTimes = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && strings.HasSuffix(sf.Name(), "At")
}, cmp.Ignore())
