package phonemigrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// checkpointVersion is the [Checkpoint.Version] this package writes and
// reads.
const checkpointVersion = 1

// Checkpoint is the persisted record of one migration. It is JSON, holds no
// secret values, and is saved after every transition (and right after each
// resource the migration creates), so that Apply can resume and Rollback can
// restore exactly what was there.
type Checkpoint struct {
	Version   int              `json:"version"`
	Tenant    string           `json:"tenant"`
	State     State            `json:"state"`
	LastGood  State            `json:"last_good,omitempty"` // where Apply resumes when State is failed
	Error     string           `json:"error,omitempty"`     // the failure, when State is failed
	Plan      *Plan            `json:"plan,omitempty"`
	Intent    *migrationIntent `json:"intent,omitempty"`
	Created   createdObjects   `json:"created"`
	Originals originalState    `json:"originals"`
	// Tests are the outcomes of the provider test messages (evidence,
	// confirmation, or "assumed received").
	Tests []TestOutcome `json:"tests,omitempty"`
	// Watch is the delivery canary's window and verdict ([Options.Canary]).
	Watch *watch.Record `json:"watch,omitempty"`
	// Accepted are the differences a person accepted when applying
	// ([Options.AcceptedDifferences]); Check does not count them.
	Accepted  []Finding `json:"accepted,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// createdObjects lists what the migration created, so rollback can remove it.
type createdObjects struct {
	ActionID string `json:"action_id,omitempty"`
	// ActionCodeSHA256 is the SHA-256 (hex) of the code of the Action this
	// migration created, so a rollback can tell an Action edited since.
	ActionCodeSHA256 string   `json:"action_code_sha256,omitempty"`
	ProviderID       string   `json:"provider_id,omitempty"`
	TemplateIDs      []string `json:"template_ids,omitempty"`
	// unconfirmedCreates lists the creations sent whose outcome is unknown: no
	// answer said whether they happened (a timeout, a dropped connection,
	// a 5xx). Only such a creation may later be adopted — an object found
	// on the tenant that matches what was sent is then taken as this
	// migration's. A definite refusal (a 4xx, such as the 409 of a run
	// that lost a race) clears it: what is there then is someone else's.
	Unconfirmed unconfirmedCreates `json:"unconfirmed,omitzero"`
}

// unconfirmedCreates records creations sent without a definite answer.
type unconfirmedCreates struct {
	Action        bool     `json:"action,omitempty"`
	Provider      bool     `json:"provider,omitempty"`
	TemplateTypes []string `json:"template_types,omitempty"`
	// Since is when the earliest of these creations was sent.
	Since time.Time `json:"since,omitzero"`
}

// adoptionSkew is how much earlier than [unconfirmedCreates.Since] Auth0 may date
// an object this migration created: the two clocks differ.
const adoptionSkew = 2 * time.Minute

// Adoptable is the one rule of which object found on the tenant, of a kind
// whose creation is unconfirmed and matching what was sent (the callers
// check that), may be taken as this migration's: one that appeared after
// the attempt — Auth0's created_at no earlier than Since (less a clock
// skew of two minutes). An object Auth0 does not date is judged by the
// match alone. Apply (resuming) and Rollback both ask it.
func (u unconfirmedCreates) Adoptable(createdAt time.Time) bool {
	return createdAt.IsZero() || u.Since.IsZero() || !createdAt.Before(u.Since.Add(-adoptionSkew))
}

// originalState holds every original value the migration changed, recorded
// just before the first write of each. Connection options are recorded key
// by key, only for the keys the migration touches — never whole option maps,
// which hold gateway secrets. A nil field means the migration has not
// changed that value.
type originalState struct {
	// PhoneConsolidatedExperience is the tenant flag before the switch.
	PhoneConsolidatedExperience *originalFlag `json:"phone_consolidated_experience,omitempty"`
	// ConnectionOptions are the original values of the connection option
	// keys the migration set.
	ConnectionOptions []originalOption `json:"connection_options,omitempty"`
	// MFAMessageTypes are the MFA phone message types before alignment.
	MFAMessageTypes *delivery.Set `json:"mfa_message_types,omitempty"`
	// MFAMessageTypesNotFound is true when Auth0 had no message types at
	// all (404) before alignment; there is no API to make them absent
	// again, so rollback leaves the aligned types in place.
	MFAMessageTypesNotFound bool `json:"mfa_message_types_not_found,omitempty"`
	// Templates are tenant phone templates as they were before being
	// updated (created ones are in [createdObjects.TemplateIDs]).
	Templates []originalTemplate `json:"templates,omitempty"`
	// Provider is a phone provider the migration replaced (AllowReplace),
	// without credentials (Auth0 never returns them).
	Provider *originalProvider `json:"provider,omitempty"`
	// Bindings are the custom-phone-provider trigger bindings before the
	// migration bound its Action.
	Bindings *originalBindings `json:"bindings,omitempty"`
}

// originalFlag is a recorded boolean setting; Value is nil when Auth0 did
// not return it.
type originalFlag struct {
	Value *bool `json:"value"`
}

// originalOption is the original state of one key of a connection's
// options: absent (Present false) or present with Value.
type originalOption struct {
	ConnectionID string `json:"connection_id"`
	Connection   string `json:"connection"`
	Key          string `json:"key"`
	Present      bool   `json:"present"`
	Value        any    `json:"value,omitempty"`
}

// originalTemplate is a tenant phone template before the migration changed
// it.
type originalTemplate struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Disabled bool   `json:"disabled"`
	Syntax   string `json:"syntax,omitempty"`
	From     string `json:"from,omitempty"`
	Text     string `json:"text,omitempty"`
	Voice    string `json:"voice,omitempty"`
}

// originalProvider is a replaced phone provider's configuration.
type originalProvider struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Disabled        bool         `json:"disabled"`
	SID             string       `json:"sid,omitempty"`
	DefaultFrom     string       `json:"default_from,omitempty"`
	MSSID           string       `json:"mssid,omitempty"`
	DeliveryMethods delivery.Set `json:"delivery_methods"`
}

// originalBindings are the trigger's bindings before the migration.
type originalBindings struct {
	Refs []originalBinding `json:"refs"`
}

// originalBinding is one original trigger binding.
type originalBinding struct {
	ActionID    string `json:"action_id"`
	DisplayName string `json:"display_name,omitempty"`
}

// Store keeps the checkpoint of one migration (one tenant).
type Store interface {
	// Load returns the checkpoint, or ErrNoCheckpoint when there is none,
	// or a *CheckpointError when it cannot be used.
	Load(ctx context.Context) (*Checkpoint, error)
	// Save replaces the checkpoint (atomically for the file store).
	Save(ctx context.Context, cp *Checkpoint) error
	// Lock takes the store's exclusive lock for one run, or returns
	// ErrLocked while another run holds it. The returned func releases it.
	Lock(ctx context.Context) (unlock func() error, err error)
}

var (
	_ Store = (*memoryStore)(nil)
)

// validateCheckpoint checks what every store checks after decoding.
func validateCheckpoint(cp *Checkpoint, path string) error {
	if cp.Version != checkpointVersion {
		return &CheckpointError{Path: path, Problem: fmt.Sprintf("unsupported version %d (want %d)", cp.Version, checkpointVersion)}
	}
	if !knownState(cp.State) {
		return &CheckpointError{Path: path, Problem: fmt.Sprintf("unknown state %q", cp.State)}
	}
	if cp.LastGood != "" && !knownState(cp.LastGood) {
		return &CheckpointError{Path: path, Problem: fmt.Sprintf("unknown last_good state %q", cp.LastGood)}
	}
	return nil
}

func knownState(s State) bool {
	if steps().stateOrder(s) >= 0 {
		return true
	}
	switch s {
	case StateFailed, stateRollingBack, StateRolledBack, StateAlreadyUnified:
		return true
	}
	return false
}

// ParseCheckpoint decodes a checkpoint file's content, read from path (the
// name its errors give), and checks it as every [Store] does: a malformed
// file, another format version or an unknown state is a [*CheckpointError].
func ParseCheckpoint(data []byte, path string) (*Checkpoint, error) {
	return decodeCheckpoint(data, path)
}

func decodeCheckpoint(data []byte, path string) (*Checkpoint, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var cp Checkpoint
	if err := dec.Decode(&cp); err != nil {
		return nil, &CheckpointError{Path: path, Problem: "not a valid checkpoint: " + err.Error()}
	}
	if err := validateCheckpoint(&cp, path); err != nil {
		return nil, err
	}
	return &cp, nil
}

// memoryStore keeps the checkpoint in memory (a deep copy through JSON, so
// it holds exactly what a file would). It is safe for concurrent use.
type memoryStore struct {
	mu     sync.Mutex
	data   []byte
	locked bool
}

// newMemoryStore returns an empty in-memory [Store] (the default of [New]):
// it keeps the checkpoint as JSON, so it holds exactly what a file would,
// and is safe for concurrent use.
func newMemoryStore() Store { return &memoryStore{} }

// Load returns a copy of the saved checkpoint.
func (s *memoryStore) Load(ctx context.Context) (*Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return nil, ErrNoCheckpoint
	}
	return decodeCheckpoint(s.data, "")
}

// Save stores a copy of cp.
func (s *memoryStore) Save(ctx context.Context, cp *Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = data
	return nil
}

// Lock takes the store's lock or returns ErrLocked.
func (s *memoryStore) Lock(ctx context.Context) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil, ErrLocked
	}
	s.locked = true
	var once sync.Once
	return func() error {
		once.Do(func() {
			s.mu.Lock()
			s.locked = false
			s.mu.Unlock()
		})
		return nil
	}, nil
}

// Next says what comes after the migration a checkpoint records. It is the
// one interpretation Apply, the CLI (plan, apply, status) and the fleet
// runner share.
type Next string

// What comes next.
const (
	// NextStart: no migration under way (none yet, rolled back, or the
	// tenant was already unified): Apply plans afresh.
	NextStart Next = "start"
	// NextApply: a migration stopped part-way (failed, or interrupted in a
	// forward state): Apply resumes from [Checkpoint.ResumePoint].
	NextApply Next = "apply"
	// NextRollback: a rollback did not finish (interrupted, or failed):
	// only Rollback goes on; Apply refuses.
	NextRollback Next = "rollback"
	// NextNone: the migration is completed; Apply writes nothing.
	NextNone Next = "none"
)

// Next returns what comes after the migration cp records (a nil cp is
// none yet: NextStart).
func (cp *Checkpoint) Next() Next {
	if cp == nil {
		return NextStart
	}
	switch {
	case cp.State == StateNew, cp.State == StateRolledBack, cp.State == StateAlreadyUnified:
		return NextStart
	case cp.State == stateDiscovered, cp.State == StateFailed && (cp.LastGood == "" || cp.LastGood == StateNew || cp.LastGood == stateDiscovered):
		// Stopped before a plan was recorded (e.g. Twilio refused the
		// token while planning): nothing was written, so there is no
		// migration in progress — Apply starts over.
		return NextStart
	case cp.State == StateCompleted:
		return NextNone
	case cp.State == stateRollingBack, cp.State == StateFailed && cp.LastGood == stateRollingBack:
		return NextRollback
	}
	return NextApply
}

// ResumePoint returns the state Apply resumes from when Next is NextApply:
// the last good state of a failed migration, else the state an
// interrupted one stopped in ("" for any other Next).
func (cp *Checkpoint) ResumePoint() State {
	if cp.Next() != NextApply {
		return ""
	}
	if cp.State == StateFailed {
		if cp.LastGood == "" {
			return StateNew
		}
		return cp.LastGood
	}
	return cp.State
}
