package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

func readREADME(t *testing.T) string { return readDoc(t, "README.md") }

// readDoc reads a documentation file by its path from the repository root
// (README.md, docs/cli.md, ...).
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The Mermaid block of docs/how-it-works.md is what `phonemigrate diagram`
// prints.
func TestREADMEDiagram(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindStringSubmatch(readDoc(t, "docs/how-it-works.md"))
	if m == nil {
		t.Fatal("docs/how-it-works.md has no mermaid block")
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
	t.Parallel()
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

// Every command and exit code is in the CLI reference (docs/cli.md).
func TestREADMEReference(t *testing.T) {
	t.Parallel()
	readme := readDoc(t, "docs/cli.md")
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
	for _, env := range []string{envDomain, envToken, envClientID, envClientSecret, envBaseURL, envTwilioToken, envTwilioAPIURL} {
		if !strings.Contains(readme, env) {
			t.Errorf("README does not document %s", env)
		}
	}
}

// Every flag of every command (as its help lists it) is in the README.
func TestREADMEFlags(t *testing.T) {
	t.Parallel()
	readme := readDoc(t, "docs/cli.md")
	flagLine := regexp.MustCompile(`(?m)^  (--[a-z-]+)`)
	for _, c := range commands() {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{c.name, "-h"}, strings.NewReader(""), &stdout, &stderr, nil); code != exitOK {
			t.Fatalf("%s -h: exit %d; stderr: %s", c.name, code, stderr.String())
		}
		for _, m := range flagLine.FindAllStringSubmatch(stdout.String(), -1) {
			if !regexp.MustCompile(regexp.QuoteMeta(m[1]) + `\b`).MatchString(readme) {
				t.Errorf("README does not document %s %s", c.name, m[1])
			}
		}
	}
}

// The README's fleet file example is a valid fleet file.
func TestREADMEFleetExample(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(readDoc(t, "docs/cli.md"))
	if m == nil {
		t.Fatal("README has no yaml block")
	}
	cfg, err := fleet.Parse([]byte(m[1]), fleet.FormatYAML)
	if err != nil {
		t.Fatalf("README fleet example: %v", err)
	}
	if len(cfg.Tenants) != 2 || cfg.Tenants[0].Options.Delivery != "text,voice" {
		t.Errorf("README fleet example parsed as %+v", cfg)
	}
}

// The README's synopsis block is exactly what the commands' help prints
// (continuation lines start with spaces), and every flag a command accepts
// (but --quiet and --verbose, common to all) is in its synopsis: the
// README, help and the flag parser cannot disagree about what a command
// takes.
func TestREADMESynopsis(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile("(?s)## Synopsis\n\n```\n(.*?)```").FindStringSubmatch(readDoc(t, "docs/cli.md"))
	if m == nil {
		t.Fatal("README has no CLI reference block")
	}
	var got []string
	for _, l := range strings.Split(strings.TrimRight(m[1], "\n"), "\n") {
		if strings.HasPrefix(l, " ") && len(got) > 0 {
			got[len(got)-1] += " " + strings.TrimSpace(l)
			continue
		}
		got = append(got, l)
	}
	var want []string
	flagLine := regexp.MustCompile(`(?m)^  (--[a-z-]+)`)
	for _, c := range commands() {
		want = append(want, c.synopsis()...)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{c.name, "-h"}, strings.NewReader(""), &stdout, &stderr, nil); code != exitOK {
			t.Fatalf("%s -h: exit %d; stderr: %s", c.name, code, stderr.String())
		}
		for _, s := range c.synopsis() {
			if !strings.Contains(stdout.String(), s) {
				t.Errorf("%s -h does not print %q", c.name, s)
			}
		}
		for _, f := range flagLine.FindAllStringSubmatch(stdout.String(), -1) {
			if f[1] != "--quiet" && f[1] != "--verbose" && !regexp.MustCompile(regexp.QuoteMeta(f[1])+`\b`).MatchString(c.usage) {
				t.Errorf("%s accepts %s, which its synopsis does not show", c.name, f[1])
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README synopsis (-help +README):\n%s", diff)
	}
}

// The README is a front door: short, and every page under docs/ is linked
// from it; every relative link in the README and in docs/ names a file that
// exists (anchors are not checked).
func TestREADMELinksDocs(t *testing.T) {
	t.Parallel()
	readme := readREADME(t)
	if n := strings.Count(readme, "\n"); n > 300 {
		t.Errorf("README.md has %d lines, want at most 300: move reference material to docs/", n)
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	for _, p := range pages {
		if name := "docs/" + filepath.Base(p); !strings.Contains(readme, "("+name+")") {
			t.Errorf("README does not link %s", name)
		}
	}
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, doc := range append([]string{"README.md"}, func() (ds []string) {
		for _, p := range pages {
			ds = append(ds, "docs/"+filepath.Base(p))
		}
		return ds
	}()...) {
		for _, m := range link.FindAllStringSubmatch(readDoc(t, doc), -1) {
			target := filepath.Join("../..", filepath.Dir(doc), m[1])
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links %s, which does not exist", doc, m[1])
			}
		}
	}
}

// The package doc (what `go doc` shows for the command) lists every command.
func TestPackageDocListsEveryCommand(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !regexp.MustCompile(`(?m)^//\tphonemigrate ` + regexp.QuoteMeta(c.name) + `\b`).Match(b) {
			t.Errorf("main.go's usage does not list %q", c.name)
		}
	}
}
