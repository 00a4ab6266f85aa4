package main

import (
	"io"
	"os"
	"os/signal"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// runForeground creates and starts the container as a child of this
// process with this process's stdio, forwards signals to its init until the
// init exits, deletes the container unless keep is set, and returns the
// init's exit status.
func runForeground(rt *runtime.Runtime, id string, opts runtime.CreateOptions, keep bool) (int, error) {
	// Subscribe before Create so a signal that arrives while the container
	// is being set up is queued and forwarded once it runs, not lost.
	signals := make(chan os.Signal, 128)
	signal.Notify(signals)
	defer signal.Stop(signals)

	opts.Foreground = true
	opts.Stdin, opts.Stdout, opts.Stderr = os.Stdin, os.Stdout, os.Stderr
	c, err := rt.Create(id, opts)
	if err != nil {
		return -1, err
	}

	var console *consoleCopier
	if master := c.Console(); master != nil {
		if console, err = startConsole(master, os.Stdin, os.Stdout); err != nil {
			_ = c.Delete(true)
			return -1, err
		}
		// Restores the terminal on every return path below.
		defer console.close()
	}

	if err := c.Start(); err != nil {
		_ = c.Delete(true)
		return -1, err
	}

	status, err := waitForwarding(c, id, signals, console)
	if err != nil {
		_ = c.Delete(true)
		return -1, err
	}
	if console != nil {
		console.waitOutput()
	}
	if !keep {
		// force also kills processes that outlived the init, which only
		// happens in a container without its own PID namespace.
		if err := c.Delete(true); err != nil {
			return -1, err
		}
	}
	return status, nil
}

// waitForwarding waits for the init to exit while sending it every signal
// this process receives, except those that concern this process only.
func waitForwarding(c *runtime.Container, id string, signals <-chan os.Signal, console *consoleCopier) (int, error) {
	signal := func(sig unix.Signal) error { return c.Signal(sig, false) }
	return forwardUntilExit(c.Wait, signal, "container "+id, signals, console)
}

// forwardUntilExit calls wait while passing every signal this process
// receives to the process through signal, except those that concern this
// process only; SIGWINCH resizes the console instead.
func forwardUntilExit(wait func() (int, error), signal func(unix.Signal) error, what string,
	signals <-chan os.Signal, console *consoleCopier) (int, error) {
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, err := wait()
		done <- result{status, err}
	}()

	for {
		select {
		case r := <-done:
			return r.status, r.err
		case s := <-signals:
			sig, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			if sig == unix.SIGWINCH {
				if console != nil {
					console.resize()
				}
				continue
			}
			if !forwardable(sig) {
				continue
			}
			if err := signal(sig); err != nil {
				// The process may have exited between the signal and now.
				logrus.Debugf("forward %v to %s: %v", sig, what, err)
			}
		}
	}
}

// forwardable reports whether run passes sig on to the container's init.
// SIGCHLD reports this process's own children, SIGWINCH becomes a window
// size update of the container's terminal, and SIGURG is the Go runtime's
// goroutine preemption signal.
func forwardable(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGWINCH, unix.SIGURG:
		return false
	}
	return true
}

// consoleCopier connects this process's stdin and stdout to the pty master
// of a foreground container.
type consoleCopier struct {
	master *os.File
	stdin  *os.File
	// saved holds stdin's terminal attributes from before raw mode, nil
	// when stdin is not a terminal.
	saved *unix.Termios
	// outputDone is closed when the container side of the pty has closed.
	outputDone chan struct{}
}

// startConsole puts stdin in raw mode when it is a terminal, so keys such
// as ^C reach the container's terminal instead of signalling this process,
// copies the window size, and starts copying stdin to master and master to
// stdout.
func startConsole(master, stdin *os.File, stdout io.Writer) (*consoleCopier, error) {
	cc := &consoleCopier{master: master, stdin: stdin, outputDone: make(chan struct{})}
	if linux.IsTerminal(stdin) {
		saved, err := linux.MakeRaw(stdin)
		if err != nil {
			return nil, err
		}
		cc.saved = saved
		cc.resize()
	}

	// The input copy ends only when stdin does; nothing waits for it.
	go func() { _, _ = io.Copy(master, stdin) }()
	go func() {
		// Reads on the master fail with EIO once every peer fd is closed,
		// which ends the copy after the container's last output.
		_, _ = io.Copy(stdout, master)
		close(cc.outputDone)
	}()
	return cc, nil
}

// resize copies stdin's window size to the container's terminal.
func (cc *consoleCopier) resize() {
	if cc.saved == nil {
		return
	}
	ws, err := linux.GetWinsize(cc.stdin)
	if err == nil {
		err = linux.SetWinsize(cc.master, ws)
	}
	if err != nil {
		logrus.Debugf("copy window size to container terminal: %v", err)
	}
}

// waitOutput waits until the container's output has been copied.
//
// NOTE: a process that outlives the init and keeps the pty peer open (only
// possible without a PID namespace) makes this wait until it exits.
func (cc *consoleCopier) waitOutput() {
	<-cc.outputDone
}

// close restores stdin's terminal attributes.
func (cc *consoleCopier) close() {
	if cc.saved != nil {
		if err := linux.SetTermios(cc.stdin, cc.saved); err != nil {
			logrus.Warnf("restore terminal attributes: %v", err)
		}
	}
}
