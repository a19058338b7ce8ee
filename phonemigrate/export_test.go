package phonemigrate

import (
	"net/http"
	"time"
)

// WithConfirmStaleAfter sets how long the Migrator's reads stay fresh
// across a wait (0: every answer counts as a person's).
func WithConfirmStaleAfter(d time.Duration) Option { return withStaleAfter(d) }

// WithTwilioTransport makes the Migrator's Twilio API client use rt.
func WithTwilioTransport(rt http.RoundTripper) Option { return withTwilioTransport(rt) }

// StateOrder is the position of s on the forward path of the built-in step
// table (-1 when it is not on it).
func StateOrder(s State) int { return steps().stateOrder(s) }

// Names the package keeps unexported, for its external tests.
const (
	CheckpointVersion           = checkpointVersion
	EvidenceTenantLogs          = evidenceTenantLogs
	EvidenceTwilio              = evidenceTwilio
	StatusFailureLogged         = statusFailureLogged
	StatusNoFailureLogged       = statusNoFailureLogged
	StatusNotFound              = statusNotFound
	StateActionDeployed         = stateActionDeployed
	StateConnectionsSwitched    = stateConnectionsSwitched
	StateDiscovered             = stateDiscovered
	StateMFAAligned             = stateMFAAligned
	StatePlanned                = statePlanned
	StateProviderConfigured     = stateProviderConfigured
	StateRollingBack            = stateRollingBack
	StateTemplatesMigrated      = stateTemplatesMigrated
	StateTenantSwitched         = stateTenantSwitched
	StateProviderTested         = stateProviderTested
	TokenSourceConnectionPrefix = tokenSourceConnectionPrefix
	TokenSourceGuardian         = tokenSourceGuardian
	TokenSourceOptions          = tokenSourceOptions
)

type (
	Originals      = originalState
	OriginalFlag   = originalFlag
	OriginalOption = originalOption
	Created        = createdObjects
)

var (
	ParseProviderKind = parseProviderKind
	ReplacementFor    = replacementFor
)

type (
	DeliveryConflictError  = deliveryConflictError
	InvalidRecipientError  = invalidRecipientError
	TestDeliveryError      = testDeliveryError
	TwilioCredentialsError = twilioCredentialsError
	ProofError             = proofError
	GrantAtRisk            = grantAtRisk
)

var (
	ErrCustomProviderRequired = errCustomProviderRequired
	ErrDeliveryBreach         = errDeliveryBreach
	ErrTestNotConfirmed       = errTestNotConfirmed
	ErrTestNotDelivered       = errTestNotDelivered
)

// NewMemoryStore is newMemoryStore, for tests that share a store between
// Migrators.
func NewMemoryStore() Store { return newMemoryStore() }

const ProviderAuto = providerAuto

type Write = plannedWrite
