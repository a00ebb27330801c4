package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/queryclient"
)

// verifyRemote asks the authority at endpoint whether tok would let user in, signing the
// request with the caller's own AWS credentials (the SDK's standard chain).
func verifyRemote(ctx context.Context, endpoint, profile, region, tok, user, host string, port int, stdout, stderr io.Writer) error {
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: profile, Region: region})
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	r, err := queryclient.VerifyDBAuthToken(ctx, creds, endpoint, tok, user, host, port)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n", r)
	if r.PrincipalARN != "" {
		fmt.Fprintf(stdout, "principal: %s\n", r.PrincipalARN)
	}
	if r.Decision != "" {
		fmt.Fprintf(stdout, "decision: %s", r.Decision)
		if r.DecidingPolicy != "" {
			fmt.Fprintf(stdout, " (policy %s, statement %s)", r.DecidingPolicy, r.DecidingStatement)
		}
		fmt.Fprintln(stdout)
	}
	if r.Valid && !r.Allowed() && strings.ContainsRune(r.Reason, ' ') {
		fmt.Fprintf(stdout, "reason: %s\n", r.Reason)
	}
	if !r.Allowed() {
		return exitCode(1)
	}
	return nil
}
