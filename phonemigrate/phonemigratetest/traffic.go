package phonemigratetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Traffic describes background deliveries the fake makes by itself, as
// real users would: what POST /__fake/traffic accepts. The generator stops
// by itself after Count deliveries or Duration, whichever comes first.
type Traffic struct {
	// PerSecond is the delivery rate (default 5, at most 100).
	PerSecond float64 `json:"per_second"`
	// Count bounds the number of deliveries (default 100, at most 10,000).
	Count int `json:"count"`
	// DurationMS bounds the run time in milliseconds (default 60,000, at
	// most 600,000).
	DurationMS int `json:"duration_ms"`
	// MFAPercent is the share of MFA deliveries (the rest are
	// Passwordless), 0-100. Kinds the tenant cannot send are skipped:
	// with no SMS connection every delivery is MFA, and the reverse.
	MFAPercent int `json:"mfa_percent"`
	// VoicePercent is the share of MFA deliveries by voice, 0-100
	// (Passwordless always sends text).
	VoicePercent int `json:"voice_percent"`
	// Recipients are the numbers delivered to, in turn (default three
	// +1555000000x numbers).
	Recipients []string `json:"recipients,omitempty"`
	// Connection names the SMS connection for Passwordless deliveries
	// (empty: the tenant's only one).
	Connection string `json:"connection,omitempty"`
	// Seed makes the kind and method choices reproducible (0: fixed seed 1).
	Seed uint64 `json:"seed,omitempty"`
}

// TrafficStatus is what a traffic run did so far: what GET /__fake/traffic
// answers.
type TrafficStatus struct {
	Running   bool `json:"running"`
	Sent      int  `json:"sent"`
	Delivered int  `json:"delivered"`
	Failed    int  `json:"failed"`
	// Skipped counts deliveries the tenant could not even attempt (an
	// invalid request, such as Passwordless on a tenant without an SMS
	// connection).
	Skipped int `json:"skipped"`
}

// ErrInvalidTraffic is wrapped by [Server.StartTraffic] for a spec out of
// bounds.
var ErrInvalidTraffic = errors.New("invalid traffic")

type trafficRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	st     TrafficStatus
}

func (spec *Traffic) normalize() error {
	if spec.PerSecond == 0 {
		spec.PerSecond = 5
	}
	if spec.Count == 0 {
		spec.Count = 100
	}
	if spec.DurationMS == 0 {
		spec.DurationMS = 60_000
	}
	if len(spec.Recipients) == 0 {
		spec.Recipients = []string{"+15550000001", "+15550000002", "+15550000003"}
	}
	if spec.Seed == 0 {
		spec.Seed = 1
	}
	switch {
	case spec.PerSecond < 0 || spec.PerSecond > 100:
		return fmt.Errorf("phonemigratetest: %w: per_second must be in (0, 100]", ErrInvalidTraffic)
	case spec.Count < 0 || spec.Count > 10_000:
		return fmt.Errorf("phonemigratetest: %w: count must be in [1, 10000]", ErrInvalidTraffic)
	case spec.DurationMS < 0 || spec.DurationMS > 600_000:
		return fmt.Errorf("phonemigratetest: %w: duration_ms must be in [1, 600000]", ErrInvalidTraffic)
	case spec.MFAPercent < 0 || spec.MFAPercent > 100 || spec.VoicePercent < 0 || spec.VoicePercent > 100:
		return fmt.Errorf("phonemigratetest: %w: percentages must be in [0, 100]", ErrInvalidTraffic)
	}
	return nil
}

