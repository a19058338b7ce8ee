package actionrun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// heldServer records that a request arrived (closing arrived) and answers
// 200 once answer is closed; it gives up when the client does.
func heldServer(t *testing.T, answer <-chan struct{}) (url string, arrived <-chan struct{}) {
	t.Helper()
	got := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(got) })
		select {
		case <-answer:
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

// abortCode aborts its request after 1 ms, by its own timer, and reports
// whether the answer or the abort came first.
const abortCode = `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const c = new AbortController();
	const timer = setTimeout(() => c.abort(), 1);
	try {
		const res = await fetch(event.secrets.URL, {signal: c.signal});
		api.notification.drop("answered " + res.status);
	} catch (e) {
		api.notification.drop(c.signal.aborted ? "aborted" : "failed: " + e.message);
	} finally {
		clearTimeout(timer);
	}
};`

// TestTimersHeld: the Action's timers wait for the release, not the clock.
func TestTimersHeld(t *testing.T) {
	requireNode(t)
	t.Parallel()
	ev := func(url string) Event {
		e := sampleEvent()
		e.Secrets = map[string]string{"URL": url}
		return e
	}
	t.Run("never released: the answer wins over a 1 ms timer", func(t *testing.T) {
		t.Parallel()
		answer := make(chan struct{})
		close(answer)
		url, arrived := heldServer(t, answer)
		res, err := Run(t.Context(), abortCode, ev(url), WithTimersHeld(nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != "answered 200" {
			t.Errorf("Reason = %q, want answered 200", res.Reason)
		}
		select {
		case <-arrived:
		default:
			t.Error("the server did not get the request")
		}
	})
	t.Run("released when the server has the request: the timer aborts it", func(t *testing.T) {
		t.Parallel()
		url, arrived := heldServer(t, nil) // never answers
		res, err := Run(t.Context(), abortCode, ev(url), WithTimersHeld(arrived))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != "aborted" {
			t.Errorf("Reason = %q, want aborted", res.Reason)
		}
	})
	t.Run("released: pending timers fire in the order of their delays, cleared ones never", func(t *testing.T) {
		t.Parallel()
		code := `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const order = [];
	await new Promise((done) => {
		setTimeout(() => order.push("c"), 30);
		setTimeout(() => order.push("a"), 10, "x");
		const gone = setTimeout(() => order.push("cleared"), 5);
		setTimeout((v) => order.push("b" + v), 20, "!");
		clearTimeout(gone);
		setTimeout(done, 40);
	});
	api.notification.drop(order.join(","));
};`
		release := make(chan struct{})
		close(release)
		res, err := Run(context.Background(), code, sampleEvent(), WithTimersHeld(release))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff("a,b!,c", res.Reason); diff != "" {
			t.Errorf("Reason (-want +got):\n%s", diff)
		}
	})
}
