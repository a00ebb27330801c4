//go:build unix && !linux

package localdb

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}
