package phonemigratetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/osteele/liquid"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// NotifyRequest asks the fake tenant to send one message the way it would
// at this moment: what POST /__fake/notify accepts.
type NotifyRequest struct {
	// Kind is "passwordless" (a /passwordless/start on an SMS connection)
	// or "mfa" (an MFA phone challenge or enrollment).
	Kind string `json:"kind"`
	// Connection is the SMS connection's name or id (passwordless only;
	// empty means the tenant's only SMS connection).
	Connection string `json:"connection,omitempty"`
	// Recipient is the phone number, E.164.
	Recipient string `json:"recipient"`
	// DeliveryMethod is "text" (default; "sms" is accepted) or "voice"
	// (MFA only: Passwordless SMS sends text).
	DeliveryMethod string `json:"delivery_method,omitempty"`
	// MessageType is "otp_verify" (default) or "otp_enroll" (MFA
	// enrollment).
	MessageType string `json:"message_type,omitempty"`
	// IP and UserAgent describe the end user's request (forwarded to the
	// gateway with forward_req_info, and event.request of an Action).
	// Defaults: 203.0.113.7 and a fixed browser user agent.
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Routes a notification can take ([NotifyResult.Route]).
const (
	RouteLegacyGateway  = "legacy_gateway"  // Passwordless connection, provider sms_gateway
	RouteLegacyTwilio   = "legacy_twilio"   // Passwordless connection Twilio, or Guardian selected provider twilio
	RouteLegacyAuth0    = "legacy_auth0"    // Guardian selected provider auth0 (Auth0's own sender; simulated, always delivered)
	RouteLegacyHook     = "legacy_hook"     // Guardian selected provider phone-message-hook: the send-phone-message Action ran in Node
	RouteProviderCustom = "provider_custom" // tenant-level custom provider: the deployed Action ran in Node
	RouteProviderTwilio = "provider_twilio" // tenant-level Twilio provider
	RouteNone           = "none"            // nothing can deliver it
)

// NotifyResult is what happened: what POST /__fake/notify answers.
type NotifyResult struct {
	// Route is how the tenant sent the message (Route* constants).
	Route string `json:"route"`
	// Text is the text the user receives: the rendered template, or, for
	// RouteProviderCustom, what the Action sent to the fake gateway or
	// fake Twilio when it sent there (a routing Action renders MFA's legacy
	// text itself); empty for RouteNone.
	Text string `json:"text"`
	// Code is the one-time code in the message. It is derived from the
	// recipient and message type, so the same user gets the same code
	// before and after a migration and texts compare equal.
	Code string `json:"code"`
	// Delivered says the message reached its destination: the gateway
	// answered 200, fake Twilio accepted it, or the Action finished without
	// retry/drop/throwing.
	Delivered bool `json:"delivered"`
	// Detail explains the route and the outcome in one sentence.
	Detail string `json:"detail"`
}

// notifyTrace collects, along one delivery, what its log events need
// besides the result.
type notifyTrace struct {
	conn    *Connection // the Passwordless connection
	outcome deliveryOutcome
}

type traceKey struct{}

// traceOf returns the delivery's trace (a throwaway one when ctx has none).
func traceOf(ctx context.Context) *notifyTrace {
	if tr, ok := ctx.Value(traceKey{}).(*notifyTrace); ok {
		return tr
	}
	return &notifyTrace{}
}

// ErrInvalidNotify is wrapped by [Server.Notify] errors about the request
// itself (unknown kind, unknown connection, ...).
var ErrInvalidNotify = errors.New("invalid notify request")

const (
	defaultIP        = "203.0.113.7"
	defaultUserAgent = "Mozilla/5.0 (X11; Linux x86_64) phonemigratetest/1.0"
	appName          = "ACME Web"
	// legacyDefaultTemplate is Auth0's default Passwordless SMS template.
	legacyDefaultTemplate = "Your verification code is: @@password@@"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("phonemigratetest: notify: %w: %s", ErrInvalidNotify, fmt.Sprintf(format, args...))
}

// Notify sends one message the way the tenant would right now, and says
// how (same as POST /__fake/notify):
//
// Passwordless ("passwordless"): under the Unified Phone Experience
// (tenant_settings.phone_consolidated_experience) a connection whose
// options.use_phone_provider is true (or "unified"), or that has no legacy
// provider configured, goes through the tenant-level provider. Otherwise —
// including under UPE without use_phone_provider, as Auth0 users report —
// the connection's legacy settings are used: provider "sms_gateway" POSTs
// the legacy body to gateway_url with an HS256 JWT bearer token (sub,
// aud, iat, exp; the secret base64url-decoded when secret_base64_encoded);
// twilio_sid/twilio_token send through the fake Twilio API. The text is the
// connection's template (md_with_macros: @@password@@; liquid: {{ code }} /
// {{ password }}).
//
// MFA ("mfa"): the phone factor ("sms") must be enabled and the message
// type ("sms" for text, "voice") enabled. Under UPE the tenant-level
// provider sends; otherwise Guardian's selected provider: twilio (fake
// Twilio, SMS or call), auth0 (simulated as delivered) or
// phone-message-hook (the deployed Action bound to send-phone-message runs
// in Node with the legacy event, see runHook). The text is the legacy
// Guardian template ({{code}}).
//
// Tenant-level provider: it must exist, be enabled and list the delivery
// method; the text is the enabled tenant phone template of the message type
// (Liquid, {{ code }}) or Auth0's default text. A "custom" provider runs the
// deployed custom-phone-provider Action (the bound one) in Node through
// internal/actionrun, with its secrets, and lets it make its real HTTP
// calls; a "twilio" provider sends through fake Twilio with the provider's
// credentials.
//
// Notify returns an error (wrapping [ErrInvalidNotify]) only for a request
// it cannot interpret; every delivery problem is a result with Delivered
// false and a Detail.
func (s *Server) Notify(ctx context.Context, req NotifyRequest) (NotifyResult, error) {
	switch req.DeliveryMethod {
	case "", "text", "sms":
		req.DeliveryMethod = "text"
	case "voice":
	default:
		return NotifyResult{}, invalid("delivery_method %q is not text or voice", req.DeliveryMethod)
	}
	if req.MessageType == "" {
		req.MessageType = "otp_verify"
	}
	if !slices.Contains(templateTypes, req.MessageType) {
		return NotifyResult{}, invalid("message_type %q is not one of %s", req.MessageType, strings.Join(templateTypes, ", "))
	}
	if req.Recipient == "" {
		return NotifyResult{}, invalid("recipient is required")
	}
	if req.IP == "" {
		req.IP = defaultIP
	}
	if req.UserAgent == "" {
		req.UserAgent = defaultUserAgent
	}
	st := s.State()
	var (
		res NotifyResult
		err error
	)
	if blocked, resets := s.checkPhoneLimit(req.Recipient); blocked && (req.Kind == "passwordless" || req.Kind == "mfa") {
		res = NotifyResult{Route: RouteNone, Code: otpCode(req.Recipient, req.MessageType, 6),
			Detail: "blocked: too many phone deliveries to this number"}
		s.logDelivery(req, res, nil, deliveryOutcome{limited: true, limitResetsAt: resets})
		return res, nil
	}
	tr := &notifyTrace{}
	ctx = context.WithValue(ctx, traceKey{}, tr)
	switch req.Kind {
	case "passwordless":
		res, err = s.notifyPasswordless(ctx, st, req)
	case "mfa":
		res, err = s.notifyMFA(ctx, st, req)
	default:
		return NotifyResult{}, invalid("kind %q is not passwordless or mfa", req.Kind)
	}
	if err == nil {
		s.logDelivery(req, res, tr.conn, tr.outcome)
	}
	if err == nil && s.cfg.logger != nil {
		s.cfg.logger.Info("fake auth0 notify", "kind", req.Kind, "route", res.Route, "delivered", res.Delivered)
	}
	return res, err
}

// otpCode derives the code from the recipient and message type.
func otpCode(recipient, messageType string, length int) string {
	if length < 4 || length > 12 {
		length = 6
	}
	h := fnv.New64a()
	_, _ = io.WriteString(h, recipient+"|"+messageType)
	n := h.Sum64()
	var b strings.Builder
	for range length {
		b.WriteByte(byte('0' + n%10))
		n /= 10
	}
	return b.String()
}

func (s *Server) notifyPasswordless(ctx context.Context, st State, req NotifyRequest) (NotifyResult, error) {
	if req.DeliveryMethod != "text" {
		return NotifyResult{}, invalid("passwordless SMS sends text only")
	}
	var conn *Connection
	var smsConns []Connection
	for _, c := range st.Connections {
		if c.Strategy == "sms" {
			smsConns = append(smsConns, c)
		}
	}
	for i, c := range smsConns {
		if req.Connection != "" && (c.Name == req.Connection || c.ID == req.Connection) {
			conn = &smsConns[i]
		}
	}
	if req.Connection == "" && len(smsConns) == 1 {
		conn = &smsConns[0]
	}
	if conn == nil {
		if req.Connection == "" {
			return NotifyResult{}, invalid("the tenant has %d SMS connections: name one", len(smsConns))
		}
		return NotifyResult{}, invalid("no SMS connection named %q", req.Connection)
	}
	o := conn.Options
	length := 6
	if totp, ok := o["totp"].(map[string]any); ok {
		if l, ok := totp["length"].(float64); ok {
			length = int(l)
		}
	}
	code := otpCode(req.Recipient, req.MessageType, length)
	upe, _ := st.TenantSettings["phone_consolidated_experience"].(bool)
	usePP := o["use_phone_provider"] == true || o["use_phone_provider"] == "unified"
	provider, _ := o["provider"].(string)
	gatewayURL, _ := o["gateway_url"].(string)
	twilioSID, _ := o["twilio_sid"].(string)
	legacyGateway := provider == "sms_gateway" && gatewayURL != ""
	legacyTwilio := (provider == "" || provider == "twilio") && twilioSID != ""

	if upe && (usePP || (!legacyGateway && !legacyTwilio)) {
		why := "the connection has use_phone_provider"
		if !usePP {
			why = "the connection has no legacy SMS provider"
		}
		traceOf(ctx).conn = conn
		return s.viaProvider(ctx, st, req, code, conn, "Unified Phone Experience is on and "+why)
	}
	traceOf(ctx).conn = conn
	text, err := renderLegacyPasswordless(o, code, req)
	res := NotifyResult{Text: text, Code: code}
	if err != nil {
		res.Route, res.Text = RouteNone, ""
		res.Detail = "the connection template does not render: " + err.Error()
		return res, nil
	}
	from, _ := o["from"].(string)
	switch {
	case legacyGateway:
		res.Route = RouteLegacyGateway
		res.Delivered, res.Detail = s.postGateway(ctx, o, gatewayURL, req, text, from)
	case legacyTwilio:
		res.Route = RouteLegacyTwilio
		token, _ := o["twilio_token"].(string)
		mssid, _ := o["messaging_service_sid"].(string)
		res.Delivered, res.Detail = s.sendTwilio(ctx, twilioSID, token, from, mssid, req.Recipient, "text", text)
	default:
		res.Route, res.Text = RouteNone, ""
		res.Detail = "the connection has no legacy SMS provider and the Unified Phone Experience is off"
	}
	return res, nil
}

// renderLegacyPasswordless renders the connection template.
func renderLegacyPasswordless(o map[string]any, code string, req NotifyRequest) (string, error) {
	tpl, _ := o["template"].(string)
	if tpl == "" {
		tpl = legacyDefaultTemplate
	}
	syntax, _ := o["syntax"].(string)
	if syntax == "liquid" {
		return renderLiquid(tpl, map[string]any{
			"password": code, "code": code, "phone_number": req.Recipient,
			"application": map[string]any{"name": appName}, "request_language": "en",
		})
	}
	return strings.ReplaceAll(tpl, "@@password@@", code), nil
}

func renderLiquid(tpl string, vars map[string]any) (string, error) {
	out, err := liquid.NewEngine().ParseAndRenderString(tpl, vars)
	if err != nil {
		return "", err
	}
	return out, nil
}

// gatewayKey returns the HS256 key of gateway_authentication.
func gatewayKey(auth map[string]any) ([]byte, error) {
	secret, _ := auth["secret"].(string)
	if secret == "" {
		return nil, errors.New("gateway_authentication has no secret")
	}
	if b, _ := auth["secret_base64_encoded"].(bool); b {
		key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(secret, "="))
		if err != nil {
			return nil, errors.New("gateway_authentication.secret is not base64url")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// postGateway POSTs the legacy body to the gateway.
func (s *Server) postGateway(ctx context.Context, o map[string]any, gatewayURL string, req NotifyRequest, text, from string) (bool, string) {
	body := map[string]any{"recipient": req.Recipient, "body": text}
	if from != "" {
		body["sender"] = from
	}
	if fwd := o["forward_req_info"]; fwd == true || fwd == "true" {
		body["req"] = map[string]any{"ip": req.IP, "user-agent": req.UserAgent}
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // Auth0's gateway timeout
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL, bytes.NewReader(b))
	if err != nil {
		return false, "gateway_url is not a valid URL"
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "Auth0")
	if auth, ok := o["gateway_authentication"].(map[string]any); ok {
		key, err := gatewayKey(auth)
		if err != nil {
			return false, err.Error()
		}
		t := time.Now()
		claims := jwt.MapClaims{"iat": t.Unix(), "exp": t.Add(5 * time.Minute).Unix()}
		if aud, _ := auth["audience"].(string); aud != "" {
			claims["aud"] = aud
		}
		if sub, _ := auth["subject"].(string); sub != "" {
			claims["sub"] = sub
		}
		signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			return false, "cannot sign the gateway token"
		}
		hr.Header.Set("Authorization", "Bearer "+signed)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return false, "gateway unreachable: " + redactURLError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("gateway answered %d (Auth0: \"Unexpected response while calling the SMS gateway: %d\")", resp.StatusCode, resp.StatusCode)
	}
	return true, "gateway answered 200"
}

// redactURLError keeps the error's kind without query strings.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// sendTwilio sends an SMS (Messages.json) or a call (Calls.json) through
// the fake Twilio API.
func (s *Server) sendTwilio(ctx context.Context, sid, token, from, mssid, to, method, text string) (bool, string) {
	form := url.Values{"To": {to}}
	if from != "" {
		form.Set("From", from)
	} else if mssid != "" {
		form.Set("MessagingServiceSid", mssid)
	}
	endpoint := "Messages.json"
	if method == "voice" {
		endpoint = "Calls.json"
		form.Set("Twiml", "<Response><Say>"+html.EscapeString(text)+"</Say></Response>")
	} else {
		form.Set("Body", text)
	}
	u := s.twilio.URL + "/2010-04-01/Accounts/" + url.PathEscape(sid) + "/" + endpoint
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return false, "invalid Twilio account sid"
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.SetBasicAuth(sid, token)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return false, "Twilio unreachable: " + redactURLError(err)
	}
	defer resp.Body.Close()
	var tw struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&tw)
	if resp.StatusCode != http.StatusCreated {
		return false, fmt.Sprintf("Twilio answered %d: %d %s", resp.StatusCode, tw.Code, tw.Message)
	}
	return true, "Twilio accepted the " + map[string]string{"text": "message", "voice": "call"}[method]
}

