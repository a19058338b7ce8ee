package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// session is what plan, apply, status and rollback share: the tenant, the
// checkpoint file, progress and the migrator.
type session struct {
	tenant     tenantConfig
	checkpoint string
	progress   *progress
	migrator   *phonemigrate.Migrator
	client     phonemigrate.Client
}

// newSession connects to the tenant and builds a migrator. With a
// checkpoint path the migrator keeps its checkpoint in that file;
// otherwise (plan) in memory.
func (c *cli) newSession(ctx context.Context, tenant tenantConfig, checkpoint string, log logging, extra ...phonemigrate.Option) (*session, error) {
	logger := log.logger(c.stderr)
	client, err := c.connect(ctx, tenant, logger)
	if err != nil {
		return nil, err
	}
	s := &session{tenant: tenant, checkpoint: checkpoint, progress: newProgress(c.stderr, log.quiet, c.stderrTTY), client: client}
	opts := []phonemigrate.Option{
		phonemigrate.WithTenant(tenant.Name()),
		phonemigrate.WithSecrets(c.secrets),
		phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(s.progress.observe),
	}
	if checkpoint != "" {
		opts = append(opts, phonemigrate.WithStore(phonemigrate.NewFileStore(checkpoint)))
	}
	opts = append(opts, extra...)
	s.migrator, err = phonemigrate.New(client, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (c *cli) writeJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ask prints question on stderr and reads a yes/no answer from stdin; only
// "y" and "yes" (any case) mean yes.
func (c *cli) ask(question string) (bool, error) {
	fmt.Fprintf(c.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// ---- plan ----------------------------------------------------------------
