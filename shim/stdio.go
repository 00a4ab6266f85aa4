package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/fifo"
)

// ioDrainTimeout bounds how long closing a process's stdio waits for the
// output still buffered in its pipes to reach containerd's fifos. Output
// copying normally ends by itself when the last writer of a pipe exits;
// this bound only matters when a leftover process of the container still
// holds the pipe.
const ioDrainTimeout = 2 * time.Second

// stdioConfig is what containerd passes for a process's stdio: the path
// of a fifo (or a file:// URI) per stream, empty for none, and whether the
// process gets a terminal.
type stdioConfig struct {
	stdin, stdout, stderr string
	terminal              bool
}

// processIO connects a process's stdio to containerd's fifos. The process
// never holds the fifos themselves: it gets pipes (or the pty slave), and
// the shim copies between them and the fifos, so CloseIO can close the
// process's stdin and a client that goes away never blocks the process.
type processIO struct {
	cfg stdioConfig

	// forProcess are the files the runtime hands to the process as its
	// fds 0-2. The shim closes its copies once the process has started.
	forProcess [3]*os.File
	null       *os.File // /dev/null, for the streams containerd leaves empty

	stdinSource io.ReadCloser // containerd's stdin fifo
	stdinPipe   *os.File      // writes to the process's stdin
	outputs     []io.Closer   // containerd's stdout and stderr destinations
	copies      sync.WaitGroup

	// mu guards forProcess, outputs, console and closed once the process
	// has started.
	mu      sync.Mutex
	console *os.File // the pty master of a process with a terminal
	closed  bool
	// stdinOnce closes the stdin side once, from CloseIO or close.
	stdinOnce sync.Once
}

// newProcessIO opens the process's side of its stdio and containerd's
// destinations. Nothing is copied until started.
func newProcessIO(cfg stdioConfig) (pio *processIO, err error) {
	pio = &processIO{cfg: cfg}
	defer func() {
		if err != nil {
			pio.closeAll()
		}
	}()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	pio.null = null
	pio.outputs = append(pio.outputs, null)
	pio.forProcess = [3]*os.File{null, null, null}

	if cfg.stdin != "" {
		// O_NONBLOCK makes OpenFifo return at once and connect when the
		// client opens its end.
		src, err := fifo.OpenFifo(context.Background(), cfg.stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("open stdin fifo %s: %w", cfg.stdin, err)
		}
		pio.stdinSource = src
	}
	if cfg.terminal {
		// The runtime gives the process the pty slave; the output of both
		// streams arrives on the master.
		return pio, nil
	}
	if pio.stdinSource != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("create stdin pipe: %w", err)
		}
		pio.forProcess[0], pio.stdinPipe = r, w
	}
	for i, dest := range []string{cfg.stdout, cfg.stderr} {
		if dest == "" {
			continue
		}
		w, err := openDestination(dest)
		if err != nil {
			return nil, err
		}
		pio.outputs = append(pio.outputs, w)
		r, pw, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("create output pipe: %w", err)
		}
		pio.forProcess[i+1] = pw
		pio.copies.Add(1)
		go pio.copyOutput(w, r)
	}
	return pio, nil
}

// openDestination opens containerd's stdout or stderr: a fifo path, or a
// file:// URI whose file is appended to.
func openDestination(dest string) (io.WriteCloser, error) {
	u, err := url.Parse(dest)
	if err != nil {
		return nil, fmt.Errorf("parse stdio destination %q: %w", dest, err)
	}
	switch u.Scheme {
	case "", "fifo":
		path := dest
		if u.Scheme != "" {
			path = u.Path
		}
		w, err := fifo.OpenFifo(context.Background(), path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("open output fifo %s: %w", path, err)
		}
		return w, nil
	case "file":
		f, err := os.OpenFile(u.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("open output file: %w", err)
		}
		return f, nil
	default:
		// TODO: binary:// starts a logging program with the streams as
		// its fds 3 and 4; add it when a caller needs it.
		return nil, fmt.Errorf("stdio destination %q: scheme %q is not supported, "+
			"use a fifo path or a file:// URI: %w", dest, u.Scheme, errdefs.ErrNotImplemented)
	}
}

