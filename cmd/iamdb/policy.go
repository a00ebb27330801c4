package main

import (
	"context"
	"io"
)

// runPolicy implements "iamdb policy validate|simulate". Placeholder until the policy engine
// lands; replaced wholesale by the policy work.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usagef("policy: not built yet")
}
