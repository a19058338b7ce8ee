package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
)

// Runner migrates the tenants of a [Config]. The zero Runner is ready to
// use: it reads the environment with os.Getenv, keeps every tenant in
// progress at once (up to [DefaultMaxInProgress]) with at most the file's
// concurrency (else [DefaultConcurrency]) Management API requests in
// flight across the fleet, and talks to each tenant through auth0api with
// that tenant's rate limit. A Runner may be reused, but not for two
// concurrent runs over the same checkpoints (the second would find them
// locked).
//
// Scheduling is by requests, not tenants: Auth0's rate limits are per
// tenant, so a tenant waiting for its own limit must not hold up another,
// and the fleet's floor is one tenant's (calls − burst)/rate, not that times
// a number of waves. A tenant waiting for its client-side bucket holds no
// request slot.
type Runner struct {
	// Concurrency overrides the fleet file's concurrency — the number of
	// Management API requests in flight at once, across all tenants — when
	// positive.
	Concurrency int

	// MaxInProgress bounds how many tenants are in progress at once (each
	// holds its checkpoint lock and a client); 0 means
	// [DefaultMaxInProgress].
	MaxInProgress int

	// Getenv looks up environment variables (credentials). nil means
	// os.Getenv.
	Getenv func(string) string

	// DefaultTwilioTokenEnv names the variable holding the Twilio auth
	// token for tenants whose options set no twilio_token_env. Empty (or
	// the variable unset): such tenants carry their legacy token over.
	DefaultTwilioTokenEnv string

	// Progress, when set, receives an [Event] when a tenant starts, at each
	// of its state transitions and when it ends. Calls are serialized (never
	// two at once), in the order the events happened; keep it quick, the
	// tenants wait for it.
	Progress func(Event)

	// Logger receives the engine's and the client's debug records for
	// every tenant, each with a "tenant" attribute. nil discards them.
	Logger *slog.Logger

	// ClientConfig, when set, may adjust each tenant's auth0api.Config
	// (timeouts, attempts, an HTTP client, ...) after the fleet file's
	// settings were applied. It must not keep the Config, which holds
	// credentials.
	ClientConfig func(t Tenant, c *auth0api.Config)

	// MigratorOptions, when set, returns extra options for each tenant's
	// Migrator (after WithStore, WithTenant, WithLogger and WithObserver,
	// so it can replace them), for example a shorter WithPollInterval.
	MigratorOptions func(t Tenant) []phonemigrate.Option

	// Review, when set, sees each tenant's plan before its migration
	// starts, with the tenant's client (paced like the rest of its
	// requests; reads only): as [phonemigrate.Session.Review], an error
	// ends that tenant's run with nothing written to it (outcome failed),
	// and it may complete the options (differences accepted). The CLI
	// proves each tenant's outcome on a fake copy with it. A migration
	// resuming from its checkpoint is not reviewed.
	Review func(ctx context.Context, t Tenant, c phonemigrate.Client, o *phonemigrate.Options, p *phonemigrate.Plan) error

	// Confirm is set as Options.Confirm of every tenant; nil accepts every
	// test message unasked.
	Confirm func(ctx context.Context, tenant string, m phonemigrate.TestMessage) (bool, error)
}

// EventKind says what an [Event] reports.
type EventKind string

// The kinds of [Event].
const (
	EventStarted    EventKind = "started"    // the tenant's migration began
	EventTransition EventKind = "transition" // the tenant's migration changed state
	EventFinished   EventKind = "finished"   // the tenant is done (Result is set)
)

// Event is one progress report of [Runner.Run].
type Event struct {
	Kind EventKind
	// Tenant is the tenant's name; Index its position in the file.
	Tenant string
	Index  int
	// Transition is set for EventTransition.
	Transition *phonemigrate.Transition
	// Result is set for EventFinished.
	Result *TenantResult
	// Done and Total count finished tenants (this one included for
	// EventFinished) and all tenants.
	Done, Total int
}

