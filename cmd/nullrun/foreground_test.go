package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/nullrun/nullrun/internal/linux"
	"golang.org/x/sys/unix"
)

func TestForwardable(t *testing.T) {
	tests := []struct {
		sig  unix.Signal
		want bool
	}{
		{unix.SIGTERM, true},
		{unix.SIGINT, true},
		{unix.SIGHUP, true},
		{unix.SIGUSR1, true},
		{unix.SIGTSTP, true},
		{unix.SIGCHLD, false},
		{unix.SIGWINCH, false},
		{unix.SIGURG, false},
	}
	for _, tt := range tests {
		if got := forwardable(tt.sig); got != tt.want {
			t.Errorf("forwardable(%v) = %v, want %v", tt.sig, got, tt.want)
		}
	}
}

// openPty returns a new pty pair, closed when the test ends.
func openPty(t *testing.T) (master, peer *os.File) {
	t.Helper()
	master, peer, err := linux.OpenPtyPair("/dev/ptmx")
	if err != nil {
		t.Skipf("needs a pty from /dev/ptmx: %v", err)
	}
	t.Cleanup(func() {
		master.Close()
		peer.Close()
	})
	return master, peer
}

func TestConsoleCopiesBothWays(t *testing.T) {
	master, peer := openPty(t)
	stdinReader, stdinWriter, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinReader.Close()
	defer stdinWriter.Close()
	var stdout bytes.Buffer

	cc, err := startConsole(master, stdinReader, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.close()

	if _, err := stdinWriter.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(peer).ReadString('\n')
	if err != nil {
		t.Fatalf("read container side: %v", err)
	}
	if line != "ping\n" {
		t.Errorf("container read %q, want %q", line, "ping\n")
	}

	if _, err := peer.Write([]byte("pong\n")); err != nil {
		t.Fatal(err)
	}
	// Closing the only peer fd ends the output copy with EIO.
	peer.Close()
	cc.waitOutput()
	// The pty echoes the input and maps \n to \r\n on output.
	if got := stdout.String(); !strings.Contains(got, "pong\r\n") {
		t.Errorf("stdout = %q, want it to contain %q", got, "pong\r\n")
	}
}

func TestConsoleRawModeRestored(t *testing.T) {
	master, _ := openPty(t)
	// The peer of a second pty is the user's terminal on stdin.
	_, userTerminal := openPty(t)
	want := unix.Winsize{Row: 40, Col: 132}
	if err := linux.SetWinsize(userTerminal, &want); err != nil {
		t.Fatal(err)
	}
	before, err := linux.GetTermios(userTerminal)
	if err != nil {
		t.Fatal(err)
	}

	cc, err := startConsole(master, userTerminal, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := linux.GetTermios(userTerminal)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("stdin Lflag = %#x while running, want ICANON, ECHO and ISIG clear", raw.Lflag)
	}
	got, err := linux.GetWinsize(master)
	if err != nil {
		t.Fatal(err)
	}
	if got.Row != want.Row || got.Col != want.Col {
		t.Errorf("container window = %dx%d, want %dx%d", got.Row, got.Col, want.Row, want.Col)
	}

	cc.close()
	after, err := linux.GetTermios(userTerminal)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("stdin flags after close = %+v, want the original %+v", *after, *before)
	}
}