func (s *Server) notifyMFA(ctx context.Context, st State, req NotifyRequest) (NotifyResult, error) {
	code := otpCode(req.Recipient, req.MessageType, 6)
	enabled := slices.ContainsFunc(st.Guardian.Factors, func(f Factor) bool { return f.Name == "sms" && f.Enabled })
	if !enabled {
		return NotifyResult{Route: RouteNone, Code: code, Detail: "the MFA phone factor (sms) is disabled"}, nil
	}
	mt := map[string]string{"text": "sms", "voice": "voice"}[req.DeliveryMethod]
	if !slices.Contains(st.Guardian.MessageTypes, mt) {
		return NotifyResult{Route: RouteNone, Code: code, Detail: "MFA phone message type " + mt + " is not enabled"}, nil
	}
	if upe, _ := st.TenantSettings["phone_consolidated_experience"].(bool); upe {
		return s.viaProvider(ctx, st, req, code, nil, "Unified Phone Experience is on")
	}
	tpl := st.Guardian.Templates.VerificationMessage
	if req.MessageType == "otp_enroll" {
		tpl = st.Guardian.Templates.EnrollmentMessage
	}
	friendly, _ := st.TenantSettings["friendly_name"].(string)
	text, err := renderLiquid(tpl, map[string]any{"code": code, "tenant": map[string]any{"friendly_name": friendly, "name": TenantName}})
	if err != nil {
		return NotifyResult{Route: RouteNone, Code: code, Detail: "the Guardian template does not render: " + err.Error()}, nil
	}
	res := NotifyResult{Text: text, Code: code}
	switch st.Guardian.SelectedProvider {
	case "twilio":
		t := st.Guardian.Twilio
		res.Route = RouteLegacyTwilio
		res.Delivered, res.Detail = s.sendTwilio(ctx, t.SID, t.AuthToken, t.From, t.MessagingServiceSID, req.Recipient, req.DeliveryMethod, text)
	case "auth0", "":
		res.Route, res.Delivered = RouteLegacyAuth0, true
		res.Detail = "Auth0's built-in phone sender (simulated: always delivered)"
	default:
		res.Route = RouteLegacyHook
		var threw *actionFailure
		res.Delivered, res.Detail, threw = s.runHook(ctx, req, code, text)
		traceOf(ctx).outcome.action = threw
	}
	return res, nil
}

