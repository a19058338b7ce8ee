package phonemigratetest

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/golang-jwt/jwt/v5"
	"io"
	"log"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
)

// Server is a fake Auth0 tenant: a stateful fake of the Management API
// subset the migration uses, served over real HTTP on 127.0.0.1, plus a
// test-control API under /__fake/ and two fakes it delivers messages to (a
// legacy SMS [Gateway] and a [TwilioAPI]).
//
// Point go-auth0 v3 (or anything else) at it with
//
//	client.New("unused", option.WithBaseURL(srv.BaseURL), option.WithToken(srv.Token))
//
// or with client credentials ([Server.ClientID], [Server.ClientSecret]
// against URL + "/oauth/token"). Every /api/v2 request needs
// "Authorization: Bearer " + Token, else 401.
//
// The fake enforces the rules that matter to a phone migration: one phone
// provider per tenant, Twilio providers need sid + default_from or mssid and
// credentials, custom providers need credentials {} (and deliver only
// through a deployed, bound custom-phone-provider Action), a provider's
// credentials are never returned (the legacy Twilio tokens are, as
// recorded), connection PATCH replaces options wholesale, legacy Guardian
// phone endpoints answer
// 403 once phone_consolidated_experience is on, MFA message types must be a
// subset of the provider's delivery methods under UPE (409), Actions build
// before they can be deployed and a trigger allows one custom-phone-provider
// Action. Error bodies have Auth0's shape:
// {"statusCode","error","message"[,"errorCode"]}.
//
// The test-control API (no token needed):
//
//	GET    /__fake/state      the tenant as JSON (see [State])
//	GET    /__fake/requests   the request log (see [Request])
//	DELETE /__fake/requests   clear the request log
//	POST   /__fake/faults     inject a [Fault]; DELETE clears them all
//	POST   /__fake/ratelimit  {"per_second": 2, "burst": 5}; per_second <= 0 turns limiting off
//	POST   /__fake/notify     send one message (see [NotifyRequest], [NotifyResult])
//	GET    /__fake/gateway/messages, /__fake/twilio/messages   what the fakes received
//	POST   /__fake/twilio/accounts              {"sid","auth_token"}: the fake Twilio accepts the account
//	POST   /__fake/twilio/accounts/{sid}/reject the fake Twilio rejects the account (401 20003)
//	POST   /__fake/twilio/numbers               {"number","final"}: messages to number end final
//	                                            (see [TwilioAPI.FailNumber])
//	POST   /__fake/traffic    start background deliveries (see [Traffic]); GET reports, DELETE stops
//	POST   /__fake/break      make a delivery path fail (see [DeliveryBreak]); DELETE restores all
//	POST   /__fake/phonelimit {"per_recipient": 3, "window_ms": 60000}: limit_phone after that
//
// Every delivery appends tenant log events (cs, fn, gd_send_sms,
// gd_send_voice and their _failure types, actions_execution_failed,
// limit_phone; api_limit for a rate-limited request), served by GET
// /api/v2/logs (see [Server.Logs]).
//
// The control API is unauthenticated by design and for local use only: it
// shows every credential applied to the fake and /__fake/notify runs the
// deployed Action in Node.js as the calling user. It answers only requests
// whose Host is a loopback address or "localhost" (403 otherwise, against
// DNS rebinding) and takes POST bodies only as application/json (415
// otherwise, so a web page cannot post to it cross-origin).
//
// A Server is safe for concurrent use. Close it when done.
type Server struct {
	// URL is the server's root, "http://127.0.0.1:port" (empty before
	// Start).
	URL string
	// BaseURL is URL + "/api/v2", the Management API base for go-auth0's
	// option.WithBaseURL.
	BaseURL string
	// Token is the bearer token /api/v2 accepts; /oauth/token issues it.
	// Like Auth0's Management API tokens it is a JWT, whose azp and sub
	// name [Server.ClientID] (so a client can tell which application it
	// calls as, as the integrations-at-risk report does); it is signed
	// with a random key no one checks — the fake compares the whole token.
	Token string
	// ClientID and ClientSecret are the client credentials /oauth/token
	// accepts.
	ClientID, ClientSecret string
	// Scenario is the scenario the tenant was seeded with.
	Scenario Scenario

	cfg     config
	handler http.Handler
	hs      *httptest.Server
	gateway *Gateway
	twilio  *TwilioAPI

	mu            sync.Mutex
	st            *State
	builds        map[string]*buildProgress  // action id -> build progress
	versions      map[string]deployedVersion // action id -> deployed version
	pendingDeploy map[string]bool            // created with "deploy": true, not built yet
	deploys       map[string]*deployProgress // action id -> deployment under way
	deletedConns  map[string]bool            // ids of deleted connections (a second DELETE answers 204)
	seq           int
	reqs          received[Request]
	faults        []*faultEntry
	limiter       *rate.Limiter
	perSec        float64
	burst         int
	closeMux      sync.Once
	closing       chan struct{}     // closed by Close: injected delays end at once
	redirects     []GatewayRedirect // a snapshot's gateway URLs re-pointed to the fake Gateway (NewServerFrom)

	// Tenant logs (logs.go) and delivery simulation knobs (traffic.go).
	logs             []LogEvent
	logSeq           int
	phoneLimit       int
	phoneLimitWindow time.Duration
	phoneSends       map[string][]time.Time
	traffic          *trafficRun
	actionThrows     string // non-empty: the custom-phone-provider Action throws this

	// Applications, APIs, grants, issued tokens and the settings objects of
	// an otherwise empty tenant (clients.go, empty.go); made on first use.
	dir *directory
}

