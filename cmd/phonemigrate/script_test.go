package main

import (
	"flag"
	"runtime"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers the phonemigrate command so that testscript scripts
// run it (the test binary re-executes itself as the command).
//
// Most tests here wait rather than compute (on phonemigrate and node
// processes, retry backoffs, fakes that hold requests), so by default up
// to 4×GOMAXPROCS of them run at once, not GOMAXPROCS; -parallel still
// decides when given.
func TestMain(m *testing.M) {
	_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	testscript.Main(m, map[string]func(){
		"phonemigrate": main,
	})
}

// TestScripts runs the end-to-end scripts in testdata/script. Each script
// can start fake tenants and inspect them with the commands in
// scriptCommands. Run with -update to rewrite cmp'd golden sections.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup:               scriptSetup,
		Cmds:                scriptCommands(),
	})
}
