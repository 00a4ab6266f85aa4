package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/hooks"
	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/internal/cgroup"
	"github.com/nullrun/nullrun/runtime/nsenter"
	"github.com/nullrun/nullrun/specext"
)

// initSocketEnv names the fd of the init socket in the init's environment
// when the namespaces were set up by clone flags alone.
const initSocketEnv = "_NULLRUN_INIT_SOCKET"

// New opens (creating if needed, mode 0700) the state root.
func New(opts Options) (*Runtime, error) {
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve state root %q: %w", opts.Root, err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	return &Runtime{root: root, systemdCgroup: opts.SystemdCgroup, warn: opts.Warn}, nil
}

// Create validates the bundle, sets up the container's namespaces, cgroup
// and rootfs and leaves its init waiting for Start. On error nothing is left
// behind: no state directory, cgroup, mount or process.
func (r *Runtime) Create(id string, opts CreateOptions) (*Container, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	bundle := opts.Bundle
	if bundle == "" {
		bundle = "."
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("resolve bundle %q: %w", opts.Bundle, err)
	}
	spec, err := loadSpec(bundle)
	if err != nil {
		return nil, err
	}
	return r.create(id, spec, bundle, opts)
}

// create is Create for a spec that has been read and validated.
func (r *Runtime) create(id string, spec *specs.Spec, bundle string, opts CreateOptions) (*Container, error) {
	if err := checkConsole(spec, opts); err != nil {
		return nil, err
	}
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.Destination) {
			r.warnf("mount destination %q is not absolute: it is taken relative to the "+
				"rootfs's /; runtime-spec 1.1 requires absolute destinations", m.Destination)
		}
	}
	listen, err := listenFDCount()
	if err != nil {
		return nil, err
	}
	null, err := r.planNull(spec, listen+opts.PreserveFDs)
	if err != nil {
		return nil, err
	}
	cg, err := cgroup.New(id, spec.Linux, r.systemdCgroup)
	if err != nil {
		return nil, err
	}
	// Whatever the caller leaked to us (a shim passes its own sockets)
	// must not reach the container: only the fds passed explicitly below
	// survive the exec of the init.
	if err := linux.CloseExecFrom(3); err != nil {
		return nil, err
	}

	dir := filepath.Join(r.root, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create container %s: %w", id, ErrExist)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	var undo undoStack
	defer undo.run()
	undo.push(func() { os.RemoveAll(dir) })
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	// Recorded first, so that a create killed half-way leaves a container
	// in state "creating" that delete can clean up, cgroup included.
	early := &persistedState{
		State: State{OCIVersion: spec.Version, ID: id, Status: Creating, Bundle: bundle,
			Rootfs: rootfsPath(spec, bundle), Created: time.Now().UTC(), Owner: ownerName()},
		Cgroup: cg.Saved(),
		Config: spec,
	}
	if err := writeState(dir, early); err != nil {
		return nil, err
	}

	c := &Container{rt: r, id: id, dir: dir}
	p := &initProcess{
		c: c, spec: spec, bundle: bundle, opts: opts, cg: cg,
		plan: planNamespaces(spec.Linux), null: null,
	}
	if err := p.start(&undo); err != nil {
		return nil, err
	}
	undo.release()
	return c, nil
}

// checkConsole applies runc's rules for terminals and console sockets.
func checkConsole(spec *specs.Spec, opts CreateOptions) error {
	switch {
	case opts.ConsoleSocket != "" && !spec.Process.Terminal:
		return fmt.Errorf("--console-socket %s given but process.terminal is false: "+
			"drop the flag or set terminal to true", opts.ConsoleSocket)
	case spec.Process.Terminal && opts.ConsoleSocket == "" && !opts.Foreground:
		return fmt.Errorf("process.terminal is true but no --console-socket was given: " +
			"pass one, or set terminal to false for a detached container")
	}
	return nil
}

