package main

import (
	"context"
	"fmt"
	"os"

	"github.com/unifiedphone/unifiedphone/internal/privatefile"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// runSnapshot reads everything the migration depends on from the tenant,
// through the same read methods the migration uses, and writes it as one
// versioned JSON file with its secrets replaced by placeholders.
func runSnapshot(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("snapshot")
	var (
		tf  tenantFlags
		out string
		log logging
	)
	tf.register(fs)
	fs.StringVar(&out, "out", "", "write the snapshot to `FILE` (default: stdout)")
	log.register(fs)
	if err := c.parseFlags(fs, "snapshot", args, log.check); err != nil {
		return err
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	cl, err := c.connect(ctx, tenant, log.logger(c.stderr))
	if err != nil {
		return err
	}
	snap, err := snapshot.Take(ctx, cl, tenant.Name())
	if err != nil {
		return err
	}
	b, err := snap.JSON()
	if err != nil {
		return err
	}
	if out == "" {
		_, err := c.stdout.Write(b)
		return err
	}
	// Mode 0600, replacing (never following) whatever is at out.
	if err := privatefile.WriteFile(out, b); err != nil {
		return fmt.Errorf("cannot write the snapshot: %w", err)
	}
	if !log.quiet {
		fmt.Fprintf(c.stderr, "Snapshot of %s written to %s: %d SMS connections, %d secrets replaced by placeholders (listed under \"placeholders\").\n",
			printable(tenant.Name()), out, len(snap.Connections), len(snap.Placeholders))
	}
	return nil
}

// readSnapshot reads a snapshot file; a missing or malformed file is a
// usage error (exit 2).
func readSnapshot(flagName, path string) (*snapshot.Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("%s: cannot read the snapshot: %v", flagName, err)
	}
	snap, err := snapshot.Parse(b)
	if err != nil {
		return nil, usageErrorf("%s %s: %v", flagName, path, err)
	}
	return snap, nil
}
