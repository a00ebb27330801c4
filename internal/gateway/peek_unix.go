//go:build unix

package gateway

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// errCannotPeek: the connection is not a socket peekIdle can look at.
var errCannotPeek = errors.New("gateway: cannot look at the connection's socket")

// peekIdle looks at an idle connection's socket without reading from it or waiting
// (recv with MSG_PEEK|MSG_DONTWAIT; one system call): nil when nothing is there, io.EOF
// when the peer closed it, an error when it sent something (an idle peer should not) or
// the socket failed. Under TLS (or any wrapper with a NetConn method) it looks at the
// socket below: any record there, even one the TLS layer would have consumed quietly,
// counts as something sent.
func peekIdle(nc net.Conn) error {
	var sc syscall.Conn
	for sc == nil {
		switch c := nc.(type) {
		case syscall.Conn:
			sc = c
		case interface{ NetConn() net.Conn }: // *tls.Conn, readGuard
			nc = c.NetConn()
		default:
			return errCannotPeek
		}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return errCannotPeek
	}
	var n int
	var perr error
	var one [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		n, _, perr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	}); err != nil {
		return err
	}
	switch {
	case errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK):
		return nil
	case perr != nil:
		return perr
	case n == 0:
		return io.EOF
	default:
		return errors.New("gateway: an idle backend session sent something")
	}
}
