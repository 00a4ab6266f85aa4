package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/runtime"
)

// exitFile is the file in the bundle that records the init's exit, for
// the shim's delete action after the shim that saw the exit has died.
const exitFile = "nullrun-exit.json"

// task is one container: its init and its execs.
type task struct {
	id     string
	bundle string
	rt     *runtime.Runtime
	init   *process
	// rootfs is the directory the shim mounted containerd's rootfs
	// mounts on, empty when the request had none.
	rootfs string
	// sharedPidNS is set when the container has no PID namespace of its
	// own: its other processes outlive the init, and are killed with it.
	sharedPidNS bool

	// mu guards execs, runningExecs and heldInitExit.
	mu    sync.Mutex
	execs map[string]*process
	// runningExecs counts the execs that were started and not reaped.
	runningExecs int
	// heldInitExit is the init's exit while execs are still running: it
	// is reported after theirs, so that no TaskExit of an exec follows
	// the init's.
	heldInitExit *exit
}

// container returns a fresh handle on the task's runtime state; each call
// gets its own so that concurrent calls share no handle.
func (t *task) container() (*runtime.Container, error) {
	return t.rt.Load(t.id)
}

// process returns the init (execID empty) or an exec.
func (t *task) process(execID string) (*process, error) {
	if execID == "" {
		return t.init, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.execs[execID]
	if p == nil {
		return nil, fmt.Errorf("exec %s in task %s: %w", execID, t.id, errdefs.ErrNotFound)
	}
	return p, nil
}

// Create mounts the rootfs, fits the bundle to its null annotations and
// creates the container, whose init then waits for Start.
func (s *Service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	pid, err := s.create(r)
	if err != nil {
		return nil, s.rpcError("create", r.ID, "", err)
	}
	return &taskAPI.CreateTaskResponse{Pid: uint32(pid)}, nil
}

func (s *Service) create(r *taskAPI.CreateTaskRequest) (_ int, err error) {
	l := s.logger(r.ID, "")
	if r.Checkpoint != "" || r.ParentCheckpoint != "" {
		return 0, fmt.Errorf("create task %s from a checkpoint: %w", r.ID, errdefs.ErrNotImplemented)
	}
	if _, err := s.getTask(r.ID); err == nil {
		return 0, fmt.Errorf("create task %s: %w", r.ID, errdefs.ErrAlreadyExists)
	}
	opts, ignored, err := parseOptions(r.Options)
	if err != nil {
		return 0, fmt.Errorf("create task %s: %w: %w", r.ID, err, errdefs.ErrInvalidArgument)
	}
	if len(ignored) > 0 {
		l.WithField("keys", ignored).Warn("ignore runtime options that nullrun does not have")
	}
	if err := writeBundleOptions(r.Bundle, opts); err != nil {
		return 0, err
	}

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	rootfs, err := mountRootfs(r.Bundle, r.Rootfs)
	if err != nil {
		return 0, err
	}
	if rootfs != "" {
		undo = append(undo, func() { unmountRootfs(l, rootfs) })
	}
	changes, err := fitNullBundle(r.Bundle)
	if err != nil {
		return 0, err
	}
	for _, c := range changes {
		l.WithField("change", c).Info("fit the bundle to its null annotations")
	}

	rt, err := runtime.New(runtime.Options{
		Root:          opts.stateRoot(s.namespace),
		SystemdCgroup: opts.SystemdCgroup,
		Warn:          func(err error) { l.WithError(err).Warn("runtime warning") },
	})
	if err != nil {
		return 0, err
	}
	stdio := stdioConfig{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, terminal: r.Terminal}
	pio, err := newProcessIO(stdio)
	if err != nil {
		return 0, err
	}
	undo = append(undo, pio.closeAll)

	done := s.reaper.startingProcesses()
	defer done()
	ctr, err := rt.Create(r.ID, runtime.CreateOptions{
		Bundle:     r.Bundle,
		PidFile:    filepath.Join(r.Bundle, "init.pid"),
		Foreground: true,
		Stdin:      pio.forProcess[0],
		Stdout:     pio.forProcess[1],
		Stderr:     pio.forProcess[2],
	})
	if err != nil {
		return 0, err
	}
	undo = append(undo, func() {
		if err := ctr.Delete(true); err != nil {
			l.WithError(err).Warn("remove the container of a failed create")
		}
	})
	st, err := ctr.State()
	if err != nil {
		return 0, err
	}
	if err := pio.started(ctr.Console()); err != nil {
		return 0, err
	}

	t := &task{
		id: r.ID, bundle: r.Bundle, rt: rt, rootfs: rootfs,
		init:        newProcess(r.ID, "", stdio, nil),
		sharedPidNS: !hasNamespace(ctr.Config(), specs.PIDNamespace),
		execs:       map[string]*process{},
	}
	t.init.setStarted(st.Pid, nil, pio, statusCreated)
	s.mu.Lock()
	s.tasks[r.ID] = t
	s.mu.Unlock()
	s.send(&eventstypes.TaskCreate{
		ContainerID: r.ID,
		Bundle:      r.Bundle,
		Rootfs:      r.Rootfs,
		IO:          &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid:         uint32(st.Pid),
	})
	return st.Pid, nil
}

func hasNamespace(spec *specs.Spec, kind specs.LinuxNamespaceType) bool {
	if spec == nil || spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == kind {
			return true
		}
	}
	return false
}

