package phonemigratetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRequestLoggedBeforeAnswered: a client that has its answer finds its
// request in the log, every time (a test resetting the log after its own
// request must never see that request come in afterwards). The answers
// are large (an Action's code), so that net/http sends the status line
// while the handler still writes, as it does for a real tenant's Actions.
func TestRequestLoggedBeforeAnswered(t *testing.T) {
	t.Parallel()
	srv := NewServer(LegacyTwilio)
	defer srv.Close()
	code, _ := json.Marshal("exports.onExecuteCustomPhoneProvider = async () => {};\n" + strings.Repeat("// padding\n", 8000))
	do := func(method, path, body string) (*http.Response, []Request) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.BaseURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// The log is read as soon as the status line is in, before the body.
		got := srv.Requests()
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		return resp, got
	}
	resp, _ := do("POST", "/actions/actions", `{"name": "big", "supported_triggers": [{"id": "custom-phone-provider", "version": "v1"}], "code": `+string(code)+`}`)
	var a struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.ID == "" {
		t.Fatalf("created action: %v %q", err, a.ID)
	}
	for i := range 100 {
		srv.ResetRequests()
		method, body := "GET", ""
		if i%2 == 1 {
			method, body = "PATCH", `{"code": `+string(code)+`}`
		}
		resp, got := do(method, "/actions/actions/"+a.ID, body)
		if len(got) != 1 || got[0].Method != method || got[0].Path != "/api/v2/actions/actions/"+a.ID || got[0].Status != resp.StatusCode {
			t.Fatalf("request %d: log %+v when %s was answered %d, want just that request", i, got, method, resp.StatusCode)
		}
	}
}
