// Package unifiedphone moves Auth0 tenants onto Auth0's Unified Phone
// Experience: one tenant-level phone provider (Twilio, or a
// custom-phone-provider Action) serving Passwordless SMS and MFA — without
// any user losing their codes.
//
// The module is a set of packages, each named for what it provides:
//
//   - [github.com/unifiedphone/unifiedphone/delivery]: delivery methods
//     (text, voice), sets of them, and the rule that the phone factors in use
//     must be a subset of the provider's delivery methods.
//   - [github.com/unifiedphone/unifiedphone/actiongen]: turns legacy settings
//     (a custom SMS gateway with its JWT authentication, or Twilio) into a
//     custom-phone-provider Action that behaves as the legacy path did.
//   - [github.com/unifiedphone/unifiedphone/phonemigrate]: discovers the
//     tenant, plans, and runs the migration as a resumable state machine,
//     with checkpoints and exact rollback, over a small [phonemigrate.Client]
//     interface of the Management API.
//   - [github.com/unifiedphone/unifiedphone/phonemigrate/auth0api]: that
//     interface implemented over go-auth0 v3.
//   - [github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest]:
//     a faithful fake Auth0 tenant served over HTTP, for tests and demos.
//   - [github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate]:
//     gomock mocks of the Client interface.
//   - cmd/phonemigrate: the command-line tool.
package unifiedphone