// ErrMissingCredentials is matched by a tenant's error when an environment
// variable named in the fleet file is unset or empty. Nothing was sent to
// that tenant.
var ErrMissingCredentials = errors.New("missing credentials")

// EnvError reports an environment variable named by the fleet file that is
// unset or empty. It matches [ErrMissingCredentials].
type EnvError struct {
	Field string // e.g. "token_env"
	Var   string // the variable's name (never its value)
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("environment variable %s (%s) is not set", e.Var, e.Field)
}

// Is reports whether target is [ErrMissingCredentials].
func (e *EnvError) Is(target error) bool { return target == ErrMissingCredentials }

// Run migrates every tenant of cfg and returns the report, one
// [TenantResult] per tenant in file order.
//
// cfg must be valid ([Load], [Parse] or [Config.Validate]); an invalid one
// is returned as its *ConfigError with no tenant contacted. Each tenant
// runs on its own: its failure is recorded in its result and the other
// tenants carry on. Run returns a nil error when every tenant was tried,
// whatever their outcomes (see [Report.Failed]); when ctx is done before
// every tenant finished it returns the report so far — unstarted tenants
// with [OutcomeCanceled] — and ctx's error. Tenants that were running are
// stopped by ctx too; their checkpoints let the next run resume them.
func (r *Runner) Run(ctx context.Context, cfg *Config) (*Report, error) {
	if cfg == nil {
		return nil, &ConfigError{Problem: "no fleet configuration"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conc := r.Concurrency
	if conc <= 0 {
		conc = cfg.Concurrency
	}
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	inProgress := r.MaxInProgress
	if inProgress <= 0 {
		inProgress = DefaultMaxInProgress
	}
	inProgress = min(inProgress, len(cfg.Tenants))
	slots := make(chan struct{}, conc) // one per request in flight
	group := filestore.NewSyncGroup()  // the checkpoints' group commit

	rep := &Report{Started: time.Now(), Concurrency: conc, Tenants: make([]TenantResult, len(cfg.Tenants))}
	var (
		mu   sync.Mutex // serializes Progress and counts done
		done int
	)
	emit := func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Kind == EventFinished {
			done++
		}
		ev.Done, ev.Total = done, len(cfg.Tenants)
		if r.Progress != nil {
			r.Progress(ev)
		}
	}

	// Entries naming the same tenant (the same Management API) run one
	// after the other, in file order: two runs on one tenant at once would
	// race each other's writes.
	finished := make([]chan struct{}, len(cfg.Tenants))
	after := make([]int, len(cfg.Tenants)) // the previous entry of the same tenant, or -1
	last := map[string]int{}
	for i, t := range cfg.Tenants {
		finished[i] = make(chan struct{})
		key := t.Domain + " " + t.BaseURL
		after[i] = -1
		if j, ok := last[key]; ok {
			after[i] = j
		}
		last[key] = i
	}

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range inProgress {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := cfg.Tenants[i]
				if j := after[i]; j >= 0 {
					<-finished[j]
				}
				emit(Event{Kind: EventStarted, Tenant: t.Name, Index: i})
				res := r.runTenant(ctx, i, t, slots, group, emit)
				rep.Tenants[i] = res
				emit(Event{Kind: EventFinished, Tenant: t.Name, Index: i, Result: &res})
				close(finished[i])
			}
		}()
	}
	next := 0