// Start starts the init of a created task or an added exec.
func (s *Service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	t, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("start", r.ID, r.ExecID, err)
	}
	var pid int
	if r.ExecID == "" {
		pid, err = s.startInit(t)
	} else {
		pid, err = s.startExec(t, p)
	}
	if err != nil {
		return nil, s.rpcError("start", r.ID, r.ExecID, err)
	}
	return &taskAPI.StartResponse{Pid: uint32(pid)}, nil
}

func (s *Service) startInit(t *task) (int, error) {
	done := s.reaper.startingProcesses()
	defer done()
	status, pid, _, _ := t.init.snapshot()
	if status != statusCreated {
		return 0, fmt.Errorf("start task %s: it is %s: %w", t.id, status, errdefs.ErrFailedPrecondition)
	}
	ctr, err := t.container()
	if err != nil {
		return 0, err
	}
	if err := ctr.Start(); err != nil {
		return 0, fmt.Errorf("start task %s: %w", t.id, err)
	}
	t.init.mu.Lock()
	if t.init.status == statusCreated {
		t.init.status = statusRunning
	}
	t.init.mu.Unlock()
	s.send(&eventstypes.TaskStart{ContainerID: t.id, Pid: uint32(pid)})
	go s.watchOOM(t)
	return pid, nil
}

// oomStatsInterval is the statistics interval of the OOM watcher. The
// statistics are not used, so it is long; OOM kills are polled for every
// 100 ms by the runtime whatever the interval.
const oomStatsInterval = 24 * time.Hour

// watchOOM sends a TaskOOM event whenever the kernel's OOM killer kills a
// process of the task, until the init exits.
func (s *Service) watchOOM(t *task) {
	ctr, err := t.container()
	if err != nil {
		return
	}
	err = ctr.Events(s.ctx, oomStatsInterval, func(e runtime.Event) error {
		if e.Type == runtime.EventOOM {
			s.send(&eventstypes.TaskOOM{ContainerID: t.id})
		}
		return nil
	})
	if err != nil && !errors.Is(err, runtime.ErrNotRunning) {
		s.logger(t.id, "").WithError(err).Warn("stop watching for OOM kills")
	}
}

