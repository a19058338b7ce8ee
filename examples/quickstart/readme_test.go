package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's library quick start mirrors this example: every line of its
// Go block appears, in order, in main.go, so the snippet compiles as part
// of this program.
func TestREADMEQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Library quick start.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no Go block under 'Library quick start'")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(src), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	i := 0
	for _, want := range strings.Split(string(m[1]), "\n") {
		want = strings.TrimSpace(want)
		if want == "" {
			continue
		}
		for i < len(lines) && lines[i] != want {
			i++
		}
		if i == len(lines) {
			t.Fatalf("README quick start line %q is not in examples/quickstart/main.go (in order)", want)
		}
		i++
	}
}
