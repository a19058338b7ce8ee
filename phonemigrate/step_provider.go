package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The provider steps: configure (or keep) the tenant-level phone provider,
// then test it.

func (r *run) configureProvider(ctx context.Context) (Event, error) {
	in, c := r.cp.Intent, r.m.c
	if in.Keep {
		return r.keepProvider(ctx)
	}
	if in.Provider == ProviderKindTwilio {
		if err := r.resolveTwilio(ctx); err != nil {
			return "", err
		}
	}
	req := providerRequest(in, r.o)
	var ps []PhoneProvider
	if r.fresh() {
		if r.d.Provider != nil {
			ps = []PhoneProvider{*r.d.Provider}
		}
	} else {
		var err error
		if ps, err = c.ListPhoneProviders(ctx); err != nil {
			return "", fmt.Errorf("list phone providers: %w", err)
		}
	}
	var id string
	if len(ps) == 0 {
		done, err := r.creating(ctx, func(u *Unconfirmed) { u.Provider = true }, func(u *Unconfirmed) { u.Provider = false })
		if err != nil {
			return "", err
		}
		p, err := c.CreatePhoneProvider(ctx, req)
		if serr := done(err); serr != nil {
			return "", serr
		}
		if err != nil {
			return "", fmt.Errorf("create phone provider: %w", err)
		}
		if p.ID == "" {
			return "", errors.New("verify phone provider: Auth0 answered the create without a provider id")
		}
		id = p.ID
		r.cp.Created.ProviderID = id
		in.ProviderID = id
		if err := r.save(ctx); err != nil {
			return "", err
		}
		if !providerMatches(p, req) {
			return "", fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", id)
		}
		return EventConfigureProvider, nil
	}
	p := ps[0]
	id = p.ID
	if r.cp.Created.ProviderID == "" && in.ReplaceProviderID == "" && r.cp.Created.Unconfirmed.Provider && providerMatches(p, req) {
		// The plan saw no provider and a create went without an answer:
		// this one, matching what was sent, is ours. Adopt it. (After a
		// definite refusal, it is someone else's.)
		r.cp.Created.ProviderID = p.ID
		r.cp.Created.Unconfirmed.Provider = false
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	ours := p.ID == r.cp.Created.ProviderID
	if !ours {
		if !in.AllowReplace {
			return "", &ExistingResourceError{Kind: "phone provider", ID: p.ID, Name: p.Name}
		}
		if r.cp.Originals.Provider == nil {
			r.cp.Originals.Provider = &OriginalProvider{ID: p.ID, Name: p.Name, Disabled: p.Disabled, SID: p.Configuration.SID,
				DefaultFrom: p.Configuration.DefaultFrom, MSSID: p.Configuration.MSSID, DeliveryMethods: p.Configuration.DeliveryMethods}
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
	}
	// A replaced provider is always written: its credentials are unknown.
	if !ours || !providerMatches(p, req) {
		got, err := c.UpdatePhoneProvider(ctx, id, req)
		if err != nil {
			return "", fmt.Errorf("update phone provider %s: %w", id, err)
		}
		if got.ID != id || !providerMatches(got, req) {
			return "", fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", id)
		}
	}
	in.ProviderID = id
	return EventConfigureProvider, nil
}

// keepProvider is the provider step of a converging run (Intent.Keep): it
// writes nothing and checks the provider the plan kept is still there.
func (r *run) keepProvider(ctx context.Context) (Event, error) {
	in := r.cp.Intent
	if r.fresh() && r.d.Provider != nil && r.d.Provider.ID == in.ProviderID {
		return EventConfigureProvider, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return "", fmt.Errorf("list phone providers: %w", err)
	}
	for _, p := range ps {
		if p.ID == in.ProviderID && !p.Disabled {
			return EventConfigureProvider, nil
		}
	}
	return "", fmt.Errorf("phonemigrate: the phone provider %s the plan kept is gone or disabled; run apply again to plan afresh", in.ProviderID)
}

func providerMatches(p PhoneProvider, req PhoneProviderRequest) bool {
	return p.Name == req.Name && !p.Disabled && p.Configuration == req.Configuration
}

func (r *run) testProvider(ctx context.Context) (Event, error) {
	if r.o.SkipTest {
		r.m.log.InfoContext(ctx, "provider test skipped (SkipTest)", "tenant", r.cp.Tenant)
		return EventTestProvider, nil
	}
	id := r.cp.Intent.ProviderID
	tw, err := r.evidenceSource(ctx)
	if err != nil {
		return "", err
	}
	r.cp.Tests = nil
	claimed := map[string]bool{}
	for _, to := range r.o.TestRecipients {
		for _, meth := range r.cp.Intent.Delivery.Methods() {
			since := r.m.now()
			if err := r.m.c.TestPhoneProvider(ctx, id, to, meth); err != nil {
				return "", fmt.Errorf("test message (%s) to %s: %w", meth, to, err)
			}
			out, err := r.testOutcome(ctx, tw, to, meth, since, claimed)
			if err != nil {
				return "", err
			}
			if r.o.Confirm == nil {
				continue
			}
			began := time.Now()
			ok, err := r.o.Confirm(ctx, TestMessage{Recipient: to, Method: meth, ProviderID: id, TwilioStatus: out.Status})
			if time.Since(began) >= confirmStaleAfter {
				// A person took a while to answer, long enough for someone
				// else to change the tenant: from here on this run re-reads
				// before each write like a resumed one, so that no
				// whole-options write sends back a stale map.
				r.d = nil
			}
			if err != nil {
				return "", fmt.Errorf("confirm test message (%s) to %s: %w", meth, to, err)
			}
			if !ok {
				return "", fmt.Errorf("%w: %s message to %s", ErrTestNotConfirmed, meth, to)
			}
			r.cp.Tests[len(r.cp.Tests)-1].Confirmed = true
		}
	}
	return EventTestProvider, nil
}
