//go:build unix

package gateway

import "syscall"

// fileLimit returns the soft limit of open file descriptors.
func fileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == ^uint64(0) {
		return 0, false
	}
	return uint64(rl.Cur), true
}