// initProcess is the runtime's side of one container init being set up.
type initProcess struct {
	c      *Container
	spec   *specs.Spec
	bundle string
	opts   CreateOptions
	cg     *cgroup.Manager
	plan   namespacePlan
	null   *nullSetup // nil without null settings

	pid     int
	sock    *os.File
	enc     *json.Encoder
	dec     *json.Decoder
	console *os.File // our end of the console socketpair (foreground terminal)
	// paused is set when the nsenter constructor waits for Resume after
	// the init has been placed in its cgroup.
	paused bool
}

func (p *initProcess) start(undo *undoStack) error {
	cmd := exec.Command("/proc/self/exe", "init")
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio(p.opts)
	cmd.Env = []string{}

	passed, listenFDs, err := passedFiles(p.opts.PreserveFDs)
	if err != nil {
		return err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, passed...)
	keep := len(passed)
	var null *initNull
	if p.null != nil {
		if err := p.null.open(p.c.rt, p.spec, rootfsPath(p.spec, p.bundle)); err != nil {
			return err
		}
		defer p.null.close()
		undo.push(p.null.removeListenSockets)
		null, keep = p.null.place(cmd, keep)
	}
	fdOf := func(f *os.File) int {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		return 2 + len(cmd.ExtraFiles)
	}
	if null != nil && p.null.program != nil {
		null.ProgramFD = fdOf(p.null.program)
	}
	if null != nil && p.null.root != nil {
		null.RootFD = fdOf(p.null.root)
	}

	// Read-write so opening never blocks: the init blocks in read(2) on
	// exec.fifo until start writes a byte, and holds exec.done open
	// (close-on-exec) so start can wait for the exec. A container that
	// starts at once needs neither.
	fifoFD, doneFD := -1, -1
	if !p.opts.startAtOnce {
		fifo, err := openFifo(filepath.Join(p.c.dir, execFifo))
		if err != nil {
			return err
		}
		defer fifo.Close()
		done, err := openFifo(filepath.Join(p.c.dir, execDone))
		if err != nil {
			return err
		}
		defer done.Close()
		fifoFD, doneFD = fdOf(fifo), fdOf(done)
	}

	consoleFD := -1
	if p.spec.Process.Terminal {
		f, err := p.consoleSocket()
		if err != nil {
			return err
		}
		defer f.Close()
		consoleFD = fdOf(f)
	}
	cfg := &initConfig{
		ID: p.c.id, Bundle: p.bundle, Spec: p.spec,
		Rootfs: rootfsPath(p.spec, p.bundle), FifoFD: fifoFD, DoneFD: doneFD, ConsoleFD: consoleFD,
		StartAtOnce: p.opts.startAtOnce,
		PassedFDs:   keep, ListenFDs: listenFDs, Null: null,
		UserNS: p.plan.userNS(), CgroupNS: p.wantCgroupNS() && !p.paused,
		NoPivot: p.opts.NoPivot, NoNewKeyring: p.opts.NoNewKeyring,
	}

	if p.opts.Foreground {
		// A forked init is reparented to us, so run can still wait for it.
		if err := linux.SetChildSubreaper(); err != nil {
			return err
		}
	}
	// Undo runs in reverse: the init is killed before its cgroup goes.
	undo.push(func() { destroyCgroup(p.cg) })
	if err := p.spawn(cmd); err != nil {
		return err
	}
	undo.push(p.kill)
	if err := p.cg.Apply(p.pid); err != nil {
		return err
	}
	if p.paused {
		if err := nsenter.Resume(p.sock); err != nil {
			return fmt.Errorf("start container init: %w", err)
		}
	}
	if err := p.setOOMScoreAdj(); err != nil {
		return err
	}
	cfg.CgroupPaths = p.cg.Paths()
	// runtime-spec's lifecycle runs the prestart, createRuntime and
	// createContainer hooks after the environment is created (step 2), so
	// their state reads "created" although state.json still reads
	// "creating" until the init reports ready.
	cfg.State = p.stateJSON(Created)
	if err := p.enc.Encode(initMessage{Type: msgConfig, Config: cfg}); err != nil {
		return p.initFailed(fmt.Errorf("send config to init: %w", err))
	}
	if err := p.serve(); err != nil {
		return err
	}
	return p.finish()
}

