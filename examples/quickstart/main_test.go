package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH; the custom provider's Action runs in Node.js")
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		"plan: provider custom, delivery SMS, ",
		"  planned -> action_deployed\n",
		"  templates_migrated -> completed\n",
		"migration completed\n",
		`message via provider_custom, delivered true: "Your ACME verification code is: `,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