// runHook runs the deployed Action bound to the send-phone-message
// trigger (Guardian's selected provider phone-message-hook) in Node, with
// the legacy event Auth0 builds for it: event.message_options (recipient,
// the rendered Guardian text, code, action enrollment or
// second-factor-authentication, message_type sms or voice, language),
// event.request, event.user, event.client (client_metadata), event.tenant
// (id) and event.secrets (the values posted with the Action). It makes the
// Action's real HTTP calls; the message is delivered when the handler
// completes without throwing.
func (s *Server) runHook(ctx context.Context, req NotifyRequest, code, text string) (bool, string, *actionFailure) {
	s.mu.Lock()
	a, ok := s.boundActionLocked(triggerSendPhoneMessage)
	var v deployedVersion
	if ok {
		v = s.versions[a.ID]
	}
	s.mu.Unlock()
	if !ok {
		return false, "no deployed Action is bound to the send-phone-message trigger", nil
	}
	secrets := map[string]string{}
	for _, sec := range v.action.Secrets {
		secrets[sec.Name] = sec.Value
	}
	ev := actionrun.LegacyEvent{
		MessageOptions: actionrun.MessageOptions{
			Recipient: req.Recipient, Text: text, Code: code, Action: actionrun.LegacyAction(req.MessageType),
			MessageType: actionrun.LegacyMessageType(req.DeliveryMethod), Language: "en",
		},
		Request: fakeRequest(req),
		User:    &actionrun.User{UserID: "auth0|" + otpCode(req.Recipient, "user", 12)},
		Client:  actionrun.LegacyClient{ClientID: AppClientID, Name: appName},
		Tenant:  actionrun.Tenant{ID: TenantName},
		Secrets: secrets,
	}
	ctx, cancel := s.untilClose(ctx)
	defer cancel()
	r, err := actionrun.RunSendPhoneMessage(ctx, v.action.Code, ev, actionrun.WithModulePaths(s.cfg.nodeModules...))
	if err != nil {
		return false, "the send-phone-message Action did not run: " + err.Error(), nil
	}
	detail := fmt.Sprintf("send-phone-message Action %s (version %d) finished: %s", v.action.Name, v.number, r.Outcome)
	if r.Reason != "" {
		detail += " (" + r.Reason + ")"
	}
	var threw *actionFailure
	if r.Outcome == actionrun.Threw {
		threw = actionThrew(v.action, v, r)
		threw.trigger = triggerSendPhoneMessage
	}
	return r.Outcome == actionrun.Sent, detail, threw
}

