package phonemigratetest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

const (
	triggerCustomPhone      = "custom-phone-provider"
	triggerSendPhoneMessage = "send-phone-message"
)

// knownTriggers are the triggers the fake accepts, with their runtimes.
type triggerInfo struct {
	id, version, policy string
	runtimes            []string
}

var knownTriggers = []triggerInfo{
	{"post-login", "v3", "trigger-bound", []string{"node12", "node16", "node18", "node18-actions", "node22"}},
	{"credentials-exchange", "v2", "trigger-bound", []string{"node18", "node22"}},
	{"pre-user-registration", "v2", "trigger-bound", []string{"node18", "node22"}},
	{"post-user-registration", "v2", "trigger-bound", []string{"node18", "node22"}},
	{"post-change-password", "v2", "trigger-bound", []string{"node18", "node22"}},
	{"send-phone-message", "v2", "trigger-bound", []string{"node18", "node22"}},
	{triggerCustomPhone, "v1", "trigger-bound", []string{"node22"}},
	{"custom-email-provider", "v1", "trigger-bound", []string{"node22"}},
}

// deployedVersion is what a deploy froze: the code notify runs.
type deployedVersion struct {
	id      string
	number  int
	action  Action
	created string
	builtAt string
}

// deployProgress is a deployment Auth0 has accepted (POST .../deploy
// answered 200 with a version whose deployed is false) but not finished:
// like a build, it finishes after the WithActionBuild delay or number of
// reads, and until then the Action keeps its previous deployed version.
type deployProgress struct {
	buildProgress
	version deployedVersion
}

func (s *Server) findActionLocked(id string) int {
	return slices.IndexFunc(s.st.Actions, func(a Action) bool { return a.ID == id })
}

// done reports whether work started at bp.started is finished at t.
func (s *Server) done(bp *buildProgress, t time.Time) bool {
	return t.Sub(bp.started) >= s.cfg.buildDelay || (s.cfg.buildGets > 0 && bp.gets >= s.cfg.buildGets)
}

// refreshBuildsLocked moves builds along (pending -> building -> built)
// and finishes the deployments whose delay has passed; Actions created
// with "deploy": true are deployed once built.
func (s *Server) refreshBuildsLocked(t time.Time) {
	for i := range s.st.Actions {
		a := &s.st.Actions[i]
		if bp := s.builds[a.ID]; bp != nil && (a.Status == "pending" || a.Status == "building") {
			if s.done(bp, t) {
				s.finishBuildLocked(a)
			} else {
				a.Status = "building"
			}
		}
		if dp := s.deploys[a.ID]; dp != nil && s.done(&dp.buildProgress, t) {
			s.finishDeployLocked(a, dp.version)
		}
	}
}

func (s *Server) finishBuildLocked(a *Action) {
	for _, d := range a.Dependencies {
		if slices.Contains(s.cfg.unresolvable, d.Name+"@"+d.Version) {
			a.Status = "failed"
			delete(s.builds, a.ID)
			delete(s.pendingDeploy, a.ID)
			return
		}
	}
	a.Status = "built"
	a.BuiltAt = now()
	bp := s.builds[a.ID]
	delete(s.builds, a.ID)
	if bp != nil && s.pendingDeploy[a.ID] {
		delete(s.pendingDeploy, a.ID)
		s.finishDeployLocked(a, s.newVersionLocked(a))
	}
}

// startBuildLocked starts a build: Auth0 answers a create or update with
// status "pending", later reads say "building", then "built".
func (s *Server) startBuildLocked(a *Action) {
	a.Status = "pending"
	a.BuiltAt = ""
	a.AllChangesDeployed = false
	s.builds[a.ID] = &buildProgress{started: time.Now()}
}

// newVersionLocked freezes a's current code as a new version.
func (s *Server) newVersionLocked(a *Action) deployedVersion {
	snap := *a
	snap.Secrets = slices.Clone(a.Secrets)
	snap.Dependencies = slices.Clone(a.Dependencies)
	snap.SupportedTriggers = slices.Clone(a.SupportedTriggers)
	number := a.DeployedVersion + 1
	if dp := s.deploys[a.ID]; dp != nil {
		number = dp.version.number + 1
	}
	return deployedVersion{id: s.nextUUIDLocked(), number: number, action: snap, created: now(), builtAt: a.BuiltAt}
}