feed:
	for ; next < len(cfg.Tenants); next++ {
		select {
		case jobs <- next:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	for i := next; i < len(cfg.Tenants); i++ {
		t := cfg.Tenants[i]
		rep.Tenants[i] = TenantResult{Name: t.Name, Checkpoint: t.Checkpoint, Outcome: OutcomeCanceled, Error: ctx.Err().Error(), ExitCode: 1, err: ctx.Err()}
		res := rep.Tenants[i]
		emit(Event{Kind: EventFinished, Tenant: t.Name, Index: i, Result: &res})
	}
	rep.Duration = time.Since(rep.Started)
	if next < len(cfg.Tenants) || (ctx.Err() != nil && slices.ContainsFunc(rep.Tenants, func(tr TenantResult) bool { return tr.Outcome == OutcomeCanceled })) {
		return rep, ctx.Err()
	}
	return rep, nil
}

// runTenant migrates one tenant, in a library session; every problem ends
// up in the result.
func (r *Runner) runTenant(ctx context.Context, index int, t Tenant, slots chan struct{}, group *filestore.SyncGroup, emit func(Event)) TenantResult {
	start := time.Now()
	res := TenantResult{Name: t.Name, Checkpoint: t.Checkpoint}
	s, m, err := r.prepareTenant(ctx, t, slots, group, func(tr phonemigrate.Transition) {
		res.Steps++
		emit(Event{Kind: EventTransition, Tenant: t.Name, Index: index, Transition: &tr})
	})
	if err == nil {
		var out *phonemigrate.Result
		out, err = m.Run(ctx, s)
		res.State, res.ResumedFrom, res.AlreadyDone = out.State, out.ResumedFrom, out.AlreadyDone
	}
	res.Duration = time.Since(start)
	res.classify(ctx, err)
	return res
}

// prepareTenant reads the tenant's credentials from the environment and
// returns its session and Migrator, with nothing sent to the tenant yet:
// a client that shares the fleet's request slots, a checkpoint in the
// fleet's group commit, and observe as the Migrator's observer.
func (r *Runner) prepareTenant(ctx context.Context, t Tenant, slots chan struct{}, group *filestore.SyncGroup, observe func(phonemigrate.Transition)) (phonemigrate.Session, *phonemigrate.Migrator, error) {
	s := phonemigrate.Session{}
	opts, err := t.Options.options()
	if err != nil { // Validate already checked; kept for hand-built configs.
		return s, nil, err
	}
	getenv := r.getenv()
	cc := auth0api.Config{Domain: t.Domain, BaseURL: t.BaseURL}
	if err := credentials(t, getenv, &cc); err != nil {
		return s, nil, err
	}
	if opts.TwilioAuthToken, err = r.twilioToken(t, getenv); err != nil {
		return s, nil, err
	}
	if r.Confirm != nil {
		opts.Confirm = func(ctx context.Context, msg phonemigrate.TestMessage) (bool, error) {
			return r.Confirm(ctx, t.Name, msg)
		}
	}
	s.Options = opts
	logger := r.logger(t)
	cc.Logger = logger
	client, err := r.client(ctx, t, cc, slots)
	if err != nil {
		return s, nil, err
	}
	if r.Review != nil {
		s.Review = func(ctx context.Context, o *phonemigrate.Options, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) error {
			if p == nil || resume != nil {
				return nil
			}
			return r.Review(ctx, t, client, o, p)
		}
	}
	mopts := []phonemigrate.Option{
		phonemigrate.WithStore(filestore.New(t.Checkpoint).WithSyncGroup(group)),
		phonemigrate.WithTenant(t.Name),
		phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(observe),
	}
	if r.MigratorOptions != nil {
		mopts = append(mopts, r.MigratorOptions(t)...)
	}
	m, err := phonemigrate.New(client, mopts...)
	return s, m, err
}

// classify sets the result's outcome, exit code and error from the
// session's error (state, AlreadyDone and Duration already set).
func (res *TenantResult) classify(ctx context.Context, err error) {
	res.err = err
	res.ExitCode = phonemigrate.ExitCode(err)
	switch {
	case errors.Is(err, phonemigrate.ErrAlreadyUnified):
		res.Outcome = OutcomeAlreadyUnified
		res.State = phonemigrate.StateAlreadyUnified
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() != nil:
		res.Outcome = OutcomeCanceled
	case phonemigrate.RepairOf(err) != nil:
		res.Outcome = OutcomeNeedsRepair
	case err != nil:
		res.Outcome = OutcomeFailed
	case res.AlreadyDone:
		res.Outcome = OutcomeAlreadyDone
	default:
		res.Outcome = OutcomeCompleted
	}
	if err != nil && res.Outcome != OutcomeAlreadyUnified {
		res.Error = err.Error()
		if res.ExitCode == 0 {
			res.ExitCode = 1
		}
	}
}

func (r *Runner) getenv() func(string) string {
	if r.Getenv == nil {
		return os.Getenv
	}
	return r.Getenv
}

// fromEnv looks up the variable name the fleet file gives for field:
// unset or empty is an [*EnvError].
func fromEnv(getenv func(string) string, field, name string) (string, error) {
	v := getenv(name)
	if v == "" {
		return "", &EnvError{Field: field, Var: name}
	}
	return v, nil
}

// twilioToken is the tenant's Twilio auth token: from its
// twilio_token_env (which must be set), else from the Runner's default
// variable (unset: the legacy token is carried over).
func (r *Runner) twilioToken(t Tenant, getenv func(string) string) (phonemigrate.Secret, error) {
	if name := t.Options.TwilioTokenEnv; name != "" {
		tok, err := fromEnv(getenv, "options.twilio_token_env", name)
		return phonemigrate.Secret(tok), err
	}
	if r.DefaultTwilioTokenEnv == "" {
		return "", nil
	}
	return phonemigrate.Secret(getenv(r.DefaultTwilioTokenEnv)), nil
}

// logger is the tenant's logger: the Runner's, with a "tenant" attribute.
func (r *Runner) logger(t Tenant) *slog.Logger {
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logger.With("tenant", t.Name)
}

// client connects to the tenant with cc (its address and credentials),
// its rate limit and the Runner's ClientConfig, through a transport that
// takes one of the fleet's request slots per request.
func (r *Runner) client(ctx context.Context, t Tenant, cc auth0api.Config, slots chan struct{}) (phonemigrate.Client, error) {
	if t.RateLimit.PerSecond > 0 {
		cc.RateLimit = rate.Limit(t.RateLimit.PerSecond)
		cc.RateBurst = max(t.RateLimit.Burst, 1)
	}
	if r.ClientConfig != nil {
		r.ClientConfig(t, &cc)
	}
	hc := &http.Client{}
	if cc.HTTPClient != nil {
		c := *cc.HTTPClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport // shared: idle connections are bounded fleet-wide
	}
	hc.Transport = &inFlight{base: base, slots: slots}
	cc.HTTPClient = hc
	client, err := auth0api.New(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return client, nil
}

// credentials sets cc's Management API credentials from the variables the
// tenant names: a token, or a client ID and secret.
func credentials(t Tenant, getenv func(string) string, cc *auth0api.Config) error {
	if t.TokenEnv != "" {
		tok, err := fromEnv(getenv, "token_env", t.TokenEnv)
		cc.Token = phonemigrate.Secret(tok)
		return err
	}
	id, err := fromEnv(getenv, "client_id_env", t.ClientIDEnv)
	if err != nil {
		return err
	}
	sec, err := fromEnv(getenv, "client_secret_env", t.ClientSecretEnv)
	cc.ClientID, cc.ClientSecret = id, phonemigrate.Secret(sec)
	return err
}

// inFlight bounds the requests in flight across a fleet: a request takes a
// slot before it is sent and gives it back once its answer's body is
// closed (or it failed). Waiting for a slot watches the request's context.
type inFlight struct {
	base  http.RoundTripper
	slots chan struct{}
}

func (f *inFlight) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case f.slots <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, req.Context().Err()
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		<-f.slots
		return nil, err
	}
	resp.Body = &slotBody{ReadCloser: resp.Body, release: func() { <-f.slots }}
	return resp, nil
}

// slotBody gives its request's slot back when closed (once).
type slotBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