// untilClose returns ctx, cancelled also when Close starts: an Action
// running then (a busy loop, say, which would run for Auth0's 20 s) is
// stopped at once instead of holding Close, and Ctrl-C of 'phonemigrate
// fake', for closeGrace.
func (s *Server) untilClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// fakeRequest is event.request of every Action the fake runs.
func fakeRequest(req NotifyRequest) actionrun.Request {
	return actionrun.Request{IP: req.IP, UserAgent: req.UserAgent, Method: http.MethodPost, Hostname: TenantName + ".us.auth0.com", Language: "en"}
}

// providerText renders the tenant phone template of the message type with
// every variable Auth0 documents for phone templates ("Supported Liquid
// Syntax for Phone Templates"): tenant, friendly_name, support_email,
// support_url, logo_url, home_url, region, locale, code, connection,
// user.*, client.*, application.*, organization.* and custom_domain.* (the
// last two empty: the fake has no Organizations or custom domain).
func providerText(st State, req NotifyRequest, code string, conn *Connection) (text, voice, from string, err error) {
	// The customised template of the type, else Auth0's default (a
	// disabled customised template falls back to the default).
	d, _ := DefaultPhoneTemplate(req.MessageType)
	tplText, tplVoice := d.Content.Body.Text, d.Content.Body.Voice
	for _, t := range st.PhoneTemplates {
		if t.Type == req.MessageType && !t.Disabled {
			if t.Content.Body.Text != "" {
				tplText = t.Content.Body.Text
			}
			tplVoice = tplText
			if t.Content.Body.Voice != "" {
				tplVoice = t.Content.Body.Voice
			}
			from = t.Content.From
		}
	}
	if text, err = renderLiquid(tplText, templateVars(st, req, code, conn)); err != nil {
		return "", "", "", err
	}
	if voice, err = renderLiquid(tplVoice, templateVars(st, req, code, conn)); err != nil {
		return "", "", "", err
	}
	return text, voice, from, nil
}

