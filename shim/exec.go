package shim

import (
	"context"
	"fmt"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime"
)

// Exec adds an exec process to a task; Start runs it.
func (s *Service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*emptypb.Empty, error) {
	if err := s.addExec(r); err != nil {
		return nil, s.rpcError("exec", r.ID, r.ExecID, err)
	}
	return empty, nil
}

func (s *Service) addExec(r *taskAPI.ExecProcessRequest) error {
	t, err := s.getTask(r.ID)
	if err != nil {
		return err
	}
	if r.ExecID == "" {
		return fmt.Errorf("add exec to task %s: empty exec ID: %w", r.ID, errdefs.ErrInvalidArgument)
	}
	if status, _, _, _ := t.init.snapshot(); status == statusStopped || status == statusDeleted {
		return fmt.Errorf("add exec to task %s: the task is %s: %w", r.ID, status,
			errdefs.ErrFailedPrecondition)
	}
	v, err := typeurl.UnmarshalAny(r.Spec)
	if err != nil {
		return fmt.Errorf("decode exec process spec: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	spec, ok := v.(*specs.Process)
	if !ok {
		return fmt.Errorf("decode exec process spec: got %T, want an OCI process: %w", v,
			errdefs.ErrInvalidArgument)
	}
	stdio := stdioConfig{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.execs[r.ExecID] != nil {
		return fmt.Errorf("add exec %s to task %s: %w", r.ExecID, r.ID, errdefs.ErrAlreadyExists)
	}
	t.execs[r.ExecID] = newProcess(r.ExecID, r.ExecID, stdio, spec)
	s.send(&eventstypes.TaskExecAdded{ContainerID: r.ID, ExecID: r.ExecID})
	return nil
}

// startExec runs an added exec in the task's container. The init's state
// is checked under the reaper's lock, so an exec never starts after the
// init's exit has been handled.
func (s *Service) startExec(t *task, p *process) (_ int, err error) {
	pio, err := newProcessIO(p.stdio)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			pio.closeAll()
		}
	}()

	done := s.reaper.startingProcesses()
	defer done()
	if status, _, _, _ := p.snapshot(); status != statusCreated {
		return 0, fmt.Errorf("start exec %s: it is %s: %w", p.id, status, errdefs.ErrFailedPrecondition)
	}
	if status, _, _, _ := t.init.snapshot(); status != statusRunning && status != statusCreated {
		return 0, fmt.Errorf("start exec %s: the task is %s: %w", p.id, status,
			errdefs.ErrFailedPrecondition)
	}
	ctr, err := t.container()
	if err != nil {
		return 0, err
	}
	proc, err := ctr.Exec(runtime.ExecOptions{
		Process: p.spec,
		Stdin:   pio.forProcess[0],
		Stdout:  pio.forProcess[1],
		Stderr:  pio.forProcess[2],
	})
	if err != nil {
		return 0, fmt.Errorf("start exec %s: %w", p.id, err)
	}
	pid := proc.Pid()
	// The process is not reaped before done(), so the pidfd is its own.
	pidfd, err := linux.PidfdOpen(pid)
	if err != nil {
		linux.Kill(pid, unix.SIGKILL)
		return 0, fmt.Errorf("start exec %s: %w", p.id, err)
	}
	if err := pio.started(proc.Console()); err != nil {
		linux.PidfdSendSignal(pidfd, unix.SIGKILL)
		pidfd.Close()
		return 0, err
	}
	p.setStarted(pid, pidfd, pio, statusRunning)
	t.mu.Lock()
	t.runningExecs++
	t.mu.Unlock()
	s.send(&eventstypes.TaskExecStarted{ContainerID: t.id, ExecID: p.id, Pid: uint32(pid)})
	return pid, nil
}
