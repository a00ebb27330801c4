package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killChildEnv names the journal directory of TestKill9Child, the test binary re-executed
// by TestKill9; killSyncEnv its Sync mode ("interval" or "always").
const (
	killChildEnv = "IAMDB_AUDIT_KILL9_DIR"
	killSyncEnv  = "IAMDB_AUDIT_KILL9_SYNC"
)

// TestKill9 re-executes the test binary as a child that records events from 8 goroutines
// and prints each EventID once Record has returned; it SIGKILLs the child after a second
// of load, reopens the journal and finds every acknowledged event. In both Sync modes: a
// kill -9 leaves the page cache alone, so SyncInterval's written events survive it too.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 under load takes a few seconds")
	}
	for _, mode := range []Sync{SyncInterval, SyncAlways} {
		t.Run(mode.String(), func(t *testing.T) { testKill9(t, mode) })
	}
}

func testKill9(t *testing.T, mode Sync) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, killSyncEnv+"="+mode.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	var mu sync.Mutex
	first := make(chan struct{})
	read := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			l := sc.Text()
			if id, ok := strings.CutPrefix(l, "acked "); ok {
				mu.Lock()
				acked[id] = true
				mu.Unlock()
				once.Do(func() { close(first) })
			}
		}
		read <- sc.Err()
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the child acknowledged no event in 30s")
	}
	time.Sleep(time.Second) // a second of load
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-read // the pipe's last complete lines; a torn last line is no acknowledgement
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v, want killed", err)
	}

	j := open(t, dir, Options{})
	found := map[string]bool{}
	for _, e := range scanAll(t, j, time.Time{}) {
		if found[e.EventID] {
			t.Errorf("event %s twice", e.EventID)
		}
		found[e.EventID] = true
	}
	mu.Lock()
	defer mu.Unlock()
	lost := 0
	for id := range acked {
		if !found[id] {
			lost++
		}
	}
	t.Logf("kill -9: %d events acknowledged, %d in the journal after recovery, %d acknowledged ones lost", len(acked), len(found), lost)
	if lost > 0 {
		t.Errorf("%d of %d acknowledged events lost", lost, len(acked))
	}
	if len(acked) < 100 {
		t.Errorf("only %d events acknowledged in a second of load", len(acked))
	}
}

// TestKill9Child is TestKill9's child: it records until killed.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("run by TestKill9")
	}
	mode, err := ParseSync(os.Getenv(killSyncEnv))
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(dir, Options{Sync: mode})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := goldenEvent()
				e.EventID = ""
				e.EventName = fmt.Sprintf("W%dI%d", w, i)
				e.EventTime = Time{}
				if err := j.Record(context.Background(), e); err != nil {
					fmt.Fprintln(os.Stderr, "record:", err)
					return
				}
				// One write(2) per line: a line in the pipe is whole or absent.
				os.Stdout.WriteString("acked " + e.EventID + "\n")
			}
		})
	}
	wg.Wait()
}
