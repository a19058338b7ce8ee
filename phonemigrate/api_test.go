package phonemigrate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// maxExported is the most package-level exported names phonemigrate may
// have (issue #27): delivery watching, snapshots, redaction and checkpoint
// files live in their own packages, and what no caller needs is unexported.
const maxExported = 120

// TestAPI pins the package-level exported names of phonemigrate (non-test
// files) in testdata/api.txt, so adding, removing or renaming one is a
// reviewed diff of that file. Rewrite it with `go test ./phonemigrate -run
// TestAPI -update`. A name without a doc comment is listed with
// "(undocumented)" and fails the test, and so do more than maxExported
// names.
func TestAPI(t *testing.T) {
	t.Parallel()
	api := exportedAPI(t, ".")
	if len(api) > maxExported {
		t.Errorf("phonemigrate exports %d package-level names, at most %d allowed: move or unexport one before adding one", len(api), maxExported)
	}
	for _, n := range api {
		if strings.HasSuffix(n, "(undocumented)") {
			t.Errorf("%s: every exported name needs a doc comment", strings.TrimSuffix(n, " (undocumented)"))
		}
	}
	got := strings.Join(api, "\n") + "\n"
	golden := filepath.Join("testdata", "api.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("exported API changed (-%s +now); if intended, rerun with -update and review the diff:\n%s", golden, diff)
	}
}

// exportedAPI lists "kind Name" for every package-level exported const, var,
// type and func declared in the non-test Go files of dir, sorted.
func exportedAPI(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, apiLine("func", d.Name.Name, d.Doc))
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, apiLine("type", s.Name.Name, firstDoc(s.Doc, s.Comment, d.Doc)))
						}
					case *ast.ValueSpec:
						for _, id := range s.Names {
							if id.IsExported() {
								names = append(names, apiLine(d.Tok.String(), id.Name, firstDoc(s.Doc, s.Comment, d.Doc)))
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

func firstDoc(docs ...*ast.CommentGroup) *ast.CommentGroup {
	for _, d := range docs {
		if d != nil && strings.TrimSpace(d.Text()) != "" {
			return d
		}
	}
	return nil
}

func apiLine(kind, name string, doc *ast.CommentGroup) string {
	if doc == nil || strings.TrimSpace(doc.Text()) == "" {
		return kind + " " + name + " (undocumented)"
	}
	return kind + " " + name
}
