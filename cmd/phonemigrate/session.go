package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
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
		opts = append(opts, phonemigrate.WithStore(filestore.New(checkpoint)))
	}
	opts = append(opts, extra...)
	s.migrator, err = phonemigrate.New(client, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// writeJSON writes v as indented JSON, with the characters that could
// mislead a terminal or a reader escaped (see escapeUnsafe).
func (c *cli) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(append(escapeUnsafe(b), '\n'))
	return err
}

// escapeUnsafe returns JSON text b with every character
// redact.UnsafeRune names — C1 controls (one-byte CSI U+009B
// included), DEL, bidirectional controls such as U+202E, zero-width
// characters — written as a \uXXXX escape (encoding/json leaves them raw;
// it escapes only C0 controls and U+2028/U+2029). Outside strings JSON
// holds none of them, so the data is unchanged, only spelt safely.
func escapeUnsafe(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= 0x7f && redact.UnsafeRune(r) }) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r >= 0x7f && redact.UnsafeRune(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
		} else {
			out.Write(b[:size])
		}
		b = b[size:]
	}
	return out.Bytes()
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
