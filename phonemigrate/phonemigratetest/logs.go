package phonemigratetest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// Tenant log event types the fake emits for phone deliveries (the schemas
// of auth0/auth0-log-schemas are in testdata/log-schemas).
const (
	LogCodeSent            = "cs"                       // Passwordless code sent
	LogFailedNotification  = "fn"                       // Passwordless (or test) message not delivered
	LogMFASMS              = "gd_send_sms"              // MFA SMS sent
	LogMFASMSFailure       = "gd_send_sms_failure"      // MFA SMS not delivered
	LogMFAVoice            = "gd_send_voice"            // MFA call placed
	LogMFAVoiceFailure     = "gd_send_voice_failure"    // MFA call not placed
	LogActionFailed        = "actions_execution_failed" // the custom-phone-provider Action threw
	LogPhoneLimit          = "limit_phone"              // too many phone deliveries to one number
	LogAPILimit            = "api_limit"                // a Management API request got 429
	logEnvironment         = "prod-us-1"
	logEventSchemaVersion  = "1.0.0"
	maxLogEvents           = 100_000 // oldest events are dropped beyond this
	logsMaxPerPage         = 100
	logsMaxReachable       = 1000 // Auth0: at most 1,000 results reachable by paging
	testNotificationType   = "phone_test"
	passwordlessNotifyType = "sms"
)

// LogEvent is one tenant log event, as GET /api/v2/logs returns it.
type LogEvent = map[string]any

// Logs returns a copy of the tenant log, oldest first.
func (s *Server) Logs() []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LogEvent, len(s.logs))
	for i, e := range s.logs {
		out[i] = cloneJSON(e)
	}
	return out
}

func cloneJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			out[k] = cloneJSON(x)
		default:
			out[k] = v
		}
	}
	return out
}

// AddLog appends e to the tenant log as Auth0 would record it now (a new
// log_id and date, the envelope's common fields): for tests that need
// entries the fake does not produce itself, such as the email failures
// Auth0 logs as "fn" (testdata/recorded-log-entries.json).
func (s *Server) AddLog(e LogEvent) { s.appendLog(cloneJSON(e)) }

// appendLog stamps e with a log_id, date and the common fields, and
// appends it.
func (s *Server) appendLog(e LogEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendLogLocked(e)
}

func (s *Server) appendLogLocked(e LogEvent) {
	s.logSeq++
	t := time.Now().UTC()
	envelope(e, logID(t, s.logSeq), t)
	e["tenant_name"] = TenantName
	e["environment_name"] = logEnvironment
	e["$event_schema"] = map[string]any{"version": logEventSchemaVersion}
	s.logs = append(s.logs, e)
	if len(s.logs) > maxLogEvents {
		s.logs = slices.Delete(s.logs, 0, len(s.logs)-maxLogEvents)
	}
}

// deliveryOutcome is what logDelivery needs to know besides the result.
type deliveryOutcome struct {
	action        *actionFailure // set when the Action threw
	limited       bool           // limit_phone blocked it
	limitResetsAt time.Time
}

type actionFailure struct {
	id, name, versionID, message string
	trigger                      string // "" is custom-phone-provider
}

