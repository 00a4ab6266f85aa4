package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// The helper process is this test binary re-executed with these variables
// set. It loads the profile, runs mkdir with the mode and prints the errno.
const (
	helperEnv  = "NULLRUN_SECCOMP_TEST_HELPER"
	profileEnv = "NULLRUN_SECCOMP_TEST_PROFILE"
	modeEnv    = "NULLRUN_SECCOMP_TEST_MODE"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := runHelper(os.Getenv(helperEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper loads the profile from the environment on this thread and prints
// "errno=N" for a mkdir of dir/new.
func runHelper(dir string) error {
	runtime.LockOSThread()

	var s specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(os.Getenv(profileEnv)), &s); err != nil {
		return err
	}
	mode, err := strconv.ParseUint(os.Getenv(modeEnv), 8, 32)
	if err != nil {
		return err
	}

	f, _, err := Compile(&s)
	if err != nil {
		return err
	}
	if err := linux.SetNoNewPrivs(); err != nil {
		return err
	}
	if err := f.Load(); err != nil {
		return err
	}
	if listener := f.ListenerFile(); listener != nil {
		state := specs.State{Version: specs.Version, ID: "helper", Status: specs.StateCreating, Pid: os.Getpid()}
		if err := SendListener(&s, listener, os.Getpid(), state); err != nil {
			return err
		}
		listener.Close()
	}

	errno := syscall.Errno(0)
	if err := os.Mkdir(filepath.Join(dir, "new"), os.FileMode(mode)); err != nil {
		if !errors.As(err, &errno) {
			return err
		}
	}
	fmt.Printf("errno=%d\n", int(errno))
	return nil
}

// startHelper starts the helper with profile and returns it with its stdout.
func startHelper(t *testing.T, profile *specs.LinuxSeccomp, mode os.FileMode) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	data, err := json.Marshal(profile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+t.TempDir(),
		profileEnv+"="+string(data),
		modeEnv+"="+strconv.FormatUint(uint64(mode), 8),
	)
	if os.Getenv("GORACE") == "" {
		// Under -race, every process otherwise sleeps a second at exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout
}

// helperErrno runs the helper to completion and returns the errno it saw.
func helperErrno(t *testing.T, cmd *exec.Cmd, stdout *bytes.Buffer) syscall.Errno {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper failed: %v", err)
	}
	value, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "errno=")
	if !ok {
		t.Fatalf("helper printed %q, want errno=N", stdout.String())
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		t.Fatalf("helper printed %q, want errno=N", stdout.String())
	}
	return syscall.Errno(n)
}

func mkdirProfile(action specs.LinuxSeccompAction, errnoRet *uint, args ...specs.LinuxSeccompArg) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			// Go's os.Mkdir calls mkdirat on most architectures; the mode is
			// the third argument of mkdirat and the second of mkdir, so the
			// argument tests name mkdirat only.
			Names:    []string{"mkdirat"},
			Action:   action,
			ErrnoRet: errnoRet,
			Args:     args,
		}},
	}
}

