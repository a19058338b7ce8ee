package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" { // CI: never skip
			t.Fatalf("node is required (PHONEMIGRATE_REQUIRE_NODE is set): %v", err)
		}
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
