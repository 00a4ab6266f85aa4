package integration

import (
	"io"
	"strings"
	"testing"
)

func TestTerminalConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("tty; test -t 0 && test -t 1 && echo on-a-tty")...)
	b.Spec.Process.Terminal = true
	console := newConsoleSocket(t)

	// create blocks until the master is sent, so it runs while the test
	// accepts the connection.
	type created struct {
		id  string
		res result
	}
	done := make(chan created, 1)
	b.write(t)
	id := r.newID()
	go func() {
		res := r.run("create", "--bundle", b.Dir, "--console-socket", console.Path, id)
		done <- created{id, res}
	}()
	master := console.receive(t)
	if c := <-done; c.res.Code != 0 {
		t.Fatalf("create with --console-socket: %s", c.res)
	}
	r.mustRun("start", id)

	// Reading the master ends with EIO once the container closes the
	// last slave fd, so the read error is expected.
	output := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(master)
		output <- string(data)
	}()
	r.waitStatus(id, "stopped")
	got := <-output
	if !strings.Contains(got, "/dev/pts/0") {
		t.Errorf("tty output: got %q, want /dev/pts/0", got)
	}
	if !strings.Contains(got, "on-a-tty") {
		t.Errorf("tty output: got %q, want on-a-tty", got)
	}
}