// templateVars are the Liquid variables of a phone template, for one
// message. pause marks a pause in a voice message; how Auth0 renders it is
// not recorded, so the fake renders nothing for it.
func templateVars(st State, req NotifyRequest, code string, conn *Connection) map[string]any {
	setting := func(k string) string { v, _ := st.TenantSettings[k].(string); return v }
	connection := ""
	if conn != nil {
		connection = conn.Name
	}
	user := map[string]any{
		"name": req.Recipient, "nickname": req.Recipient, "phone_number": req.Recipient, "phone_verified": true,
		"login_count": 1, "user_metadata": map[string]any{}, "app_metadata": map[string]any{}, "email_verified": false,
		"source_ip": req.IP, "multifactor": []any{},
	}
	if req.Kind == "mfa" {
		user["multifactor"] = []any{"guardian"}
	}
	return map[string]any{
		"code": code, "locale": "en", "pause": "",
		"tenant": TenantName, "friendly_name": setting("friendly_name"), "support_email": setting("support_email"),
		"support_url": setting("support_url"), "logo_url": setting("picture_url"), "home_url": "https://acme.example", "region": "us",
		"connection":    connection,
		"user":          user,
		"client":        map[string]any{"name": appName, "clientID": AppClientID, "metadata": map[string]any{}},
		"application":   map[string]any{"name": appName, "client_metadata": map[string]any{}},
		"organization":  map[string]any{},
		"custom_domain": map[string]any{},
	}
}

