package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/iamdb/iamdb/internal/server"
)

const rotateUsage = `usage: iamdb rotate-master-key --config iamdb.toml --new-key-file PATH

Re-encrypts every secret in the store (access key secrets and MFA seeds) under a new
master key, in one transaction; secrets an earlier rotation left under a key in
previous_master_key_files are taken along too. Stop "iamdb serve" first (every replica on a shared store). PATH is created
with a random key (0600) unless it exists. Then set, in the config,
  master_key_file = "PATH"
  previous_master_key_files = ["<the old master_key_file>"]
and start serve again: session tokens sealed under the old key keep working until they
expire (at most 36 hours); after that, remove previous_master_key_files and destroy the old
key. Running it again with the same keys does nothing.
`

func runRotateMasterKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("iamdb rotate-master-key", rotateUsage, stderr)
	configFile := fs.String("config", "", "the config file of iamdb serve")
	newKeyFile := fs.String("new-key-file", "", "the new master key (created if missing)")
	if done, err := parseArgs(fs, args); done {
		return err
	}
	if fs.NArg() > 0 || *configFile == "" || *newKeyFile == "" {
		return usagef("rotate-master-key: --config and --new-key-file are required")
	}
	cfg, err := loadConfig(*configFile, os.Getenv, nil)
	if err != nil {
		return err
	}
	n, created, err := server.RotateMasterKey(ctx, &cfg, *newKeyFile, nil)
	if err != nil {
		return fmt.Errorf("rotate-master-key: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "created the new master key in %s\n", *newKeyFile)
	}
	fmt.Fprintf(stdout, "re-encrypted %d secrets (access keys and MFA seeds)\nnow set master_key_file = %q and previous_master_key_files = [%q], and start iamdb serve\n",
		n, *newKeyFile, cfg.Path(cfg.MasterKeyFile))
	return nil
}
