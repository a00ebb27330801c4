package localdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/pki"
)

// The one lifecycle of both servers. StartPostgres and StartMariaDB check their options
// and find their binaries; launch then does the rest the same way for both: a new
// directory locked by its owner (leftover.go), a socket directory short enough, the TLS
// files, the engine's initialisation, a free port and the start (again on another port
// if a process took it first), readiness, the engine's setup SQL, and on any failure the
// server killed and its directories removed. Stop and Restart are the same for both; what
// differs is an engineSpec (names, signals, files) and the engine's steps.

// engine is the steps of the lifecycle that differ between PostgreSQL and MariaDB. Each
// runs with the server not yet shared, or with server.mu held.
type engine interface {
	// initialize creates the data directory (initdb, mariadb-install-db) and the
	// configuration that does not depend on the port.
	initialize(ctx context.Context) error
	// configure writes the configuration for server.port, before each first start.
	configure() error
	// command returns the server process to start.
	command() *exec.Cmd
	// ping logs in over the unix socket, for readiness.
	ping(ctx context.Context) error
	// setup prepares the running server after its first start (rdsiam's SQL, databases).
	setup(ctx context.Context) error
}

// engineSpec is what differs between the engines as data.
type engineSpec struct {
	name         string      // the server binary, in messages
	options      string      // the options type, in messages
	reservedPort int         // the machine's own instance's port, refused
	dirPrefix    string      // of the server's directory
	sockPrefix   string      // of its separate socket directory, if any
	sockName     string      // the longest name of its unix socket
	logName      string      // its log, in its directory
	pidFile      string      // its pid file, relative to its directory (leftover.go)
	env          []string    // the environment of its processes
	errExited    error       // it exited during startup
	stopSignal   os.Signal   // asks for a clean shutdown
	killSignals  []os.Signal // stop it now, in turn, 5s apart
	orphanSignal os.Signal   // stops a leftover server (leftover.go)
}

var postgresSpec = engineSpec{
	name:         "postgres",
	options:      "PostgresOptions",
	reservedPort: 5432,
	dirPrefix:    pgDirPrefix,
	sockPrefix:   pgSockPrefix,
	sockName:     ".s.PGSQL.65535",
	logName:      "postgres.log",
	pidFile:      filepath.Join("data", "postmaster.pid"),
	env:          []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"},
	errExited:    errExited,
	stopSignal:   os.Interrupt,                  // fast shutdown
	killSignals:  []os.Signal{sigQuit, os.Kill}, // immediate shutdown, then kill
	orphanSignal: sigQuit,
}

var mariaDBSpec = engineSpec{
	name:         "mariadbd",
	options:      "MariaDBOptions",
	reservedPort: 3306,
	dirPrefix:    mariaDBDirPrefix,
	sockPrefix:   mariaDBSockPrefix,
	sockName:     mariadbSockName,
	logName:      "mariadb.log",
	pidFile:      "mariadbd.pid",
	env:          []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"},
	errExited:    errMariaDBExited,
	stopSignal:   sigTerm, // a clean shutdown that flushes InnoDB
	// InnoDB recovers on the next start, but the directory is about to be removed anyway.
	killSignals:  []os.Signal{os.Kill},
	orphanSignal: os.Kill,
}

// engineSpecs are the engines, for RemoveLeftovers.
var engineSpecs = []*engineSpec{&postgresSpec, &mariaDBSpec}

var (
	errExited        = errors.New("localdb: postgres exited during startup")
	errMariaDBExited = errors.New("localdb: mariadbd exited during startup")
)

// launchOptions are the options both engines share, defaults applied.
type launchOptions struct {
	ca   *pki.CA
	dir  string
	port int
	keep bool
	run  runAs
}

// checkOptions checks the options both engines share.
func checkOptions(spec *engineSpec, ca *pki.CA, port int) error {
	switch {
	case ca == nil:
		return fmt.Errorf("localdb: %s.CA is nil", spec.options)
	case port == spec.reservedPort:
		return fmt.Errorf("localdb: port %d belongs to the machine's instance", port)
	case port < 0 || port > 65535:
		return fmt.Errorf("localdb: bad port %d", port)
	}
	return nil
}

// launch starts a new server of eng (which embeds s) as described above, and returns once
// it accepts connections and is set up. On failure nothing is left behind.
func (s *server) launch(ctx context.Context, eng engine, spec *engineSpec, o launchOptions) (err error) {
	s.eng, s.spec, s.run, s.keep = eng, spec, o.run, o.keep
	defer func() {
		if err != nil {
			s.kill()
			s.removeDirs()
		}
	}()
	if err := s.makeDirs(o.dir); err != nil {
		return err
	}
	if err := writeServerTLS(o.ca, s.baseDir, s.caFile, s.run); err != nil {
		return err
	}
	if err := eng.initialize(ctx); err != nil {
		return err
	}
	if err := s.startOnFreePort(ctx, o.port); err != nil {
		return err
	}
	return eng.setup(ctx)
}