// Delete removes a stopped exec, or a stopped (or never started) task
// with its container, rootfs mounts and stdio.
func (s *Service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	t, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("delete", r.ID, r.ExecID, err)
	}
	if r.ExecID == "" {
		err = s.deleteInit(ctx, t)
	}
	if err != nil {
		return nil, s.rpcError("delete", r.ID, r.ExecID, err)
	}
	pid, status, exitedAt, err := p.markDeleted()
	if err != nil {
		return nil, s.rpcError("delete", r.ID, r.ExecID, err)
	}
	if r.ExecID != "" {
		t.mu.Lock()
		delete(t.execs, r.ExecID)
		t.mu.Unlock()
	} else {
		s.mu.Lock()
		delete(s.tasks, r.ID)
		s.mu.Unlock()
		s.send(&eventstypes.TaskDelete{
			ContainerID: r.ID, ID: r.ID, Pid: uint32(pid),
			ExitStatus: uint32(status), ExitedAt: protobuf.ToTimestamp(exitedAt),
		})
	}
	return &taskAPI.DeleteResponse{
		Pid: uint32(pid), ExitStatus: uint32(status), ExitedAt: protobuf.ToTimestamp(exitedAt),
	}, nil
}

// deleteInit removes the container of a task whose init has stopped or
// was never started (that init is killed first), then the execs' stdio and
// the rootfs mounts.
func (s *Service) deleteInit(ctx context.Context, t *task) error {
	status, _, _, _ := t.init.snapshot()
	if status == statusRunning {
		return fmt.Errorf("delete task %s: it is still running: %w", t.id, errdefs.ErrFailedPrecondition)
	}
	if status == statusDeleted {
		return fmt.Errorf("delete task %s: %w", t.id, errdefs.ErrNotFound)
	}
	if err := s.removeContainer(t, status == statusCreated); err != nil {
		return err
	}
	if status == statusCreated {
		// The reaper records the killed init's exit once the runtime call
		// above has returned.
		select {
		case <-t.init.exited:
		case <-ctx.Done():
			return fmt.Errorf("delete task %s: wait for the killed init: %w", t.id, ctx.Err())
		}
	}
	t.mu.Lock()
	for _, p := range t.execs {
		p.markDeleted()
	}
	t.mu.Unlock()
	if t.rootfs != "" {
		unmountRootfs(s.logger(t.id, ""), t.rootfs)
	}
	return nil
}

// removeContainer deletes the runtime's container, which runs the
// poststop hooks (child processes, hence the reaper's lock).
func (s *Service) removeContainer(t *task, force bool) error {
	done := s.reaper.startingProcesses()
	defer done()
	ctr, err := t.container()
	if errors.Is(err, runtime.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ctr.Delete(force); err != nil && !errors.Is(err, runtime.ErrNotExist) {
		return fmt.Errorf("delete task %s: %w", t.id, err)
	}
	return nil
}

// Wait returns the exit status of the init or an exec once it has
// exited.
func (s *Service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	_, p, err := s.getProcess(r.ID, r.ExecID)
	if err != nil {
		return nil, s.rpcError("wait", r.ID, r.ExecID, err)
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		return nil, s.rpcError("wait", r.ID, r.ExecID, ctx.Err())
	}
	_, _, status, exitedAt := p.snapshot()
	return &taskAPI.WaitResponse{ExitStatus: uint32(status), ExitedAt: protobuf.ToTimestamp(exitedAt)}, nil
}

// handleExits turns reaped children into TaskExit events. It runs on the
// reaper, which holds its lock, so no runtime call runs meanwhile.
func (s *Service) handleExits(exits []exit) {
	for _, e := range exits {
		t, p := s.findRunning(e.pid)
		if p == nil {
			// A process reparented to the shim, or the init of a create
			// that failed.
			log.G(s.ctx).WithField("pid", e.pid).WithField("status", e.status).
				Debug("reap process that belongs to no task")
			continue
		}
		if p == t.init {
			s.initExited(t, e)
		} else {
			s.execExited(t, p, e)
		}
	}
}

// findRunning returns the task and process that e's PID belongs to, if
// the process is created or running.
func (s *Service) findRunning(pid int) (*task, *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if status, initPid, _, _ := t.init.snapshot(); initPid == pid &&
			(status == statusCreated || status == statusRunning) {
			return t, t.init
		}
		t.mu.Lock()
		for _, p := range t.execs {
			if status, execPid, _, _ := p.snapshot(); execPid == pid && status == statusRunning {
				t.mu.Unlock()
				return t, p
			}
		}
		t.mu.Unlock()
	}
	return nil, nil
}