// spawn starts the init, in new namespaces through clone flags when that
// is enough, or through the nsenter constructor when namespaces are joined
// by path or must be created after joining.
func (p *initProcess) spawn(cmd *exec.Cmd) error {
	nullUser := p.null != nil && p.null.cfg.Has(specext.User)
	if len(p.plan.join) == 0 && !p.plan.create[specs.TimeNamespace] && !nullUser {
		return p.spawnClone(cmd)
	}
	var req nsenter.Request
	if nullUser {
		// The unmapped user namespace can only be entered while the
		// process is single-threaded, so the constructor does it, after
		// the process is in its cgroup and has its cgroup namespace.
		uid, gid := nullUserIDs(p.c.id, p.spec.Process.User)
		req.Pause = true
		req.CgroupNamespace = p.wantCgroupNS()
		req.NullUser = &nsenter.IDs{UID: uid, GID: gid}
		p.paused = true
	}
	if p.plan.create[specs.UserNamespace] {
		req.UIDMappings = p.spec.Linux.UIDMappings
		req.GIDMappings = p.spec.Linux.GIDMappings
	}
	if p.plan.create[specs.TimeNamespace] {
		req.TimeOffsets = p.spec.Linux.TimeOffsets
	}
	for _, ns := range p.plan.join {
		req.Join = append(req.Join, nsenter.Namespace{Type: procNSName[ns.Type], Path: ns.Path})
	}
	for t := range p.plan.create {
		if t != specs.CgroupNamespace {
			req.Unshare = append(req.Unshare, procNSName[t])
		}
	}
	pid, sock, err := nsenter.Start(cmd, req)
	if err != nil {
		return fmt.Errorf("start container init: %w", err)
	}
	p.pid, p.sock = pid, sock
	p.enc, p.dec = json.NewEncoder(sock), json.NewDecoder(sock)
	return nil
}

func (p *initProcess) spawnClone(cmd *exec.Cmd) error {
	parent, child, err := linux.Socketpair("init")
	if err != nil {
		return err
	}
	defer child.Close()
	cmd.ExtraFiles = append(cmd.ExtraFiles, child)
	cmd.Env = append(cmd.Env, initSocketEnv+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))

	attr := &syscall.SysProcAttr{}
	for t := range p.plan.create {
		// The init unshares its cgroup namespace itself once it is in its
		// cgroup, so the namespace's root is the container's cgroup.
		if t != specs.CgroupNamespace {
			attr.Cloneflags |= cloneFlags[t]
		}
	}
	if p.plan.create[specs.UserNamespace] {
		attr.UidMappings = idMaps(p.spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(p.spec.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		// Become root of the new namespace before the exec of the init, or
		// the exec would drop every capability.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		parent.Close()
		return fmt.Errorf("start container init: %w", err)
	}
	p.pid, p.sock = cmd.Process.Pid, parent
	p.enc, p.dec = json.NewEncoder(parent), json.NewDecoder(parent)
	return nil
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID),
			Size: int(e.Size)}
	}
	return out
}

// serve handles the init's requests until it reports ready or fails.
func (p *initProcess) serve() error {
	for {
		var m initMessage
		if err := p.dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return p.initFailed(fmt.Errorf("container init exited during setup"))
			}
			return p.initFailed(fmt.Errorf("read from container init: %w", err))
		}
		switch m.Type {
		case msgHooks:
			state := p.stateJSON(Created)
			h := p.spec.Hooks
			if h != nil {
				//nolint:staticcheck // prestart is deprecated but still honoured
				if err := hooks.Run(context.Background(), h.Prestart, state); err != nil {
					return fmt.Errorf("run prestart hook: %w", err)
				}
				if err := hooks.Run(context.Background(), h.CreateRuntime, state); err != nil {
					return fmt.Errorf("run createRuntime hook: %w", err)
				}
			}
			if err := p.enc.Encode(initMessage{Type: msgContinue}); err != nil {
				return p.initFailed(fmt.Errorf("resume container init: %w", err))
			}
		case msgReady:
			return nil
		case msgError:
			return errors.New(m.Error)
		default:
			return fmt.Errorf("unexpected message %q from container init", m.Type)
		}
	}
}

