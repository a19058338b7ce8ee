// Package safehttp holds the transport rules shared by the clients that
// carry credentials to a server (the Management API client and the Twilio
// API client): capped response headers and bounded waits, on top of
// which each client refuses redirects and other hosts.
package safehttp

import (
	"net/http"
	"time"
)

// MaxResponseHeaderBytes caps the response headers a server may send (Go's
// default accepts 10 MiB). Real Auth0 and Twilio answers use a few KiB.
const MaxResponseHeaderBytes = 64 << 10

// Transport returns a clone of http.DefaultTransport whose response
// headers are capped at [MaxResponseHeaderBytes] and, when
// headerTimeout > 0, must arrive within headerTimeout.
func Transport(headerTimeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = MaxResponseHeaderBytes
	t.ResponseHeaderTimeout = headerTimeout
	return t
}

// Capped returns rt with the response header cap: a clone of an
// *http.Transport that has none (or nil, which gives Transport(0)); any
// other RoundTripper is returned as is (it is the caller's).
func Capped(rt http.RoundTripper) http.RoundTripper {
	switch t := rt.(type) {
	case nil:
		return Transport(0)
	case *http.Transport:
		if t.MaxResponseHeaderBytes > 0 && t.MaxResponseHeaderBytes <= MaxResponseHeaderBytes {
			return t
		}
		c := t.Clone()
		c.MaxResponseHeaderBytes = MaxResponseHeaderBytes
		return c
	}
	return rt
}
