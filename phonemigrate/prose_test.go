package phonemigrate

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The prose that lists the steps is written from the step table: the
// numbered list of docs/how-it-works.md ("What is written to the tenant"),
// the forward path in State's doc (state.go), the order of writes in the
// package doc (doc.go) and the rollback order in Rollback's doc
// (rollback.go), and the state diagram of docs/how-it-works.md ([Diagram]).
// Each sits between two marker lines; -update rewrites what
// is between them, so adding a step is adding its file and regenerating.
func TestStepProse(t *testing.T) {
	t.Parallel()
	tbl := steps()
	for _, tc := range []struct {
		file, begin, end string
		want             string
	}{
		{"../docs/how-it-works.md", "<!-- steps: written from the step table by phonemigrate's TestStepProse -update -->", "<!-- /steps -->", docList(tbl)},
		{"../docs/how-it-works.md", "```mermaid", "```", strings.TrimSuffix(Diagram(), "\n") + "\n"},
		{"state.go", "// path is (written from the step table by TestStepProse -update)", "//", "//\n" + forwardPath(tbl) + "//\n"},
		{"doc.go", "// Apply runs the steps of the table, in order (written by TestStepProse -update):", "//", "//\n" + orderOfWrites(tbl) + "//\n"},
		{"rollback.go", "// from the step table, see undoOrder; written by TestStepProse -update):", "//", "//\n" + rollbackOrder(tbl) + "//\n"},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		i := strings.Index(text, tc.begin+"\n")
		if i < 0 {
			t.Fatalf("%s: no line %q", tc.file, tc.begin)
		}
		start := i + len(tc.begin) + 1
		// In Go files the generated part is a "//" line, the list's lines
		// ("//\t…" or "//  …") and a closing "//" line; in Markdown it ends at tc.end.
		var end int
		if tc.end == "//" {
			m := regexp.MustCompile(`^//\n(?://(?:\t|  )[^\n]*\n)*//\n`).FindStringIndex(text[start:])
			if m == nil {
				t.Fatalf("%s: no generated block after %q", tc.file, tc.begin)
			}
			end = start + m[1]
		} else {
			j := strings.Index(text[start:], tc.end)
			if j < 0 {
				t.Fatalf("%s: no line %q", tc.file, tc.end)
			}
			end = start + j
		}
		got := text[start:end]
		if got == tc.want {
			continue
		}
		if updating() {
			if err := os.WriteFile(tc.file, []byte(text[:start]+tc.want+text[end:]), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the steps' prose differs from the step table; run go test ./phonemigrate -run TestStepProse -update (-want +got):\n%s", tc.file, cmp.Diff(tc.want, got))
	}
}

// updating reports whether the test binary runs with -update (the flag
// is defined by the package's external tests, in the same binary).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// docList is the numbered list of the steps that write, from 1 (item 0,
// the Twilio check, is written by hand before it).
func docList(tbl stepTable) string {
	var b strings.Builder
	n := 0
	for _, s := range tbl {
		if s.doc == "" {
			continue
		}
		n++
		b.WriteString(wrap(fmt.Sprintf("%d. ", n), "   ", s.doc, 92))
	}
	return b.String()
}

// forwardPath is the forward path, states on the way; a state a step
// reaches only on some paths in brackets.
func forwardPath(tbl stepTable) string {
	parts := []string{string(StateNew)}
	for _, s := range tbl {
		if s.skip != nil {
			parts = append(parts, "["+string(s.to)+"]")
		} else {
			parts = append(parts, string(s.to))
		}
	}
	return wrap("//\t", "//\t    ", strings.Join(parts, " → "), 76)
}

// orderOfWrites lists the steps by what they do.
func orderOfWrites(tbl stepTable) string {
	var names []string
	for i, s := range tbl {
		name := fmt.Sprintf("%d. %s (→ %s", i+1, s.does, s.to)
		if s.skip != nil {
			name += ", when it applies"
		}
		names = append(names, name+")")
	}
	var b strings.Builder
	for _, n := range names {
		b.WriteString("//  " + n + "\n") // a list, as gofmt lays it out
	}
	return b.String()
}

// rollbackOrder lists the undo titles in the order Rollback restores.
func rollbackOrder(tbl stepTable) string {
	var b strings.Builder
	for i, s := range undoOrder(tbl) {
		b.WriteString(fmt.Sprintf("//  %d. %s\n", i+1, s.undo.title))
	}
	return b.String()
}

// wrap breaks text into lines of at most width runes (first line prefixed
// first, the rest rest), at spaces.
func wrap(first, rest, text string, width int) string {
	var b strings.Builder
	line := first
	empty := true
	for _, w := range strings.Fields(text) {
		if !empty && len([]rune(line))+1+len([]rune(w)) > width {
			b.WriteString(line + "\n")
			line, empty = rest, true
		}
		if empty {
			line += w
			empty = false
		} else {
			line += " " + w
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}