func (s *Service) initExited(t *task, e exit) {
	if t.sharedPidNS {
		// Without a PID namespace of its own the container's other
		// processes, execs included, would outlive the init.
		if ctr, err := t.container(); err == nil {
			if err := ctr.Signal(unix.SIGKILL, true); err != nil {
				s.logger(t.id, "").WithError(err).Warn("kill the processes left after the init's exit")
			}
		}
	}
	t.mu.Lock()
	if t.runningExecs > 0 {
		t.heldInitExit = &e
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	s.reportInitExit(t, e)
}

func (s *Service) reportInitExit(t *task, e exit) {
	t.init.setExited(e.status, e.at)
	if err := writeExit(t.bundle, e); err != nil {
		s.logger(t.id, "").WithError(err).Warn("record the init's exit in the bundle")
	}
	s.send(&eventstypes.TaskExit{
		ContainerID: t.id, ID: t.id, Pid: uint32(e.pid),
		ExitStatus: uint32(e.status), ExitedAt: protobuf.ToTimestamp(e.at),
	})
}

func (s *Service) execExited(t *task, p *process, e exit) {
	p.setExited(e.status, e.at)
	s.send(&eventstypes.TaskExit{
		ContainerID: t.id, ID: p.id, Pid: uint32(e.pid),
		ExitStatus: uint32(e.status), ExitedAt: protobuf.ToTimestamp(e.at),
	})
	t.mu.Lock()
	t.runningExecs--
	held := t.heldInitExit
	if t.runningExecs > 0 {
		held = nil
	} else {
		t.heldInitExit = nil
	}
	t.mu.Unlock()
	if held != nil {
		s.reportInitExit(t, *held)
	}
}

// recordedExit is the init's exit as stored in the bundle.
type recordedExit struct {
	Pid      int       `json:"pid"`
	Status   int       `json:"status"`
	ExitedAt time.Time `json:"exitedAt"`
}

func writeExit(bundle string, e exit) error {
	data, err := json.Marshal(recordedExit{Pid: e.pid, Status: e.status, ExitedAt: e.at})
	if err != nil {
		return fmt.Errorf("encode exit: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, exitFile), data, 0o600); err != nil {
		return fmt.Errorf("write exit: %w", err)
	}
	return nil
}

func readExit(bundle string) (recordedExit, error) {
	var e recordedExit
	data, err := os.ReadFile(filepath.Join(bundle, exitFile))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("decode %s: %w", exitFile, err)
	}
	return e, nil
}

// mountRootfs mounts containerd's rootfs mounts on bundle/rootfs and
// returns that directory, or "" when there are no mounts (the bundle
// brings its rootfs).
func mountRootfs(bundle string, mounts []*types.Mount) (string, error) {
	if len(mounts) == 0 {
		return "", nil
	}
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o711); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create rootfs directory: %w", err)
	}
	if err := mount.All(mount.FromProto(mounts), rootfs); err != nil {
		return "", fmt.Errorf("mount rootfs on %s: %w", rootfs, err)
	}
	return rootfs, nil
}

// unmountRootfs unmounts everything beneath rootfs, logging a failure:
// the task is gone either way.
func unmountRootfs(l *log.Entry, rootfs string) {
	if err := mount.UnmountRecursive(rootfs, 0); err != nil {
		l.WithError(err).WithField("rootfs", rootfs).Warn("unmount rootfs")
	}
}