type buildProgress struct {
	started time.Time
	gets    int
}

// Request is one entry of the request log: what GET /__fake/requests
// answers, in arrival order. Only Management API (/api/v2) and /oauth/token
// requests are logged. Status is the status the fake answered, or 0 when a
// fault dropped the connection.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Query is the raw query string, when there was one.
	Query  string `json:"query,omitempty"`
	Status int    `json:"status"`
}

// Fault is an injected failure: what POST /__fake/faults accepts.
//
// A request matches when Method is empty or equal (case-insensitive) and
// Path equals the request path, with or without the "/api/v2" prefix; a
// Path ending in "*" matches every path with that prefix ("/api/v2/*",
// "/connections/*"). A matching fault first waits DelayMS milliseconds (or
// until the client gives up), then drops the connection without an answer
// when Drop, else answers Status with an Auth0 error body when Status is
// non-zero, else lets the request through (a pure delay). Times is how many
// requests it affects; 0 means every request until [Server.ClearFaults].
// Faults apply to /api/v2 and /oauth/token, in the order injected, and the
// first match wins.
type Fault struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Status  int    `json:"status"`
	Times   int    `json:"times"`
	DelayMS int    `json:"delay_ms"`
	Drop    bool   `json:"drop"`
}

type faultEntry struct {
	Fault
	used int
}

type config struct {
	perSecond  float64
	burst      int
	listener   net.Listener
	addr       string
	logger     *slog.Logger
	gatewayURL string
	buildDelay time.Duration
	buildGets  int
	// unresolvable are npm packages ("name@version") whose builds fail.
	unresolvable []string
	// nodeModules are node_modules directories Actions require from.
	nodeModules []string
	// controlToken, when set, is required on every control request.
	controlToken string
	// rateNow, when set, is the rate limit's clock (WithRateClock).
	rateNow func() time.Time
}

// ControlTokenHeader is the header that carries the control token of a
// server made [WithControlToken].
const ControlTokenHeader = "X-Fake-Control-Token"

// WithControlToken makes every request to the control API (/__fake/)
// carry token in the [ControlTokenHeader] header (401 otherwise), whatever
// its Host: for a fake other machines can reach, where the loopback-Host
// check alone stops nobody who sends "Host: 127.0.0.1". An empty token
// changes nothing.
func WithControlToken(token string) Option {
	return func(c *config) { c.controlToken = token }
}

// Option configures a [Server].
type Option func(*config)

// WithRateLimit limits the Management API to perSecond requests per second
// with bursts of burst (a token bucket, golang.org/x/time/rate). Answers
// then carry Auth0's X-RateLimit-Limit (burst), X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds) headers, and requests over the limit get
// 429 {"statusCode":429,"error":"Too Many Requests",...}. The default is no
// limit and no headers. See also [Server.SetRateLimit].
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.perSecond, c.burst = perSecond, burst }
}

// WithRateClock makes the rate limit (WithRateLimit, SetRateLimit) read
// the time from now instead of the real clock, X-RateLimit-Reset
// included: a test then decides when the bucket refills, so that a 429
// comes (or not) however fast the machine sends its requests. It is
// called once per rate-limited request.
func WithRateClock(now func() time.Time) Option {
	return func(c *config) { c.rateNow = now }
}

