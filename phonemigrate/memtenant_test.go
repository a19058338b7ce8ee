package phonemigrate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// memTenant is a small in-memory Client used by the unit tests (behind
// gomock) and the plan goldens. It keeps the rules the engine relies on:
// legacy Guardian endpoints answer 403 under UPE, one provider per tenant,
// whole-options connection writes, message types ⊆ provider delivery under
// UPE, Actions build after a few polls.
type memTenant struct {
	mu sync.Mutex

	UPE             *bool
	Conns           []phonemigrate.Connection
	MFAEnabled      bool
	MsgTypes        *delivery.Set // nil: 404
	Selected        string
	LegacyTw        *phonemigrate.LegacyTwilio
	LegacyTemplates *phonemigrate.LegacyPhoneTemplates
	Providers       []phonemigrate.PhoneProvider
	Actions         []phonemigrate.Action
	Bindings        []phonemigrate.Binding
	Grants          []phonemigrate.ClientGrant
	Templates       []phonemigrate.PhoneTemplate

	Force403   bool // legacy Guardian reads answer 403 whatever the flag says
	BuildPolls int  // GetAction answers "building" this many times
	// OnBuildPoll, when set, is called at each "building" answer.
	OnBuildPoll func()
	nextID      int      // id counter
	polls       int      // GetAction calls so far
	Tokens      []string // auth tokens / secret values received (to prove they were sent)

	LogEvents []watch.LogEvent // tenant logs, in log id order
	LogCalls  []watch.LogQuery // every Logs call
}

var _ phonemigrate.Client = (*memTenant)(nil)

func apiErr(status int, method, path string) error {
	return &phonemigrate.APIError{Method: method, Path: path, StatusCode: status, Message: fmt.Sprintf("fake %d", status)}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

func (t *memTenant) id(prefix string) string {
	t.nextID++
	return fmt.Sprintf("%s_%03d", prefix, t.nextID)
}

func (t *memTenant) upe() bool { return t.UPE != nil && *t.UPE }

// snapshot returns a deep copy of the tenant's state for comparisons.
func (t *memTenant) snapshot() *memTenant {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &memTenant{
		MFAEnabled: t.MFAEnabled, Selected: t.Selected,
		Providers: slices.Clone(t.Providers), Actions: slices.Clone(t.Actions),
		Bindings: slices.Clone(t.Bindings), Templates: slices.Clone(t.Templates),
	}
	if t.UPE != nil {
		v := *t.UPE
		s.UPE = &v
	}
	if t.MsgTypes != nil {
		v := *t.MsgTypes
		s.MsgTypes = &v
	}
	if t.LegacyTw != nil {
		v := *t.LegacyTw
		s.LegacyTw = &v
	}
	if t.LegacyTemplates != nil {
		v := *t.LegacyTemplates
		s.LegacyTemplates = &v
	}
	for _, c := range t.Conns {
		c.Options = cloneMap(c.Options)
		s.Conns = append(s.Conns, c)
	}
	return s
}

func (t *memTenant) TenantSettings(ctx context.Context) (phonemigrate.TenantSettings, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var v *bool
	if t.UPE != nil {
		b := *t.UPE
		v = &b
	}
	return phonemigrate.TenantSettings{PhoneConsolidatedExperience: v}, nil
}

func (t *memTenant) SetPhoneConsolidatedExperience(ctx context.Context, enabled bool) (phonemigrate.TenantSettings, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.UPE = &enabled
	v := enabled
	return phonemigrate.TenantSettings{PhoneConsolidatedExperience: &v}, nil
}

func (t *memTenant) ListSMSConnections(ctx context.Context) ([]phonemigrate.Connection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []phonemigrate.Connection
	for _, c := range t.Conns {
		if c.Strategy == phonemigrate.StrategySMS {
			c.Options = cloneMap(c.Options)
			out = append(out, c)
		}
	}
	return out, nil
}

func (t *memTenant) GetConnection(ctx context.Context, id string) (phonemigrate.Connection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.Conns {
		if c.ID == id {
			c.Options = cloneMap(c.Options)
			return c, nil
		}
	}
	return phonemigrate.Connection{}, apiErr(404, "GET", "/connections/"+id)
}

func (t *memTenant) ReplaceConnectionOptions(ctx context.Context, id string, options map[string]any) (phonemigrate.Connection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, c := range t.Conns {
		if c.ID == id {
			t.Conns[i].Options = cloneMap(options)
			c.Options = cloneMap(options)
			return c, nil
		}
	}
	return phonemigrate.Connection{}, apiErr(404, "PATCH", "/connections/"+id)
}

func (t *memTenant) GuardianFactors(ctx context.Context) ([]phonemigrate.GuardianFactor, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return []phonemigrate.GuardianFactor{{Name: "otp", Enabled: true}, {Name: "sms", Enabled: t.MFAEnabled}}, nil
}

func (t *memTenant) PhoneMessageTypes(ctx context.Context) (delivery.Set, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.MsgTypes == nil {
		return 0, apiErr(404, "GET", "/guardian/factors/phone/message-types")
	}
	return *t.MsgTypes, nil
}

func (t *memTenant) SetPhoneMessageTypes(ctx context.Context, types delivery.Set) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.upe() {
		ok := false
		for _, p := range t.Providers {
			ok = ok || types.SubsetOf(p.Configuration.DeliveryMethods)
		}
		if !ok {
			return apiErr(409, "PUT", "/guardian/factors/phone/message-types")
		}
	}
	t.MsgTypes = &types
	return nil
}