// viaProvider sends through the tenant-level phone provider.
func (s *Server) viaProvider(ctx context.Context, st State, req NotifyRequest, code string, conn *Connection, why string) (NotifyResult, error) {
	res := NotifyResult{Route: RouteNone, Code: code}
	if len(st.PhoneProviders) == 0 {
		res.Detail = why + ", but no phone provider is configured"
		return res, nil
	}
	p := st.PhoneProviders[0]
	if p.Disabled {
		res.Detail = why + ", but the phone provider is disabled"
		return res, nil
	}
	if !slices.Contains(p.Configuration.DeliveryMethods, req.DeliveryMethod) {
		res.Detail = why + ", but the phone provider does not deliver " + req.DeliveryMethod
		return res, nil
	}
	text, voice, from, err := providerText(st, req, code, conn)
	if err != nil {
		res.Detail = "the tenant phone template does not render: " + err.Error()
		return res, nil
	}
	if from == "" {
		from = p.Configuration.DefaultFrom
	}
	res.Text = text
	if req.DeliveryMethod == "voice" {
		res.Text = voice
	}
	switch p.Name {
	case "twilio":
		res.Route = RouteProviderTwilio
		ok, detail := s.sendTwilio(ctx, p.Configuration.SID, p.Credentials.AuthToken, from, p.Configuration.MSSID, req.Recipient, req.DeliveryMethod, res.Text)
		res.Delivered, res.Detail = ok, why+"; "+detail
	case "custom":
		res.Route = RouteProviderCustom
		gw, tw := len(s.gateway.Messages()), len(s.twilio.Messages())
		// event.tenant carries the tenant's friendly_name when it has one
		// (Auth0 documents it as optional): an Action that renders a text
		// naming the tenant reads it there.
		friendly, _ := st.TenantSettings["friendly_name"].(string)
		ok, detail, threw := s.runAction(ctx, actionrun.Notification{
			AsText: text, AsVoice: voice, Code: code, DeliveryMethod: req.DeliveryMethod, From: from,
			Locale: "en", MessageType: req.MessageType, Recipient: req.Recipient,
		}, actionrun.Tenant{ID: TenantName, FriendlyName: friendly}, req, conn)
		res.Delivered, res.Detail = ok, why+"; "+detail
		if sent, found := s.sentTo(req.Recipient, gw, tw); found {
			// What the Action sent, which may not be the template's text
			// (a routing Action renders MFA's legacy text itself).
			res.Text = sent
		}
		traceOf(ctx).outcome.action = threw
	}
	return res, nil
}

