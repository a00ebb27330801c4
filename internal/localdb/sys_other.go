//go:build !unix

package localdb

import (
	"errors"
	"os"
	"syscall"
)

var sigQuit, sigTerm = os.Kill, os.Kill

func (r runAs) sysProcAttr() *syscall.SysProcAttr { return nil }

func (r runAs) checkSearchable(string) error {
	if r.switched {
		return errors.New("localdb: cannot switch OS user on this platform")
	}
	return nil
}

// canLock is false: this platform has no flock(2). Directories are not locked, and
// RemoveLeftovers removes nothing.
const canLock = false

func tryLock(*os.File) (bool, error) { return false, nil }

func processAlive(int) bool { return true }
