package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestFakeListenGuard: fake refuses an address other machines can reach
// unless --allow-remote, and then warns (even with --quiet).
func TestFakeListenGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stderr   string
		noStdout bool
	}{
		{name: "all interfaces v4", args: []string{"--listen", "0.0.0.0:0"}, code: exitUsage, stderr: "--listen 0.0.0.0:0 would let other machines reach the fake tenant", noStdout: true},
		{name: "all interfaces v6", args: []string{"--listen", "[::]:0"}, code: exitUsage, stderr: "add --allow-remote", noStdout: true},
		{name: "empty host", args: []string{"--listen", ":0"}, code: exitUsage, stderr: "add --allow-remote", noStdout: true},
		{name: "not host:port", args: []string{"--listen", "127.0.0.1"}, code: exitUsage, stderr: "is not host:port", noStdout: true},
		{name: "loopback", args: []string{"--listen", "127.0.0.1:0", "--quiet"}, code: exitOK},
		{name: "localhost", args: []string{"--listen", "localhost:0", "--quiet"}, code: exitOK},
		{name: "allowed remote", args: []string{"--listen", "0.0.0.0:0", "--allow-remote", "--quiet"}, code: exitOK, stderr: "Warning: the fake tenant listens on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, append([]string{"fake"}, tc.args...), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			if tc.stderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
			if tc.noStdout == (stdout.Len() > 0) {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}
