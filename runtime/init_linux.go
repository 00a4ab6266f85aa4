package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/hooks"
	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/runtime/nsenter"
	"github.com/nullrun/nullrun/specext"
)

func init() {
	// The container init changes per-thread state (namespaces it unshares,
	// credentials, capabilities, seccomp, Landlock) and then execs. All of
	// it must happen on the thread that calls execve, so the main goroutine
	// is wired to the main thread before anything runs.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		goruntime.GOMAXPROCS(1)
		goruntime.LockOSThread()
	}
}

// Init is the container init's entry point (`nullrun init`): it sets up
// the container from the runtime's instructions and execs the user process.
// It returns only on error.
func Init() error {
	sock, err := initSocket()
	if err != nil {
		return err
	}
	enc, dec := json.NewEncoder(sock), json.NewDecoder(sock)
	var m initMessage
	if err := dec.Decode(&m); err != nil || m.Type != msgConfig || m.Config == nil {
		return fmt.Errorf("read container config from runtime: %v", err)
	}
	// Until the exec, no other process may ptrace the init or open its
	// /proc files, such as exe, the runtime binary.
	if err := linux.SetDumpable(false); err != nil {
		return err
	}
	in := &initState{cfg: m.Config, spec: m.Config.Spec, sock: sock, enc: enc, dec: dec}
	if in.cfg.Exec {
		err = in.runExec()
	} else {
		err = in.run()
	}
	if in.readySent {
		// The runtime that created us is gone; our stderr is the
		// container's, which is where runc reports late failures too.
		return err
	}
	enc.Encode(initMessage{Type: msgError, Error: err.Error()})
	os.Exit(1)
	return err
}

// initSocket finds the socket to the runtime: passed by fd number when
// clone flags made the namespaces, or left open by the nsenter constructor.
func initSocket() (*os.File, error) {
	if v := os.Getenv(initSocketEnv); v != "" {
		fd, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q", initSocketEnv, v)
		}
		return os.NewFile(uintptr(fd), "init-socket"), nil
	}
	if f, ok := nsenter.ChildSocket(); ok {
		return f, nil
	}
	return nil, errors.New("nullrun init is started by nullrun create, not by hand")
}

// initState is the container init's working state.
type initState struct {
	cfg       *initConfig
	spec      *specs.Spec
	sock      *os.File
	enc       *json.Encoder
	dec       *json.Decoder
	readySent bool
}

func (in *initState) run() error {
	if in.cfg.CgroupNS {
		if err := linux.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	if !in.cfg.NoNewKeyring {
		if err := linux.JoinSessionKeyring("_ses." + in.cfg.ID); err != nil &&
			!errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("create session keyring: %w", err)
		}
	}
	// A null mount setting leaves the init in the runtime's mount
	// namespace with no rootfs at all: the process is confined to the
	// empty root just before its exec.
	mountNull := in.cfg.Null.has(specext.Mount)
	var rfs *rootfs
	if !mountNull {
		var err error
		if rfs, err = newRootfs(in.cfg); err != nil {
			return err
		}
	}
	hasMountNS := in.hasNamespace(specs.MountNamespace) && !mountNull
	if hasMountNS {
		if err := rfs.prepare(); err != nil {
			return err
		}
	}
	if err := in.exchange(msgHooks, msgContinue); err != nil {
		return err
	}
	if h := in.spec.Hooks; h != nil {
		if err := hooks.Run(context.Background(), h.CreateContainer, in.cfg.State); err != nil {
			return fmt.Errorf("run createContainer hook: %w", err)
		}
	}
	switch {
	case hasMountNS:
		if err := rfs.enter(); err != nil {
			return err
		}
	case !mountNull:
		if err := rfs.chrootOnly(); err != nil {
			return err
		}
	}
	if err := in.setupNamespaced(); err != nil {
		return err
	}
	if hasMountNS {
		if err := rfs.finish(); err != nil {
			return err
		}
	}
	if err := in.setupSession(); err != nil {
		return err
	}
	proc, err := newProcessSetup(in.spec.Process, in.spec.Linux)
	if err != nil {
		return err
	}
	proc.null = in.cfg.Null
	if err := proc.resolve(); err != nil {
		return err
	}
	if err := proc.setRlimits(); err != nil {
		return err
	}
	if err := in.enc.Encode(initMessage{Type: msgReady}); err != nil {
		return fmt.Errorf("report ready to runtime: %w", err)
	}
	in.readySent = true
	in.sock.Close()

	if !in.cfg.StartAtOnce {
		if err := in.waitForStart(); err != nil {
			return err
		}
	}
	if h := in.spec.Hooks; h != nil {
		state := withStatus(in.cfg.State, Created)
		if err := hooks.Run(context.Background(), h.StartContainer, state); err != nil {
			return fmt.Errorf("run startContainer hook: %w", err)
		}
	}
	return proc.exec(in.cfg.PassedFDs, in.cfg.ListenFDs)
}

