package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usesNotify reports whether any rule of s has the SCMP_ACT_NOTIFY action.
func usesNotify(s *specs.LinuxSeccomp) bool {
	for _, entry := range s.Syscalls {
		if entry.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// validateListener checks the user-notification settings of s.
func validateListener(s *specs.LinuxSeccomp) error {
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return errors.New("invalid seccomp profile: listenerMetadata is set without listenerPath: " +
			"set listenerPath or remove listenerMetadata")
	}
	if s.DefaultAction == specs.ActNotify {
		return fmt.Errorf("invalid seccomp profile: defaultAction %s would block the init "+
			"before it can send the listener fd: use %s on selected syscalls instead",
			specs.ActNotify, specs.ActNotify)
	}
	if usesNotify(s) && s.ListenerPath == "" {
		return fmt.Errorf("invalid seccomp profile: %s rules need listenerPath, "+
			"or the notifying syscalls wait forever: set listenerPath to the agent's socket",
			specs.ActNotify)
	}
	return nil
}

// SendListener connects to the seccomp agent's unix socket at
// s.ListenerPath and sends it the container process state as JSON, with
// listener attached through SCM_RIGHTS and named "seccompFd" in its fds, as
// runtime-spec describes. pid is the container process as the runtime sees
// it. The connection carries this one state and is closed afterwards.
// SendListener does not close listener.
func SendListener(s *specs.LinuxSeccomp, listener *os.File, pid int, state specs.State) error {
	if s == nil || s.ListenerPath == "" {
		return errors.New("send seccomp listener: listenerPath is not set")
	}
	msg, err := json.Marshal(specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: s.ListenerMetadata,
		State:    state,
	})
	if err != nil {
		return fmt.Errorf("encode container process state: %w", err)
	}

	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: s.ListenerPath, Net: "unix"})
	if err != nil {
		return fmt.Errorf("connect to seccomp agent at %s: %w", s.ListenerPath, err)
	}
	defer conn.Close()

	// The fd goes with the first part of the message only; runtime-spec
	// allows the rest to follow in further writes.
	n, _, err := conn.WriteMsgUnix(msg, unix.UnixRights(int(listener.Fd())), nil)
	if err == nil && n < len(msg) {
		_, err = conn.Write(msg[n:])
	}
	if err != nil {
		return fmt.Errorf("send seccomp listener to %s: %w", s.ListenerPath, err)
	}
	return nil
}
