package phonemigratetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Gateway is a fake legacy custom SMS gateway (Auth0's Passwordless
// "sms_gateway" contract), a real HTTP server on 127.0.0.1. It accepts
// POSTs on any path with the legacy JSON body
//
//	{"recipient": "+1...", "body": "text", "sender": "+1...", "req": {"ip": ..., "user-agent": ...}}
//
// and verifies the "Authorization: Bearer <JWT>" independently of the code
// that signed it, with github.com/golang-jwt/jwt/v5: HS256 only, signed with
// one of its keys, an accepted aud and sub ([GatewayAudience], [GatewaySubject]; see [Gateway.SetClaims]), iat and
// exp present and valid. It answers 200 {"status":"sent"} when the token
// verifies and 401 otherwise (or the status set with [Gateway.SetStatus]),
// and records every POST it receives, verified or not.
//
// By default it accepts the scenario keys: [GatewaySecret] and
// [GatewaySecretBase64Key]. Custom-phone-provider Actions written for a
// migrated tenant are expected to sign the same token, so the same gateway
// proves that the text and the authentication survived the migration.
type Gateway struct {
	// URL is the gateway's root, http://127.0.0.1:port. Scenario
	// connections use URL + [GatewayPath] as gateway_url.
	URL string

	hs       *httptest.Server
	mu       sync.Mutex
	keys     [][]byte
	claims   []GatewayClaims
	status   int
	messages received[GatewayMessage]
}

// GatewayMessage is one POST the gateway received.
type GatewayMessage struct {
	Path string `json:"path"`
	// Recipient, Body and Sender are the legacy body's fields.
	Recipient string `json:"recipient"`
	Body      string `json:"body"`
	Sender    string `json:"sender"`
	// Req is the forwarded request info ("ip", "user-agent"), nil when the
	// body had no "req".
	Req map[string]any `json:"req,omitempty"`
	// Raw is the whole JSON body as received.
	Raw map[string]any `json:"raw"`
	// UserAgent is the request's User-Agent header.
	UserAgent string `json:"user_agent"`
	// Verified says the bearer JWT verified; Claims are its claims then.
	Verified bool           `json:"verified"`
	Claims   map[string]any `json:"claims,omitempty"`
	// AuthError says why the token did not verify.
	AuthError string `json:"auth_error,omitempty"`
	// Status is what the gateway answered.
	Status int `json:"status"`
}

func newGateway() *Gateway {
	g := &Gateway{keys: [][]byte{[]byte(GatewaySecret), GatewaySecretBase64Key()}, claims: []GatewayClaims{{GatewayAudience, GatewaySubject}}}
	g.hs = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.hs.URL
	return g
}

// Close stops the gateway, cutting requests still running after 5 s (see
// [Server.Close]).
func (g *Gateway) Close() { closeHTTP(g.hs, "Gateway") }

// SetKeys replaces the HS256 keys the gateway accepts.
func (g *Gateway) SetKeys(keys ...[]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys = keys
}

// GatewayClaims are an audience and a subject the gateway accepts in a
// token ("" means the claim must be absent).
type GatewayClaims struct {
	Audience, Subject string
}

// SetClaims replaces the aud/sub pairs the gateway accepts (by default
// [GatewayAudience] with [GatewaySubject]); a fake served from a snapshot
// accepts those of the snapshot's connections.
func (g *Gateway) SetClaims(claims ...GatewayClaims) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.claims = claims
}

// SetStatus makes the gateway answer status to every POST (after recording
// it), whatever the token; 0 restores the default (200 verified, 401 not).
func (g *Gateway) SetStatus(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = status
}

// Messages returns a copy of every POST received, in order.
func (g *Gateway) Messages() []GatewayMessage { return g.messages.all() }

// Reset forgets the received messages.
func (g *Gateway) Reset() { g.messages.reset() }

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	msg := GatewayMessage{Path: r.URL.Path, UserAgent: r.UserAgent()}
	if err := json.Unmarshal(raw, &msg.Raw); err != nil {
		msg.Status = http.StatusBadRequest
		g.record(msg)
		http.Error(w, "body is not a JSON object", http.StatusBadRequest)
		return
	}
	msg.Recipient, _ = msg.Raw["recipient"].(string)
	msg.Body, _ = msg.Raw["body"].(string)
	msg.Sender, _ = msg.Raw["sender"].(string)
	msg.Req, _ = msg.Raw["req"].(map[string]any)

	g.mu.Lock()
	keys := append([][]byte{}, g.keys...)
	accepted := append([]GatewayClaims{}, g.claims...)
	forced := g.status
	g.mu.Unlock()

	claims, err := verifyGatewayJWT(r.Header.Get("Authorization"), keys, accepted)
	if err != nil {
		msg.AuthError = err.Error()
	} else {
		msg.Verified, msg.Claims = true, claims
	}
	status := http.StatusOK
	if !msg.Verified {
		status = http.StatusUnauthorized
	}
	if forced != 0 {
		status = forced
	}
	msg.Status = status
	g.record(msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		_, _ = io.WriteString(w, `{"status":"sent"}`)
	} else {
		_, _ = io.WriteString(w, `{"status":"rejected"}`)
	}
}

func (g *Gateway) record(m GatewayMessage) { g.messages.add(m) }

// verifyGatewayJWT checks a legacy gateway bearer token with golang-jwt.
func verifyGatewayJWT(header string, keys [][]byte, accepted []GatewayClaims) (map[string]any, error) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return nil, errors.New("no bearer token")
	}
	set := jwt.VerificationKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return set, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return nil, err
	}
	if _, ok := claims["iat"]; !ok {
		return nil, errors.New("token has no iat claim")
	}
	aud, _ := claims.GetAudience()
	sub, _ := claims.GetSubject()
	for _, a := range accepted {
		if sub == a.Subject && (a.Audience == "" && len(aud) == 0 || slices.Contains(aud, a.Audience)) {
			return claims, nil
		}
	}
	return nil, fmt.Errorf("token has invalid claims: aud %q, sub %q are not the gateway's", strings.Join(aud, ","), sub)
}