// startDeployLocked accepts a deployment of a's current code.
func (s *Server) startDeployLocked(a *Action) deployedVersion {
	v := s.newVersionLocked(a)
	s.deploys[a.ID] = &deployProgress{buildProgress: buildProgress{started: time.Now()}, version: v}
	return v
}

func (s *Server) finishDeployLocked(a *Action, v deployedVersion) {
	delete(s.deploys, a.ID)
	a.DeployedVersion = v.number
	a.Deployed = true
	a.AllChangesDeployed = a.Status == "built" && a.Code == v.action.Code
	s.versions[a.ID] = v
}

func secretsJSON(secrets []ActionSecret) []any {
	return jsonList(secrets, func(sec ActionSecret) any { return map[string]any{"name": sec.Name, "updated_at": sec.UpdatedAt} })
}

func depsJSON(deps []Dependency) []any {
	return jsonList(deps, func(d Dependency) any { return map[string]any{"name": d.Name, "version": d.Version} })
}

func triggersJSON(ts []Trigger) []any {
	return jsonList(ts, func(t Trigger) any {
		m := map[string]any{"id": t.ID}
		if t.Version != "" {
			m["version"] = t.Version
		}
		return m
	})
}

func actionBaseJSON(a Action) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "supported_triggers": triggersJSON(a.SupportedTriggers),
		"all_changes_deployed": a.AllChangesDeployed, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
	}
}

// versionJSON is a version as recorded: the deploy answer (deployed false,
// with the action) and an Action's deployed_version (deployed true, with
// built_at) share it.
func versionJSON(v deployedVersion, deployed bool) map[string]any {
	a := v.action
	return map[string]any{
		"id": v.id, "code": a.Code, "dependencies": depsJSON(a.Dependencies),
		"deployed": deployed, "runtime": a.Runtime, "secrets": secretsJSON(a.Secrets), "status": "built",
		"number": v.number, "created_at": v.created, "updated_at": v.created,
		"supported_triggers": triggersJSON(a.SupportedTriggers),
	}
}

// currentVersionJSON is an Action's current_version: the latest version
// deployed or being deployed.
func currentVersionJSON(v deployedVersion) map[string]any {
	return map[string]any{
		"id": v.id, "code": v.action.Code, "runtime": v.action.Runtime, "status": "BUILT", "number": v.number,
		"build_time": v.builtAt, "created_at": v.created, "updated_at": v.created,
	}
}

// versionsJSONLocked adds current_version and deployed_version to m.
func (s *Server) versionsJSONLocked(m map[string]any, a Action) {
	v, deployed := s.versions[a.ID]
	if deployed && a.Deployed {
		dv := versionJSON(v, true)
		dv["built_at"] = v.builtAt
		m["deployed_version"] = dv
		m["current_version"] = currentVersionJSON(v)
	}
	if dp := s.deploys[a.ID]; dp != nil {
		m["current_version"] = currentVersionJSON(dp.version)
	}
}

func (s *Server) actionJSONLocked(a Action) map[string]any {
	m := actionBaseJSON(a)
	m["code"] = a.Code
	m["dependencies"] = depsJSON(a.Dependencies)
	m["runtime"] = a.Runtime
	m["secrets"] = secretsJSON(a.Secrets)
	m["status"] = a.Status
	s.versionsJSONLocked(m, a)
	return m
}