// runExec prepares and executes a process joining a running container.
// The nsenter constructor has already joined the init's namespaces, which
// put this process under the container's root.
func (in *initState) runExec() error {
	if in.cfg.InitRootFD > 0 {
		root := os.NewFile(uintptr(in.cfg.InitRootFD), "init-root")
		err := linux.Fchdir(root)
		if err == nil {
			err = linux.Chroot(".")
		}
		root.Close()
		if err != nil {
			return fmt.Errorf("enter the container's root: %w", err)
		}
	}
	if err := in.setupSession(); err != nil {
		return err
	}
	proc, err := newProcessSetup(in.spec.Process, in.spec.Linux)
	if err != nil {
		return err
	}
	proc.null = in.cfg.Null
	proc.joining = true
	if err := proc.resolve(); err != nil {
		return err
	}
	// The socket is close-on-exec: the runtime reads end-of-file when the
	// program starts, or the error below if it does not.
	return proc.exec(in.cfg.PassedFDs, in.cfg.ListenFDs)
}

// exchange sends a request to the runtime and waits for its answer.
func (in *initState) exchange(send, want string) error {
	if err := in.enc.Encode(initMessage{Type: send}); err != nil {
		return fmt.Errorf("send %s to runtime: %w", send, err)
	}
	var m initMessage
	if err := in.dec.Decode(&m); err != nil {
		return fmt.Errorf("wait for runtime: %w", err)
	}
	if m.Type != want {
		return fmt.Errorf("runtime sent %q, want %q", m.Type, want)
	}
	return nil
}

func (in *initState) hasNamespace(t specs.LinuxNamespaceType) bool {
	for _, ns := range in.spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// setupNamespaced applies the settings that live in the container's own
// namespaces: host and domain name, and sysctls.
func (in *initState) setupNamespaced() error {
	if in.spec.Hostname != "" {
		if err := linux.Sethostname(in.spec.Hostname); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if in.spec.Domainname != "" {
		if err := linux.Setdomainname(in.spec.Domainname); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	for key, value := range in.spec.Linux.Sysctl {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		if err := os.WriteFile(path, []byte(value), 0); err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
		}
	}
	return nil
}

// setupSession gives the process a session of its own: on a new pty with
// a terminal, else with no controlling terminal at all. A process that
// kept the caller's terminal could push input into the caller's shell
// with ioctl(TIOCSTI).
func (in *initState) setupSession() error {
	if in.spec.Process.Terminal {
		return in.setupConsole()
	}
	return linux.Setsid()
}

// setupConsole opens a pty inside the container, sends its master over the
// console socket and makes the peer the process's stdio and controlling
// terminal.
func (in *initState) setupConsole() error {
	master, slave, err := linux.OpenPtyPair("/dev/ptmx")
	if err != nil {
		return fmt.Errorf("open console: %w", err)
	}
	defer master.Close()
	defer slave.Close()
	if sz := in.spec.Process.ConsoleSize; sz != nil {
		if err := linux.SetWinsize(master, &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}); err != nil {
			return err
		}
	}
	sock := os.NewFile(uintptr(in.cfg.ConsoleFD), "console-socket")
	defer sock.Close()
	if err := linux.SendFile(sock, master, slave.Name()); err != nil {
		return fmt.Errorf("send pty master to console socket: %w", err)
	}
	if err := linux.Setsid(); err != nil {
		return err
	}
	for fd := 0; fd < 3; fd++ {
		if err := linux.Dup3(int(slave.Fd()), fd); err != nil {
			return err
		}
	}
	return linux.SetControllingTerminal(0)
}

// waitForStart blocks until start writes a byte to the exec fifo.
func (in *initState) waitForStart() error {
	fifo := os.NewFile(uintptr(in.cfg.FifoFD), "exec.fifo")
	buf := make([]byte, 1)
	if _, err := fifo.Read(buf); err != nil {
		return fmt.Errorf("wait for start: %w", err)
	}
	return fifo.Close()
}

// lookPath finds the program the way execvp would, in the container's
// PATH, after the root has been switched.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("exec %q: %w", name, unwrapPathError(err))
		}
		return name, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		candidate := dir + "/" + name
		if fi, err := os.Stat(candidate); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w (PATH=%s)", name, exec.ErrNotFound, path)
}

// withStatus returns the runtime-spec state document with its status
// replaced.
func withStatus(state []byte, status Status) []byte {
	var st specs.State
	if err := json.Unmarshal(state, &st); err != nil {
		return state
	}
	st.Status = specs.ContainerState(status)
	out, err := json.Marshal(st)
	if err != nil {
		return state
	}
	return out
}
