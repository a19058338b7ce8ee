package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// actionOutput is the --json output of action. Secrets lists the Action
// secret names only; their values are never printed.
type actionOutput struct {
	Name         string                 `json:"name"`
	Runtime      string                 `json:"runtime"`
	Trigger      string                 `json:"trigger"`
	Secrets      []string               `json:"secrets"`
	Dependencies []actiongen.Dependency `json:"dependencies"`
	Code         string                 `json:"code"`
}

func runAction(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("action")
	var (
		file    string
		name    string
		jsonOut bool
	)
	fs.StringVar(&file, "options", "", "legacy connection options as JSON, from `FILE` ('-' for stdin); a whole connection object is accepted too")
	fs.StringVar(&name, "name", actiongen.DefaultName, "the Action's `NAME`")
	fs.BoolVar(&jsonOut, "json", false, "print name, runtime, secret names and code as JSON (schema in docs/cli.md)")
	if err := c.parseFlags(fs, "action", args); err != nil {
		return err
	}
	if file == "" {
		return usageErrorf("--options FILE is required (the options JSON of a legacy Passwordless SMS connection)")
	}
	var (
		data []byte
		err  error
	)
	if file == "-" {
		data, err = io.ReadAll(c.stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usageErrorf("cannot read --options %s: %v", file, err)
	}
	opts, err := decodeConnectionOptions(data)
	if err != nil {
		return usageErrorf("--options %s: %v", file, err)
	}
	gw, err := actiongen.GatewayFromOptions(opts)
	if errors.Is(err, actiongen.ErrNotGateway) {
		return usageErrorf("--options %s does not describe a custom SMS gateway (options.provider is not \"sms_gateway\"); a Twilio connection needs no Action, use 'apply --provider twilio'", file)
	}
	if err != nil {
		return usageErrorf("--options %s: %s", file, strings.TrimPrefix(err.Error(), "actiongen: "))
	}
	act, err := actiongen.Generate(actiongen.Spec{Name: name, Default: actiongen.Target{Gateway: gw}})
	if err != nil {
		return usageErrorf("%s", strings.TrimPrefix(err.Error(), "actiongen: "))
	}
	out := actionOutput{
		Name:         act.Name,
		Runtime:      act.Runtime,
		Trigger:      "custom-phone-provider",
		Secrets:      []string{},
		Dependencies: act.Dependencies,
		Code:         act.Code,
	}
	for _, s := range act.Secrets {
		out.Secrets = append(out.Secrets, s.Name)
	}
	if out.Dependencies == nil {
		out.Dependencies = []actiongen.Dependency{}
	}
	if jsonOut {
		return c.writeJSON(out)
	}
	fmt.Fprintf(c.stderr, "Action %q (runtime %s, trigger custom-phone-provider); its secrets, whose values are not shown: %s.\n",
		out.Name, out.Runtime, strings.Join(out.Secrets, ", "))
	fmt.Fprint(c.stdout, out.Code)
	if !strings.HasSuffix(out.Code, "\n") {
		fmt.Fprintln(c.stdout)
	}
	return nil
}

// decodeConnectionOptions reads a connection's options map from JSON: either
// the options object itself, or a whole connection ({"strategy": "sms",
// "options": {...}}) as GET /api/v2/connections/{id} returns it.
func decodeConnectionOptions(data []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		var (
			se *json.SyntaxError
			te *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
		case errors.As(err, &te):
			return nil, errors.New("not a JSON object")
		}
		return nil, errors.New("not valid JSON (truncated)")
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if inner, ok := m["options"].(map[string]any); ok {
		if _, isOptions := m["provider"]; !isOptions {
			return inner, nil
		}
	}
	return m, nil
}
