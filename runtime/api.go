package runtime

import (
	"github.com/nullrun/nullrun/specext"
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
	// Null maps each null setting of the container to how this kernel
	// enforces it ("native:…", "emulated:…", "fresh-namespace").
	Null map[specext.Setting]string `json:"null,omitempty"`
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
	// startAtOnce makes the init exec the process as soon as it is set
	// up, without waiting for Start (a sandbox whose caller waits for it).
	startAtOnce bool
}

// Runtime is a state root holding one directory per container.
type Runtime struct {
	root          string
	systemdCgroup bool
	warn          func(error)
}

// Options configure a Runtime.
type Options struct {
	// Root is the state directory, /run/nullrun when empty.
	Root string
	// SystemdCgroup manages cgroups through systemd.
	SystemdCgroup bool
	// Warn receives failures that do not fail the operation, such as a
	// poststart or poststop hook that exits non-zero. Nil drops them.
	Warn func(error)
}

// DefaultRoot is the state root when Options.Root is empty.
const DefaultRoot = "/run/nullrun"

// Container is a handle on one container's state directory.
type Container struct {
	rt    *Runtime
	id    string
	dir   string
	state *persistedState
	// foreground and console are set only in the process that created the
	// container with CreateOptions.Foreground.
	foreground bool
	console    *os.File
}
