package shim

import (
	"context"
	"errors"
	"fmt"
	"os"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types/runc/options"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime"
)

// State returns the status, PID, stdio and exit of the init or an exec.
func (s *Service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	t, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("state", r.ID, r.ExecID, err)
	}
	status, pid, exitStatus, exitedAt := p.snapshot()
	resp := &taskAPI.StateResponse{
		ID: p.id, ExecID: r.ExecID, Bundle: t.bundle, Pid: uint32(pid),
		Stdin: p.stdio.stdin, Stdout: p.stdio.stdout, Stderr: p.stdio.stderr,
		Terminal: p.stdio.terminal, Status: tasktypes.Status_UNKNOWN,
	}
	switch status {
	case statusCreated:
		resp.Status = tasktypes.Status_CREATED
	case statusRunning:
		resp.Status = tasktypes.Status_RUNNING
	case statusStopped, statusDeleted:
		resp.Status = tasktypes.Status_STOPPED
		resp.ExitStatus = uint32(exitStatus)
		resp.ExitedAt = protobuf.ToTimestamp(exitedAt)
	}
	if status == statusCreated || status == statusRunning {
		// The freezer decides paused, for the init and the execs alike.
		if ctr, err := t.container(); err == nil {
			if st, err := ctr.State(); err == nil && st.Status == runtime.Paused {
				resp.Status = tasktypes.Status_PAUSED
			}
		}
	}
	return resp, nil
}

// Kill signals the init (with all, every process of the container) or an
// exec. A process that has exited returns a NotFound error.
func (s *Service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*emptypb.Empty, error) {
	if err := s.kill(r); err != nil {
		return nil, s.rpcError("kill", r.ID, r.ExecID, err)
	}
	return empty, nil
}

func (s *Service) kill(r *taskAPI.KillRequest) error {
	t, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return err
	}
	sig := unix.Signal(r.Signal)
	if r.ExecID != "" {
		return p.signal(sig)
	}
	status, _, _, _ := p.snapshot()
	if (status == statusStopped || status == statusDeleted) && !r.All {
		return fmt.Errorf("signal task %s: process already finished: %w", r.ID, errdefs.ErrNotFound)
	}
	ctr, err := t.container()
	if err != nil {
		return err
	}
	if err := ctr.Signal(sig, r.All); err != nil {
		if errors.Is(err, runtime.ErrNotRunning) {
			return fmt.Errorf("signal task %s: process already finished: %w", r.ID, errdefs.ErrNotFound)
		}
		return err
	}
	return nil
}

// Pids lists the processes of the container; the execs carry their exec
// IDs as runc's ProcessDetails, as containerd's runc shim reports them.
func (s *Service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	resp, err := s.pids(r.ID)
	if err != nil {
		return nil, s.rpcError("pids", r.ID, "", err)
	}
	return resp, nil
}

func (s *Service) pids(id string) (*taskAPI.PidsResponse, error) {
	t, err := s.getTask(id)
	if err != nil {
		return nil, err
	}
	ctr, err := t.container()
	if err != nil {
		return nil, err
	}
	pids, err := ctr.Processes()
	if err != nil {
		return nil, err
	}
	execIDs := map[int]string{}
	t.mu.Lock()
	for _, p := range t.execs {
		if status, pid, _, _ := p.snapshot(); status == statusRunning {
			execIDs[pid] = p.execID
		}
	}
	t.mu.Unlock()
	resp := &taskAPI.PidsResponse{}
	for _, pid := range pids {
		info := &tasktypes.ProcessInfo{Pid: uint32(pid)}
		if execID, ok := execIDs[pid]; ok {
			a, err := typeurl.MarshalAnyToProto(&options.ProcessDetails{ExecID: execID})
			if err != nil {
				return nil, fmt.Errorf("encode details of exec %s: %w", execID, err)
			}
			info.Info = a
		}
		resp.Processes = append(resp.Processes, info)
	}
	return resp, nil
}

// Pause freezes the container.
func (s *Service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*emptypb.Empty, error) {
	if err := s.freeze(r.ID, true); err != nil {
		return nil, s.rpcError("pause", r.ID, "", err)
	}
	s.send(&eventstypes.TaskPaused{ContainerID: r.ID})
	return empty, nil
}

