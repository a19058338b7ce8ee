package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// version is the release version; set with -ldflags "-X main.version=v1.2.3".
// When empty, the module version from the build info is used.
var version = ""

func runVersion(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("version")
	if err := c.parseFlags(fs, "version", args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "phonemigrate %s (%s)\n", versionString(), runtime.Version())
	return nil
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runDiagram(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("diagram")
	if err := c.parseFlags(fs, "diagram", args); err != nil {
		return err
	}
	d := phonemigrate.Diagram()
	fmt.Fprint(c.stdout, d)
	if len(d) > 0 && d[len(d)-1] != '\n' {
		fmt.Fprintln(c.stdout)
	}
	return nil
}

func runHelp(ctx context.Context, c *cli, args []string) error {
	switch len(args) {
	case 0:
		fmt.Fprint(c.stdout, mainUsage())
		return nil
	case 1:
		if args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			c.printCommandHelp(c.stdout, "help", nil)
			return nil
		}
		cmd, ok := findCommand(args[0])
		if !ok {
			return usageErrorf("unknown command %q; run 'phonemigrate help' for the list of commands", args[0])
		}
		// Every command prints its own help, flags included, on -h.
		err := cmd.run(ctx, c, []string{"-h"})
		if err == flag.ErrHelp {
			return nil
		}
		return err
	default:
		return usageErrorf("help takes at most one command name")
	}
}