// WithListener makes [Server.Start] serve on l instead of a new listener on
// 127.0.0.1:0. The server takes ownership of l.
func WithListener(l net.Listener) Option {
	return func(c *config) { c.listener = l }
}

// WithAddr makes [Server.Start] listen on addr (e.g. "127.0.0.1:8787", or
// ":0"). This is what `phonemigrate fake --listen ADDR` uses; prefer
// [Server.StartAt] to get the listen error instead of a panic.
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithLogger logs one line per Management API request (method, path,
// status; never bodies or headers) and every notification to l. The
// default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithGatewayURL makes the gateway scenarios' connections point their
// gateway_url at url instead of the fake's own [Gateway].
func WithGatewayURL(url string) Option {
	return func(c *config) { c.gatewayURL = url }
}

// WithUnresolvablePackage makes the build of every Action that depends on
// name@version fail, as Auth0's does for a package npm does not have
// (recorded: crypto@17.7.1 went building → retrying → failed). The failed
// Action keeps its previously deployed version, if any.
func WithUnresolvablePackage(name, version string) Option {
	return func(c *config) { c.unresolvable = append(c.unresolvable, name+"@"+version) }
}

// WithNodeModules lets the Actions the fake runs (custom-phone-provider and
// send-phone-message) require npm packages installed in dirs, each a
// node_modules directory. Without it an Action that requires a package
// fails to load, and its message is not delivered.
func WithNodeModules(dirs ...string) Option {
	return func(c *config) { c.nodeModules = append(c.nodeModules, dirs...) }
}

// WithActionBuild sets how long a created or updated Action stays
// "pending"/"building" (Auth0 answers a create or update with "pending";
// later reads say "building"): it turns "built" (or "failed", see
// [WithUnresolvablePackage]) once delay has passed since the change, or
// on the gets-th GET /actions/actions/{id} after it (gets <= 0: only the
// delay counts), whichever comes first. The default is 200ms or the second
// GET, so a poller sees "building" once and then "built".
func WithActionBuild(delay time.Duration, gets int) Option {
	return func(c *config) { c.buildDelay, c.buildGets = delay, gets }
}

// NewServer starts a fake tenant seeded with scenario on 127.0.0.1 (or as
// [WithListener] / [WithAddr] say) and returns it. Like httptest.NewServer
// it panics if it cannot listen, or if scenario is unknown (use
// [ParseScenario] on user input first).
func NewServer(scenario Scenario, opts ...Option) *Server {
	s := NewUnstartedServer(scenario, opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a seeded fake tenant that is not serving the
// Management API yet (its Gateway and Twilio fakes already are); call
// [Server.Start] or [Server.StartAt], or mount [Server.Handler] yourself.
// It panics if scenario is unknown.
func NewUnstartedServer(scenario Scenario, opts ...Option) *Server {
	s, err := newUnstarted(scenario, opts, func(gw string) (*State, error) { return seed(scenario, gw) })
	if err != nil {
		panic(err.Error())
	}
	return s
}

// newUnstarted builds an unstarted server whose state seed returns, given
// the gateway_url the state's gateway connections should use.
func newUnstarted(scenario Scenario, opts []Option, seed func(gatewayURL string) (*State, error)) (*Server, error) {
	cfg := config{buildDelay: 200 * time.Millisecond, buildGets: 2}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		Scenario:      scenario,
		Token:         mgmtToken(fakeClientID, mgmtScope),
		ClientID:      fakeClientID,
		ClientSecret:  "fake-client-secret-" + randomHex(16),
		cfg:           cfg,
		builds:        map[string]*buildProgress{},
		versions:      map[string]deployedVersion{},
		pendingDeploy: map[string]bool{},
		deploys:       map[string]*deployProgress{},
		closing:       make(chan struct{}),
	}
	s.gateway = newGateway()
	s.twilio = newTwilioAPI()
	s.twilio.AddAccount(TwilioSID, TwilioAuthToken)
	gw := cfg.gatewayURL
	if gw == "" {
		gw = s.gateway.URL + GatewayPath
	}
	st, err := seed(gw)
	if err != nil {
		s.gateway.Close()
		s.twilio.Close()
		return nil, err
	}
	s.st = st
	s.twilio.registerLegacyAccounts(s.st)
	s.setRateLimitLocked(cfg.perSecond, cfg.burst)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the fake's whole HTTP handler (Management API, /oauth/token
// and /__fake/), for serving it with your own http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves the fake on the listener of [WithListener], the address of
// [WithAddr], or 127.0.0.1:0, and sets URL and BaseURL. It panics if it
// cannot listen, like httptest.Server.Start.
func (s *Server) Start() {
	if err := s.StartAt(s.cfg.addr); err != nil {
		panic(fmt.Sprintf("phonemigratetest: %v", err))
	}
}

// StartAt serves the fake on addr ("" means the [WithListener] listener or
// 127.0.0.1:0) and sets URL and BaseURL. It returns the listen error
// instead of panicking; `phonemigrate fake --listen` uses it.
func (s *Server) StartAt(addr string) error {
	l := s.cfg.listener
	if l == nil {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var err error
		l, err = net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	s.hs = &httptest.Server{Listener: l, Config: &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}}
	s.hs.Start()
	s.URL = s.hs.URL
	s.BaseURL = s.URL + "/api/v2"
	return nil
}

// Close shuts the fake down, with its Gateway and Twilio fakes. Requests
// held by an injected delay end at once; Close then waits for the other
// outstanding requests to finish, like httptest.Server.Close, but for 5
// seconds at most: then it closes their connections (and says so on the
// standard logger), so that a client that stalls without hanging up — say,
// one that sent half a request body — cannot hold Close, and the test
// cleanup calling it, forever.
func (s *Server) Close() {
	s.closeMux.Do(func() {
		close(s.closing)
		if s.hs != nil {
			closeHTTP(s.hs, "Server")
		}
		s.gateway.Close()
		s.twilio.Close()
	})
}

// closeGrace is how long closeHTTP waits for outstanding requests before
// it closes their connections (tests shorten it).
var closeGrace = 5 * time.Second

// closeHTTP closes hs like httptest.Server.Close, but cuts the connections
// of requests still running after closeGrace. The fakes' handlers block
// only on their connection or on work bound to the request's context,
// both of which end when the connection is closed.
func closeHTTP(hs *httptest.Server, name string) {
	done := make(chan struct{})
	go func() {
		hs.Close()
		close(done)
	}()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	log.Printf("phonemigratetest: %s.Close: requests still running after %v; closing their connections", name, closeGrace)
	hs.CloseClientConnections()
	<-done
}

// Client returns an *http.Client for the fake (from httptest), or
// http.DefaultClient before Start.
func (s *Server) Client() *http.Client {
	if s.hs == nil {
		return http.DefaultClient
	}
	return s.hs.Client()
}

// Gateway returns the fake legacy SMS gateway the gateway scenarios point
// at (unless [WithGatewayURL]).
func (s *Server) Gateway() *Gateway { return s.gateway }

// Twilio returns the fake Twilio REST API that legacy Twilio settings and
// Twilio phone providers deliver to.
func (s *Server) Twilio() *TwilioAPI { return s.twilio }

// State returns a deep copy of the tenant, the same structure GET
// /__fake/state answers.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshBuildsLocked(time.Now())
	return s.st.clone()
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request { return s.reqs.all() }

// ResetRequests clears the request log.
func (s *Server) ResetRequests() { s.reqs.reset() }

// received is what one of the fakes received, in order: the Management
// API's request log, the Gateway's and Twilio's messages. It is safe for
// concurrent use; all returns a copy.
type received[T any] struct {
	mu    sync.Mutex
	items []T
}

func (r *received[T]) add(x T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, x)
}

func (r *received[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T{}, r.items...)
}

func (r *received[T]) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = nil
}

// InjectFault adds f, like POST /__fake/faults.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{Fault: f})
}

