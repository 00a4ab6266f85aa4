package runtime

import (
	"golang.org/x/sys/unix"
	"io"
	"os"
	"time"
)

// Status is a container's lifecycle state as the runtime-spec names it.
type Status string

// The lifecycle states. A container moves creating → created → running →
// stopped; running ↔ paused through the freezer.
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is the document `state` and `list` print, with runc's field names.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CreateOptions are the per-call settings of create and run.
type CreateOptions struct {
	// Bundle is the bundle directory; config.json is read from it.
	Bundle string
	// PidFile, when set, receives the init's PID (written atomically).
	PidFile string
	// ConsoleSocket is a unix socket path that receives the pty master
	// when process.terminal is true.
	ConsoleSocket string
	// PreserveFDs passes the caller's fds 3 .. 3+PreserveFDs-1 to the
	// container, in addition to LISTEN_FDS sockets.
	PreserveFDs int
	// NoPivot uses MS_MOVE and chroot instead of pivot_root.
	NoPivot bool
	// NoNewKeyring keeps the caller's session keyring.
	NoNewKeyring bool
	// Stdio is the init's stdin, stdout and stderr (nil entries mean the
	// caller's own).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Foreground keeps the init as a child of the caller so Wait works
	// (run without --detach).
	Foreground bool
}

// Runtime is a state root holding one directory per container.
type Runtime struct {
	root          string
	systemdCgroup bool
}

// Options configure a Runtime.
type Options struct {
	// Root is the state directory, /run/nullrun when empty.
	Root string
	// SystemdCgroup manages cgroups through systemd.
	SystemdCgroup bool
}

// Container is a handle on one container's state directory.
type Container struct {
	rt    *Runtime
	id    string
	dir   string
	state *persistedState // TODO: defined with the state store
	// init is set only in the process that spawned the init.
	init *os.Process
}

// New opens (creating if needed, mode 0700) the state root.
func New(opts Options) (*Runtime, error) { return nil, errNotImplemented }

// Create validates the bundle, sets up the container's namespaces, cgroup
// and rootfs and leaves its init waiting for Start. On error nothing is left
// behind: no state directory, cgroup, mount or process.
func (r *Runtime) Create(id string, opts CreateOptions) (*Container, error) {
	return nil, errNotImplemented
}

// Load opens an existing container. A missing one returns an error that
// wraps ErrNotExist and says "container ID does not exist".
func (r *Runtime) Load(id string) (*Container, error) { return nil, errNotImplemented }

// List returns the state of every container under the root, sorted by ID.
func (r *Runtime) List() ([]State, error) { return nil, errNotImplemented }

// ID returns the container's ID.
func (c *Container) ID() string { return c.id }

// State returns the container's current state; the status is computed
// from the init process and the freezer, not only read from disk.
func (c *Container) State() (State, error) { return State{}, errNotImplemented }

// Start lets a created container's init exec the user process and runs the
// poststart hooks. Starting a container in any other state is an error.
func (c *Container) Start() error { return errNotImplemented }

// Signal sends sig to the init, or with all to every process in the
// container's cgroup. A stopped container returns ErrNotRunning.
func (c *Container) Signal(sig unix.Signal, all bool) error { return errNotImplemented }

// Delete removes a stopped (or created) container: cgroup, state directory,
// poststop hooks. With force a running or paused one is killed first.
func (c *Container) Delete(force bool) error { return errNotImplemented }

// Wait waits for the init of a container created with Foreground and
// returns its exit status, 128+N when killed by signal N.
func (c *Container) Wait() (int, error) { return 0, errNotImplemented }

// Console returns the pty master of a Foreground container with a terminal
// and no console socket, nil otherwise.
func (c *Container) Console() *os.File { return nil }

// Init is the container init's entry point (`nullrun init`): it sets up
// the container from the parent's instructions and execs the user process.
// It returns only on error.
func Init() error { return errNotImplemented }
