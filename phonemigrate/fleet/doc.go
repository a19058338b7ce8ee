// Package fleet migrates many Auth0 tenants with package phonemigrate: a
// fleet file lists the tenants, [Runner.Run] migrates them with bounded
// concurrency, each paced to its own rate limit and resumable from its own
// checkpoint file, and returns a [Report] with one [TenantResult] per tenant.
//
// # Fleet files
//
// A fleet file is YAML (go.yaml.in/yaml/v3) or JSON: either a list of
// tenants, or an object with an optional "concurrency" and the list under
// "tenants":
//
//	concurrency: 20
//	tenants:
//	  - name: acme-eu
//	    domain: acme.eu.auth0.com
//	    client_id_env: ACME_EU_CLIENT_ID
//	    client_secret_env: ACME_EU_CLIENT_SECRET
//	    checkpoint: checkpoints/acme-eu.json
//	    rate_limit: {per_second: 2, burst: 10}
//	    options:
//	      provider: auto
//	      delivery: text,voice
//	      test_to: ["+15551230001"]
//	      twilio_token_env: ACME_TWILIO_TOKEN
//	  - name: acme-dev
//	    base_url: http://127.0.0.1:8080/api/v2
//	    token_env: ACME_DEV_TOKEN
//	    options: {skip_test: true}
//
// Credentials appear only as names of environment variables (token_env, or
// client_id_env with client_secret_env; twilio_token_env): a key that would
// hold a secret itself (token, client_secret, twilio_auth_token, ...) is an
// error, and so is an *_env value that is not a variable name, so that a
// token pasted in the wrong place is refused without being repeated in the
// message. Unknown keys are errors too. Relative checkpoint paths are
// resolved against the fleet file's directory; the default checkpoint of a
// tenant is "phonemigrate-<name>.checkpoint.json" there. [Load] and [Parse]
// validate the whole file before anything runs and report the first problem
// as a [*ConfigError].
//
// # Running
//
// [Runner.Run] schedules by requests, not tenants: every tenant is in
// progress at once (up to [Runner.MaxInProgress], default 1,000), and
// Concurrency bounds the Management API requests in flight across the
// fleet (default 10). Rate limits are per tenant, so a fleet finishes close
// to one tenant's floor, (calls − burst)/rate, however many tenants it has,
// as long as the requests in flight keep up. Each tenant's client starts
// pacing from the rate limit of the fleet file and syncs its bucket with
// Auth0's on the first answer (X-RateLimit-Remaining), so it neither waits
// for tokens it has nor sends into a 429. Entries naming the same
// Management API run one after the other, in file order. Each
// tenant gets its own auth0api client, paced client-side to its rate limit,
// its own [filestore.Store] — all in one [filestore.SyncGroup], so
// the checkpoint saves of the whole fleet share their flushes to disk (a
// save still returns only once durable) —, and its own
// [phonemigrate.Migrator];
// Apply resumes from the checkpoint when one exists. One tenant's failure —
// missing credentials, an API error, a refused plan — is recorded in its
// result and never stops the others. Progress is reported through
// Runner.Progress, one [Event] at a time.
//
// The [Report] renders as a text table ([Report.Table]) and marshals to a
// stable JSON document. Neither, nor any error of this package, ever holds a
// token, a client secret or a Twilio auth token.
package fleet