func (t *memTenant) legacy(path string) error {
	if t.upe() || t.Force403 {
		return apiErr(403, "GET", path)
	}
	return nil
}

func (t *memTenant) SelectedPhoneProvider(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.legacy("/guardian/factors/phone/selected-provider"); err != nil {
		return "", err
	}
	return t.Selected, nil
}

func (t *memTenant) LegacyTwilio(ctx context.Context) (phonemigrate.LegacyTwilio, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.legacy("/guardian/factors/phone/providers/twilio"); err != nil {
		return phonemigrate.LegacyTwilio{}, err
	}
	if t.LegacyTw == nil {
		return phonemigrate.LegacyTwilio{}, apiErr(404, "GET", "/guardian/factors/phone/providers/twilio")
	}
	return *t.LegacyTw, nil
}

func (t *memTenant) LegacyPhoneTemplates(ctx context.Context) (phonemigrate.LegacyPhoneTemplates, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.legacy("/guardian/factors/phone/templates"); err != nil {
		return phonemigrate.LegacyPhoneTemplates{}, err
	}
	if t.LegacyTemplates == nil {
		return phonemigrate.LegacyPhoneTemplates{}, nil
	}
	return *t.LegacyTemplates, nil
}

func (t *memTenant) ListPhoneProviders(ctx context.Context) ([]phonemigrate.PhoneProvider, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.Providers), nil
}

func (t *memTenant) CreatePhoneProvider(ctx context.Context, req phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.Providers) > 0 {
		return phonemigrate.PhoneProvider{}, apiErr(409, "POST", "/branding/phone/providers")
	}
	if req.Name == phonemigrate.ProviderTwilio && req.AuthToken == "" {
		return phonemigrate.PhoneProvider{}, apiErr(400, "POST", "/branding/phone/providers")
	}
	if req.Name == phonemigrate.ProviderCustom && !t.deployedBound() {
		return phonemigrate.PhoneProvider{}, apiErr(409, "POST", "/branding/phone/providers")
	}
	if req.AuthToken != "" {
		t.Tokens = append(t.Tokens, req.AuthToken.Reveal())
	}
	p := phonemigrate.PhoneProvider{ID: t.id("pro"), Name: req.Name, Disabled: req.Disabled, Configuration: req.Configuration}
	t.Providers = append(t.Providers, p)
	return p, nil
}

func (t *memTenant) deployedBound() bool {
	for _, b := range t.Bindings {
		for _, a := range t.Actions {
			if a.ID == b.ActionID && a.Deployed {
				return true
			}
		}
	}
	return false
}

