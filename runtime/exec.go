package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"os/exec"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/cgroup"
	"github.com/nullrun/nullrun/runtime/nsenter"
	"github.com/nullrun/nullrun/specext"
)

// ExecOptions are the settings of one exec into a container.
type ExecOptions struct {
	// Process replaces the container's process: args, env, cwd, user,
	// capabilities, rlimits and the rest.
	Process *specs.Process
	// PidFile, when set, receives the new process's PID (atomically).
	PidFile string
	// ConsoleSocket receives the pty master when Process.Terminal is set.
	ConsoleSocket string
	// PreserveFDs passes the caller's fds 3 .. 3+PreserveFDs-1.
	PreserveFDs int
	// Detach returns once the process runs; otherwise Wait works.
	Detach bool
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	// Stdio of the process; nil entries mean the caller's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a process started by Exec.
type Process struct {
	pid     int
	console *os.File
}

// Pid returns the process's PID in the caller's PID namespace.
func (p *Process) Pid() int { return p.pid }

// Console returns the pty master of a process with a terminal and no
// console socket, nil otherwise.
func (p *Process) Console() *os.File { return p.console }

// Wait waits for a process started without Detach and returns its exit
// status, 128+N when killed by signal N.
func (p *Process) Wait() (int, error) {
	ws, err := linux.Wait4(p.pid)
	if err != nil {
		return -1, fmt.Errorf("wait for exec process %d: %w", p.pid, err)
	}
	return exitStatus(ws), nil
}

// Exec starts another process in a created, running (or with
// IgnorePaused, paused) container: in all of its namespaces and its
// cgroup, with the container's seccomp profile. A failed exec leaves the
// container as it was.
func (c *Container) Exec(opts ExecOptions) (*Process, error) {
	if opts.Process == nil {
		return nil, fmt.Errorf("exec in container %s: no process given", c.id)
	}
	if err := validateProcess(opts.Process); err != nil {
		return nil, fmt.Errorf("invalid exec process: %w", err)
	}
	null, err := c.execNull(opts.Process)
	if err != nil {
		return nil, err
	}
	spec := *c.state.Config
	spec.Process = opts.Process
	switch c.status() {
	case Stopped:
		return nil, ErrStopped
	case Paused:
		if !opts.IgnorePaused {
			return nil, fmt.Errorf("cannot exec in a paused container %s: resume it first "+
				"or pass --ignore-paused", c.id)
		}
	}
	if err := checkConsole(&spec, CreateOptions{ConsoleSocket: opts.ConsoleSocket,
		Foreground: !opts.Detach}); err != nil {
		return nil, err
	}
	cg, err := cgroup.Load(c.state.Cgroup)
	if err != nil {
		return nil, err
	}
	if err := linux.CloseExecFrom(3); err != nil {
		return nil, err
	}
	if !opts.Detach {
		if err := linux.SetChildSubreaper(); err != nil {
			return nil, err
		}
	}
	p := &initProcess{c: c, spec: &spec, bundle: c.state.Bundle, cg: cg, null: null,
		opts: CreateOptions{ConsoleSocket: opts.ConsoleSocket, PreserveFDs: opts.PreserveFDs,
			Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
			Foreground: !opts.Detach}}
	return p.startExec(opts)
}

func (p *initProcess) startExec(opts ExecOptions) (*Process, error) {
	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio(p.opts)
	cmd.Env = []string{}
	passed, listenFDs, err := passedFiles(p.opts.PreserveFDs)
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, passed...)
	fdOf := func(f *os.File) int {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		return 2 + len(cmd.ExtraFiles)
	}
	consoleFD := -1
	if p.spec.Process.Terminal {
		f, err := p.consoleSocket()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		consoleFD = fdOf(f)
	}
	var null *initNull
	if p.null != nil {
		// The program and the empty root, as for the container's own
		// process; an exec gets no grants.
		if err := p.null.open(p.c.rt, p.spec, p.c.state.Rootfs); err != nil {
			return nil, err
		}
		defer p.null.close()
		null, _ = p.null.place(cmd, len(passed))
		if p.null.program != nil {
			null.ProgramFD = fdOf(p.null.program)
		}
		if p.null.root != nil {
			null.RootFD = fdOf(p.null.root)
		}
	}

	// Pin the init with a pidfd, check it is still the container's init,
	// and only then name its namespaces by /proc path.
	initPid := p.c.state.Pid
	pidfd, err := linux.PidfdOpen(initPid)
	if err != nil || !p.c.state.initAlive() {
		return nil, ErrStopped
	}
	defer pidfd.Close()
	req := nsenter.Request{}
	kinds := map[string]bool{}
	for _, ns := range p.spec.Linux.Namespaces {
		kinds[procNSName[ns.Type]] = true
	}
	if p.null != nil && p.null.cfg.Has(specext.Cgroup) {
		// The init made the cgroup namespace of a null cgroup itself.
		kinds["cgroup"] = true
	}
	for name := range kinds {
		path := fmt.Sprintf("/proc/%d/ns/%s", initPid, name)
		req.Join = append(req.Join, nsenter.Namespace{Type: name, Path: path})
	}
	if p.null != nil && p.null.cfg.Has(specext.User) {
		// The process joins the init's unmapped user namespace as the
		// same host uid, once it is in the container's cgroup.
		uid, gid := nullUserIDs(p.c.id, p.c.state.Config.Process.User)
		req.Pause = true
		req.NullUser = &nsenter.IDs{UID: uid, GID: gid}
		req.NullUserNamespace = fmt.Sprintf("/proc/%d/ns/user", initPid)
	}
	initRootFD := -1
	if !kinds["mnt"] && (p.null == nil || !p.null.cfg.Has(specext.Mount)) {
		// Without a mount namespace to join, the init was chrooted into
		// the rootfs; the exec'd process must be too, not left in the
		// caller's root and working directory.
		root, err := os.OpenFile(fmt.Sprintf("/proc/%d/root", initPid),
			unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("exec in container %s: open the init's root: %w", p.c.id, err)
		}
		defer root.Close()
		initRootFD = fdOf(root)
	}
	pid, sock, err := nsenter.Start(cmd, req)
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", p.c.id, err)
	}
	p.pid, p.sock = pid, sock
	p.enc, p.dec = json.NewEncoder(sock), json.NewDecoder(sock)
	defer sock.Close()
	if !p.c.state.initAlive() {
		p.kill()
		return nil, ErrStopped
	}
	if err := p.cg.AddProcess(pid); err != nil {
		p.kill()
		return nil, err
	}
	if req.Pause {
		if err := nsenter.Resume(sock); err != nil {
			p.kill()
			return nil, fmt.Errorf("exec in container %s: %w", p.c.id, err)
		}
	}
	cfg := &initConfig{
		ID: p.c.id, Bundle: p.bundle, Spec: p.spec, Exec: true,
		FifoFD: -1, DoneFD: -1, ConsoleFD: consoleFD,
		PassedFDs: len(passed), ListenFDs: listenFDs, Null: null, InitRootFD: initRootFD,
		UserNS: planNamespaces(p.spec.Linux).userNS(),
	}
	if err := p.enc.Encode(initMessage{Type: msgConfig, Config: cfg}); err != nil {
		p.kill()
		return nil, p.initFailed(fmt.Errorf("send config to exec process: %w", err))
	}
	if err := p.waitExec(); err != nil {
		p.kill()
		return nil, err
	}
	proc := &Process{pid: pid}
	if p.console != nil {
		master, err := linux.RecvFile(p.console)
		p.console.Close()
		if err != nil {
			p.kill()
			return nil, fmt.Errorf("receive pty master: %w", err)
		}
		proc.console = master
	}
	if opts.PidFile != "" {
		if err := writePidFile(opts.PidFile, pid); err != nil {
			p.kill()
			return nil, err
		}
	}
	return proc, nil
}

