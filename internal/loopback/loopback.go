// Package loopback holds the one rule the project uses to allow plain HTTP:
// only to a host on this machine.
//
// The Management API client (auth0api), the CLI's --base-url, fleet files
// and generated Actions' gateway URLs all refuse http:// except to a
// loopback host, so that tests and the fake tenant work while no credential
// or code ever crosses a network in clear text.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a URL's Hostname(): no port, no brackets) is
// "localhost" or a loopback IP address (127.0.0.0/8, ::1). Other names are
// not resolved: a DNS name that points at 127.0.0.1 today may not tomorrow.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