func (t *memTenant) UpdatePhoneProvider(ctx context.Context, id string, req phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, p := range t.Providers {
		if p.ID == id {
			if req.AuthToken != "" {
				t.Tokens = append(t.Tokens, req.AuthToken.Reveal())
			}
			t.Providers[i] = phonemigrate.PhoneProvider{ID: id, Name: req.Name, Disabled: req.Disabled, Configuration: req.Configuration}
			return t.Providers[i], nil
		}
	}
	return phonemigrate.PhoneProvider{}, apiErr(404, "PATCH", "/branding/phone/providers/"+id)
}

func (t *memTenant) DeletePhoneProvider(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, p := range t.Providers {
		if p.ID == id {
			t.Providers = slices.Delete(t.Providers, i, i+1)
			return nil
		}
	}
	return apiErr(404, "DELETE", "/branding/phone/providers/"+id)
}

func (t *memTenant) TestPhoneProvider(ctx context.Context, id, to string, method delivery.Method) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.Providers {
		if p.ID == id {
			if !p.Configuration.DeliveryMethods.Has(method) {
				return apiErr(409, "POST", "/branding/phone/providers/"+id+"/try")
			}
			return nil
		}
	}
	return apiErr(404, "POST", "/branding/phone/providers/"+id+"/try")
}

func (t *memTenant) ListPhoneTemplates(ctx context.Context) ([]phonemigrate.PhoneTemplate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.Templates), nil
}

func (t *memTenant) CreatePhoneTemplate(ctx context.Context, pt phonemigrate.PhoneTemplate) (phonemigrate.PhoneTemplate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range t.Templates {
		if x.Type == pt.Type {
			return phonemigrate.PhoneTemplate{}, apiErr(409, "POST", "/branding/phone/templates")
		}
	}
	pt.ID = t.id("tem")
	t.Templates = append(t.Templates, pt)
	return pt, nil
}

func (t *memTenant) UpdatePhoneTemplate(ctx context.Context, id string, content phonemigrate.PhoneTemplateContent, disabled bool) (phonemigrate.PhoneTemplate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.Templates {
		if x.ID == id {
			t.Templates[i].Content.From = content.From
			t.Templates[i].Content.Text = content.Text
			t.Templates[i].Content.Voice = content.Voice
			t.Templates[i].Disabled = disabled
			return t.Templates[i], nil
		}
	}
	return phonemigrate.PhoneTemplate{}, apiErr(404, "PATCH", "/branding/phone/templates/"+id)
}

func (t *memTenant) DeletePhoneTemplate(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.Templates {
		if x.ID == id {
			t.Templates = slices.Delete(t.Templates, i, i+1)
			return nil
		}
	}
	return apiErr(404, "DELETE", "/branding/phone/templates/"+id)
}

func (t *memTenant) CreateAction(ctx context.Context, req phonemigrate.ActionRequest) (phonemigrate.Action, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Like Auth0 (and phonemigratetest): one Action per
	// custom-phone-provider trigger.
	if len(t.Actions) > 0 {
		return phonemigrate.Action{}, apiErr(409, "POST", "/actions/actions")
	}
	a := phonemigrate.Action{ID: t.id("act"), Name: req.Name, Runtime: req.Runtime, Code: req.Code, Status: "pending",
		SupportedTriggers: []string{phonemigrate.TriggerCustomPhoneProvider}}
	for _, s := range req.Secrets {
		a.SecretNames = append(a.SecretNames, s.Name)
		t.Tokens = append(t.Tokens, s.Value.Reveal())
	}
	t.Actions = append(t.Actions, a)
	t.polls = 0
	return a, nil
}

func (t *memTenant) GetAction(ctx context.Context, id string) (phonemigrate.Action, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.Actions {
		if a.ID == id {
			if a.Status != "built" {
				t.polls++
				if t.polls > t.BuildPolls {
					t.Actions[i].Status = "built"
				} else {
					t.Actions[i].Status = "building"
					if t.OnBuildPoll != nil {
						t.OnBuildPoll()
					}
				}
			}
			return t.Actions[i], nil
		}
	}
	return phonemigrate.Action{}, apiErr(404, "GET", "/actions/actions/"+id)
}

