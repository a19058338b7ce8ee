package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
)

func runExport(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("export")
	var (
		tf     tenantFlags
		log    logging
		format string
		out    string
		layout string
	)
	tf.register(fs)
	log.register(fs)
	fs.StringVar(&format, "format", "", "write code for `TOOL`: terraform (terraform-provider-auth0) or deploy-cli (auth0-deploy-cli)")
	fs.StringVar(&out, "out", "", "write the files into `DIR`, which must be absent or empty (default ./phonemigrate-TOOL)")
	fs.StringVar(&layout, "layout", "", "deploy-cli `LAYOUT`: yaml (one tenant.yaml, the default) or directory")
	if err := c.parseFlags(fs, "export", args, log.check); err != nil {
		return err
	}
	if format == "" {
		return usageErrorf("--format is required: terraform or deploy-cli")
	}
	f, err := iacexport.ParseFormat(format)
	if err != nil {
		return usageErrorf("--format %q is not one of terraform, deploy-cli", format)
	}
	if layout != "" && f != iacexport.FormatDeployCLI {
		return usageErrorf("--layout applies only to --format deploy-cli")
	}
	l, err := iacexport.ParseLayout(layout)
	if err != nil {
		return usageErrorf("--layout %q is not one of yaml, directory", layout)
	}
	if out == "" {
		out = "phonemigrate-" + string(f)
	}
	if err := checkOutDir(out); err != nil {
		return err
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	client, err := c.connect(ctx, tenant, log.logger(c.stderr))
	if err != nil {
		return err
	}
	files, err := iacexport.Export(ctx, client, iacexport.Options{Format: f, Layout: l})
	if err != nil {
		return err
	}
	if err := files.WriteDir(out); err != nil {
		if errors.Is(err, iacexport.ErrOutputExists) {
			return usageErrorf("--out %s is not empty; choose a new directory (nothing was written)", out)
		}
		return err
	}
	tool := map[iacexport.Format]string{iacexport.FormatTerraform: "Terraform (terraform-provider-auth0 >= 1.49)", iacexport.FormatDeployCLI: "auth0-deploy-cli (>= 8.44)"}[f]
	fmt.Fprintf(c.stdout, "Wrote the phone configuration of %s for %s to %s:\n", tenant.Name(), tool, out)
	for _, file := range files {
		fmt.Fprintf(c.stdout, "  %s\n", filepath.Join(out, filepath.FromSlash(file.Path)))
	}
	fmt.Fprintf(c.stdout, "Read %s first: it lists what to change in the configuration you already have. No secret value was written.\n", filepath.Join(out, iacexport.EditsFile))
	return nil
}

// checkOutDir refuses, before anything is read, an --out that exists and
// is not an empty directory.
func checkOutDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usageErrorf("--out %s: %v", dir, err)
	}
	if !st.IsDir() {
		return usageErrorf("--out %s is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return usageErrorf("--out %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return usageErrorf("--out %s is not empty; choose a new directory (nothing was written)", dir)
	}
	return nil
}
