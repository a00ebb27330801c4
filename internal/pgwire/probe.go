package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ErrProbeNoTLS is returned by ProbeTLS when the server answers an SSLRequest with 'N'.
var ErrProbeNoTLS = errors.New("pgwire: the server does not offer TLS")

// ProbeTLS is the client side of a PostgreSQL TLS negotiation, for diagnostics such as
// "iamdb doctor": it sends an SSLRequest over c, reads the one-byte answer ('S' or 'N';
// ErrProbeNoTLS for 'N') and performs the TLS handshake with conf. The deadline of ctx, if
// any, bounds every read and write on c; the caller closes c (or the returned conn, which
// owns it). Nothing is sent after the handshake: the server sees a client that went away.
func ProbeTLS(ctx context.Context, c net.Conn, conf *tls.Config) (*tls.Conn, error) {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
		defer c.SetDeadline(time.Time{})
	}
	if _, err := c.Write(AppendSSLRequest(nil)); err != nil {
		return nil, fmt.Errorf("pgwire: sending SSLRequest: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return nil, fmt.Errorf("pgwire: reading the SSLRequest answer: %w", err)
	}
	switch b[0] {
	case 'S':
	case 'N':
		return nil, ErrProbeNoTLS
	default:
		return nil, fmt.Errorf("pgwire: SSLRequest answered with %q, not S or N: not a PostgreSQL server?", b[0])
	}
	tc := tls.Client(c, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
