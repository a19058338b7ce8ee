package main

import (
	"bytes"
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watch --follow prints one line per read with what changed, and ends
// normally (exit 0) when interrupted. The test sends its failures once the
// follower has read its starting point (its request is in the fake's log),
// and counts them over however many reads they took.
func TestWatchFollow(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.Mixed)
	defer srv.Close()
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"watch", "--follow", "--since", "10m", "--poll-interval", "20ms", "--checkpoint", t.TempDir() + "/cp.json"},
			strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	}()
	// The follower's starting point: the newest log entry (sort=date:-1,
	// per_page=1), read after the report; the fake logs a request before
	// it answers, with the answer already made.
	waitUntil(t, "the follower's first read", func() bool {
		return slices.ContainsFunc(srv.Requests(), func(r phonemigratetest.Request) bool {
			q, err := url.ParseQuery(r.Query)
			return err == nil && r.Method == "GET" && r.Path == "/api/v2/logs" && q.Get("per_page") == "1" && q.Get("sort") == "date:-1"
		})
	})
	if err := srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakTwilio, Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number: +15550001234"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := srv.Notify(t.Context(), phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: "+15550001234"}); err != nil {
			t.Fatal(err)
		}
	}
	// One line per read that saw some: both failures in one read or one
	// in each.
	line := regexp.MustCompile(`mfa/text \+0 sent \+([12]) failed \(Twilio answered 400: 21211 Invalid 'To' Phone Number: \+•••••••••34\)`)
	failed := func() int {
		n := 0
		for _, m := range line.FindAllStringSubmatch(stdout.String(), -1) {
			n += int(m[1][0] - '0')
		}
		return n
	}
	waitUntil(t, "two failures in the follow lines", func() bool { return failed() >= 2 })
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	if n := failed(); n != 2 {
		t.Errorf("the follow lines count %d failures, want 2:\n%s", n, out)
	}
	if strings.Contains(out, "+15550001234") {
		t.Errorf("stdout shows the phone number:\n%s", out)
	}
}

// waitUntil polls cond until it holds. The bound only matters when it
// never does: a busy machine makes the wait longer, never a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting two minutes for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSparklineAndHealthText(t *testing.T) {
	t.Parallel()
	ms := []watch.Minute{{Failed: 0}, {Failed: 1}, {Failed: 7}, {Failed: 3}}
	if got, want := sparkline(ms), "▁▂█▄"; got != want {
		t.Errorf("sparkline = %q, want %q", got, want)
	}
	rep := watch.Report{Current: watch.Health{Minutes: ms, Paths: []watch.PathHealth{{Path: watch.PathMFAText, Sent: 3, Failed: 1, FailureRate: 0.25}}}}
	if text := healthText("t", rep, true); !strings.Contains(text, "failures per minute: ▁▂█▄") || !strings.Contains(text, "25.0%") {
		t.Errorf("terminal text:\n%s", text)
	}
	if text := healthText("t", rep, false); strings.Contains(text, "▁") {
		t.Errorf("sparkline without a terminal:\n%s", text)
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"30m", now.Add(-30 * time.Minute), ""},
		{"2026-11-30T10:00:00Z", time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), ""},
		{"2026-11-29", time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), ""},
		{"-5m", time.Time{}, "positive duration"},
		{"2027-01-01T00:00:00Z", time.Time{}, "not in the past"},
		{"yesterday", time.Time{}, "neither a duration"},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseSince(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
