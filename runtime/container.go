package runtime

import (
	"context"
	"errors"
	"fmt"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/hooks"
	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/cgroup"
)

// Load opens an existing container. For a missing one it returns an error
// that wraps ErrNotExist with the text "container ID does not exist".
func (r *Runtime) Load(id string) (*Container, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(r.root, id)
	st, err := readState(dir)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("container %s %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return &Container{rt: r, id: id, dir: dir, state: st}, nil
}

// List returns the state of every container under the root, sorted by ID.
func (r *Runtime) List() ([]State, error) {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := r.Load(e.Name())
		if err != nil {
			// A directory without state.json is a create still in progress
			// or one that failed: not a container yet.
			continue
		}
		st, err := c.State()
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// State returns the container's current state; the status is computed
// from the init process and the freezer, not only read from disk.
func (c *Container) State() (State, error) {
	st := c.state.State
	st.Status = c.status()
	if st.Status == Stopped {
		st.Pid = 0
	}
	return st, nil
}

func (c *Container) status() Status {
	if c.state.Status == Creating && c.state.Pid == 0 {
		// A create in progress, or one that was killed before its init
		// was recorded.
		return Creating
	}
	if !c.state.initAlive() {
		return Stopped
	}
	// A created container can be paused too, as in runc.
	if frozen, err := c.state.Cgroup.Frozen(); err == nil && frozen {
		return Paused
	}
	if c.state.Status == Created {
		return Created
	}
	return Running
}

// Start lets a created container's init exec the user process and runs the
// poststart hooks. Starting a container in any other state is an error.
func (c *Container) Start() error {
	lock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	if st, err := readState(c.dir); err == nil {
		c.state = st
	}
	switch s := c.status(); s {
	case Created:
	case Stopped:
		return fmt.Errorf("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start an already %s container", s)
	}
	fifo, err := os.OpenFile(filepath.Join(c.dir, execFifo), os.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("start container %s: %w", c.id, ErrNotRunning)
		}
		return fmt.Errorf("open exec fifo: %w", err)
	}
	_, err = fifo.Write([]byte{0})
	fifo.Close()
	if err != nil {
		return fmt.Errorf("signal container init to start: %w", err)
	}
	os.Remove(filepath.Join(c.dir, execFifo))
	if err := c.waitForExec(); err != nil {
		return err
	}
	c.state.Status = Running
	if err := writeState(c.dir, c.state); err != nil {
		return err
	}
	if h := c.state.Config.Hooks; h != nil && len(h.Poststart) > 0 {
		// The runtime-spec says a failed poststart hook is a warning and
		// the lifecycle goes on.
		if err := hooks.RunAll(context.Background(), h.Poststart, c.specState(Running)); err != nil {
			c.rt.warnf("run poststart hook: %w", err)
		}
	}
	return nil
}

// Signal sends sig to the init, or with all to every process in the
// container's cgroup. A stopped container returns ErrNotRunning.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		if c.status() == Stopped && !c.state.SharedPidNS {
			return fmt.Errorf("signal container %s: %w", c.id, ErrNotRunning)
		}
		cg, err := cgroup.Load(c.state.Cgroup)
		if err != nil {
			return err
		}
		return cg.KillAll(sig)
	}
	return c.signalInit(sig)
}

// signalInit signals the init through a pidfd checked against the recorded
// start time, so a process that reused the PID is never hit.
func (c *Container) signalInit(sig unix.Signal) error {
	if c.state.Pid <= 0 {
		return fmt.Errorf("signal container %s: %w", c.id, ErrNotRunning)
	}
	pidfd, err := linux.PidfdOpen(c.state.Pid)
	if err != nil {
		return fmt.Errorf("signal container %s: %w", c.id, ErrNotRunning)
	}
	defer pidfd.Close()
	if !c.state.initAlive() {
		return fmt.Errorf("signal container %s: %w", c.id, ErrNotRunning)
	}
	if err := linux.PidfdSendSignal(pidfd, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal container %s: %w", c.id, ErrNotRunning)
		}
		return fmt.Errorf("signal container %s: %w", c.id, err)
	}
	return nil
}

