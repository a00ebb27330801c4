package localdb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Leftovers. A server's directory holds its keys and data until Stop removes it. When the
// process that started the server dies without Stop (kill -9, a crash), the kernel stops
// the server (the parent-death signal, on Linux) but nothing removes the directory. So
// every directory carries owner.lock, on which the starting process holds an exclusive
// flock(2) for as long as the server is its own: the kernel lets go of it when the process
// dies, however it dies, and a reused pid cannot hold it. RemoveLeftovers removes the
// directories whose lock it can take.

// ownerLockName is the lock file in a server's directory. It also holds the owner's pid,
// for people.
const ownerLockName = "owner.lock"

// sockDirName is the file in a server's directory naming its separate socket directory,
// when the directory's path was too long for a unix socket.
const sockDirName = "socket-dir"

// Prefixes of the directories StartPostgres and StartMariaDB make, and of their separate
// socket directories.
const (
	pgDirPrefix       = "iamdb-pg-"
	mariaDBDirPrefix  = "iamdb-mariadb-"
	pgSockPrefix      = "pgs"
	mariaDBSockPrefix = "mys"
)

// lockDir creates dir/owner.lock already locked: it is locked under another name first,
// so that no one ever finds it unlocked while its owner lives.
func lockDir(dir string) (*os.File, error) {
	tmp := filepath.Join(dir, ownerLockName+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	if ok, err := tryLock(f); canLock && (err != nil || !ok) {
		f.Close()
		return nil, fmt.Errorf("localdb: lock %s: %v", tmp, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	if err := os.Rename(tmp, filepath.Join(dir, ownerLockName)); err != nil {
		f.Close()
		return nil, fmt.Errorf("localdb: %w", err)
	}
	return f, nil
}

// noteSockDir records in dir that the server's socket lives in sockDir.
func noteSockDir(dir, sockDir string) error {
	if err := os.WriteFile(filepath.Join(dir, sockDirName), []byte(sockDir), 0o600); err != nil {
		return fmt.Errorf("localdb: %w", err)
	}
	return nil
}

// RemoveLeftovers removes what servers started by processes that have died left behind in
// parent (the system temp dir if empty; PostgresOptions.Dir and MariaDBOptions.Dir name
// it): the iamdb-pg-* and iamdb-mariadb-* directories whose owner.lock no process holds,
// and their separate socket directories. A server still running in such a directory
// (where the platform has no parent-death signal, or one slow to stop) is stopped first,
// once its command line shows it is that directory's. Directories a live process owns,
// and those without owner.lock (kept with Keep, or made by a version without it), are
// left alone. It returns the directories it removed; an error names the ones it could
// not, after trying them all.
func RemoveLeftovers(parent string) ([]string, error) {
	if !canLock {
		return nil, nil
	}
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("localdb: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		spec := specOfDir(e.Name())
		if !e.IsDir() || spec == nil {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		ok, err := removeLeftover(dir, spec)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, dir)
		}
	}
	return removed, errors.Join(errs...)
}

// specOfDir returns the engine whose server directories are named like name, or nil.
func specOfDir(name string) *engineSpec {
	for _, spec := range engineSpecs {
		if strings.HasPrefix(name, spec.dirPrefix) {
			return spec
		}
	}
	return nil
}

// removeLeftover removes dir, a server directory of spec's engine, if its owner has died.
func removeLeftover(dir string, spec *engineSpec) (bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, ownerLockName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // kept, made by an older version, or gone meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("localdb: leftover %s: %w", dir, err)
	}
	defer f.Close()
	ok, err := tryLock(f)
	if err != nil {
		return false, fmt.Errorf("localdb: leftover %s: %w", dir, err)
	}
	if !ok {
		return false, nil // its owner lives
	}
	if err := stopOrphan(dir, spec); err != nil {
		return false, fmt.Errorf("localdb: leftover %s: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, sockDirName)); err == nil {
		sock := string(b)
		base := filepath.Base(sock)
		if filepath.IsAbs(sock) && strings.HasPrefix(base, spec.sockPrefix) {
			os.RemoveAll(sock)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("localdb: leftover %s: %w", dir, err)
	}
	return true, nil
}

// stopOrphan stops the servers still running in dir: processes whose command line names
// a path in dir (so a reused pid is left alone; a server shutting down may already have
// removed its pid file). They get spec.orphanSignal (PostgreSQL SIGQUIT, immediate
// shutdown: it stops its backends; MariaDB SIGKILL) and are killed if they linger.
// Without /proc, a live process named by the pid file cannot be told from a stranger:
// the directory is left.
func stopOrphan(dir string, spec *engineSpec) error {
	pids, err := processesIn(dir)
	if err != nil {
		f := filepath.Join(dir, spec.pidFile)
		b, err := os.ReadFile(f)
		if err != nil {
			return nil
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 1 && processAlive(pid) {
			return fmt.Errorf("process %d of %s is alive and cannot be identified", pid, f)
		}
		return nil
	}
	for _, pid := range pids {
		p, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		p.Signal(spec.orphanSignal)
		if !waitGone(pid, 5*time.Second) {
			p.Kill()
			if !waitGone(pid, 5*time.Second) {
				return fmt.Errorf("server process %d does not stop", pid)
			}
		}
	}
	return nil
}

// processesIn lists the server processes (postgres, mariadbd, mysqld) whose command line
// names a path under dir, from /proc: not a tail -f of the log.
func processesIn(dir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(dir+"/")) {
			continue
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		switch filepath.Base(string(argv0)) {
		case "postgres", "mariadbd", "mysqld":
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// waitGone polls until pid no longer exists (the orphan is not our child: nothing to reap).
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