func TestLoadErrno(t *testing.T) {
	tests := []struct {
		name     string
		errnoRet *uint
		want     syscall.Errno
	}{
		{"default errno", nil, unix.EPERM},
		{"chosen errno", uintPtr(uint(unix.EXDEV)), unix.EXDEV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, stdout := startHelper(t, mkdirProfile(specs.ActErrno, tt.errnoRet), 0o755)
			if got := helperErrno(t, cmd, stdout); got != tt.want {
				t.Errorf("mkdir under the filter: got errno %d (%v), want %d (%v)", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestLoadMaskedEqual(t *testing.T) {
	// Deny mkdirat when the group-write bit of the mode is set.
	arg := specs.LinuxSeccompArg{Index: 2, Value: 0o020, ValueTwo: 0o020, Op: specs.OpMaskedEqual}
	tests := []struct {
		mode os.FileMode
		want syscall.Errno
	}{
		{0o775, unix.EACCES},
		{0o755, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			cmd, stdout := startHelper(t, mkdirProfile(specs.ActErrno, uintPtr(uint(unix.EACCES)), arg), tt.mode)
			if got := helperErrno(t, cmd, stdout); got != tt.want {
				t.Errorf("mkdir with mode %o: got errno %d (%v), want %d (%v)", tt.mode, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestLoadEqualAlternatives(t *testing.T) {
	// Mode 0o700 or 0o711 is denied; anything else is allowed.
	profile := mkdirProfile(specs.ActErrno, nil,
		specs.LinuxSeccompArg{Index: 2, Value: 0o700, Op: specs.OpEqualTo},
		specs.LinuxSeccompArg{Index: 2, Value: 0o711, Op: specs.OpEqualTo},
	)
	tests := []struct {
		mode os.FileMode
		want syscall.Errno
	}{
		{0o700, unix.EPERM},
		{0o711, unix.EPERM},
		{0o755, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			cmd, stdout := startHelper(t, profile, tt.mode)
			if got := helperErrno(t, cmd, stdout); got != tt.want {
				t.Errorf("mkdir with mode %o: got errno %d (%v), want %d (%v)", tt.mode, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestLoadNotify(t *testing.T) {
	dir := t.TempDir()
	socketPath := filepath.Join(dir, "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socketPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	profile := mkdirProfile(specs.ActNotify, nil)
	profile.ListenerPath = socketPath
	profile.ListenerMetadata = "test-metadata"
	profile.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	cmd, stdout := startHelper(t, profile, 0o755)

	// If the helper exits early the agent below would wait forever: close
	// the socket then so Accept fails.
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		ln.Close()
	}()

	state, listener := receiveListener(t, ln)
	defer listener.Close()
	if state.Metadata != "test-metadata" {
		t.Errorf("got metadata %q, want %q", state.Metadata, "test-metadata")
	}
	if state.Pid != cmd.Process.Pid {
		t.Errorf("got pid %d, want %d", state.Pid, cmd.Process.Pid)
	}

	req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(listener.Fd()))
	if err != nil {
		t.Fatalf("receive notification: %v", err)
	}
	name, err := req.Data.Syscall.GetName()
	if err != nil {
		t.Fatal(err)
	}
	if name != "mkdirat" {
		t.Errorf("got notification for %s, want mkdirat", name)
	}
	resp := &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(unix.EXDEV)}
	if err := libseccomp.NotifRespond(libseccomp.ScmpFd(listener.Fd()), resp); err != nil {
		t.Fatalf("respond to notification: %v", err)
	}

	if err := <-exited; err != nil {
		t.Fatalf("helper failed: %v", err)
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "errno=")
	if want := strconv.Itoa(int(unix.EXDEV)); !ok || got != want {
		t.Errorf("helper printed %q, want errno=%s", stdout.String(), want)
	}
}

// receiveListener accepts one connection on ln and returns the container
// process state and the fd sent with it.
func receiveListener(t *testing.T, ln *net.UnixListener) (specs.ContainerProcessState, *os.File) {
	t.Helper()
	conn, err := ln.AcceptUnix()
	if err != nil {
		t.Fatalf("accept agent connection: %v", err)
	}
	defer conn.Close()

	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read container process state: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("got control messages %v (%v), want one", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("got fds %v (%v), want one", fds, err)
	}
	file := os.NewFile(uintptr(fds[0]), "listener")

	// The rest of the JSON may follow in further writes.
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(conn); err != nil {
		t.Fatal(err)
	}
	var state specs.ContainerProcessState
	if err := json.Unmarshal(append(buf[:n], rest.Bytes()...), &state); err != nil {
		t.Fatalf("decode container process state: %v", err)
	}
	if len(state.Fds) != 1 || state.Fds[0] != specs.SeccompFdName {
		t.Errorf("got fds names %v, want [%s]", state.Fds, specs.SeccompFdName)
	}
	return state, file
}

func TestSendListener(t *testing.T) {
	dir := t.TempDir()
	socketPath := filepath.Join(dir, "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socketPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	sent, err := os.Create(filepath.Join(dir, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	defer sent.Close()

	profile := &specs.LinuxSeccomp{ListenerPath: socketPath, ListenerMetadata: "meta"}
	state := specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"}
	done := make(chan error, 1)
	go func() { done <- SendListener(profile, sent, 42, state) }()

	got, received := receiveListener(t, ln)
	defer received.Close()
	if err := <-done; err != nil {
		t.Fatalf("SendListener: %v", err)
	}
	if got.Version != specs.Version || got.Pid != 42 || got.Metadata != "meta" || got.State.ID != "c1" {
		t.Errorf("got state %+v, want version %s, pid 42, metadata meta, id c1", got, specs.Version)
	}

	sentInfo, err := sent.Stat()
	if err != nil {
		t.Fatal(err)
	}
	receivedInfo, err := received.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(sentInfo, receivedInfo) {
		t.Errorf("received fd refers to a different file than the one sent")
	}
}

func TestSendListenerNoPath(t *testing.T) {
	if err := SendListener(&specs.LinuxSeccomp{}, os.Stdin, 1, specs.State{}); err == nil {
		t.Errorf("got no error without listenerPath, want one")
	}
}