// applyActionBody applies the writable Action fields of body to a.
func applyActionBody(a *Action, body map[string]any, create bool) *apiErr {
	for k, v := range body {
		switch k {
		case "name", "code", "runtime":
			sv, ok := v.(string)
			if !ok {
				return payloadErr("Expected type string but found type " + jsonType(v)).withProp(k)
			}
			switch k {
			case "name":
				a.Name = sv
			case "code":
				a.Code = sv
			default:
				a.Runtime = sv
			}
		case "supported_triggers":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				return payloadErr("Array is too short (0), minimum 1").withProp("supported_triggers")
			}
			var ts []Trigger
			for _, x := range arr {
				m, _ := x.(map[string]any)
				id, _ := m["id"].(string)
				ver, _ := m["version"].(string)
				i := slices.IndexFunc(knownTriggers, func(t triggerInfo) bool { return t.id == id })
				if i < 0 {
					return payloadErr("No enum match for: \"" + id + "\"").withProp("supported_triggers.id")
				}
				if ver == "" {
					ver = knownTriggers[i].version
				}
				ts = append(ts, Trigger{ID: id, Version: ver})
			}
			a.SupportedTriggers = ts
		case "dependencies":
			arr, ok := v.([]any)
			if !ok {
				return payloadErr("Expected type array but found type " + jsonType(v)).withProp("dependencies")
			}
			var deps []Dependency
			for _, x := range arr {
				m, _ := x.(map[string]any)
				n, _ := m["name"].(string)
				ver, _ := m["version"].(string)
				if n == "" {
					return payloadErr("Missing required property: name").withProp("dependencies")
				}
				deps = append(deps, Dependency{Name: n, Version: ver})
			}
			a.Dependencies = deps
		case "secrets":
			arr, ok := v.([]any)
			if !ok {
				return payloadErr("Expected type array but found type " + jsonType(v)).withProp("secrets")
			}
			old := a.Secrets
			var secs []ActionSecret
			for _, x := range arr {
				m, _ := x.(map[string]any)
				n, _ := m["name"].(string)
				if n == "" {
					return payloadErr("Missing required property: name").withProp("secrets")
				}
				val, hasVal := m["value"].(string)
				if !hasVal {
					// A secret sent without a value keeps its old value.
					if j := slices.IndexFunc(old, func(o ActionSecret) bool { return o.Name == n }); j >= 0 {
						val = old[j].Value
					}
				}
				secs = append(secs, ActionSecret{Name: n, Value: val, UpdatedAt: now()})
			}
			a.Secrets = secs
		case "deploy":
			if !create {
				return payloadErr("Additional properties not allowed: deploy")
			}
			if _, ok := v.(bool); !ok {
				return payloadErr("Expected type boolean but found type " + jsonType(v)).withProp("deploy")
			}
		case "modules":
			// accepted and ignored
		default:
			return payloadErr("Additional properties not allowed: " + k)
		}
	}
	if a.Name == "" {
		return payloadErr("Missing required property: name")
	}
	if len(a.SupportedTriggers) == 0 {
		return payloadErr("Missing required property: supported_triggers")
	}
	for _, t := range a.SupportedTriggers {
		for _, kt := range knownTriggers {
			if kt.id == t.ID && !slices.Contains(kt.runtimes, a.Runtime) {
				return badRequest("Runtime " + a.Runtime + " is not supported by trigger " + t.ID)
			}
		}
	}
	return nil
}

func supports(a Action, trigger string) bool {
	return slices.ContainsFunc(a.SupportedTriggers, func(t Trigger) bool { return t.ID == trigger })
}

func (s *Server) createAction(r *http.Request, body map[string]any) (int, any, *apiErr) {
	a := Action{Runtime: "node22", Dependencies: []Dependency{}, Secrets: []ActionSecret{}}
	if e := applyActionBody(&a, body, true); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.st.Actions, func(x Action) bool { return x.Name == a.Name }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "An action with the name '" + a.Name + "' already exists."}
	}
	if supports(a, triggerCustomPhone) && slices.ContainsFunc(s.st.Actions, func(x Action) bool { return supports(x, triggerCustomPhone) }) {
		// Auth0's answer (auth0-domain.md §12.4).
		return 0, nil, &apiErr{status: http.StatusForbidden, message: msgCardinalityPhone, code: codeCardinalityPhone}
	}
	a.ID = s.nextUUIDLocked()
	a.CreatedAt, a.UpdatedAt = now(), now()
	s.startBuildLocked(&a)
	if d, _ := body["deploy"].(bool); d {
		s.pendingDeploy[a.ID] = true
	}
	s.st.Actions = append(s.st.Actions, a)
	return http.StatusCreated, s.actionJSONLocked(a), nil
}

func (s *Server) getActionLocked(r *http.Request, i int) (int, any, *apiErr) {
	if bp := s.builds[s.st.Actions[i].ID]; bp != nil {
		bp.gets++
	}
	if dp := s.deploys[s.st.Actions[i].ID]; dp != nil {
		dp.gets++
	}
	s.refreshBuildsLocked(time.Now())
	return http.StatusOK, s.actionJSONLocked(s.st.Actions[i]), nil
}