// Faults returns the faults still in force, in the order injected, each
// with Times lowered by the requests it has affected already (0 stays 0:
// until [Server.ClearFaults]). A fault leaves the list when it has
// affected its last request, as soon as that request arrives: a test that
// sees a delaying fault gone knows its request is being held.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		g := f.Fault
		if g.Times > 0 {
			g.Times -= f.used
		}
		out = append(out, g)
	}
	return out
}

// ClearFaults removes every fault, like DELETE /__fake/faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetRateLimit changes the rate limit, like POST /__fake/ratelimit; a
// perSecond <= 0 turns it off. The bucket starts full.
func (s *Server) SetRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setRateLimitLocked(perSecond, burst)
}

func (s *Server) setRateLimitLocked(perSecond float64, burst int) {
	if perSecond <= 0 {
		s.limiter, s.perSec, s.burst = nil, 0, 0
		return
	}
	if burst < 1 {
		burst = 1
	}
	s.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
	s.perSec, s.burst = perSecond, burst
}

// fakeClientID is the client id of the fake's own application.
const fakeClientID = "fakeMgmtClient0PhoneMigrate00001"

// mgmtToken returns a Management API access token of client clientID
// with scope, shaped as Auth0 issues them: a JWT (here HS256 under a random key) with
// iss, sub "<client_id>@clients", aud, azp, scope, gty and a random jti.
func mgmtToken(clientID, scope string) string {
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://" + TenantName + ".us.auth0.com/", "sub": clientID + "@clients",
		"aud": "https://" + TenantName + ".us.auth0.com/api/v2/", "azp": clientID,
		"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		"scope": scope, "gty": "client-credentials", "jti": randomHex(16),
	}).SignedString([]byte(randomHex(32)))
	if err != nil {
		panic("phonemigratetest: signing the fake token: " + err.Error()) // HS256 with a key cannot fail
	}
	return tok
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nextID returns a new id with prefix; callers hold s.mu.
func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%sFk%014d", prefix, s.seq)
}

