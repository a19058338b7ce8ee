// Package phonemigratetest serves a fake Auth0 tenant for tests, demos and
// anyone without a spare tenant: a stateful fake of the Management API
// subset a phone migration uses, over real HTTP, that the real go-auth0 v3
// client talks to, in the spirit of net/http/httptest.
//
//	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
//	defer srv.Close()
//	// srv.BaseURL ("http://127.0.0.1:port/api/v2") and srv.Token go to the client.
//
// # Scenarios
//
// A [Server] starts seeded with a [Scenario]: a realistic tenant as it looks
// before (or after) a migration to the Unified Phone Experience. The
// constants of scenario.go ([GatewaySecret], [TwilioSID], [GatewayTemplate],
// ...) are the fake values the scenarios hold. Tenants can also be shaped
// through the Management API itself (POST /connections,
// POST /branding/phone/providers, ...), or seeded from a snapshot of a
// real tenant with [NewServerFrom] (placeholder secrets made consistent,
// gateways re-pointed to the fake [Gateway]).
//
// # Management API
//
// Served under /api/v2 with Auth0's paths, status codes, JSON shapes and
// error bodies {"statusCode","error","message"[,"errorCode"]}. Real Auth0
// traffic recorded by terraform-provider-auth0 and go-auth0
// (testdata/recordings) is replayed against the fake in its tests, which
// compare status, shape and values; where a recording and the example
// go-auth0 v3 ships (wiremock/wiremock-mappings.json, also checked)
// disagree, the recording wins. As recorded: the template list holds
// Auth0's id-less defaults ([DefaultPhoneTemplate]) for every type not
// customised; legacy scenarios have no phone_consolidated_experience key;
// Actions answer "pending", then build "building" → "built" (or "failed",
// [WithUnresolvablePackage]); deploy answers 200 with deployed false and
// the version is deployed a little later (current_version, then
// deployed_version); a custom provider can be created with no Action;
// provider list items carry "credentials": null; DELETE of a connection
// answers 202 {"deleted_at"} and then 204.
//
//	GET|PATCH        /tenants/settings
//	GET|POST         /connections                (strategy filter; take/from checkpoint paging, "next" omitted on the last page;
//	                                             page/per_page; no paging parameters: a plain array, as Auth0)
//	GET|PATCH|DELETE /connections/{id}           (PATCH replaces options wholesale)
//	GET              /guardian/factors;  PUT /guardian/factors/{name}
//	GET|PUT          /guardian/factors/phone/message-types
//	GET|PUT          /guardian/factors/{phone,sms}/{selected-provider,providers/twilio,templates}   (403 under UPE)
//	GET|POST         /branding/phone/providers;  GET|PATCH|DELETE /branding/phone/providers/{id};  POST .../{id}/try
//	GET|POST         /branding/phone/templates;  GET|PATCH|DELETE /branding/phone/templates/{id};  PATCH .../reset;  POST .../try
//	GET|POST         /actions/actions;  GET|PATCH|DELETE /actions/actions/{id};  POST .../{id}/deploy
//	GET              /actions/triggers;  GET|PATCH /actions/triggers/{triggerId}/bindings
//	GET              /logs;  GET /logs/{id}
//	GET|POST         /clients, /resource-servers, /client-grants;  GET|PATCH|DELETE .../{id}   (clients.go)
//	POST             /oauth/token                (client credentials, outside /api/v2; any application
//	                                             with a Management API grant gets a token of its own)
//
// Deploying an Action that is not built yet answers Auth0's 400 "A draft
// must be in the 'built' state before it can be deployed." (deploy-cli
// retries on it), and a second custom-phone-provider Action Auth0's 403,
// errorCode actions_cardinality_custom_phone_provider_not_allowed. Where
// Auth0's behaviour is neither documented nor recorded the fake makes a
// choice and says so in [Server]'s documentation and in the handlers:
// deleting a bound Action without force=true is 409, a second POST of a customised template type is 409,
// binding an Action whose deployment has not finished is 400. It is
// deliberately stricter than one recording: MFA message types the phone
// provider cannot deliver are refused with 409 under UPE, as Auth0's guide
// says, where the recording (made with no provider) got 200.
//
// Like recorded Auth0, the fake returns the legacy Twilio tokens:
// options.twilio_token of an sms connection and auth_token of the Guardian
// Twilio setting (GET and PUT).
//
// # Delivery
//
// [Server.Notify] (POST /__fake/notify) sends one Passwordless or MFA
// message the way the tenant would at that moment: through the legacy
// gateway (a real HTTP POST with an HS256 JWT to the fake's [Gateway], which
// verifies it with golang-jwt), through legacy Twilio or a Twilio provider
// (the fake [TwilioAPI]), or through the custom provider's deployed Action,
// run in Node.js by internal/actionrun. It is how tests prove the same user
// receives the same text before and after a migration.
//
// # Tenant logs, traffic and broken delivery
//
// Every delivery appends tenant log events, as Auth0 logs them (their JSON
// validates against Auth0's schemas, vendored in testdata/log-schemas): cs
// for a Passwordless code sent, fn for one not delivered (and for a failed
// provider test message, details.notification_type "phone_test"),
// gd_send_sms / gd_send_voice and their _failure types for MFA (the
// provider error in details), actions_execution_failed when the
// custom-phone-provider Action throws, limit_phone past
// [Server.SetPhoneLimit], api_limit for a rate-limited request; and every
// successful Management API write (POST, PATCH, PUT, DELETE) appends a sapi
// entry naming the caller's client_id and details.request.{method,path,
// body} (secret values masked), as Auth0 does. Entries carry the envelope
// the Management API answers (recorded, testdata/logs): "_id" equal to a
// 56-digit "log_id", "isMobile", null for absent connection, organization,
// user, audience, strategy and location_info. GET /api/v2/logs/{id} reads
// one. GET
// /api/v2/logs serves them with q (Lucene: type:, date:[A TO B], OR, AND,
// NOT, prefix*), page/per_page (<= 100, first 1,000 reachable), sort
// (date:-1, date:1), fields, include_totals, or from/take checkpoint
// paging. [Server.StartTraffic] (POST /__fake/traffic) makes deliveries in
// the background at a rate and mix, bounded in count and time;
// [Server.BreakDelivery] (POST /__fake/break) makes the gateway answer
// 5xx, Twilio answer an error or the Action throw, until
// [Server.RestoreDelivery].
//
// # Before and after
//
// [State.Messages] lists the messages a tenant sends its users (a
// Passwordless code per SMS connection, MFA verification and enrollment per
// message type); [Server.Deliver] sends each and records what arrived where
// (sender, recipient, text, gateway JWT claims), and [Compare] says, path
// by path, whether the user still receives the same message after a change
// — the one before/after check of the CLI's demo and rehearse and of the
// integration tests. [IgnoreGenerated]
// compares two [State] values (with go-cmp) but for the ids and timestamps
// a migration or a rollback regenerates, so a rollback can be checked to
// restore the tenant exactly. [Secrets] and [Server.UseSecrets] seed
// sentinel secrets; [Secrets.Forms] lists what a leak scan searches for.
//
// # Faults and Close
//
// [Server.InjectFault] makes requests fail, wait or lose their connection.
// [Server.Close] ends injected delays at once and, like httptest, waits for
// the other requests — but for 5 seconds at most, so that a stalled client
// cannot hang a test's cleanup.
//
// # Serving on an address
//
// `phonemigrate fake --listen ADDR` uses [NewUnstartedServer] then
// [Server.StartAt](ADDR), which returns the listen error instead of
// panicking; [Server.Handler] serves the fake from any http.Server.
package phonemigratetest