func (s *Server) patchActionLocked(r *http.Request, i int, body map[string]any) (int, any, *apiErr) {
	a := s.st.Actions[i]
	a.Secrets = slices.Clone(a.Secrets)
	if e := applyActionBody(&a, body, false); e != nil {
		return 0, nil, e
	}
	if slices.ContainsFunc(s.st.Actions, func(x Action) bool { return x.Name == a.Name && x.ID != a.ID }) {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "An action with the name '" + a.Name + "' already exists."}
	}
	a.UpdatedAt = now()
	s.startBuildLocked(&a)
	s.st.Actions[i] = a
	return http.StatusOK, s.actionJSONLocked(a), nil
}

func (s *Server) deleteActionLocked(r *http.Request, i int) (int, any, *apiErr) {
	force := r.URL.Query().Get("force") == "true"
	id := s.st.Actions[i].ID
	bound := false
	for _, bs := range s.st.TriggerBindings {
		if slices.ContainsFunc(bs, func(b Binding) bool { return b.ActionID == id }) {
			bound = true
		}
	}
	if bound && !force {
		return 0, nil, &apiErr{status: http.StatusConflict, message: "This action is bound to a trigger. Remove the binding first, or delete with force=true."}
	}
	for t, bs := range s.st.TriggerBindings {
		s.st.TriggerBindings[t] = slices.DeleteFunc(bs, func(b Binding) bool { return b.ActionID == id })
	}
	s.st.Actions = slices.Delete(s.st.Actions, i, i+1)
	delete(s.builds, id)
	delete(s.versions, id)
	delete(s.pendingDeploy, id)
	delete(s.deploys, id)
	return http.StatusNoContent, nil, nil
}

func (s *Server) deployActionLocked(r *http.Request, i int) (int, any, *apiErr) {
	s.refreshBuildsLocked(time.Now())
	a := &s.st.Actions[i]
	if a.Status != "built" {
		// Auth0's answer, which deploy-cli retries on (§12.4).
		return 0, nil, badRequest(msgDraftNotBuilt)
	}
	v := s.startDeployLocked(a)
	out := versionJSON(v, false)
	out["action"] = actionBaseJSON(*a)
	return http.StatusOK, out, nil
}

// listWrapper is a paged list answer as Auth0 writes it: zero values are
// left out ({"bindings":[],"page":1,"per_page":100}: page only when > 0,
// total only when the page holds items).
func listWrapper(key string, items []any, total, page, perPage int) map[string]any {
	m := map[string]any{key: items, "per_page": perPage}
	if total > 0 && len(items) > 0 {
		m["total"] = total
	}
	if page > 0 {
		m["page"] = page
	}
	return m
}

// paging parses page (0-based) and per_page.
func paging(r *http.Request, defPerPage int) (page, perPage int, e *apiErr) {
	q := r.URL.Query()
	page, perPage = 0, defPerPage
	var err error
	if q.Has("page") {
		if page, err = strconv.Atoi(q.Get("page")); err != nil || page < 0 {
			return 0, 0, badRequest("Query validation error: 'Invalid value for page' on property page")
		}
	}
	if q.Has("per_page") {
		if perPage, err = strconv.Atoi(q.Get("per_page")); err != nil || perPage < 1 || perPage > 100 {
			return 0, 0, badRequest("Query validation error: 'Invalid value for per_page' on property per_page")
		}
	}
	return page, perPage, nil
}

func window(n, page, perPage int) (int, int) {
	start := min(page*perPage, n)
	return start, min(start+perPage, n)
}