// nextUUIDLocked returns a new UUID-shaped id (Actions and bindings use
// UUIDs); callers hold s.mu.
func (s *Server) nextUUIDLocked() string {
	s.seq++
	return fmt.Sprintf("6f1b2c3d-%04x-4e5f-8a9b-%012x", s.seq, s.seq)
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// routes builds the whole handler.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	s.registerAPI(api)
	control := http.NewServeMux()
	s.registerControl(control)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__fake/") {
			if tok := s.cfg.controlToken; tok != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(ControlTokenHeader)), []byte(tok)) != 1 {
				controlError(w, http.StatusUnauthorized, "the control API of this fake requires its control token in the "+ControlTokenHeader+" header")
				return
			}
			if err := controlAllowed(r, s.cfg.controlToken != ""); err != "" {
				status := http.StatusForbidden
				if strings.HasPrefix(err, "send") {
					status = http.StatusUnsupportedMediaType
				}
				controlError(w, status, err)
				return
			}
			control.ServeHTTP(w, r)
			return
		}
		s.serveLogged(w, r, api)
	})
}

// controlAllowed guards the control API, which is unauthenticated by
// design (it is for local tests): it answers only requests addressed to a
// loopback host — so a web page cannot reach it through DNS rebinding,
// whose requests carry the attacker's host name — and takes bodies only as
// application/json, which a cross-origin page cannot send without a
// preflight the fake never approves. It returns why r is refused, or "".
//
// A request that carried the control token (tokened) may be addressed to
// any host: the token, which no web page knows, is the guard then.
func controlAllowed(r *http.Request, tokened bool) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if !tokened && !loopback.Host(host) {
		return fmt.Sprintf("the control API answers only requests addressed to a loopback host, not %q", r.Host)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodDelete {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
			return fmt.Sprintf("send control requests as application/json, not %q", ct)
		}
	}
	return ""
}

