// Package phonemigrate moves an Auth0 tenant from its legacy phone setup
// (Passwordless SMS through Twilio or a custom SMS gateway; MFA SMS/voice
// through Twilio, Auth0 or a hook) onto the Unified Phone Experience: one
// tenant-level phone provider serving Passwordless and MFA.
//
// The Management API is reached through the small [Client] interface;
// package auth0api implements it over go-auth0 v3 and package
// phonemigratetest serves a fake tenant for tests and demos.
//
// # Workflow
//
// A [Migrator] built with [New] offers four operations:
//
//   - [Migrator.Discover] reads the tenant's phone setup and writes nothing.
//   - [Migrator.Plan] discovers, checks the tenant and the [Options]
//     (preflight) and returns a [Plan]: every write in order with its before
//     and after values, secrets shown as "[redacted]". It writes nothing.
//   - [Migrator.Apply] runs the plan as a state machine, saving a
//     [Checkpoint] after every transition; after a failure, Apply again
//     resumes from the last good state.
//   - [Migrator.Rollback] restores every original value the migration
//     changed and removes what it created.
//
// [Migrator.Check] evaluates the invariants of a healthy tenant on the
// Unified Phone Experience, on any tenant. A switched tenant where users
// get no code now (no provider, a disabled one, one that misses a factor
// in use, a custom provider without a bound Action) cannot be migrated from
// where it is: Plan and Apply refuse with an [*UnhealthyError] whose Repair
// is the fastest safe repair — switch the tenant back so that codes flow
// through the legacy settings again — and [Migrator.Repair] performs it
// (one write), then reads the tenant again; Apply then migrates properly.
//
// Package snapshot (phonemigrate/snapshot) reads everything a migration
// depends on into a snapshot.Snapshot, with read calls only and every secret
// replaced by a placeholder, so that a copy of the tenant can be served by
// phonemigratetest.NewServerFrom and the migration rehearsed on it.
//
// # Decisions
//
// Preflight refuses, with typed errors (see [ExitCode]), a tenant with
// neither an enabled and configured MFA phone factor nor a configured
// Passwordless SMS connection ([ErrNotEligible]), a tenant already on UPE
// ([ErrAlreadyUnified]), delivery methods that do not cover the phone
// factors in use ([*deliveryConflictError], decided by
// [github.com/unifiedphone/unifiedphone/delivery.Decide]), a phone provider
// the migration did not create unless [Options.AllowReplace], or an
// existing custom-phone-provider Action, which is never replaced
// ([*ExistingResourceError]), a Twilio token neither given nor held by the
// tenant ([ErrTwilioTokenRequired]) and bad test recipients
// ([*invalidRecipientError]).
//
// # Twilio credentials and delivery evidence
//
// The Management API returns the legacy Twilio auth tokens (a connection's
// options.twilio_token, Guardian's auth_token), so by default the new Twilio
// provider, or a Twilio target of the Action, carries the legacy token over
// (Guardian's first); [Options.TwilioAuthToken] overrides it. The plan says
// which source is used ([Plan.TwilioToken], [migrationIntent.TwilioTokenSource]) and
// warns when the tokens disagree. Before the first write that sends the
// token, Apply verifies it with Twilio (GET /2010-04-01/Accounts/{sid}.json);
// a rejection is a [*twilioCredentialsError] (exit 3) with nothing written.
// For a Twilio provider each test message is then looked up in the Twilio
// account and followed until its status is final or
// [Options.EvidenceTimeout] passes; failed, undelivered or missing messages
// stop Apply before the tenant switch ([*testDeliveryError]). Without
// evidence and without a person's answer, a test message is recorded as
// assumed received ([TestOutcome], [Checkpoint.Tests]).
// [Options.SkipTwilioCheck] skips the check and the evidence.
//
// The provider is Twilio when every legacy path uses the same Twilio
// settings; otherwise it is custom: a custom-phone-provider Action generated
// by package actiongen from the legacy settings (the gateway URL, JWT
// settings and Twilio token travel only as Action secrets). When
// Passwordless and MFA use different providers the Action routes
// Passwordless messages to the Passwordless target and everything else to
// the MFA target. The tenant has one otp_verify phone template, which takes
// the Passwordless text; when MFA's legacy verification text differs, the
// MFA target renders it itself (actiongen Target.Text), so both keep what
// their users received (Intent.DefaultText; the plan's Action note says so).
//
// # Order of writes
//
// Apply runs the steps of the table, in order (written by TestStepProse -update):
//
//  1. discover (→ discovered)
//  2. plan (→ planned)
//  3. deploy action (→ action_deployed, when it applies)
//  4. configure provider (→ provider_configured)
//  5. test provider (→ provider_tested)
//  6. switch tenant (→ tenant_switched)
//  7. switch connections (→ connections_switched)
//  8. align MFA message types (→ mfa_aligned)
//  9. migrate templates (→ templates_migrated)
//  10. watch delivery (→ completed)
//
// The states are those of [Diagram]. What each step writes, request by
// request, is listed (from the same table) in the repository's
// docs/how-it-works.md; the plan of a tenant ([Migrator.Plan]) shows it for
// that tenant. The undocumented per-connection switch
// options.use_phone_provider is written as part of the connection's whole
// options map; legacy templates become tenant phone templates (@@password@@
// and Liquid password become {{ code }}; unknown macros are kept and
// reported in [Plan.Warnings]); legacy Guardian endpoints are only read,
// before the switch.
//
// Each step writes only when needed and verifies the result. A run that
// discovered the tenant itself makes only the calls the rules need: it
// reads each thing once (and no legacy setting that cannot matter), writes
// from that snapshot (each connection, written whole, is read right before
// its write), and verifies each write from Auth0's answer. The provider
// test is a wait: after it the run re-reads what it writes from, including
// where the template texts come from, so an edit made meanwhile is
// migrated, not reverted. A resumed run
// re-reads what each step depends on before it writes, and recognises and
// adopts resources whose creation answer was lost. The state machine (looplab/fsm) is only the table of
// legal transitions: Auth0 calls never run in fsm callbacks, and events are
// fired with a context that cannot be cancelled, after checking the
// caller's context, so a cancelled run cannot wedge the machine.
//
// # Checkpoints and rollback
//
// A [Store] keeps the checkpoint: filestore.New (package
// phonemigrate/filestore: JSON, mode 0600, atomic replace, a lock file
// against concurrent runs) or, by default, one in memory. It holds the plan, what was created and the original of every value
// changed — for connections only the keys touched, never whole option maps
// (they hold gateway secrets) — and no secret value.
//
// Rollback restores in a safe order: connections first, then the tenant
// switch, MFA message types and templates, and only then the provider and
// the Action are removed, so no consumer is ever left pointing at a
// provider that is gone. Two things cannot be restored exactly, and
// Rollback says so in its log: MFA message types Auth0 had never configured
// (404) stay as aligned, and a replaced provider gets its configuration back
// but not its credentials, which Auth0 never returns.
//
// # Watching delivery
//
// Auth0 gives no delivery feedback but its tenant logs. [watch.Delivery]
// reads them ([watch.TenantLogs], part of [Client]) and reports per
// [watch.Path] the messages sent and not delivered, the failure rate and
// the most frequent reasons ([watch.MaskReason] masks phone numbers and
// credentials), next to the same-length window before. [watch.Follower] reads
// new events one checkpoint page at a time. [Options.Canary] makes Apply
// watch the window after the tenant switch before it completes, record the
// window and verdict in [Checkpoint.Watch], and fail with a
// [*CanaryBreachError] — rolling back at once with Canary.AutoRollback —
// when a path breaks.
package phonemigrate
