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

// TestMariaDBOrphanStops: when the process that started a server dies
// without Stop, the kernel stops the server (Pdeathsig) rather than leaving
// it running.
func TestMariaDBOrphanStops(t *testing.T) {
	if os.Getenv("LOCALDB_MARIADB_ORPHAN_CHILD") == "1" {
		m, err := localdb.StartMariaDB(context.Background(), localdb.MariaDBOptions{CA: newCA(t)})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(m.PIDFile())
		select {} // wait to be killed
	}
	t.Parallel()
	if _, _, err := localdb.FindMariaDB(); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMariaDBOrphanStops$")
	cmd.Env = append(os.Environ(), "LOCALDB_MARIADB_ORPHAN_CHILD=1")
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
	pidFile := strings.TrimSpace(line)
	defer os.RemoveAll(filepath.Dir(pidFile))
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
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
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("mariadbd (pid %d) still running 20s after its parent died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
