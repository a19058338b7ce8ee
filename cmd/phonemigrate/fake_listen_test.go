package main

import (
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
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout, stderr syncBuffer
			done := make(chan struct{})
			go func() {
				// Once a fake serves (its environment lines, and the
				// warning of a remote one, are out: it prints nothing
				// more with --quiet), stop it as Ctrl-C would. The minute
				// only guards against a fake that never serves.
				hang := time.After(time.Minute)
				for {
					select {
					case <-done:
						return
					case <-hang:
						t.Errorf("the fake did not serve within a minute")
						cancel()
						return
					case <-time.After(5 * time.Millisecond):
					}
					if strings.Contains(stdout.String(), "AUTH0_TOKEN=") && strings.Contains(stderr.String(), tc.stderr) {
						cancel()
						return
					}
				}
			}()
			code := run(ctx, append([]string{"fake"}, tc.args...), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			close(done)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			if tc.stderr == "" && stderr.String() != "" {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
			if tc.noStdout == (stdout.String() != "") {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}
