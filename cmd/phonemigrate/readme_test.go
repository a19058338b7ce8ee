package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The README's Mermaid block is what `phonemigrate diagram` prints.
func TestREADMEDiagram(t *testing.T) {
	m := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindStringSubmatch(readREADME(t))
	if m == nil {
		t.Fatal("README has no mermaid block")
	}
	want := phonemigrate.Diagram()
	if !strings.HasSuffix(want, "\n") {
		want += "\n"
	}
	if diff := cmp.Diff(want, m[1]); diff != "" {
		t.Errorf("README diagram differs from phonemigrate.Diagram() (-code +README):\n%s", diff)
	}
}

// The README opens with the two commands: the demo and the tests.
func TestREADMECommands(t *testing.T) {
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readREADME(t))
	if m == nil {
		t.Fatal("README has no sh block")
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		cmd, _, _ := strings.Cut(l, "#")
		got = append(got, strings.TrimSpace(cmd))
	}
	want := []string{"go run ./cmd/phonemigrate demo", "go test ./..."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README's first commands (-want +got):\n%s", diff)
	}
}

// Every command and exit code is in the README's CLI reference.
func TestREADMEReference(t *testing.T) {
	readme := readREADME(t)
	for _, c := range commands() {
		if !strings.Contains(readme, "phonemigrate "+c.name) {
			t.Errorf("README does not mention 'phonemigrate %s'", c.name)
		}
	}
	for _, code := range []string{"| 0 |", "| 1 |", "| 2 |", "| 3 |"} {
		if !strings.Contains(readme, code) {
			t.Errorf("README exit code table lacks %q", code)
		}
	}
	for _, env := range []string{envDomain, envToken, envClientID, envClientSecret, envBaseURL, envTwilioToken} {
		if !strings.Contains(readme, env) {
			t.Errorf("README does not document %s", env)
		}
	}
}