func (t *memTenant) DeployAction(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.Actions {
		if a.ID == id {
			if a.Status != "built" {
				return apiErr(400, "POST", "/actions/actions/"+id+"/deploy")
			}
			t.Actions[i].Deployed = true
			return nil
		}
	}
	return apiErr(404, "POST", "/actions/actions/"+id+"/deploy")
}

func (t *memTenant) ListActionsByTrigger(ctx context.Context, trigger string) ([]phonemigrate.Action, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.Actions), nil
}

func (t *memTenant) DeleteAction(ctx context.Context, id string, force bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.Actions {
		if a.ID == id {
			t.Actions = slices.Delete(t.Actions, i, i+1)
			t.Bindings = slices.DeleteFunc(t.Bindings, func(b phonemigrate.Binding) bool { return b.ActionID == id })
			return nil
		}
	}
	return apiErr(404, "DELETE", "/actions/actions/"+id)
}

func (t *memTenant) TriggerBindings(ctx context.Context, trigger string) ([]phonemigrate.Binding, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.Bindings), nil
}

func (t *memTenant) SetTriggerBindings(ctx context.Context, trigger string, refs []phonemigrate.BindingRef) ([]phonemigrate.Binding, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []phonemigrate.Binding
	for _, r := range refs {
		var name string
		for _, a := range t.Actions {
			if a.ID == r.ActionID {
				name = a.Name
			}
		}
		if name == "" {
			return nil, apiErr(404, "PATCH", "/actions/triggers/"+trigger+"/bindings")
		}
		out = append(out, phonemigrate.Binding{ID: t.id("bnd"), ActionID: r.ActionID, ActionName: name, DisplayName: r.DisplayName})
	}
	t.Bindings = out
	return slices.Clone(out), nil
}

// Fixtures, mirroring the phonemigratetest scenarios.
const (
	fxTwilioSID   = "ACf0e1d2c3b4a5968778695a4b3c2d1e0f"
	fxTwilioToken = "fa4e0c0ffee0twilio0token00000001"
	fxFrom        = "+15005550006"
	fxGatewayURL  = "https://gateway.example/sms"
	fxGwSecret    = "fake-gw-signing-secret-4f8a2c9e7b1d3f5a"
	fxRecipient   = "+15551234567"
)

func ptr[T any](v T) *T { return &v }

func gatewayConn() phonemigrate.Connection {
	return phonemigrate.Connection{ID: "con_gw", Name: "sms", Strategy: "sms", Options: cloneMap(map[string]any{
		"name": "sms", "provider": "sms_gateway", "gateway_url": fxGatewayURL,
		"gateway_authentication": map[string]any{"method": "bearer", "subject": "urn:Auth0", "audience": "urn:MySmsGateway", "secret": fxGwSecret, "secret_base64_encoded": false},
		"forward_req_info":       true, "from": fxFrom, "syntax": "md_with_macros",
		"template": "Your ACME verification code is: @@password@@",
		"totp":     map[string]any{"time_step": 300, "length": 6}, "brute_force_protection": true,
		"disable_signup": false, "custom_flag": "keep-me",
	})}
}

func twilioConn() phonemigrate.Connection {
	return phonemigrate.Connection{ID: "con_tw", Name: "sms", Strategy: "sms", Options: cloneMap(map[string]any{
		"name": "sms", "twilio_sid": fxTwilioSID, "twilio_token": fxTwilioToken, "from": fxFrom,
		"messaging_service_sid": nil, "syntax": "liquid",
		"template": "{{ password }} is your ACME login code.",
		"totp":     map[string]any{"time_step": 180, "length": 6}, "disable_signup": true,
	})}
}

