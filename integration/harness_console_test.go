package integration

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// consoleSocket is a unix socket that receives a pty master over
// SCM_RIGHTS, as `--console-socket` delivers it.
type consoleSocket struct {
	Path     string
	listener *net.UnixListener
}

// newConsoleSocket listens on a fresh socket. The socket lives in a short
// directory because sun_path holds at most 107 bytes and test temp
// directories carry the test name.
func newConsoleSocket(t testing.TB) *consoleSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "nrc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen on console socket %s: %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return &consoleSocket{Path: path, listener: l}
}

// receive accepts one connection and returns the file descriptor sent
// on it, failing the test if none arrives within stateTimeout.
func (c *consoleSocket) receive(t testing.TB) *os.File {
	t.Helper()
	if err := c.listener.SetDeadline(time.Now().Add(stateTimeout)); err != nil {
		t.Fatal(err)
	}
	conn, err := c.listener.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on console socket: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(stateTimeout)); err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read from console socket: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatalf("parse control message from console socket: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("control messages on console socket: got %d, want 1", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		t.Fatalf("parse SCM_RIGHTS from console socket: %v", err)
	}
	if len(fds) != 1 {
		t.Fatalf("fds on console socket: got %d, want 1", len(fds))
	}
	master := os.NewFile(uintptr(fds[0]), "pty-master")
	t.Cleanup(func() { master.Close() })
	return master
}