// logDelivery appends the log events of one delivery attempt, as Auth0
// would: cs / fn for Passwordless, gd_send_sms / gd_send_voice and their
// _failure types for MFA, fn for a provider test message that was not
// delivered, actions_execution_failed when the custom-phone-provider
// Action threw, limit_phone when the per-recipient limit blocked it.
func (s *Server) logDelivery(req NotifyRequest, res NotifyResult, conn *Connection, out deliveryOutcome) {
	base := func(typ, desc string) LogEvent {
		e := LogEvent{"type": typ, "description": desc, "ip": req.IP, "user_agent": req.UserAgent,
			"client_id": AppClientID, "client_name": appName, "hostname": TenantName + ".us.auth0.com",
			"user_name": req.Recipient}
		if conn != nil {
			e["connection"], e["connection_id"] = conn.Name, conn.ID
			e["strategy"], e["strategy_type"] = "sms", "passwordless"
			e["user_id"] = "sms|" + otpCode(req.Recipient, "user", 12)
		} else {
			e["strategy"], e["strategy_type"] = "", ""
			if req.Kind == "mfa" {
				e["user_id"] = "auth0|" + otpCode(req.Recipient, "user", 12)
			}
		}
		return e
	}
	var events []LogEvent
	if out.limited {
		e := base(LogPhoneLimit, "Too many phone delivery attempts to this number")
		e["details"] = map[string]any{"delivery_method": req.DeliveryMethod, "type": req.Kind,
			"trigger_time": time.Now().UTC().Format(time.RFC3339), "reset_time": out.limitResetsAt.UTC().Format(time.RFC3339)}
		events = append(events, e)
	}
	if a := out.action; a != nil {
		trigger := nonEmptyTrigger(a.trigger)
		e := base(LogActionFailed, "Execution of the "+trigger+" Action failed")
		e["details"] = map[string]any{
			"trigger_id": trigger, "execution_id": fmt.Sprintf("%032x", time.Now().UnixNano()),
			"action_id": a.id, "action_name": a.name, "version_id": a.versionID, "binding_id": a.id,
			"error_class":  "action_error",
			"action_error": map[string]any{"name": "Error", "message": a.message, "code": "", "stack": "Error: " + a.message},
		}
		events = append(events, e)
	}
	switch req.Kind {
	case "passwordless":
		if res.Delivered {
			e := base(LogCodeSent, "Passwordless login code sent")
			connName := ""
			if conn != nil {
				connName = conn.Name
			}
			e["details"] = map[string]any{"body": map[string]any{
				"authParams": map[string]any{"audience": "", "redirect_uri": "https://acme.example/callback", "response_type": "code", "scope": "openid", "state": ""},
				"client_id":  AppClientID, "connection": connName, "ip": req.IP, "phone_number": req.Recipient,
				"request_language": "en", "send": "code", "tenant": TenantName, "user-agent": req.UserAgent, "username": req.Recipient,
			}}
			events = append(events, e)
		} else {
			e := base(LogFailedNotification, res.Detail)
			e["details"] = map[string]any{"email_type": "", "notification_type": passwordlessNotifyType, "to": req.Recipient, "error": res.Detail}
			events = append(events, e)
		}
	case "mfa":
		typ, desc := LogMFASMS, "Guardian - SMS sent"
		if req.DeliveryMethod == "voice" {
			typ, desc = LogMFAVoice, "Guardian - voice call placed"
		}
		details := map[string]any{"authenticator": map[string]any{"id": "sms|dev_" + otpCode(req.Recipient, "dev", 12), "type": "phone", "phone_number": req.Recipient}}
		if !res.Delivered {
			typ += "_failure"
			desc = res.Detail
			code := errorCode(res)
			details["provider_error"] = map[string]any{"errorCode": code, "message": res.Detail}
			details["failure_details"] = map[string]any{"errorCode": code, "message": res.Detail}
		}
		e := base(typ, desc)
		e["details"] = details
		events = append(events, e)
	case "test":
		if !res.Delivered {
			e := base(LogFailedNotification, res.Detail)
			e["details"] = map[string]any{"email_type": "", "notification_type": testNotificationType, "to": req.Recipient, "error": res.Detail}
			events = append(events, e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.appendLogLocked(e)
	}
}

// errorCode names a failure for the provider_error of an MFA failure log.
func errorCode(res NotifyResult) string {
	switch {
	case strings.Contains(res.Detail, "gateway answered"):
		return "gateway_error"
	case strings.Contains(res.Detail, "Twilio answered"):
		return "twilio_error"
	case strings.Contains(res.Detail, "Action"):
		return "action_error"
	case res.Route == RouteNone:
		return "no_provider"
	}
	return "delivery_failed"
}

// logAPILimit appends an api_limit event for a request the rate limit
// refused; callers hold s.mu.
func (s *Server) logAPILimitLocked(r *http.Request, burst int) {
	s.appendLogLocked(LogEvent{
		"type": LogAPILimit, "description": "Global limit has been reached", "client_id": s.ClientID, "client_name": "phonemigrate",
		"hostname": TenantName + ".us.auth0.com", "ip": "127.0.0.1", "user_agent": r.UserAgent(),
		"details": map[string]any{
			"limit":    map[string]any{"size": burst, "bucket": "global", "global": true},
			"request":  map[string]any{"method": r.Method, "path": r.URL.Path},
			"response": "429 Too Many Requests",
		},
	})
}

// checkPhoneLimit counts a delivery to recipient against the
// per-recipient limit (see [Server.SetPhoneLimit]); it reports whether
// the delivery is blocked, and when the limit resets.
func (s *Server) checkPhoneLimit(recipient string) (bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.phoneLimit <= 0 {
		return false, time.Time{}
	}
	t := time.Now()
	if s.phoneSends == nil {
		s.phoneSends = map[string][]time.Time{}
	}
	sends := slices.DeleteFunc(s.phoneSends[recipient], func(x time.Time) bool { return t.Sub(x) >= s.phoneLimitWindow })
	if len(sends) >= s.phoneLimit {
		s.phoneSends[recipient] = sends
		return true, sends[0].Add(s.phoneLimitWindow)
	}
	s.phoneSends[recipient] = append(sends, t)
	return false, time.Time{}
}

// SetPhoneLimit blocks a phone delivery to a number that already had
// perRecipient deliveries within window, with a limit_phone log event
// (like POST /__fake/phonelimit). perRecipient <= 0 turns it off (the
// default).
func (s *Server) SetPhoneLimit(perRecipient int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phoneLimit, s.phoneLimitWindow, s.phoneSends = perRecipient, window, nil
}

func nonEmptyTrigger(t string) string {
	if t == "" {
		return triggerCustomPhone
	}
	return t
}

// actionThrew builds the actionFailure of a Threw result.
func actionThrew(a Action, v deployedVersion, r *actionrun.Result) *actionFailure {
	msg := r.Reason
	if msg == "" {
		msg = "the Action threw"
	}
	return &actionFailure{id: a.ID, name: a.Name, versionID: v.id, message: msg}
}

// ---- GET /api/v2/logs ----

// listLogs is GET /api/v2/logs: q (or search) in Lucene syntax,
// page/per_page (<= 100; at most 1,000 results reachable), sort
// ("date:-1", the default, or "date:1"), fields/include_fields,
// include_totals; or checkpoint paging with from/take, which ignores every
// other parameter and answers the events after the from log_id, oldest
// first, as an array.
func (s *Server) listLogs(r *http.Request) (int, any, *apiErr) {
	q := r.URL.Query()
	s.mu.Lock()
	all := make([]LogEvent, len(s.logs))
	for i, e := range s.logs {
		all[i] = cloneJSON(e)
	}
	s.mu.Unlock()

	if q.Has("from") || q.Has("take") {
		take := 50
		if q.Has("take") {
			n, err := strconv.Atoi(q.Get("take"))
			if err != nil || n < 1 || n > logsMaxPerPage {
				return 0, nil, badRequest("Query validation error: 'Invalid value for take' on property take (integer between 1 and 100)")
			}
			take = n
		}
		from := q.Get("from")
		out := []any{}
		for _, e := range all {
			if id, _ := e["log_id"].(string); id > from {
				out = append(out, e)
				if len(out) == take {
					break
				}
			}
		}
		return http.StatusOK, out, nil
	}

	query := q.Get("q")
	if query == "" {
		query = q.Get("search")
	}
	match, err := parseLucene(query)
	if err != nil {
		return 0, nil, badRequest("Query validation error: " + err.Error() + " on property q")
	}
	page, perPage := 0, 50
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, nil, badRequest("Query validation error: 'Invalid value for page' on property page")
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > logsMaxPerPage {
			return 0, nil, badRequest("Query validation error: 'Expected a value less than or equal to 100' on property per_page")
		}
		perPage = n
	}
	if (page+1)*perPage > logsMaxReachable {
		return 0, nil, badRequest("You can only page through the first 1000 records")
	}
	desc := true
	switch q.Get("sort") {
	case "", "date:-1":
	case "date:1":
		desc = false
	default:
		return 0, nil, badRequest("Query validation error: 'Invalid value for sort' on property sort (date:1 or date:-1)")
	}
	var matched []LogEvent
	for _, e := range all {
		if match(e) {
			matched = append(matched, e)
		}
	}
	if desc {
		slices.Reverse(matched)
	}
	start := min(page*perPage, len(matched))
	end := min(start+perPage, len(matched))
	fields := q.Get("fields")
	include := q.Get("include_fields") != "false"
	items := make([]any, 0, end-start)
	for _, e := range matched[start:end] {
		items = append(items, project(e, fields, include))
	}
	if q.Get("include_totals") == "true" {
		return http.StatusOK, map[string]any{"start": start, "limit": perPage, "length": len(items), "total": len(matched), "logs": items}, nil
	}
	return http.StatusOK, items, nil
}

func project(e LogEvent, fields string, include bool) LogEvent {
	if fields == "" {
		return e
	}
	names := strings.Split(fields, ",")
	out := LogEvent{}
	for k, v := range e {
		if slices.Contains(names, k) == include {
			out[k] = v
		}
	}
	return out
}
