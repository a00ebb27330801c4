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

// tryLock cannot lock on this platform: every directory counts as owned, and
// RemoveLeftovers removes nothing.
func tryLock(*os.File) (bool, error) { return false, nil }

func processAlive(int) bool { return true }
