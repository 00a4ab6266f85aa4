package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/nullrun/nullrun/internal/linux"
)

// Start starts cmd, which must be a binary that links this package,
// sends it req and serves its requests for ID maps and time offsets.
// It returns the PID of the process that runs Go main and the parent's
// end of the socket, which the caller keeps for its own messages.
//
// Start appends the child's end of the socket to cmd.ExtraFiles, so the
// caller adds its own extra files first, and sets EnvFD in cmd.Env (the
// current environment when cmd.Env is nil).
//
// When the request joins or creates a pid or time namespace, the child
// forks: the returned PID is the grandchild's, in the caller's PID
// namespace. Start reaps the intermediate process with
// cmd.Process.Wait and stores its state in cmd.ProcessState, so the
// caller must not call cmd.Wait. Because of
// that, give cmd *os.File values (or nil) for Stdin, Stdout and Stderr,
// since exec's copying goroutines would never be waited for. The
// grandchild is reparented to the nearest child subreaper, so a caller
// that waits for it must have set PR_SET_CHILD_SUBREAPER before Start
// (and then reaps it with os.FindProcess and Wait, or wait4).
// Without a fork the returned PID is cmd.Process.Pid and cmd.Wait works
// as usual.
//
// With req.Pause, Start returns as soon as the PID is known, and that
// process waits in the constructor until the caller calls Resume with
// the returned socket. The caller writes nothing else to the socket
// before Resume, and kills the process to abandon it.
//
// On error the child (and any grandchild) has been killed and reaped.
// A failure inside the child is a *SetupError naming the namespace
// and path; it unwraps to the errno.
func Start(cmd *exec.Cmd, req Request) (pid int, sock *os.File, err error) {
	if !constructorLinked {
		return 0, nil, errors.New("enter namespaces: this binary was built without cgo, which the namespace constructor needs: rebuild with CGO_ENABLED=1")
	}
	enc, err := req.encode()
	if err != nil {
		return 0, nil, err
	}

	parentEnd, childEnd, err := linux.Socketpair("nsenter")
	if err != nil {
		return 0, nil, fmt.Errorf("enter namespaces: %w", err)
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, childEnd)
	cmd.Env = setEnv(cmd.Env, EnvFD, strconv.Itoa(fd))

	err = cmd.Start()
	childEnd.Close()
	if err != nil {
		parentEnd.Close()
		return 0, nil, fmt.Errorf("enter namespaces: %w", err)
	}

	pid, err = handshake(cmd, parentEnd, &req, enc)
	if err != nil {
		parentEnd.Close()
		return 0, nil, fmt.Errorf("enter namespaces: %w", err)
	}
	return pid, parentEnd, nil
}

// Resume lets a process that Start left paused (Request.Pause) take the
// steps after the pause, its cgroup namespace and the null user, and
// waits until they are done. After that the process runs Go main and
// sock belongs to the caller as after Start. Call it once per paused
// process.
//
// A failure in the process is a *SetupError, after which the process
// exits with status 1. Resume does not reap the process: on any error
// the caller kills it (harmless after a *SetupError) and reaps it as it
// would after Start.
func Resume(sock *os.File) error {
	if _, err := sock.Write(appendMessage(nil, reqResume)); err != nil {
		return fmt.Errorf("resume namespace setup: send resume message: %w", err)
	}
	typ, payload, err := readMessage(sock)
	if err != nil {
		return fmt.Errorf("resume namespace setup: read acknowledgement: %w", err)
	}
	switch typ {
	case msgResumed:
		return nil
	case msgError:
		return fmt.Errorf("resume namespace setup: %w", parseSetupError(payload))
	default:
		return fmt.Errorf("resume namespace setup: read acknowledgement: got message type %d, want %d", typ, msgResumed)
	}
}