// Delete removes a stopped (or created) container: cgroup, state directory,
// poststop hooks. With force a running or paused one is killed first.
func (c *Container) Delete(force bool) error {
	lock, err := lockDir(c.dir)
	if err != nil {
		if isNotExist(err) {
			return fmt.Errorf("container %s %w", c.id, ErrNotExist)
		}
		return err
	}
	defer lock.Close()
	status := c.status()
	if (status == Running || status == Paused) && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.id, status)
	}
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return err
	}
	if status != Stopped {
		if status == Paused {
			cg.Thaw()
		}
		if err := c.killAndWait(cg); err != nil {
			return err
		}
	} else if c.state.SharedPidNS {
		// Without a PID namespace of its own, the container's other
		// processes outlive the init.
		cg.KillAll(unix.SIGKILL)
	}
	if err := destroyCgroup(cg); err != nil {
		return err
	}
	if h := c.state.Config.Hooks; h != nil && len(h.Poststop) > 0 {
		if err := hooks.RunAll(context.Background(), h.Poststop, c.specState(Stopped)); err != nil {
			c.rt.warnf("run poststop hook: %w", err)
		}
	}
	for _, s := range c.state.ListenSockets {
		s.remove()
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state of container %s: %w", c.id, err)
	}
	return nil
}

// killAndWait kills the init and every other process of the container and
// waits until the init is gone.
func (c *Container) killAndWait(cg *cgroup.Manager) error {
	pidfd, err := linux.PidfdOpen(c.state.Pid)
	if err == nil {
		defer pidfd.Close()
		if c.state.initAlive() {
			linux.PidfdSendSignal(pidfd, unix.SIGKILL)
		}
	}
	cg.KillAll(unix.SIGKILL)
	if pidfd == nil {
		return nil
	}
	// A pidfd becomes readable when its process exits; a zombie counts.
	exited, err := linux.PollReadable(pidfd, 10_000)
	if err != nil {
		return err
	}
	if !exited {
		return fmt.Errorf("container %s init (pid %d) did not exit 10 s after SIGKILL",
			c.id, c.state.Pid)
	}
	return nil
}

// destroyCgroup removes the container's cgroup, retrying briefly while the
// killed processes finish exiting.
func destroyCgroup(cg *cgroup.Manager) error {
	var err error
	for i := 0; i < 100; i++ {
		if err = cg.Destroy(); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup: %w", err)
}

// Wait waits for the init of a container created with Foreground and
// returns its exit status, 128+N when killed by signal N.
func (c *Container) Wait() (int, error) {
	if !c.foreground {
		return -1, fmt.Errorf("wait for container %s: it was not created in the foreground", c.id)
	}
	ws, err := linux.Wait4(c.state.Pid)
	if err != nil {
		return -1, fmt.Errorf("wait for container %s: %w", c.id, err)
	}
	return exitStatus(ws), nil
}

func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Console returns the pty master of a Foreground container with a terminal
// and no console socket, nil otherwise.
func (c *Container) Console() *os.File { return c.console }

func (c *Container) specState(status Status) []byte {
	p := &initProcess{c: c, spec: c.state.Config, bundle: c.state.Bundle, pid: c.state.Pid}
	return p.stateJSON(status)
}

func (r *Runtime) warnf(format string, args ...any) {
	if r.warn != nil {
		r.warn(fmt.Errorf(format, args...))
	}
}

// undoStack collects the steps that reverse a partial create; run undoes
// them in reverse order unless release was called.
type undoStack struct{ fns []func() }

func (u *undoStack) push(fn func()) { u.fns = append(u.fns, fn) }
func (u *undoStack) release()       { u.fns = nil }
func (u *undoStack) run() {
	for i := len(u.fns) - 1; i >= 0; i-- {
		u.fns[i]()
	}
}

// ID returns the container's ID.
func (c *Container) ID() string { return c.id }

// waitForExec blocks until the init has executed the user process (or
// exited): reading exec.done returns end-of-file once its last writer, the
// init's close-on-exec descriptor, is gone.
func (c *Container) waitForExec() error {
	path := filepath.Join(c.dir, execDone)
	defer os.Remove(path)
	done, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer done.Close()
	if err := linux.SetBlocking(done); err != nil {
		return err
	}
	buf := make([]byte, 1)
	for {
		n, err := done.Read(buf)
		if n == 0 || err != nil {
			break
		}
	}
	// NOTE: an init that died before its exec (a failed startContainer hook)
	// looks the same here as a process that ran and exited at once; the
	// init reports its error on the container's stderr.
	return nil
}

// Config returns the container's spec as it was created.
func (c *Container) Config() *specs.Spec { return c.state.Config }
