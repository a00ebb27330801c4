//go:build !unix

package gateway

import (
	"errors"
	"net"
)

// errCannotPeek: the connection is not a socket peekIdle can look at.
var errCannotPeek = errors.New("gateway: cannot look at the connection's socket")

// peekIdle cannot look at sockets here: callers fall back to a round trip.
func peekIdle(net.Conn) error { return errCannotPeek }