func mfaTwilio(t *memTenant, types delivery.Set) {
	t.MFAEnabled = true
	t.MsgTypes = &types
	t.Selected = "twilio"
	t.LegacyTw = &phonemigrate.LegacyTwilio{SID: fxTwilioSID, From: fxFrom, AuthToken: fxTwilioToken}
	t.LegacyTemplates = &phonemigrate.LegacyPhoneTemplates{
		EnrollmentMessage:   "{{code}} is your ACME enrollment code.",
		VerificationMessage: "{{code}} is your ACME verification code.",
	}
}

// scenario returns a fresh memTenant for a scenario name of
// phonemigratetest.
func scenario(name string) *memTenant {
	t := &memTenant{UPE: ptr(false), Selected: "auth0", MsgTypes: ptr(delivery.Set(0)), BuildPolls: 2,
		LegacyTemplates: &phonemigrate.LegacyPhoneTemplates{EnrollmentMessage: "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment.", VerificationMessage: "{{code}} is your verification code for {{tenant.friendly_name}}"}}
	t.Conns = []phonemigrate.Connection{{ID: "con_db", Name: "Username-Password-Authentication", Strategy: "auth0", Options: map[string]any{"passwordPolicy": "good"}}}
	switch name {
	case "empty":
	case "legacy-gateway":
		t.Conns = append(t.Conns, gatewayConn())
	case "legacy-twilio":
		t.Conns = append(t.Conns, twilioConn())
	case "mfa-twilio":
		mfaTwilio(t, delivery.Of(delivery.Text, delivery.Voice))
	case "mixed":
		t.Conns = append(t.Conns, gatewayConn())
		mfaTwilio(t, delivery.Of(delivery.Text))
	case "unified":
		t.UPE = ptr(true)
		t.MFAEnabled = true
		t.MsgTypes = ptr(delivery.Of(delivery.Text))
		t.Providers = []phonemigrate.PhoneProvider{{ID: "pro_u", Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: fxTwilioSID, DefaultFrom: fxFrom, DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)}}}
	default:
		panic("unknown scenario " + name)
	}
	return t
}

var scenarios = []string{"empty", "legacy-gateway", "legacy-twilio", "mfa-twilio", "mixed", "unified"}

var (
	memTypeList  = regexp.MustCompile(`type:\(([^)]*)\)`)
	memDateRange = regexp.MustCompile(`date:\[(\S+) TO (\S+?)[\]}]`)
)

// Logs serves LogEvents: checkpoint paging by id, or the type list and
// date range of Q (the queries phonemigrate writes), sorted, paged.
func (t *memTenant) Logs(ctx context.Context, q watch.LogQuery) ([]watch.LogEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.LogCalls = append(t.LogCalls, q)
	if q.Take > 0 {
		var out []watch.LogEvent
		for _, e := range t.LogEvents {
			if e.ID > q.From && len(out) < q.Take {
				out = append(out, e)
			}
		}
		return out, nil
	}
	var types []string
	if m := memTypeList.FindStringSubmatch(q.Q); m != nil {
		for _, f := range strings.Split(m[1], " OR ") {
			types = append(types, strings.Trim(f, `"`))
		}
	}
	var from, to time.Time
	if m := memDateRange.FindStringSubmatch(q.Q); m != nil {
		from, _ = time.Parse(time.RFC3339Nano, m[1])
		to, _ = time.Parse(time.RFC3339Nano, m[2]) // "*": zero, open
	}
	var out []watch.LogEvent
	for _, e := range t.LogEvents {
		if types != nil && !slices.Contains(types, e.Type) {
			continue
		}
		if !from.IsZero() && e.Date.Before(from) || !to.IsZero() && !e.Date.Before(to) {
			continue
		}
		out = append(out, e)
	}
	if q.Sort != "date:1" {
		slices.Reverse(out)
	}
	per := q.PerPage
	if per == 0 {
		per = 50
	}
	start := min(q.Page*per, len(out))
	return out[start:min(start+per, len(out))], nil
}

func (t *memTenant) ClientGrants(ctx context.Context) ([]phonemigrate.ClientGrant, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]phonemigrate.ClientGrant{}, t.Grants...), nil
}

func (t *memTenant) ClientName(ctx context.Context, id string) (string, error) {
	return "", &phonemigrate.APIError{StatusCode: 404}
}
