package loopback

import "testing"

func TestHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"", false},
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
		{"10.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"[::1]", false}, // Hostname() strips brackets; a raw bracketed host is not an IP
		{"example.com", false},
	}
	for _, tt := range tests {
		if got := Host(tt.host); got != tt.want {
			t.Errorf("Host(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
