// Command phonemigrate moves an Auth0 tenant from its legacy phone setup
// (Passwordless SMS through Twilio or a custom SMS gateway, MFA SMS/voice
// through Guardian's settings) onto Auth0's Unified Phone Experience: one
// tenant-level phone provider serving Passwordless and MFA.
//
// Usage (every command; `phonemigrate help COMMAND` gives its flags):
//
//	phonemigrate demo      run the offline demo against an embedded fake tenant
//	phonemigrate plan      print every write the migration would make; writes nothing
//	phonemigrate apply     migrate (one tenant, or a fleet with --fleet FILE)
//	phonemigrate status    show the checkpoint: where a migration stands
//	phonemigrate rollback  undo the migration recorded in the checkpoint
//	phonemigrate check     judge a tenant's phone setup; writes nothing
//	phonemigrate repair    make codes flow again on a switched tenant that sends none
//	phonemigrate watch     phone delivery from the tenant logs
//	phonemigrate export    Terraform or auth0-deploy-cli code for a migrated tenant
//	phonemigrate action    print the Action generated from a connection's options
//	phonemigrate diagram   the state machine as Mermaid
//	phonemigrate snapshot  a tenant's phone setup as a file, secrets replaced
//	phonemigrate rehearse  migrate a fake copy of a snapshot and compare deliveries
//	phonemigrate fake      serve a fake tenant on loopback
//	phonemigrate version   print the version
//	phonemigrate help      print help
//
// Exit codes: 0 success; 1 the migration failed (the checkpoint is saved,
// `status` explains, `apply` resumes); 2 bad usage or input (nothing
// written); 3 the tenant is not eligible or a user action is required
// first (nothing written). Under `go run` every non-zero exit is 1.
//
// docs/cli.md in the repository has every flag, environment variable and
// the --json output schemas.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C or SIGTERM cancels the context: a running step stops, the
	// checkpoint records the failure, and apply resumes later.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
