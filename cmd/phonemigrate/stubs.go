package main

import (
	"context"
	"errors"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// TODO(issue 6): replaced as the packages land.
func connect(ctx context.Context, t tenantConfig) (phonemigrate.Client, error) {
	return nil, errors.New("auth0api not available yet")
}

func runDemo(ctx context.Context, c *cli, args []string) error {
	return errors.New("demo not available yet")
}

func runFake(ctx context.Context, c *cli, args []string) error {
	return errors.New("fake not available yet")
}

func runAction(ctx context.Context, c *cli, args []string) error {
	return errors.New("action not available yet")
}