// initFailed returns err, or the init's own error when it sent one before
// the socket broke.
func (p *initProcess) initFailed(err error) error {
	var m initMessage
	if p.dec.Decode(&m) == nil && m.Type == msgError {
		return errors.New(m.Error)
	}
	return err
}

// finish records the created container: state.json, the pid file, and for
// a foreground terminal the pty master.
func (p *initProcess) finish() error {
	start, _, err := procStartTime(p.pid)
	if err != nil {
		return fmt.Errorf("read container init start time: %w", err)
	}
	st := &persistedState{
		State: State{
			OCIVersion: p.spec.Version, ID: p.c.id, Pid: p.pid, Status: p.createdStatus(),
			Bundle: p.bundle, Rootfs: rootfsPath(p.spec, p.bundle),
			Created: time.Now().UTC(), Owner: ownerName(), Annotations: p.spec.Annotations,
			Null: p.enforcementSummary(),
		},
		InitStartTime:   start,
		ListenSockets:   p.listenSockets(),
		NullEnforcement: p.nullEnforcement(),
		SharedPidNS:     !p.plan.has(specs.PIDNamespace),
		Cgroup:          p.cg.Saved(),
		Config:          p.spec,
	}
	if err := writeState(p.c.dir, st); err != nil {
		return err
	}
	if p.opts.PidFile != "" {
		if err := writePidFile(p.opts.PidFile, p.pid); err != nil {
			return err
		}
	}
	if p.console != nil {
		master, err := linux.RecvFile(p.console)
		p.console.Close()
		if err != nil {
			return fmt.Errorf("receive pty master: %w", err)
		}
		p.c.console = master
	}
	p.c.state = st
	p.sock.Close()
	if p.opts.Foreground {
		p.c.foreground = true
	}
	return nil
}

// kill ends a half-created init and waits until it has exited. The init
// is our child unless nsenter forked it, so it is reaped where possible.
func (p *initProcess) kill() {
	if p.sock != nil {
		p.sock.Close()
	}
	pidfd, err := linux.PidfdOpen(p.pid)
	if err != nil {
		return
	}
	defer pidfd.Close()
	linux.PidfdSendSignal(pidfd, unix.SIGKILL)
	linux.PollReadable(pidfd, 10_000)
	linux.Wait4(p.pid)
}

// consoleSocket returns the socket the init sends the pty master over:
// a connection to --console-socket, or one end of a socketpair whose other
// end this process keeps for a foreground run.
func (p *initProcess) consoleSocket() (*os.File, error) {
	if p.opts.ConsoleSocket == "" {
		ours, theirs, err := linux.Socketpair("console")
		if err != nil {
			return nil, err
		}
		p.console = ours
		return theirs, nil
	}
	conn, err := net.Dial("unix", p.opts.ConsoleSocket)
	if err != nil {
		return nil, fmt.Errorf("connect to console socket %s: %w", p.opts.ConsoleSocket, err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("connect to console socket %s: %w", p.opts.ConsoleSocket, err)
	}
	return f, nil
}

func (p *initProcess) setOOMScoreAdj() error {
	adj := p.spec.Process.OOMScoreAdj
	if adj == nil {
		return nil
	}
	path := "/proc/" + strconv.Itoa(p.pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(*adj)), 0); err != nil {
		return fmt.Errorf("set process.oomScoreAdj %d: %w", *adj, err)
	}
	return nil
}

func (p *initProcess) stateJSON(status Status) []byte {
	data, _ := json.Marshal(specs.State{
		Version: p.spec.Version, ID: p.c.id, Status: specs.ContainerState(status),
		Pid: p.pid, Bundle: p.bundle, Annotations: p.spec.Annotations,
	})
	return data
}

// stdio returns the init's stdio: the caller's own unless replaced.
func stdio(opts CreateOptions) (io.Reader, io.Writer, io.Writer) {
	var in io.Reader = os.Stdin
	var out, errw io.Writer = os.Stdout, os.Stderr
	if opts.Stdin != nil {
		in = opts.Stdin
	}
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	if opts.Stderr != nil {
		errw = opts.Stderr
	}
	return in, out, errw
}

