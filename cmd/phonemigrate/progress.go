package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// progress prints one line per state transition on stderr:
//
//	ok    planned -> action_deployed  (1.204s)
//	FAIL  action_deployed -> failed  (35ms)
//	note  action_deployed -> failed  (an earlier run stopped here; recorded before rolling back)
//
// Colour (green ok, red FAIL) only when stderr is a terminal; nothing at
// all with --quiet.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	quiet  bool
	colour bool
	steps  []phonemigrate.Transition
}

func newProgress(w io.Writer, quiet, colour bool) *progress {
	return &progress{w: w, quiet: quiet, colour: colour}
}

// observe is a phonemigrate.WithObserver callback.
func (p *progress) observe(t phonemigrate.Transition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append(p.steps, t)
	if p.quiet {
		return
	}
	mark, why := "ok  ", formatDuration(t.Duration)
	switch {
	case errors.Is(t.Err, phonemigrate.ErrInterrupted):
		// Rollback recording an earlier crash: bookkeeping, not a failure.
		mark, why = "note", "an earlier run stopped here; recorded before rolling back"
	case t.Err != nil || t.To == phonemigrate.StateFailed:
		mark = "FAIL"
	}
	if p.colour {
		switch mark {
		case "ok  ":
			mark = "\x1b[32mok\x1b[0m  "
		case "FAIL":
			mark = "\x1b[31mFAIL\x1b[0m"
		}
	}
	from := string(t.From)
	if from == "" {
		from = "-"
	}
	fmt.Fprintf(p.w, "  %s  %s -> %s  (%s)\n", mark, from, t.To, why)
}

// note prints a line of progress text unless quiet.
func (p *progress) note(format string, a ...any) {
	if p.quiet {
		return
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// jsonTransition is one step in --json output.
type jsonTransition struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Event      string `json:"event"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

func jsonSteps(ts []phonemigrate.Transition) []jsonTransition {
	out := make([]jsonTransition, 0, len(ts))
	for _, t := range ts {
		j := jsonTransition{From: string(t.From), To: string(t.To), Event: string(t.Event), DurationMS: t.Duration.Milliseconds()}
		if t.Err != nil {
			j.Error = t.Err.Error()
		}
		out = append(out, j)
	}
	return out
}