func (s *Server) listActions(r *http.Request) (int, any, *apiErr) {
	page, perPage, e := paging(r, 50)
	if e != nil {
		return 0, nil, e
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshBuildsLocked(time.Now())
	var list []Action
	for _, a := range s.st.Actions {
		if t := q.Get("triggerId"); t != "" && !supports(a, t) {
			continue
		}
		if n := q.Get("actionName"); n != "" && a.Name != n {
			continue
		}
		if d := q.Get("deployed"); d != "" && strconv.FormatBool(a.Deployed) != d {
			continue
		}
		list = append(list, a)
	}
	start, end := window(len(list), page, perPage)
	out := jsonList(list[start:end], func(a Action) any { return s.actionJSONLocked(a) })
	return http.StatusOK, listWrapper("actions", out, len(list), page, perPage), nil
}

func (s *Server) listTriggers(r *http.Request) (int, any, *apiErr) {
	out := []any{}
	for _, t := range knownTriggers {
		out = append(out, map[string]any{
			"id": t.id, "version": t.version, "status": "CURRENT", "runtimes": slices.Clone(t.runtimes),
			"default_runtime": "node22", "compatible_triggers": []any{}, "binding_policy": t.policy,
		})
	}
	return http.StatusOK, map[string]any{"triggers": out}, nil
}

func (s *Server) bindingJSONLocked(b Binding) map[string]any {
	m := map[string]any{
		"id": b.ID, "trigger_id": b.TriggerID, "display_name": b.DisplayName,
		"created_at": b.CreatedAt, "updated_at": b.UpdatedAt,
	}
	if i := s.findActionLocked(b.ActionID); i >= 0 {
		// As recorded: the bound Action's base fields and versions, not its
		// code, status or secrets.
		a := actionBaseJSON(s.st.Actions[i])
		a["all_changes_deployed"] = false // recorded: always false here
		s.versionsJSONLocked(a, s.st.Actions[i])
		m["action"] = a
	}
	return m
}

func knownTrigger(id string) bool {
	for _, t := range knownTriggers {
		if t.id == id {
			return true
		}
	}
	return false
}

func (s *Server) listBindings(r *http.Request) (int, any, *apiErr) {
	trigger := r.PathValue("triggerId")
	if !knownTrigger(trigger) {
		return 0, nil, &apiErr{status: http.StatusNotFound, message: "Trigger " + trigger + " does not exist."}
	}
	page, perPage, e := paging(r, 20)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bs := s.st.TriggerBindings[trigger]
	start, end := window(len(bs), page, perPage)
	out := jsonList(bs[start:end], func(b Binding) any { return s.bindingJSONLocked(b) })
	return http.StatusOK, listWrapper("bindings", out, len(bs), page, perPage), nil
}

func (s *Server) patchBindings(r *http.Request) (int, any, *apiErr) {
	trigger := r.PathValue("triggerId")
	if !knownTrigger(trigger) {
		return 0, nil, &apiErr{status: http.StatusNotFound, message: "Trigger " + trigger + " does not exist."}
	}
	body, e := readBody(r)
	if e != nil {
		return 0, nil, e
	}
	raw, ok := body["bindings"].([]any)
	if !ok {
		return 0, nil, payloadErr("Missing required property: bindings")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshBuildsLocked(time.Now())
	old := s.st.TriggerBindings[trigger]
	var next []Binding
	for _, x := range raw {
		m, _ := x.(map[string]any)
		ref, _ := m["ref"].(map[string]any)
		typ, _ := ref["type"].(string)
		val, _ := ref["value"].(string)
		display, _ := m["display_name"].(string)
		var ai = -1
		switch typ {
		case "action_id":
			ai = s.findActionLocked(val)
		case "action_name":
			ai = slices.IndexFunc(s.st.Actions, func(a Action) bool { return a.Name == val })
		case "binding_id":
			if j := slices.IndexFunc(old, func(b Binding) bool { return b.ID == val }); j >= 0 {
				ai = s.findActionLocked(old[j].ActionID)
			}
		default:
			return 0, nil, payloadErr("No enum match for: \"" + typ + "\"").withProp("bindings.ref.type")
		}
		if ai < 0 {
			return 0, nil, badRequest("Invalid binding: the referenced action (" + typ + " " + val + ") does not exist.")
		}
		a := s.st.Actions[ai]
		if !supports(a, trigger) {
			return 0, nil, badRequest("Invalid binding: action " + a.ID + " does not support trigger " + trigger + ".")
		}
		if !a.Deployed {
			return 0, nil, badRequest("Invalid binding: action " + a.ID + " must be deployed before it is bound.")
		}
		if display == "" {
			display = a.Name
		}
		b := Binding{TriggerID: trigger, ActionID: a.ID, ActionName: a.Name, DisplayName: display, UpdatedAt: now()}
		if j := slices.IndexFunc(old, func(o Binding) bool { return o.ActionID == a.ID }); j >= 0 {
			b.ID, b.CreatedAt = old[j].ID, old[j].CreatedAt
		} else {
			b.ID, b.CreatedAt = s.nextUUIDLocked(), now()
		}
		next = append(next, b)
	}
	if trigger == triggerCustomPhone && len(next) > 1 {
		return 0, nil, badRequest("Only one action can be bound to the custom-phone-provider trigger.")
	}
	if next == nil {
		next = []Binding{}
	}
	s.st.TriggerBindings[trigger] = next
	out := jsonList(next, func(b Binding) any { return s.bindingJSONLocked(b) })
	return http.StatusOK, map[string]any{"bindings": out}, nil
}