// setEnv returns env (or the current environment when env is nil) with
// key set to value and any earlier setting of key removed.
func setEnv(env []string, key, value string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func handshake(cmd *exec.Cmd, sock *os.File, req *Request, enc *encoded) (int, error) {
	child := cmd.Process.Pid
	if _, err := sock.Write(enc.msg); err != nil {
		return 0, abort(cmd, fmt.Errorf("send request to pid %d: %w", child, err))
	}

	for {
		typ, payload, err := readMessage(sock)
		if err != nil {
			return 0, abort(cmd, fmt.Errorf("read message from pid %d: %w", child, err))
		}

		switch typ {
		case msgUserns:
			if err := writeIDMaps(child, req); err != nil {
				return 0, abort(cmd, err)
			}
			ack := appendMessage(nil, ackUserns, uint32Bytes(enc.mappedID))
			if _, err := sock.Write(ack); err != nil {
				return 0, abort(cmd, fmt.Errorf("send ID map acknowledgement to pid %d: %w", child, err))
			}
		case msgTimens:
			path := fmt.Sprintf("/proc/%d/timens_offsets", child)
			if err := writeProcFile(path, formatTimeOffsets(req.TimeOffsets)); err != nil {
				return 0, abort(cmd, err)
			}
			if _, err := sock.Write(appendMessage(nil, ackTimens)); err != nil {
				return 0, abort(cmd, fmt.Errorf("send time offsets acknowledgement to pid %d: %w", child, err))
			}
		case msgError:
			return 0, abort(cmd, parseSetupError(payload))
		case msgDone:
			return finish(cmd, payload)
		default:
			return 0, abort(cmd, fmt.Errorf("read message from pid %d: unknown message type %d", child, typ))
		}
	}
}

// finish checks the done message and, after a fork, reaps the
// intermediate process.
func finish(cmd *exec.Cmd, payload []byte) (int, error) {
	if len(payload) != 8 {
		return 0, abort(cmd, fmt.Errorf("read done message from pid %d: got %d bytes, want 8", cmd.Process.Pid, len(payload)))
	}
	pid := int(int32(binary.NativeEndian.Uint32(payload[:4])))
	if binary.NativeEndian.Uint32(payload[4:]) == 0 {
		return pid, nil
	}

	state, err := cmd.Process.Wait()
	cmd.ProcessState = state
	if err == nil && !state.Success() {
		err = fmt.Errorf("intermediate process exited with %s", state)
	}
	if err != nil {
		killPid(pid)
		return 0, fmt.Errorf("reap intermediate pid %d: %w", cmd.Process.Pid, err)
	}
	return pid, nil
}

// abort reaps the child and returns err. A child that reported a
// *SetupError exits by itself; any other is killed first, and its exit
// status is added to err.
func abort(cmd *exec.Cmd, err error) error {
	if errors.As(err, new(*SetupError)) {
		_ = cmd.Wait()
		return err
	}
	_ = cmd.Process.Kill()
	var exitErr *exec.ExitError
	if errors.As(cmd.Wait(), &exitErr) {
		return fmt.Errorf("%w (child %s)", err, exitErr.ProcessState)
	}
	return err
}

// killPid kills a grandchild and reaps it if the caller is its
// subreaper; otherwise its new parent reaps it.
func killPid(pid int) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Kill()
	_, _ = p.Wait()
	_ = p.Release()
}

func writeIDMaps(pid int, req *Request) error {
	if len(req.UIDMappings) > 0 {
		path := fmt.Sprintf("/proc/%d/uid_map", pid)
		if err := writeProcFile(path, formatIDMap(req.UIDMappings)); err != nil {
			return err
		}
	}
	if req.SetgroupsDeny {
		if err := writeProcFile(fmt.Sprintf("/proc/%d/setgroups", pid), "deny"); err != nil {
			return err
		}
	}
	if len(req.GIDMappings) > 0 {
		path := fmt.Sprintf("/proc/%d/gid_map", pid)
		if err := writeProcFile(path, formatIDMap(req.GIDMappings)); err != nil {
			return err
		}
	}
	return nil
}

// writeProcFile writes data in one write(2), as the ID map and time
// offset files require.
func writeProcFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	closeErr := f.Close()
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return fmt.Errorf("write %q to %s: %w", strings.TrimSpace(data), path, err)
	}
	return closeErr
}
