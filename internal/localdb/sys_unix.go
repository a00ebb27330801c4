//go:build unix

package localdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

var (
	sigQuit os.Signal = syscall.SIGQUIT
	sigTerm os.Signal = syscall.SIGTERM
)

// sysProcAttr runs a child as the server's OS user (dropping root's
// supplementary groups) and, where the platform can, has the kernel stop it
// with SIGQUIT (immediate shutdown) if the caller dies.
func (r runAs) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if r.switched {
		a.Credential = &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}}
	}
	setPdeathsig(a)
	return a
}

// checkSearchable reports an error if the server's OS user cannot reach dir
// (every ancestor needs search permission), which initdb would otherwise
// report obscurely. t.TempDir directories, for one, are 0700 root.
func (r runAs) checkSearchable(dir string) error {
	if !r.switched {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("localdb: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			m := fi.Mode().Perm()
			var okSearch bool
			switch {
			case int(st.Uid) == r.uid:
				okSearch = m&0o100 != 0
			case int(st.Gid) == r.gid:
				okSearch = m&0o010 != 0
			default:
				okSearch = m&0o001 != 0
			}
			if !okSearch {
				return fmt.Errorf("localdb: directory %s is not searchable by OS user %s (mode %v); choose another Dir in the options", d, r.name, m)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canLock is true: directories carry a flock(2)ed owner.lock (leftover.go).
const canLock = true

// tryLock takes an exclusive flock on f without waiting; ok is false if another open
// file holds one.
func tryLock(f *os.File) (ok bool, err error) {
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// processAlive reports whether a process pid exists and is not a zombie. The processes it
// is asked about are orphans, not this process's children: a zombie among them has exited
// and waits for an init that may be slow to reap it (or, in some sandboxes, never does).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !isZombie(pid)
}

// isZombie reports whether /proc says pid has exited and awaits reaping (state Z or X);
// false where there is no /proc.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S …": the state follows the last ')', comm may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}