// sentTo returns the text of the last message to recipient the fake
// gateway or fake Twilio received after the first gw and tw messages.
func (s *Server) sentTo(recipient string, gw, tw int) (string, bool) {
	if gms := s.gateway.Messages()[gw:]; len(gms) > 0 {
		for i := len(gms) - 1; i >= 0; i-- {
			if gms[i].Recipient == recipient {
				return gms[i].Body, true
			}
		}
	}
	tms := s.twilio.Messages()[tw:]
	for i := len(tms) - 1; i >= 0; i-- {
		if tms[i].To == recipient {
			return tms[i].Body, true
		}
	}
	return "", false
}

// runAction runs the deployed custom-phone-provider Action.
// It also returns what the log needs when the Action threw.
func (s *Server) runAction(ctx context.Context, n actionrun.Notification, tenant actionrun.Tenant, req NotifyRequest, conn *Connection) (bool, string, *actionFailure) {
	s.mu.Lock()
	a, ok := s.boundActionLocked(triggerCustomPhone)
	var v deployedVersion
	if ok {
		v = s.versions[a.ID]
	}
	throws := s.actionThrows
	s.mu.Unlock()
	if !ok {
		return false, "no deployed Action is bound to the custom-phone-provider trigger", nil
	}
	if throws != "" {
		// BreakDelivery(BreakAction): the Action throws before it sends.
		r := &actionrun.Result{Outcome: actionrun.Threw, Reason: "Error: " + throws}
		return false, fmt.Sprintf("Action %s (version %d) finished: %s (%s)", v.action.Name, v.number, r.Outcome, r.Reason), actionThrew(v.action, v, r)
	}
	secrets := map[string]string{}
	for _, sec := range v.action.Secrets {
		secrets[sec.Name] = sec.Value
	}
	ev := actionrun.Event{
		Notification: n,
		Request:      fakeRequest(req),
		Client:       actionrun.Client{ClientID: AppClientID, Name: appName},
		Tenant:       tenant,
		Secrets:      secrets,
	}
	if conn != nil {
		ev.Connection = &actionrun.Connection{ID: conn.ID, Name: conn.Name, Strategy: conn.Strategy}
	}
	// event.user, which Auth0 documents with a user_id: an SMS user for
	// Passwordless, a database user for MFA (MFA challenges a user who
	// logged in first). A provider test message has none.
	switch req.Kind {
	case "passwordless":
		ev.User = &actionrun.User{UserID: "sms|" + otpCode(req.Recipient, "user", 12), PhoneNumber: req.Recipient}
	case "mfa":
		ev.User = &actionrun.User{UserID: "auth0|" + otpCode(req.Recipient, "user", 12)}
	}
	ctx, cancel := s.untilClose(ctx)
	defer cancel()
	r, err := actionrun.Run(ctx, v.action.Code, ev, actionrun.WithModulePaths(s.cfg.nodeModules...))
	if err != nil {
		return false, "the Action did not run: " + err.Error(), nil
	}
	detail := fmt.Sprintf("Action %s (version %d) finished: %s", v.action.Name, v.number, r.Outcome)
	if r.Reason != "" {
		detail += " (" + r.Reason + ")"
	}
	var threw *actionFailure
	if r.Outcome == actionrun.Threw {
		threw = actionThrew(v.action, v, r)
	}
	return r.Outcome == actionrun.Sent, detail, threw
}

// sendTest delivers a provider /try test message through the provider.
func (s *Server) sendTest(ctx context.Context, to, method string) {
	st := s.State()
	req := NotifyRequest{Kind: "test", Recipient: to, DeliveryMethod: method, MessageType: "otp_verify", IP: defaultIP, UserAgent: defaultUserAgent}
	tr := &notifyTrace{}
	res, _ := s.viaProvider(context.WithValue(ctx, traceKey{}, tr), st, req, otpCode(to, "test", 6), nil, "provider test message")
	s.logDelivery(req, res, nil, tr.outcome)
}