// copyOutput copies one output pipe to its destination until the last
// writer of the pipe is gone. When the destination fails (the client went
// away), the rest is read and dropped so that the process never blocks on
// a full pipe.
func (pio *processIO) copyOutput(dest io.Writer, src *os.File) {
	defer pio.copies.Done()
	defer src.Close()
	if _, err := io.Copy(dest, src); err != nil {
		io.Copy(io.Discard, src)
	}
	if c, ok := dest.(io.Closer); ok {
		// The client reads end-of-file only once every writer of its
		// fifo is closed, and waits for it before deleting the task.
		c.Close()
	}
}

// started closes the shim's copies of the process's stdio and, for a
// process with a terminal, starts copying between console and the fifos.
func (pio *processIO) started(console *os.File) error {
	pio.mu.Lock()
	for _, f := range pio.forProcess {
		// /dev/null stays open until closeAll, with the outputs.
		if f != nil && f != pio.null {
			f.Close()
		}
	}
	pio.forProcess = [3]*os.File{}
	pio.mu.Unlock()
	if pio.stdinSource != nil && !pio.cfg.terminal {
		go pio.copyStdin(pio.stdinPipe)
	}
	if !pio.cfg.terminal {
		return nil
	}
	if console == nil {
		return fmt.Errorf("connect terminal: the runtime returned no pty master")
	}
	pio.mu.Lock()
	pio.console = console
	pio.mu.Unlock()
	if pio.stdinSource != nil {
		go pio.copyStdin(console)
	}
	if pio.cfg.stdout != "" {
		w, err := openDestination(pio.cfg.stdout)
		if err != nil {
			return err
		}
		pio.mu.Lock()
		pio.outputs = append(pio.outputs, w)
		pio.mu.Unlock()
		pio.copies.Add(1)
		go pio.copyConsole(w, console)
	}
	return nil
}

// copyConsole copies the pty master to the stdout destination until the
// last holder of the slave closes it, which makes reads fail with EIO.
func (pio *processIO) copyConsole(dest io.WriteCloser, console *os.File) {
	defer pio.copies.Done()
	if _, err := io.Copy(dest, console); err != nil && !errors.Is(err, syscall.EIO) {
		io.Copy(io.Discard, console)
	}
	dest.Close()
}

// copyStdin copies containerd's stdin fifo to the process until the client
// closes its end, then closes the process's stdin (a pipe; for a terminal
// the master stays open for the output).
func (pio *processIO) copyStdin(dest io.Writer) {
	io.Copy(dest, pio.stdinSource)
	if !pio.cfg.terminal {
		pio.closeStdin()
	}
}

// closeStdin closes the process's stdin: the fifo, and the pipe so that
// the process reads end-of-file.
func (pio *processIO) closeStdin() {
	pio.stdinOnce.Do(func() {
		if pio.stdinSource != nil {
			pio.stdinSource.Close()
		}
		if pio.stdinPipe != nil {
			pio.stdinPipe.Close()
		}
	})
}

// consoleFile returns the pty master, nil for a process without a
// terminal.
func (pio *processIO) consoleFile() *os.File {
	pio.mu.Lock()
	defer pio.mu.Unlock()
	return pio.console
}

// close ends the stdio of a process that has exited: it closes stdin,
// gives the output copies ioDrainTimeout to finish and closes the rest.
func (pio *processIO) close() {
	pio.closeStdin()
	done := make(chan struct{})
	go func() {
		pio.copies.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(ioDrainTimeout):
	}
	pio.closeAll()
}

// closeAll closes every file the shim holds for the process.
func (pio *processIO) closeAll() {
	pio.closeStdin()
	pio.mu.Lock()
	defer pio.mu.Unlock()
	if pio.closed {
		return
	}
	pio.closed = true
	for _, f := range pio.forProcess {
		if f != nil && f != pio.null {
			f.Close()
		}
	}
	pio.forProcess = [3]*os.File{}
	for _, c := range pio.outputs {
		c.Close()
	}
	if pio.console != nil {
		pio.console.Close()
	}
}
