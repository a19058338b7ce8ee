// Command custom-gateway shows what happens to a custom SMS gateway when a
// tenant moves to the Unified Phone Experience.
//
// It runs its own gateway (an HTTP server that verifies Auth0's HS256 JWT
// with github.com/golang-jwt/jwt/v5, as a real gateway would), points a fake
// tenant's Passwordless connection at it, and then:
//
//  1. reads the connection's raw options and generates the
//     custom-phone-provider Action with actiongen (code, secret names);
//  2. sends a code the legacy way: Auth0 itself POSTs to the gateway;
//  3. migrates the tenant with the custom provider (the same Action);
//  4. sends the code again: now the Action, running in Node.js, POSTs to
//     the gateway;
//
// and shows that the gateway received the same body and a valid token both
// times — the gateway needs no change.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/unifiedphone/unifiedphone/actiongen"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-gateway:", err)
		os.Exit(1)
	}
}

// received is one request the gateway accepted.
type received struct {
	Body     map[string]any
	Subject  string
	Audience []string
}

// gateway is a legacy SMS gateway: it accepts the legacy JSON body with an
// HS256 bearer token signed with key for audience.
type gateway struct {
	key      []byte
	audience string

	mu  sync.Mutex
	got []received
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return g.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(g.audience), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	sub, _ := tok.Claims.GetSubject()
	aud, _ := tok.Claims.GetAudience()
	g.mu.Lock()
	g.got = append(g.got, received{Body: body, Subject: sub, Audience: aud})
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"sent"}`)
}

func (g *gateway) last() (received, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.got) == 0 {
		return received{}, false
	}
	return g.got[len(g.got)-1], true
}

func run(ctx context.Context, w io.Writer) error {
	gw := &gateway{key: []byte(phonemigratetest.GatewaySecret), audience: phonemigratetest.GatewayAudience}
	gwSrv := httptest.NewServer(gw)
	defer gwSrv.Close()

	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway, phonemigratetest.WithGatewayURL(gwSrv.URL+"/sms"))
	defer srv.Close()
	client, err := auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		return err
	}

	// 1. The Action actiongen writes for this connection. The migration
	// generates the same one; here we look at it first.
	conns, err := client.ListSMSConnections(ctx)
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		return errors.New("the tenant has no SMS connection")
	}
	legacy, err := actiongen.GatewayFromOptions(conns[0].Options)
	if err != nil {
		return err
	}
	action, err := actiongen.Generate(actiongen.Spec{Default: actiongen.Target{Gateway: legacy}})
	if err != nil {
		return err
	}
	var names []string
	for _, s := range action.Secrets {
		names = append(names, s.Name)
	}
	fmt.Fprintf(w, "Action %s (%s): %d bytes of JavaScript; secrets %s; the code holds neither the gateway URL nor its secret: %t\n",
		action.Name, action.Runtime, len(action.Code), strings.Join(names, ", "),
		!strings.Contains(action.Code, phonemigratetest.GatewaySecret) && !strings.Contains(action.Code, gwSrv.URL))

	// 2. Before: Auth0 calls the gateway itself.
	req := phonemigratetest.NotifyRequest{Kind: "passwordless", Connection: conns[0].Name, Recipient: "+15555550100"}
	before, err := sendAndReceive(ctx, srv, gw, req)
	if err != nil {
		return fmt.Errorf("before the migration: %w", err)
	}
	fmt.Fprintf(w, "before: %s\n", before)

	// 3. Migrate to the custom provider.
	m, err := phonemigrate.New(client, phonemigrate.WithTenant("acme"), phonemigrate.WithPollInterval(50*time.Millisecond))
	if err != nil {
		return err
	}
	res, err := m.Apply(ctx, phonemigrate.Options{Provider: phonemigrate.ProviderKindCustom, SkipTest: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "migration %s\n", res.State)

	// 4. After: the Action calls the gateway.
	after, err := sendAndReceive(ctx, srv, gw, req)
	if err != nil {
		return fmt.Errorf("after the migration: %w", err)
	}
	fmt.Fprintf(w, "after:  %s\n", after)
	fmt.Fprintf(w, "the gateway saw the same request both times: %t\n", before == after)
	return nil
}

// sendAndReceive sends req through the fake tenant and describes what the
// gateway received.
func sendAndReceive(ctx context.Context, srv *phonemigratetest.Server, gw *gateway, req phonemigratetest.NotifyRequest) (string, error) {
	res, err := srv.Notify(ctx, req)
	if err != nil {
		return "", err
	}
	if !res.Delivered {
		return "", fmt.Errorf("not delivered via %s: %s", res.Route, res.Detail)
	}
	got, ok := gw.last()
	if !ok {
		return "", errors.New("the gateway received nothing")
	}
	return fmt.Sprintf("recipient=%v body=%q sender=%v forwarded_ip=%v jwt sub=%s aud=%v",
		got.Body["recipient"], got.Body["body"], got.Body["sender"], ipOf(got.Body["req"]), got.Subject, got.Audience), nil
}

func ipOf(req any) any {
	if m, ok := req.(map[string]any); ok {
		return m["ip"]
	}
	return nil
}
