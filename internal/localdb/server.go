package localdb

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
)

// server is what every throwaway server has: its directory layout, its port, the OS
// user it runs as, its process and its lifecycle (lifecycle.go). Postgres and MariaDB
// embed it, and with it the accessors below, Stop and Restart.
type server struct {
	baseDir string
	dataDir string
	sockDir string
	tmpSock bool // sockDir is a separate directory to remove
	logFile string
	caFile  string
	port    int
	keep    bool
	run     runAs
	owner   *os.File // baseDir/owner.lock, locked while the server is ours (leftover.go)

	eng    engine      // the engine's steps: the Postgres or MariaDB embedding this
	spec   *engineSpec // the engine's names, files and signals
	onStop func()      // if not nil, called by Stop once the server has stopped

	mu      sync.Mutex // serialises Stop and Restart
	proc    *exec.Cmd
	exited  chan struct{} // closed when proc has exited
	stopped bool
}

// Host returns the address the server listens on, "127.0.0.1".
func (s *server) Host() string { return "127.0.0.1" }

// Port returns the server's TCP port.
func (s *server) Port() int { return s.port }

// Addr returns "127.0.0.1:PORT".
func (s *server) Addr() string { return net.JoinHostPort(s.Host(), strconv.Itoa(s.port)) }

// SocketDir returns the directory holding the server's unix socket.
func (s *server) SocketDir() string { return s.sockDir }

// DataDir returns the server's data directory.
func (s *server) DataDir() string { return s.dataDir }

// LogFile returns the path of the server log.
func (s *server) LogFile() string { return s.logFile }

// CAFile returns the path of the CA certificate (the server's CA for client
// certificates, and the root clients verify the server with).
func (s *server) CAFile() string { return s.caFile }

// removeDirs removes the server's directory and, if separate, its socket directory,
// and lets go of the directory.
func (s *server) removeDirs() error {
	err := os.RemoveAll(s.baseDir)
	if s.tmpSock {
		if e := os.RemoveAll(s.sockDir); err == nil {
			err = e
		}
	}
	s.release()
	if err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return nil
}

// keepDirs lets go of the directory but leaves it in place, without its owner.lock, so
// that RemoveLeftovers does not take it for the leftover of a crash.
func (s *server) keepDirs() {
	if s.owner != nil {
		os.Remove(filepath.Join(s.baseDir, ownerLockName))
	}
	s.release()
}

func (s *server) release() {
	if s.owner != nil {
		s.owner.Close()
		s.owner = nil
	}
}

// Dir returns the server's own directory (its data, log, keys and sockets), owned by
// the server's OS user and removed by Stop: a place for files only the server and its
// starter may read, such as native mode's PAM module and verifier socket.
func (s *server) Dir() string { return s.baseDir }
