package phonemigratetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Serving over HTTPS. Real clients — node-auth0 and auth0-deploy-cli
// always call https://{domain}/api/v2, Terraform's provider too — need
// TLS; [Server.StartTLSAt] serves the fake with a certificate for
// "localhost", 127.0.0.1 and ::1 signed by a certificate authority made
// for this server alone, and returns that CA (PEM) for the client to
// trust: NODE_EXTRA_CA_CERTS for Node.js, SSL_CERT_FILE for Go programs
// (Terraform, go-auth0). `phonemigrate fake --tls` uses it.

// StartTLSAt is [Server.StartAt] over HTTPS: it serves the fake on addr
// ("" means the [WithListener] listener or 127.0.0.1:0) with a fresh
// certificate for localhost, 127.0.0.1 and ::1, sets URL
// ("https://127.0.0.1:port") and BaseURL, and returns the PEM of the
// certificate authority that signed it. [Server.Client] trusts it.
func (s *Server) StartTLSAt(addr string) (caPEM []byte, err error) {
	ca, leaf, err := newLocalCertificates(time.Now())
	if err != nil {
		return nil, fmt.Errorf("phonemigratetest: TLS certificate: %w", err)
	}
	l := s.cfg.listener
	if l == nil {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if l, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	s.hs = &httptest.Server{Listener: l, Config: &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second},
		TLS: &tls.Config{Certificates: []tls.Certificate{leaf.tls}, MinVersion: tls.VersionTLS12}}
	s.hs.StartTLS()
	// httptest's client trusts the leaf; trust the CA instead, like a
	// real client given the CA file.
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	if t, ok := s.hs.Client().Transport.(*http.Transport); ok {
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s.URL = s.hs.URL
	s.BaseURL = s.URL + "/api/v2"
	return ca.pem, nil
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte // the certificate
	tls  tls.Certificate
}

// newLocalCertificates makes a CA and a server certificate it signs for
// localhost, 127.0.0.1 and ::1, valid from an hour before now for 30
// days.
func newLocalCertificates(now time.Time) (ca, leaf keyPair, err error) {
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		return n
	}
	if ca.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return ca, leaf, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "phonemigrate fake tenant CA", Organization: []string{"phonemigratetest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		return ca, leaf, err
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return ca, leaf, err
	}
	ca.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	if leaf.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return ca, leaf, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, leafTmpl, ca.cert, &leaf.key.PublicKey, ca.key)
	if err != nil {
		return ca, leaf, err
	}
	if leaf.cert, err = x509.ParseCertificate(der); err != nil {
		return ca, leaf, err
	}
	leaf.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	leaf.tls = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: leaf.key, Leaf: leaf.cert}
	return ca, leaf, nil
}

// Domain is the host:port the fake serves on ("127.0.0.1:port"), what
// clients that build https://{domain}/api/v2 themselves (node-auth0,
// auth0-deploy-cli's AUTH0_DOMAIN) take.
func (s *Server) Domain() string {
	u := s.URL
	for _, p := range []string{"https://", "http://"} {
		u = strings.TrimPrefix(u, p)
	}
	return u
}
