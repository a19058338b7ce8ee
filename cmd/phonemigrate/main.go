// Command phonemigrate moves an Auth0 tenant from its legacy phone setup
// (Passwordless SMS through Twilio or a custom SMS gateway, MFA SMS/voice
// through Guardian's settings) onto Auth0's Unified Phone Experience: one
// tenant-level phone provider serving Passwordless and MFA.
//
// Usage:
//
//	phonemigrate demo [--scenario NAME] [--json]
//	phonemigrate plan|apply|status|rollback [flags]
//	phonemigrate action --options FILE [--json]
//	phonemigrate fake [--listen ADDR] [--scenario NAME]
//	phonemigrate diagram
//	phonemigrate version
//	phonemigrate help [COMMAND]
//
// Exit codes: 0 success; 1 the migration failed (the checkpoint is saved,
// `status` explains, `apply` resumes); 2 bad usage or input (nothing
// written); 3 the tenant is not eligible or a user action is required
// first (nothing written).
//
// Run `phonemigrate help` or see README.md for every flag, environment
// variable and the --json output schemas.
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
