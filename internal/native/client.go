package native

import (
	"context"
	"fmt"
	"net"
)

// Ask sends req to the verifier listening on socket and returns its answer: the Go twin
// of the C module, for tests, iamdb doctor and benchmarks. ctx bounds the whole exchange
// (connect, write, read). An error means no answer: the module's PAM_AUTHINFO_UNAVAIL,
// a failure like a refusal.
func Ask(ctx context.Context, socket string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return Response{}, fmt.Errorf("native: ask: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := WriteRequest(c, req); err != nil {
		return Response{}, fmt.Errorf("native: ask: %w", err)
	}
	resp, err := ReadResponse(c)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Response{}, fmt.Errorf("native: ask: no answer: %w", err)
	}
	return resp, nil
}
