package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestCustomGateway(t *testing.T) {
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
	s := out.String()
	for _, want := range []string{
		"Action phonemigrate-custom-phone-provider (node22): ",
		"secrets GATEWAY_URL, GATEWAY_SECRET; the code holds neither the gateway URL nor its secret: true\n",
		"migration completed\n",
		"the gateway saw the same request both times: true\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	before := regexp.MustCompile(`(?m)^before: recipient=\+15555550100 body="Your ACME verification code is: \d+" sender=\+15005550006 forwarded_ip=203\.0\.113\.7 jwt sub=urn:Auth0 aud=\[urn:MySmsGateway\]$`)
	if !before.MatchString(s) {
		t.Errorf("no before line matching %s:\n%s", before, s)
	}
}