// Resume thaws a paused container.
func (s *Service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*emptypb.Empty, error) {
	if err := s.freeze(r.ID, false); err != nil {
		return nil, s.rpcError("resume", r.ID, "", err)
	}
	s.send(&eventstypes.TaskResumed{ContainerID: r.ID})
	return empty, nil
}

func (s *Service) freeze(id string, frozen bool) error {
	t, err := s.getTask(id)
	if err != nil {
		return err
	}
	ctr, err := t.container()
	if err != nil {
		return err
	}
	if frozen {
		return ctr.Pause()
	}
	return ctr.Resume()
}

// ResizePty sets the window size of the terminal of the init or an exec.
func (s *Service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*emptypb.Empty, error) {
	_, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("resize pty", r.ID, r.ExecID, err)
	}
	var console *os.File
	p.mu.Lock()
	if p.io != nil {
		console = p.io.consoleFile()
	}
	p.mu.Unlock()
	if console == nil {
		err := fmt.Errorf("resize pty of %s: the process has no terminal: %w", p.id,
			errdefs.ErrFailedPrecondition)
		return nil, s.rpcError("resize pty", r.ID, r.ExecID, err)
	}
	ws := &unix.Winsize{Row: uint16(r.Height), Col: uint16(r.Width)}
	if err := linux.SetWinsize(console, ws); err != nil {
		return nil, s.rpcError("resize pty", r.ID, r.ExecID, err)
	}
	return empty, nil
}

// CloseIO closes the stdin of the init or an exec, which then reads
// end-of-file.
func (s *Service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*emptypb.Empty, error) {
	_, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("close io", r.ID, r.ExecID, err)
	}
	if !r.Stdin {
		return empty, nil
	}
	p.mu.Lock()
	pio := p.io
	p.mu.Unlock()
	if pio != nil {
		pio.closeStdin()
	}
	return empty, nil
}

// Update changes the container's resource limits. The annotations of the
// request are not used.
func (s *Service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*emptypb.Empty, error) {
	if err := s.update(r); err != nil {
		return nil, s.rpcError("update", r.ID, "", err)
	}
	return empty, nil
}

func (s *Service) update(r *taskAPI.UpdateTaskRequest) error {
	t, err := s.getTask(r.ID)
	if err != nil {
		return err
	}
	v, err := typeurl.UnmarshalAny(r.Resources)
	if err != nil {
		return fmt.Errorf("decode resources: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	resources, ok := v.(*specs.LinuxResources)
	if !ok {
		return fmt.Errorf("decode resources: got %T, want OCI Linux resources: %w", v,
			errdefs.ErrInvalidArgument)
	}
	ctr, err := t.container()
	if err != nil {
		return err
	}
	return ctr.Update(resources)
}

// Stats returns the container's cgroup statistics as containerd's cgroup
// v1 or v2 metrics, whichever hierarchy the host mounts.
func (s *Service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	resp, err := s.stats(r.ID)
	if err != nil {
		return nil, s.rpcError("stats", r.ID, "", err)
	}
	return resp, nil
}

func (s *Service) stats(id string) (*taskAPI.StatsResponse, error) {
	t, err := s.getTask(id)
	if err != nil {
		return nil, err
	}
	ctr, err := t.container()
	if err != nil {
		return nil, err
	}
	st, err := ctr.Stats()
	if err != nil {
		return nil, err
	}
	var metrics proto.Message
	if cgroups.IsCgroup2UnifiedMode() {
		metrics = metricsV2(st)
	} else {
		metrics = metricsV1(st)
	}
	a, err := typeurl.MarshalAnyToProto(metrics)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return &taskAPI.StatsResponse{Stats: a}, nil
}

// Checkpoint is not supported: nullrun has no checkpoint/restore.
func (s *Service) Checkpoint(ctx context.Context, r *taskAPI.CheckpointTaskRequest) (*emptypb.Empty, error) {
	err := fmt.Errorf("checkpoint task %s: nullrun cannot checkpoint containers: %w", r.ID,
		errdefs.ErrNotImplemented)
	return nil, s.rpcError("checkpoint", r.ID, "", err)
}
