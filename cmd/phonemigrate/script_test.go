package main

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers the phonemigrate command so that testscript scripts
// run it (the test binary re-executes itself as the command).
//
// Most tests here wait rather than compute (on phonemigrate and node
// processes, retry backoffs, fakes that hold requests), so by default up
// to 4×GOMAXPROCS of them run at once, not GOMAXPROCS; -parallel still
// decides when given.
//
// With $PHONEMIGRATE_TEST_HELD_CLOCK set (scripts set it for one command),
// the command's delivery canary measures its window on a clock that stands
// still at the command's start: the watch never ends by itself, so a
// script can interrupt it however busy the machine. With
// $PHONEMIGRATE_TEST_CUT_WHEN_HELD set, its per-attempt timeouts are on a
// clock the test holds (cut_test.go). With $PHONEMIGRATE_TEST_RELEASE_CLOCK
// set to a path, the canary's clock is the real one until a file exists
// at that path, then past the end of any window: a script gives apply a
// window longer than any run (its log entries surely fall in it) and ends
// it only once the canary has read what the script logged.
func TestMain(m *testing.M) {
	_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	testscript.Main(m, map[string]func(){
		"phonemigrate": func() {
			if os.Getenv(envHeldClock) != "" {
				start := time.Now()
				canaryClock = func() time.Time { return start }
			}
			if f := os.Getenv(envReleaseClock); f != "" {
				canaryClock = func() time.Time {
					if _, err := os.Stat(f); err == nil {
						return time.Now().Add(pastAnyWindow)
					}
					return time.Now()
				}
			}
			apiTransport = cutWhenHeldFromEnv()
			main()
		},
	})
}

// envHeldClock holds the canary's clock of the phonemigrate command of a
// script (see TestMain).
const envHeldClock = "PHONEMIGRATE_TEST_HELD_CLOCK"

// envReleaseClock ends the canary window of a script's phonemigrate
// command when the script says (see TestMain).
const envReleaseClock = "PHONEMIGRATE_TEST_RELEASE_CLOCK"

// pastAnyWindow is how far a released canary clock jumps (see TestMain).
const pastAnyWindow = 10 * 365 * 24 * time.Hour

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
