package shim

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// processStatus is where a process is in its lifecycle. The only
// transitions are created → running → stopped → deleted, and created →
// deleted for a process that was never started (or an init that was
// killed before Start).
type processStatus int

const (
	// statusCreated: an init created but not started, or an exec that
	// was added but not started.
	statusCreated processStatus = iota
	// statusRunning: started, not reaped yet.
	statusRunning
	// statusStopped: reaped, exit status known.
	statusStopped
	// statusDeleted: removed by Delete; no further calls are accepted.
	statusDeleted
)

func (s processStatus) String() string {
	switch s {
	case statusCreated:
		return "created"
	case statusRunning:
		return "running"
	case statusStopped:
		return "stopped"
	case statusDeleted:
		return "deleted"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// process is the init or one exec of a task.
type process struct {
	// id is the exec ID, or the container ID for the init, as containerd
	// names processes in its events.
	id     string
	execID string // empty for the init
	stdio  stdioConfig
	spec   *specs.Process // the exec's process; nil for the init

	// exited is closed when the process has stopped (or was deleted
	// without having run).
	exited chan struct{}

	// mu guards the fields below.
	mu         sync.Mutex
	status     processStatus
	pid        int
	pidfd      *os.File // exec only: the process itself, immune to PID reuse
	io         *processIO
	exitStatus int
	exitedAt   time.Time
}

func newProcess(id, execID string, stdio stdioConfig, spec *specs.Process) *process {
	return &process{id: id, execID: execID, stdio: stdio, spec: spec, exited: make(chan struct{})}
}

// setStarted records the PID of a process that now runs. The init is
// created with its PID, so it stays in statusCreated until Start.
func (p *process) setStarted(pid int, pidfd *os.File, pio *processIO, status processStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pid, p.pidfd, p.io, p.status = pid, pidfd, pio, status
}

// setExited records the exit of a reaped process and wakes its waiters.
func (p *process) setExited(status int, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == statusStopped || p.status == statusDeleted {
		return
	}
	p.status, p.exitStatus, p.exitedAt = statusStopped, status, at
	if p.pidfd != nil {
		p.pidfd.Close()
		p.pidfd = nil
	}
	close(p.exited)
}

// snapshot returns the fields that RPCs report, read under the lock.
func (p *process) snapshot() (processStatus, int, int, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, p.pid, p.exitStatus, p.exitedAt
}

// signal sends sig to an exec process through its pidfd. The init is
// signalled through the runtime instead.
func (p *process) signal(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.status {
	case statusCreated:
		return fmt.Errorf("signal exec %s: it was not started: %w", p.id, errdefs.ErrFailedPrecondition)
	case statusStopped, statusDeleted:
		return fmt.Errorf("signal exec %s: process already finished: %w", p.id, errdefs.ErrNotFound)
	}
	if err := linux.PidfdSendSignal(p.pidfd, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal exec %s: process already finished: %w", p.id, errdefs.ErrNotFound)
		}
		return fmt.Errorf("signal exec %s: %w", p.id, err)
	}
	return nil
}

// markDeleted moves a stopped or never-started process to statusDeleted,
// closes its stdio and returns its exit. A running process is rejected.
func (p *process) markDeleted() (int, int, time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.status {
	case statusRunning:
		return 0, 0, time.Time{}, fmt.Errorf("delete process %s: it is still running: %w",
			p.id, errdefs.ErrFailedPrecondition)
	case statusDeleted:
		return 0, 0, time.Time{}, fmt.Errorf("delete process %s: %w", p.id, errdefs.ErrNotFound)
	case statusCreated:
		close(p.exited)
	}
	p.status = statusDeleted
	if p.io != nil {
		p.io.close()
	}
	if p.pidfd != nil {
		p.pidfd.Close()
		p.pidfd = nil
	}
	return p.pid, p.exitStatus, p.exitedAt, nil
}

// exitCode converts a wait status to the shell's convention: the exit
// code, or 128+N for a process killed by signal N.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