// passedFiles returns the caller's fds that go to the container: the
// LISTEN_FDS sockets of socket activation, then --preserve-fds more.
func passedFiles(preserve int) ([]*os.File, int, error) {
	listen, err := listenFDCount()
	if err != nil {
		return nil, 0, err
	}
	if preserve < 0 {
		return nil, 0, fmt.Errorf("invalid --preserve-fds %d: must not be negative", preserve)
	}
	var files []*os.File
	for fd := 3; fd < 3+listen+preserve; fd++ {
		if !linux.FdIsOpen(fd) {
			return nil, 0, fmt.Errorf("pass fd %d to the container: it is not open "+
				"(check --preserve-fds and LISTEN_FDS)", fd)
		}
		files = append(files, os.NewFile(uintptr(fd), "fd"+strconv.Itoa(fd)))
	}
	return files, listen, nil
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}

func rootfsPath(spec *specs.Spec, bundle string) string {
	if filepath.IsAbs(spec.Root.Path) {
		return spec.Root.Path
	}
	return filepath.Join(bundle, spec.Root.Path)
}

func openFifo(path string) (*os.File, error) {
	if err := linux.Mkfifo(path, 0o600); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

// listenFDCount returns the number of socket-activation fds the caller
// passed (LISTEN_FDS), which go to the container as fds 3 and up.
//
// As in sd_listen_fds(3), the fds are only meant for this process when
// LISTEN_PID names it: a LISTEN_FDS inherited from some other process's
// environment must not hand whatever sits at fds 3 and up (a host
// directory, say) to the container.
func listenFDCount() (int, error) {
	v := os.Getenv("LISTEN_FDS")
	if v == "" || os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid LISTEN_FDS %q: want a count of fds", v)
	}
	return n, nil
}

// listenSockets returns the socket files the runtime bound for listen:
// grants, which delete removes.
func (p *initProcess) listenSockets() []listenSocket {
	if p.null == nil {
		return nil
	}
	return p.null.listenSockets()
}

// enforcementSummary maps each null setting to how it is enforced.
func (p *initProcess) enforcementSummary() map[specext.Setting]string {
	if p.null == nil {
		return nil
	}
	out := map[specext.Setting]string{}
	for _, e := range p.null.enforcement {
		out[e.Setting] = e.String()
	}
	return out
}

// wantCgroupNS reports whether the init gets a cgroup namespace of its
// own: a fresh one from the spec, or the emulation of a null one, whose
// root is then the container's own leaf cgroup.
func (p *initProcess) wantCgroupNS() bool {
	return p.plan.create[specs.CgroupNamespace] ||
		(p.null != nil && p.null.cfg.Has(specext.Cgroup))
}

// nullUserIDs returns the host uid and gid a process with a null user
// runs as. Every process with that uid owns the unmapped user namespace,
// so the default is one picked from the container ID in a range that
// ordinary accounts do not use (2^31 - 2^16 up to 2^31 - 1), unless the
// spec names a non-root user.
//
// NOTE: the range is a convention, not a reservation: a host that
// allocates uids there could share one with a sandbox.
func nullUserIDs(id string, u specs.User) (uint32, uint32) {
	uid, gid := u.UID, u.GID
	base := uint32(1<<31 - 1<<16)
	pick := base + crc32.ChecksumIEEE([]byte(id))&0xffff
	if uid == 0 {
		uid = pick
	}
	if gid == 0 {
		gid = pick
	}
	return uid, gid
}

// ownerName is the user name of the effective uid, which runc reports as
// the container's owner; the numeric uid when it has no name.
func ownerName() string {
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// createdStatus is the status create records: created, or running for a
// container whose init does not wait for start.
func (p *initProcess) createdStatus() Status {
	if p.opts.startAtOnce {
		return Running
	}
	return Created
}

func (p *initProcess) nullEnforcement() []specext.Enforcement {
	if p.null == nil {
		return nil
	}
	return p.null.enforcement
}