// waitExec reads the exec process's report: an error, or end-of-file when
// its close-on-exec socket went away because the program started.
func (p *initProcess) waitExec() error {
	var m initMessage
	err := p.dec.Decode(&m)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("read from exec process: %w", err)
	case m.Type == msgError:
		return errors.New(m.Error)
	default:
		return fmt.Errorf("unexpected message %q from exec process", m.Type)
	}
}

// execNull returns the null settings an exec'd process gets: the
// container's, enforced the same way, without its grants. With a null
// user the process joins the init's unmapped user namespace as the same
// host uid.
func (c *Container) execNull(process *specs.Process) (*nullSetup, error) {
	if len(c.state.NullEnforcement) == 0 {
		if len(c.state.Null) > 0 {
			return nil, fmt.Errorf("exec in container %s: its state predates exec support for "+
				"null settings (%s); recreate the container", c.id, specext.NullKey)
		}
		return nil, nil
	}
	settings := map[specext.Setting]bool{}
	for _, e := range c.state.NullEnforcement {
		settings[e.Setting] = true
	}
	if err := checkNullCapabilities(settings, c.state.NullEnforcement, process.Capabilities); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", c.id, err)
	}
	return &nullSetup{cfg: &specext.Config{Null: settings}, enforcement: c.state.NullEnforcement,
		landlockABI: c.rt.probes().LandlockABI}, nil
}