// makeDirs creates the server's directory in parent (the system temp dir if empty),
// locked and owned by the server's OS user, and a separate socket directory if the
// socket's path would be too long.
func (s *server) makeDirs(parent string) error {
	if parent == "" {
		parent = os.TempDir()
	}
	base, err := os.MkdirTemp(parent, s.spec.dirPrefix)
	if err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	if base, err = filepath.Abs(base); err != nil {
		os.RemoveAll(base)
		return fmt.Errorf("localdb: %w", err)
	}
	s.baseDir, s.dataDir, s.sockDir = base, filepath.Join(base, "data"), base
	s.logFile, s.caFile = filepath.Join(base, s.spec.logName), filepath.Join(base, "ca.crt")
	if s.owner, err = lockDir(base); err != nil {
		return err
	}
	if err := s.run.own(base); err != nil {
		return err
	}
	if err := s.run.checkSearchable(base); err != nil {
		return err
	}
	// A unix socket path is limited to about 107 bytes.
	if len(s.sockDir)+len("/"+s.spec.sockName) <= 100 {
		return nil
	}
	d, err := os.MkdirTemp("", s.spec.sockPrefix)
	if err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	s.sockDir, s.tmpSock = d, true
	if err := noteSockDir(base, d); err != nil {
		return err
	}
	return s.run.own(d)
}

// startOnFreePort starts the server on port, or if zero on a free one, trying another
// when a process takes it between our probe and the server's bind.
func (s *server) startOnFreePort(ctx context.Context, port int) error {
	for attempt := 0; ; attempt++ {
		s.port = port
		if s.port == 0 {
			var err error
			if s.port, err = freePort(); err != nil {
				return err
			}
		}
		if err := s.eng.configure(); err != nil {
			return err
		}
		var logSize int64
		if fi, err := os.Stat(s.logFile); err == nil {
			logSize = fi.Size()
		}
		err := s.start(ctx)
		if err == nil {
			return nil
		}
		if port == 0 && attempt < 5 && errors.Is(err, s.spec.errExited) &&
			strings.Contains(s.logSince(logSize), "Address already in use") {
			continue
		}
		return err
	}
}

// prepare sets up cmd, one of the engine's programs, to run as the server's OS user in
// its directory, writing to logf.
func (s *server) prepare(cmd *exec.Cmd, logf *os.File) {
	cmd.Dir = s.baseDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = s.spec.env
	cmd.SysProcAttr = s.run.sysProcAttr()
}

// start runs the server and waits until it accepts connections.
func (s *server) start(ctx context.Context) error {
	logf, err := openLog(s.logFile, s.run)
	if err != nil {
		return err
	}
	cmd := s.eng.command()
	s.prepare(cmd, logf)
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("localdb: start %s: %w", s.spec.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.proc, s.exited = cmd, exited
	if err := s.waitReady(ctx); err != nil {
		if !errors.Is(err, s.spec.errExited) {
			s.kill()
		}
		s.proc = nil
		return fmt.Errorf("%w\n%s", err, logTail(s.logFile))
	}
	return nil
}

// waitReady polls the unix socket until a login succeeds, the server exits, or ctx ends.
func (s *server) waitReady(ctx context.Context) error {
	delay := 5 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.eng.ping(actx)
		cancel()
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-s.exited:
			t.Stop()
			return fmt.Errorf("%w: %s", s.spec.errExited, s.proc.ProcessState)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("localdb: %s not ready: %w (last error: %v)", s.spec.name, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// kill stops the server now (the engine's kill signals) and waits.
func (s *server) kill() {
	if s.proc == nil {
		return
	}
	s.escalate()
	s.proc = nil
}

// escalate sends the engine's kill signals in turn, each but the last given 5s, until the
// server exits.
func (s *server) escalate() {
	for i, sig := range s.spec.killSignals {
		s.proc.Process.Signal(sig)
		if i == len(s.spec.killSignals)-1 {
			break
		}
		t := time.NewTimer(5 * time.Second)
		select {
		case <-s.exited:
			t.Stop()
			return
		case <-t.C:
		}
	}
	<-s.exited
}

// stop shuts the server down (the engine's stop signal), and kills it if it has not
// exited when ctx ends or, if ctx has no deadline, after 30s.
func (s *server) stop(ctx context.Context) {
	if s.proc == nil {
		return
	}
	s.proc.Process.Signal(s.spec.stopSignal)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
		s.proc = nil
		return
	case <-ctx.Done():
	case <-t.C:
	}
	s.kill()
}

// Stop shuts the server down (cleanly; at once if ctx ends first) and removes its
// directory unless Keep was set. It is idempotent.
func (s *server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.stop(ctx)
	if s.onStop != nil {
		s.onStop()
	}
	if s.keep {
		s.keepDirs()
		return nil
	}
	return s.removeDirs()
}

// Restart stops the server (cleanly) and starts it again on the same data directory and
// port.
func (s *server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("localdb: restart after stop")
	}
	s.stop(ctx)
	return s.start(ctx)
}

// logSince returns what the server log gained after its first off bytes.
func (s *server) logSince(off int64) string {
	b, err := os.ReadFile(s.logFile)
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// openLog opens name for appending, creating it 0600 and owned by run.
func openLog(name string, run runAs) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	if err := run.own(name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// logTail returns the last few KiB of the log file name, for errors.
func logTail(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const max = 4096
	if len(b) > max {
		b = b[len(b)-max:]
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "server log " + name + ":\n" + strings.TrimRight(string(b), "\n")
}
