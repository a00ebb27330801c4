//go:build linux

package localdb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
)

// TestOrphanStops: when the process that started a cluster dies without
// Stop, the kernel stops the server (Pdeathsig) rather than leaving it
// running.
func TestOrphanStops(t *testing.T) {
	if os.Getenv("LOCALDB_ORPHAN_CHILD") == "1" {
		p, err := localdb.StartPostgres(context.Background(), localdb.PostgresOptions{CA: newCA(t)})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.DataDir())
		select {} // wait to be killed
	}
	t.Parallel()
	if _, err := localdb.FindPostgres(); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanStops$")
	cmd.Env = append(os.Environ(), "LOCALDB_ORPHAN_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "/") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	dataDir := strings.TrimSpace(line)
	defer os.RemoveAll(filepath.Dir(dataDir))
	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Signal 0 probes; the server is not our child, so there is no
		// zombie to reap.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGQUIT)
			t.Fatalf("postgres (pid %d) still running 20s after its parent died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
