package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// The crash test's child is this test binary, switched into writer mode by these variables.
const (
	crashEnvPath  = "IAMDB_STORE_CRASH_CHILD_DB"
	crashEnvRound = "IAMDB_STORE_CRASH_CHILD_ROUND"
	crashWriters  = 4
)

// crashValue is what the child writes under key i of writer g in a round: deterministic, so
// the parent can check it, and of varying size, so commits span several pages.
func crashValue(key string, i int) []byte {
	return bytes.Repeat([]byte(key+";"), 1+i%97)
}

// TestCrash kills a process in the middle of concurrent writes, three times, and checks
// that every write it acknowledged survived, that every Update was all or nothing, and that
// the store reopens cleanly and takes new writes.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "iamdb.db")
	var acked []string // every key acknowledged, over all rounds
	for round := 1; round <= 3; round++ {
		keys := crashRound(t, path, round)
		acked = append(acked, keys...)
		verified := crashVerify(t, path, round, acked)
		t.Logf("round %d: %d writes acknowledged before SIGKILL; %d acknowledged writes (all rounds) verified", round, len(keys), verified)
	}
}

// crashRound runs one child, kills it after 1–2 s of writing, and returns the keys it
// acknowledged.
func crashRound(t *testing.T, path string, round int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvRound+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A line cut by the kill (no newline) was never fully written: not an ack.
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()

	var keys []string
	var kill <-chan time.Time // armed when the child is ready
	killed := false
	for lines != nil {
		select {
		case line, ok := <-lines:
			switch {
			case !ok:
				lines = nil
			case line == "ready":
				kill = time.After(time.Second + rand.N(time.Second))
			case strings.HasPrefix(line, "ack "):
				keys = append(keys, strings.TrimPrefix(line, "ack "))
			}
		case <-kill:
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
			kill = nil
		}
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("round %d: the child ended before it was killed (%v); stderr:\n%s", round, werr, stderr.String())
	}
	if len(keys) == 0 {
		t.Fatalf("round %d: the child acknowledged no write; stderr:\n%s", round, stderr.String())
	}
	return keys
}

// crashVerify reopens the store after a kill and checks it; it returns how many acknowledged
// keys it verified.
func crashVerify(t *testing.T, path string, round int, acked []string) int {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("round %d: Open after SIGKILL = %v", round, err)
	}
	defer s.Close()
	var check string
	if err := s.writer.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
	}
	verified := 0
	err = s.View(t.Context(), func(tx store.Tx) error {
		for _, key := range acked {
			it, err := tx.Get("crash", key)
			if err != nil {
				return fmt.Errorf("acknowledged %q: %w", key, err)
			}
			i, _ := strconv.Atoi(key[strings.LastIndexByte(key, '/')+1:])
			if !bytes.Equal(it.Value, crashValue(key, i)) {
				return fmt.Errorf("acknowledged %q: wrong value (%d bytes)", key, len(it.Value))
			}
			verified++
		}
		// Atomicity: each writer's counter moved in the same Update as its item, so the
		// items of a writer are exactly 0..counter, whatever the kill interrupted.
		for r := 1; r <= round; r++ {
			for g := range crashWriters {
				prefix := fmt.Sprintf("r%d/g%d/", r, g)
				items, err := tx.List("crash", prefix, "", 0)
				if err != nil {
					return err
				}
				n := -1
				if c, err := tx.Get("counter", prefix); err == nil {
					n, _ = strconv.Atoi(string(c.Value))
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if len(items) != n+1 {
					return fmt.Errorf("writer %s: %d items but counter %d: an Update was half applied", prefix, len(items), n)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("after", strconv.Itoa(round), []byte("ok"))
	})
	if err != nil {
		t.Fatalf("round %d: Update after reopen = %v", round, err)
	}
	if r, _ := s.Revision(t.Context()); r != rev+1 {
		t.Errorf("round %d: Revision() = %d after a write, want %d", round, r, rev+1)
	}
	return verified
}

// TestCrashChild is the writer that TestCrash kills: it does nothing unless started by it.
// Writers Update concurrently and print "ack KEY" only after Update returned nil.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnvPath)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	round, _ := strconv.Atoi(os.Getenv(crashEnvRound))
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // one write(2) per line, lines whole
	say := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := os.Stdout.WriteString(line + "\n"); err != nil {
			os.Exit(3)
		}
	}
	say("ready")
	deadline := time.Now().Add(20 * time.Second) // in case the parent is gone
	var wg sync.WaitGroup
	for g := range crashWriters {
		wg.Go(func() {
			prefix := fmt.Sprintf("r%d/g%d/", round, g)
			for i := 0; time.Now().Before(deadline); i++ {
				key := prefix + strconv.Itoa(i)
				err := s.Update(context.Background(), func(tx store.Tx) error {
					if err := tx.Create("crash", key, crashValue(key, i)); err != nil {
						return err
					}
					return tx.Put("counter", prefix, []byte(strconv.Itoa(i)))
				})
				if err != nil {
					fmt.Fprintf(os.Stderr, "Update(%s) = %v\n", key, err)
					os.Exit(2)
				}
				say("ack " + key)
			}
		})
	}
	wg.Wait()
	t.Fatal("not killed within 20s")
}