// StartTraffic starts background deliveries (like POST /__fake/traffic),
// replacing a run still going. Each delivery is a [Server.Notify] and
// logs its events. It returns at once; see [Server.TrafficStatus],
// [Server.StopTraffic] and [Server.WaitTraffic].
func (s *Server) StartTraffic(spec Traffic) error {
	if err := spec.normalize(); err != nil {
		return err
	}
	s.StopTraffic()
	st := s.State()
	hasSMS := false
	for _, c := range st.Connections {
		if c.Strategy == "sms" {
			hasSMS = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(spec.DurationMS)*time.Millisecond)
	run := &trafficRun{cancel: cancel, done: make(chan struct{}), st: TrafficStatus{Running: true}}
	s.mu.Lock()
	s.traffic = run
	s.mu.Unlock()
	go func() {
		defer close(run.done)
		defer cancel()
		rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed))
		tick := time.NewTicker(time.Duration(float64(time.Second) / spec.PerSecond))
		defer tick.Stop()
		for i := 0; i < spec.Count; i++ {
			select {
			case <-ctx.Done():
				run.finish()
				return
			case <-s.closing:
				run.finish()
				return
			case <-tick.C:
			}
			req := NotifyRequest{Kind: "passwordless", Recipient: spec.Recipients[i%len(spec.Recipients)], Connection: spec.Connection}
			if !hasSMS || rng.IntN(100) < spec.MFAPercent {
				req.Kind = "mfa"
				if rng.IntN(100) < spec.VoicePercent {
					req.DeliveryMethod = "voice"
				}
			}
			res, err := s.Notify(ctx, req)
			run.mu.Lock()
			switch {
			case err != nil:
				run.st.Skipped++
			case res.Delivered:
				run.st.Sent++
				run.st.Delivered++
			default:
				run.st.Sent++
				run.st.Failed++
			}
			run.mu.Unlock()
		}
		run.finish()
	}()
	return nil
}

func (r *trafficRun) finish() {
	r.mu.Lock()
	r.st.Running = false
	r.mu.Unlock()
}

// TrafficStatus reports the current (or last) traffic run.
func (s *Server) TrafficStatus() TrafficStatus {
	s.mu.Lock()
	run := s.traffic
	s.mu.Unlock()
	if run == nil {
		return TrafficStatus{}
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.st
}

// StopTraffic stops a traffic run and waits for its last delivery.
func (s *Server) StopTraffic() {
	s.mu.Lock()
	run := s.traffic
	s.mu.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
}

// WaitTraffic waits until the traffic run ends by itself or ctx is done.
func (s *Server) WaitTraffic(ctx context.Context) error {
	s.mu.Lock()
	run := s.traffic
	s.mu.Unlock()
	if run == nil {
		return nil
	}
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delivery paths [Server.BreakDelivery] can break.
const (
	BreakGateway = "gateway" // the fake legacy SMS gateway answers Status (default 503)
	BreakTwilio  = "twilio"  // fake Twilio answers Status (default 500) with Twilio error Code
	BreakAction  = "action"  // the custom-phone-provider Action throws Message
)

// DeliveryBreak makes one delivery path start failing: what POST
// /__fake/break accepts.
type DeliveryBreak struct {
	// Path is BreakGateway, BreakTwilio or BreakAction.
	Path string `json:"path"`
	// Status is the HTTP status the gateway or Twilio answers.
	Status int `json:"status,omitempty"`
	// Code is Twilio's error code (default 30008 "Unknown error").
	Code int `json:"code,omitempty"`
	// Message is the Twilio error message or the Action's thrown error.
	Message string `json:"message,omitempty"`
}

// ErrInvalidBreak is wrapped by [Server.BreakDelivery] for an unknown path
// or status.
var ErrInvalidBreak = errors.New("invalid delivery break")

// BreakDelivery makes a delivery path fail from now on (like POST
// /__fake/break) until [Server.RestoreDelivery].
func (s *Server) BreakDelivery(b DeliveryBreak) error {
	if b.Status != 0 && (b.Status < 400 || b.Status > 599) {
		return fmt.Errorf("phonemigratetest: %w: status must be 4xx or 5xx", ErrInvalidBreak)
	}
	switch b.Path {
	case BreakGateway:
		if b.Status == 0 {
			b.Status = 503
		}
		s.gateway.SetStatus(b.Status)
	case BreakTwilio:
		if b.Status == 0 {
			b.Status = 500
		}
		if b.Code == 0 {
			b.Code = 30008
		}
		if b.Message == "" {
			b.Message = "Unknown error"
		}
		s.twilio.setFailure(b.Status, b.Code, b.Message)
	case BreakAction:
		if b.Message == "" {
			b.Message = "provider unavailable"
		}
		s.mu.Lock()
		s.actionThrows = b.Message
		s.mu.Unlock()
	default:
		return fmt.Errorf("phonemigratetest: %w: path %q is not gateway, twilio or action", ErrInvalidBreak, b.Path)
	}
	return nil
}

// RestoreDelivery undoes every [Server.BreakDelivery] (like DELETE
// /__fake/break).
func (s *Server) RestoreDelivery() {
	s.gateway.SetStatus(0)
	s.twilio.setFailure(0, 0, "")
	s.mu.Lock()
	s.actionThrows = ""
	s.mu.Unlock()
}
