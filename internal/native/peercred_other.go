//go:build !linux

package native

import (
	"errors"
	"net"
)

// peerCred is Linux's SO_PEERCRED; elsewhere every peer is refused.
func peerCred(*net.UnixConn) (uint32, int32, error) {
	return 0, 0, errors.New("native: peer credentials are only supported on Linux")
}
