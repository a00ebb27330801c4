package main

// How the tests run iamdb's long-running subcommands (serve, dev): in-process through
// hooks.run, or as a child process (this test binary as TestIamdbHelperProcess) where a
// test needs its own environment, signals or SIGKILL.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/testenv"
)

// Limits of the subcommands the tests run: to get ready (the throwaway databases of dev
// included), and to drain and stop.
const (
	readyLimit = 2 * time.Minute
	stopLimit  = 40 * time.Second
)

// inProcess is an iamdb subcommand running in-process.
type inProcess struct {
	name         string // "iamdb serve", for messages
	stdout, logs *testenv.LogBuffer
	addr         string // what hooks.ready reported
	ready        chan string
	cancel       context.CancelFunc
	done         chan struct{}
	err          error // run's, once done is closed
}

// launch runs "iamdb ARGS" in-process with h, whose ready hook it sets.
func launch(h hooks, args ...string) *inProcess {
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{name: "iamdb " + args[0], stdout: &testenv.LogBuffer{}, logs: &testenv.LogBuffer{},
		ready: make(chan string, 1), cancel: cancel, done: make(chan struct{})}
	h.ready = func(addr string) { p.ready <- addr }
	go func() {
		defer close(p.done)
		p.err = h.run(ctx, args, p.stdout, p.logs)
	}()
	return p
}

// waitReady waits for the subcommand to get ready. It returns run's error if run returns
// first, and fails t if the subcommand is not ready within readyLimit.
func (p *inProcess) waitReady(t *testing.T) error {
	t.Helper()
	select {
	case p.addr = <-p.ready:
		return nil
	case <-p.done:
		p.cancel()
		if p.err == nil {
			return fmt.Errorf("%s stopped before it was ready", p.name)
		}
		return p.err
	case <-time.After(readyLimit):
		p.cancel()
		t.Fatalf("%s not ready after %v\nlog:\n%s", p.name, readyLimit, p.logs)
		return nil
	}
}

// stop ends run's context and returns run's error; it fails t if run does not return
// within stopLimit. It may be called again.
func (p *inProcess) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-time.After(stopLimit):
		t.Fatalf("%s did not stop within %v of its context's end", p.name, stopLimit)
		return nil
	}
}

// startInProcess runs "iamdb ARGS" in-process with h until the test ends, and waits until
// it is ready; the test fails if it stops with an error. On failure the test shows its log.
func startInProcess(t *testing.T, h hooks, args ...string) *inProcess {
	t.Helper()
	p := launch(h, args...)
	t.Cleanup(func() {
		if err := p.stop(t); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		if t.Failed() {
			t.Logf("%s's log:\n%s", p.name, p.logs)
		}
	})
	if err := p.waitReady(t); err != nil {
		t.Fatalf("%s stopped before it was ready: %v", p.name, err)
	}
	return p
}

// TestIamdbHelperProcess is not a test: the tests run the test binary with it as the
// "iamdb" command (see startChild), so that it gets its own environment like the AWS
// clients; SIGTERM and SIGINT stop the command cleanly.
func TestIamdbHelperProcess(t *testing.T) {
	if os.Getenv("IAMDB_TEST_HELPER_PROCESS") != "1" {
		t.Skip("the tests' iamdb subprocess")
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "TestIamdbHelperProcess: no -- before the arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// helperCommand is "iamdb ARGS" as a child process with env (and
// IAMDB_TEST_HELPER_PROCESS=1).
func helperCommand(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestIamdbHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append([]string(nil), env...), "IAMDB_TEST_HELPER_PROCESS=1")
	return cmd
}

// child is iamdb running as a child process.
type child struct {
	cmd    *exec.Cmd
	logs   testenv.LogBuffer // its standard error
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// startChild runs "iamdb ARGS" as a child process with env, and waits up to readyLimit for
// a line of its standard output that isReady accepts, which it returns.
func startChild(t *testing.T, env []string, isReady func(line string) bool, args ...string) (*child, string) {
	t.Helper()
	c := &child{cmd: helperCommand(env, args...), exited: make(chan struct{})}
	c.cmd.Stderr = &c.logs
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		defer close(c.exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if isReady(sc.Text()) {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}
		c.err = c.cmd.Wait()
	}()
	select {
	case line := <-ready:
		return c, line
	case <-c.exited:
		t.Fatalf("iamdb %s exited before it was ready: %v\n%s", args[0], c.err, c.logs.String())
	case <-time.After(readyLimit):
		c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("iamdb %s not ready after %v:\n%s", args[0], readyLimit, c.logs.String())
	}
	return nil, ""
}

// wait waits for the child to exit and returns cmd.Wait's error.
func (c *child) wait() error {
	<-c.exited
	return c.err
}

// stop sends sig and waits up to stopLimit for the child to exit, then kills it and fails
// t. It returns cmd.Wait's error.
func (c *child) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
		return c.err
	case <-time.After(stopLimit):
		c.cmd.Process.Kill()
		t.Errorf("iamdb did not stop within %v of %v", stopLimit, sig)
		return c.wait()
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond for up to 10 s and fails the test with its last detail if it never
// holds.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var detail string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if ok, detail = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: not within 10s; last: %s", what, detail)
}

// httpGet returns the status and body of a GET of url, or 0 and the error.
func httpGet(url string) (int, string) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
