package runtime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Message types on the socket between the runtime and the container init.
const (
	msgConfig   = "config"   // runtime → init: the initConfig
	msgHooks    = "hooks"    // init → runtime: run prestart and createRuntime hooks now
	msgContinue = "continue" // runtime → init: hooks done, go on
	msgReady    = "ready"    // init → runtime: created, waiting for start
	msgError    = "error"    // init → runtime: setup failed, the init exits
)

// initMessage is one JSON document on the init socket.
type initMessage struct {
	Type   string      `json:"type"`
	Error  string      `json:"error,omitempty"`
	Config *initConfig `json:"config,omitempty"`
}

// initConfig is everything the container init needs from the runtime.
// File descriptors are numbers in the init's own table.
type initConfig struct {
	ID     string      `json:"id"`
	Bundle string      `json:"bundle"`
	Spec   *specs.Spec `json:"spec"`
	// Rootfs is the absolute host path of the rootfs directory.
	Rootfs string `json:"rootfs"`
	// FifoFD is exec.fifo opened read-write; the init blocks reading it
	// until start writes a byte.
	FifoFD int `json:"fifoFD"`
	// DoneFD is exec.done opened read-write; the init keeps it open until
	// its exec closes it, so start can tell that the process started.
	DoneFD int `json:"doneFD"`
	// StartAtOnce makes the init exec the process without waiting for
	// start; FifoFD and DoneFD are -1 then.
	StartAtOnce bool `json:"startAtOnce,omitempty"`
	// ConsoleFD is a unix socket that receives the pty master, or -1.
	ConsoleFD int `json:"consoleFD"`
	// PassedFDs are fds 3 .. 3+PassedFDs-1, handed to the user process.
	PassedFDs int `json:"passedFDs"`
	// ListenFDs of PassedFDs are socket-activation fds (LISTEN_FDS).
	ListenFDs int `json:"listenFDs"`
	// CgroupNS makes the init unshare a cgroup namespace itself, after
	// the runtime has put it into its cgroup.
	CgroupNS bool `json:"cgroupNS"`
	// UserNS is true when the container has a user namespace of its own, so
	// devices are bind-mounted from the host instead of created.
	UserNS bool `json:"userNS"`
	// CgroupPaths maps each controller to the container's cgroup directory
	// on the host, for the cgroup mount type.
	CgroupPaths map[string]string `json:"cgroupPaths"`
	// InitRootFD is, for an exec into a container without a mount
	// namespace, the init's root (/proc/PID/root), which the process
	// chroots into; -1 otherwise.
	InitRootFD int `json:"initRootFD,omitempty"`
	// Exec marks a process joining a running container instead of its init.
	Exec         bool `json:"exec,omitempty"`
	NoPivot      bool `json:"noPivot"`
	NoNewKeyring bool `json:"noNewKeyring"`
	// Null is set for a container with null settings.
	Null *initNull `json:"null,omitempty"`
	// State is the runtime-spec state document the init's own hooks
	// (createContainer, startContainer) read on stdin.
	State []byte `json:"state"`
}