type statusWriter struct {
	http.ResponseWriter
	status int
	// before, when set, runs once, just before the status line goes out:
	// whatever it records is there before the client can see the answer.
	before func(status int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.before != nil {
			w.before(code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// serveLogged applies faults, the rate limit and auth, and logs.
func (s *Server) serveLogged(w http.ResponseWriter, r *http.Request, api http.Handler) {
	sw := &statusWriter{ResponseWriter: w}
	dropped, logged := false, false
	record := func(status int) {
		if logged {
			return
		}
		logged = true
		s.reqs.add(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status})
		if l := s.cfg.logger; l != nil {
			l.Info("fake auth0 request", "method", r.Method, "path", r.URL.Path, "status", status)
		}
	}
	// A request is logged before it is answered, so a client that has its
	// answer finds its request in the log (and a test that resets the log
	// after its own request is answered never sees that request come in
	// later). The deferred call logs what wrote no answer: a dropped
	// request, or a handler that wrote nothing (net/http answers 200 after
	// it returns).
	sw.before = record
	defer func() {
		status := sw.status
		if dropped {
			status = 0
		}
		record(status)
	}()

	if f, ok := s.matchFault(r); ok {
		if f.DelayMS > 0 && r.Body != nil {
			// net/http notices a client that gave up only once the body
			// has been read: read it now so that the wait below ends
			// (and nothing is applied) when the client goes away.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				dropped = true
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if f.DelayMS > 0 {
			t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				dropped = true
				return
			case <-s.closing:
				t.Stop()
				dropped = true
				return
			}
		}
		if f.Drop {
			dropped = true
			// Log before hanging up: a client that sees the connection
			// drop and sends its next request must find this one first in
			// the log, not after the next.
			record(0)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if f.Status != 0 {
			writeError(sw, f.Status, "Injected fault", "")
			return
		}
	}

	if r.URL.Path == "/oauth/token" {
		s.handleToken(sw, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/v2/") {
		writeError(sw, http.StatusNotFound, "Not Found", "")
		return
	}
	if !s.rateLimit(sw, r) {
		return
	}
	caller, ok := s.caller(r)
	if !ok {
		msg := "Missing authentication"
		if r.Header.Get("Authorization") != "" {
			msg = "Invalid token"
		}
		writeError(sw, http.StatusUnauthorized, msg, "")
		return
	}
	s.serveAudited(sw, r, api, caller, record)
}

func (s *Server) matchFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if !faultPathMatches(f.Path, r.URL.Path) {
			continue
		}
		f.used++
		out := f.Fault
		if f.Times > 0 && f.used >= f.Times {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// faultInFlight reports whether a fault has been used at least once.
func (s *Server) faultInFlight() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.used > 0 {
			return true
		}
	}
	return false
}

func faultPathMatches(pattern, path string) bool {
	if pattern == "" {
		return false
	}
	candidates := []string{path}
	if rest, ok := strings.CutPrefix(path, "/api/v2"); ok {
		candidates = append(candidates, rest)
	}
	for _, p := range candidates {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
			if strings.HasPrefix(p, prefix) {
				return true
			}
		} else if p == pattern {
			return true
		}
	}
	return false
}

// rateLimit takes a token and sets the X-RateLimit headers; it answers 429
// and returns false when the bucket is empty.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	lim, perSec, burst := s.limiter, s.perSec, s.burst
	s.mu.Unlock()
	if lim == nil {
		return true
	}
	t := time.Now()
	if s.cfg.rateNow != nil {
		t = s.cfg.rateNow()
	}
	ok := lim.AllowN(t, 1)
	tokens := lim.TokensAt(t)
	remaining := int(math.Max(0, math.Floor(tokens)))
	var wait float64 // seconds until the reset the header announces
	if ok {
		wait = (float64(burst) - tokens) / perSec // until the bucket is full again
	} else {
		wait = (1 - tokens) / perSec // until one request is allowed
	}
	reset := t.Add(time.Duration(wait * float64(time.Second)))
	resetUnix := reset.Unix()
	if reset.Nanosecond() > 0 {
		resetUnix++
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(resetUnix, 10))
	if !ok {
		s.mu.Lock()
		s.logAPILimitLocked(r, burst)
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
		return false
	}
	return true
}

// handleToken is POST /oauth/token (client credentials; JSON or form body).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "")
		return
	}
	var in struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Audience     string `json:"audience"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request payload JSON format")
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid form body")
			return
		}
		in.GrantType = r.PostForm.Get("grant_type")
		in.ClientID = r.PostForm.Get("client_id")
		in.ClientSecret = r.PostForm.Get("client_secret")
		in.Audience = r.PostForm.Get("audience")
	}
	if id, secret, ok := r.BasicAuth(); ok && in.ClientID == "" {
		in.ClientID, in.ClientSecret = id, secret
	}
	if in.GrantType != "client_credentials" {
		writeOAuthError(w, http.StatusForbidden, "unsupported_grant_type", "Unsupported grant type: "+in.GrantType)
		return
	}
	if in.ClientID == s.ClientID && in.ClientSecret == s.ClientSecret {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": s.Token, "token_type": "Bearer", "expires_in": 86400, "scope": mgmtScope})
		return
	}
	// Another application with a grant for the Management API (clients.go).
	if tok, scope, ok := s.issueClientToken(in.ClientID, in.ClientSecret); ok {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 86400, "scope": scope})
		return
	}
	writeOAuthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"statusCode":500,"error":"Internal Server Error","message":"fake: response does not marshal"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers an Auth0-shaped error.
func writeError(w http.ResponseWriter, status int, message, errorCode string) {
	body := map[string]any{"statusCode": status, "error": http.StatusText(status), "message": message}
	if errorCode != "" {
		body["errorCode"] = errorCode
	}
	writeJSON(w, status, body)
}
