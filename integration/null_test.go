package integration

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The null-sandbox escape suite. Each test runs integration/nullprobe in a
// sandbox with null settings and grants, and compares every line the probe
// prints with the errno that the table in nullns/doc.go documents for the
// emulation on a kernel without null namespaces.

// Annotation keys, spelled out so that the suite tests the interface
// users write rather than the parser's constants.
const (
	nullKey    = "dev.nullrun.null"
	enforceKey = "dev.nullrun.enforce"
	grantKey   = "dev.nullrun.grant."
)

// rootfsPasswd is the /etc/passwd that makeRootfs writes.
const rootfsPasswd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"

// allButTime is every null setting that this kernel can enforce in strict
// mode: time has no emulation.
const allButTime = "mount,network,ipc,uts,user,pid,cgroup,root,cwd"

// outsideMarker is a file the suite puts in the bundle directory, next to
// the rootfs, where no sandbox may reach it.
const outsideMarker = "nullrun-outside"

// climb is a relative path that walks from any host directory up to the
// host's /etc/passwd.
var climb = strings.Repeat("../", 24) + "etc/passwd"

// requireNullrun skips t unless the runtime under test is nullrun.
func requireNullrun(t *testing.T) {
	t.Helper()
	if name := runtimeName(); name != "nullrun" {
		t.Skipf("null namespaces are a nullrun extension; %s ignores the dev.nullrun annotations", name)
	}
}

var (
	probeOnce sync.Once
	probeData []byte
	probeErr  error
)

// probeBinary returns the statically linked nullprobe, built once per
// test binary with CGO_ENABLED=0.
func probeBinary(t *testing.T) []byte {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nullprobe-")
		if err != nil {
			probeErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "nullprobe")
		build := exec.Command("go", "build", "-o", out, "./nullprobe")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := build.CombinedOutput(); err != nil {
			probeErr = errors.New("build nullprobe: " + err.Error() + ": " + string(msg))
			return
		}
		probeData, probeErr = os.ReadFile(out)
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probeData
}

// hostFiles are the host files and directories a test grants to its
// sandbox.
type hostFiles struct {
	RO     string // directory with "data", granted read-only
	RW     string // directory, granted writable
	File   string // file "file-data", granted read-only
	RWFile string // file, granted writable
}

// The fds the grants of newHostFiles get in the sandbox.
const (
	fdRO     = 3
	fdRW     = 4
	fdFile   = 5
	fdRWFile = 6
)

// newHostFiles creates the granted files. The writable ones are writable
// by every uid, because a null user runs as an unprivileged host uid and
// DAC still applies to it.
func newHostFiles(t *testing.T) hostFiles {
	t.Helper()
	dir := openTempDir(t)
	h := hostFiles{
		RO: filepath.Join(dir, "ro"), RW: filepath.Join(dir, "rw"),
		File: filepath.Join(dir, "file"), RWFile: filepath.Join(dir, "rwfile"),
	}
	for _, d := range []string{h.RO, h.RW} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(h.RW, 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.RO, "data"), "ro-data\n")
	writeFile(t, h.File, "file-data\n")
	writeFile(t, h.RWFile, "rwfile-data\n")
	if err := os.Chmod(h.RWFile, 0o666); err != nil {
		t.Fatal(err)
	}
	return h
}

// annotations returns the grant annotations of h at fdRO .. fdRWFile.
func (h hostFiles) annotations() map[string]string {
	return map[string]string{
		grantKey + strconv.Itoa(fdRO):     h.RO + ":ro",
		grantKey + strconv.Itoa(fdRW):     h.RW + ":rw",
		grantKey + strconv.Itoa(fdFile):   h.File,
		grantKey + strconv.Itoa(fdRWFile): h.RWFile + ":rw",
	}
}

// newNullBundle returns a bundle that runs nullprobe with checks under
// the null settings null, with annotations added. It removes what the
// runtime rejects next to a null setting. That is every mount for a null
// mount or root, the proc mount for a null pid, the cgroup mount for a
// null cgroup and the host name for a null uts.
func newNullBundle(t *testing.T, r *testRuntime, null string, annotations map[string]string,
	checks ...string,
) *bundle {
	t.Helper()
	b := r.newBundle(append([]string{"/nullprobe"}, checks...)...)
	if err := os.WriteFile(filepath.Join(b.Rootfs, "nullprobe"), probeBinary(t), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.Dir, outsideMarker), "outside the rootfs\n")
	b.Spec.Annotations = map[string]string{nullKey: null}
	for k, v := range annotations {
		b.Spec.Annotations[k] = v
	}
	has := func(s string) bool {
		for _, item := range strings.Split(null, ",") {
			if item == s || item == "all" {
				return true
			}
		}
		return false
	}
	var mounts []specs.Mount
	for _, m := range b.Spec.Mounts {
		switch {
		case has("mount") || has("root"):
		case has("pid") && m.Type == "proc":
		case has("cgroup") && m.Type == "cgroup":
		default:
			mounts = append(mounts, m)
		}
	}
	b.Spec.Mounts = mounts
	if has("uts") {
		b.Spec.Hostname = ""
		b.Spec.Domainname = ""
	}
	return b
}

// probeCheck is one nullprobe argument and the result line it must print.
type probeCheck struct {
	arg, want string
}

// probeArgs returns the arguments of checks.
func probeArgs(checks []probeCheck) []string {
	args := make([]string, len(checks))
	for i, c := range checks {
		args[i] = c.arg
	}
	return args
}

// requireProbeResults compares nullprobe's output, one "ARG RESULT" line
// per check in order, with checks. Every result that differs is an error;
// a forbidden call that returned "ok" is reported as an escape.
func requireProbeResults(t *testing.T, stdout string, checks []probeCheck) {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		arg, res, ok := strings.Cut(line, " ")
		if !ok {
			t.Errorf("probe output line %q: want \"CHECK RESULT\"", line)
			continue
		}
		got[arg] = res
	}
	for _, c := range checks {
		res, ok := got[c.arg]
		switch {
		case !ok:
			t.Errorf("%s: no result in probe output %q", c.arg, stdout)
		case res != c.want && res == "ok":
			t.Errorf("ESCAPE %s: got ok, want %s", c.arg, c.want)
		case res != c.want:
			t.Errorf("%s: got %s, want %s", c.arg, res, c.want)
		}
	}
}

// runProbe runs b in the foreground and returns the probe's output,
// failing t when the run fails.
func runProbe(t *testing.T, r *testRuntime, b *bundle) string {
	t.Helper()
	_, res := r.runBundle(b)
	if res.Code != 0 {
		t.Fatalf("run probe: %s", res)
	}
	return res.Stdout
}

// Checks shared by several sandboxes.
var (
	// mountChecks are the mount API and mount namespace calls, which a null
	// mount or root makes fail with EPERM (clone3 with ENOSYS).
	mountChecks = []probeCheck{
		{"mount", "errno=EPERM"},
		{"umount2", "errno=EPERM"},
		{"pivot_root", "errno=EPERM"},
		{"chroot", "errno=EPERM"},
		{"open_tree", "errno=EPERM"},
		{"fsopen", "errno=EPERM"},
		{"fspick", "errno=EPERM"},
		{"mount_setattr", "errno=EPERM"},
		{"unshare-mount", "errno=EPERM"},
		{"clone3", "errno=ENOSYS"},
	}
	// grantChecks use the grants of newHostFiles: what they allow works,
	// and no walk leaves them.
	grantChecks = []probeCheck{
		{"read=3:data", "value=ro-data"},
		{"write=3:new", "errno=EACCES"},
		{"openat=3:..", "errno=EACCES"},
		{"openat=3:" + climb, "errno=EACCES"},
		{"write=4:new", "ok"},
		{"read=4:new", "value=written by nullprobe"},
		{"openat=4:..", "errno=EACCES"},
		{"openat=4:" + climb, "errno=EACCES"},
		{"symlink-escape=4", "errno=EACCES"},
		{"fchdir-climb=3", "errno=EACCES"},
		// The filter refuses name_to_handle_at itself, before a handle
		// could be opened.
		{"open-by-handle=3", "error=name_to_handle_at: operation not permitted"},
		{"readfd=5", "value=file-data"},
		{"writefd=5", "errno=EBADF"},
		{"writefd=6", "ok"},
		{"readfd=6", `value=rwfile-data\nappended by nullprobe`},
	}
	// rootChecks are lookups from a null root: nothing exists in the empty
	// root, and opening the root itself is denied.
	rootChecks = []probeCheck{
		{"open=/etc/passwd", "errno=ENOENT"},
		{"open=/", "errno=EACCES"},
		{"open=/nullprobe", "errno=ENOENT"},
		{"chdir=/tmp", "errno=ENOENT"},
		{"create=/new", "errno=ENOENT"},
		{"open=/proc/self/status", "errno=ENOENT"},
		{"open=/proc/self/mountinfo", "errno=ENOENT"},
		{"open=/proc/self/cgroup", "errno=ENOENT"},
		{"open=/sys/fs/cgroup", "errno=ENOENT"},
	}
	// cwdChecks are lookups from a null cwd: nothing exists in the empty
	// working directory, and opening it or its parent is denied.
	cwdChecks = []probeCheck{
		{"open=.", "errno=EACCES"},
		{"open=..", "errno=EACCES"},
		{"open=etc/passwd", "errno=ENOENT"},
		{"create=new", "errno=ENOENT"},
	}
	// networkChecks are the socket calls of a null network. The abstract
	// socket is the test's own, placed by {abstract}.
	networkChecks = []probeCheck{
		{"socket-inet", "errno=ENONET"},
		{"socket-inet6", "errno=ENONET"},
		{"socket-netlink", "errno=ENONET"},
		{"socket-packet", "errno=ENONET"},
		{"socketpair-inet", "errno=ENONET"},
		{"io_uring_setup", "errno=EPERM"},
		{"socket-unix", "ok"},
		{"socketpair-unix", "ok"},
		{"connect-abstract={abstract}", "errno=EPERM"},
	}
	// networkChecksFsNull replace networkChecks when the root or cwd is
	// null too: before Landlock ABI 9 nothing confines which named unix
	// socket a process reaches, so it gets no unix socket but stream pairs
	// and its socket grants.
	networkChecksFsNull = joinChecks(networkChecks[:6], []probeCheck{
		{"socket-unix", "errno=EACCES"},
		{"socketpair-unix", "ok"},
		{"connect-abstract={abstract}", "error=socket: permission denied"},
	})
	ipcChecks = []probeCheck{
		{"msgget", "errno=ENOSYS"},
		{"semget", "errno=ENOSYS"},
		{"shmget", "errno=ENOSYS"},
		{"mq_open", "errno=ENOSYS"},
	}
	utsChecks = []probeCheck{
		{"uname", "errno=ENOENT"},
		{"sethostname", "errno=ENOENT"},
		{"setdomainname", "errno=ENOENT"},
	}
	userChecks = []probeCheck{
		{"getuid", "value=65534"},
		{"geteuid", "value=65534"},
		{"getgid", "value=65534"},
		{"getegid", "value=65534"},
		{"setuid", "errno=EPERM"},
		{"setgid", "errno=EPERM"},
		{"setgroups", "errno=EPERM"},
	}
	// pidChecks are process creation and signals. {victim} is a process
	// the test started outside the sandbox.
	pidChecks = []probeCheck{
		{"fork", "errno=EPERM"},
		{"clone3", "errno=ENOSYS"},
		{"thread", "ok"},
		{"getpid", "ok"},
		{"kill-self", "ok"},
		{"kill-parent", "errno=EPERM"},
		{"kill={victim}", "errno=EPERM"},
		{"pidfd-signal={victim}", "errno=EPERM"},
	}
	// timeChecks: the clock stays readable, because time is not nulled on
	// a kernel without a null time namespace.
	timeChecks = []probeCheck{
		{"clock_gettime", "ok"},
	}
)

// joinChecks concatenates check lists, keeping the first of duplicates.
func joinChecks(lists ...[]probeCheck) []probeCheck {
	seen := map[string]bool{}
	var out []probeCheck
	for _, l := range lists {
		for _, c := range l {
			if !seen[c.arg] {
				seen[c.arg] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// victim is a process the test started outside every sandbox, for the
// signal checks.
type victim struct {
	cmd  *exec.Cmd
	done chan error
}

func startVictim(t *testing.T) *victim {
	t.Helper()
	cmd := exec.Command(busyboxPath, "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start victim process: %v", err)
	}
	v := &victim{cmd: cmd, done: make(chan error, 1)}
	go func() { v.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-v.done
	})
	return v
}

// requireUnsignalled kills v and fails t unless SIGKILL, the test's own
// signal, is what ended it: a SIGTERM from the sandbox would have ended it
// first.
func (v *victim) requireUnsignalled(t *testing.T) {
	t.Helper()
	v.cmd.Process.Signal(syscall.SIGKILL)
	err := <-v.done
	v.done <- err
	ws, ok := v.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("ESCAPE: victim process %d ended by %v, want the test's SIGKILL", v.cmd.Process.Pid, err)
	}
}

// listenAbstract listens on a fresh abstract unix socket in the test's
// network namespace and returns its name without the leading "@".
func listenAbstract(t *testing.T) string {
	t.Helper()
	name := "nullrun-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(idCounter.Add(1), 10)
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatalf("listen on abstract socket @%s: %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	return name
}

// expandChecks replaces {abstract} and {victim} in the check arguments.
func expandChecks(checks []probeCheck, abstract string, victimPID int) []probeCheck {
	rep := strings.NewReplacer("{abstract}", abstract, "{victim}", strconv.Itoa(victimPID))
	out := make([]probeCheck, len(checks))
	for i, c := range checks {
		out[i] = probeCheck{arg: rep.Replace(c.arg), want: c.want}
	}
	return out
}

func TestNullSettings(t *testing.T) {
	tests := []struct {
		name   string
		null   string
		grants bool
		// noHostname clears the spec's hostname, which the runtime fails
		// to set for a null user (see TestNullUserHostname).
		noHostname bool
		checks     []probeCheck
	}{
		{
			name: "mount", null: "mount", grants: true,
			checks: joinChecks(rootChecks, cwdChecks, mountChecks, grantChecks, []probeCheck{
				// The cwd is the root, and ".." at the root stays there.
				{"open=" + climb, "errno=ENOENT"},
				// Not nulled: a fresh network namespace, uname, IDs, fork.
				{"socket-inet", "ok"},
				{"uname", "ok"},
				{"getuid", "value=0"},
				{"fork", "ok"},
			}, timeChecks),
		},
		{
			name: "root", null: "root", grants: true,
			checks: joinChecks(rootChecks[:5], mountChecks, grantChecks, []probeCheck{
				// The cwd is kept: the container's "/", outside the empty
				// root, and lookups beneath it work. It is the root of the
				// container's mount namespace, so ".." stays in it and the
				// bundle directory above it is out of reach.
				{"open=etc/passwd", "ok"},
				{"open=../" + outsideMarker, "errno=ENOENT"},
				{"read=cwd:" + climb, `value=` + strings.ReplaceAll(strings.TrimSuffix(rootfsPasswd, "\n"), "\n", `\n`)},
			}),
		},
		{
			name: "cwd", null: "cwd", grants: true,
			checks: joinChecks(cwdChecks, grantChecks, []probeCheck{
				// The empty cwd lies in the host's tree, outside the root,
				// so ".." climbs the host's directories until Landlock
				// stops it.
				{"open=" + climb, "errno=EACCES"},
				// The root is kept, and a chdir into it gives the process a
				// working directory again.
				{"open=/etc/passwd", "ok"},
				{"chdir=/tmp", "ok"},
				{"mount", "errno=EPERM"},
				{"uname", "ok"},
			}),
		},
		{
			name: "network", null: "network",
			checks: joinChecks(networkChecks, []probeCheck{
				{"open=/etc/passwd", "ok"},
				{"uname", "ok"},
				{"msgget", "ok"},
			}),
		},
		{
			name: "ipc", null: "ipc",
			checks: joinChecks(ipcChecks, []probeCheck{
				{"socket-inet", "ok"},
				{"uname", "ok"},
			}),
		},
		{
			name: "uts", null: "uts",
			checks: joinChecks(utsChecks, []probeCheck{
				{"msgget", "ok"},
				{"getuid", "value=0"},
			}),
		},
		{
			// A null user needs a null mount on this kernel.
			name: "user", null: "user,mount", grants: true, noHostname: true,
			checks: joinChecks(userChecks, grantChecks, []probeCheck{
				{"fork", "ok"},
			}),
		},
		{
			name: "pid", null: "pid",
			checks: joinChecks(pidChecks, []probeCheck{
				{"open=/proc/self/status", "errno=ENOENT"},
				{"socket-inet", "ok"},
			}),
		},
		{
			name: "cgroup", null: "cgroup",
			checks: []probeCheck{
				{"cgroup-paths", "value=/"},
				{"open=/sys/fs/cgroup/memory", "errno=ENOENT"},
				{"open=/sys/fs/cgroup/unified", "errno=ENOENT"},
				{"fork", "ok"},
			},
		},
		{
			name: "all but time", null: allButTime, grants: true,
			checks: joinChecks(rootChecks, cwdChecks, mountChecks, grantChecks, networkChecksFsNull,
				ipcChecks, utsChecks, userChecks, pidChecks, timeChecks, []probeCheck{
					{"open=" + climb, "errno=ENOENT"},
				}),
		},
		{
			name: "network ipc uts", null: "network,ipc,uts",
			checks: joinChecks(networkChecks, ipcChecks, utsChecks, []probeCheck{
				{"fork", "ok"},
				{"open=/etc/passwd", "ok"},
			}),
		},
		{
			name: "root network", null: "root,network", grants: true,
			checks: joinChecks(rootChecks[:5], networkChecksFsNull, grantChecks),
		},
		{
			name: "pid cgroup", null: "pid,cgroup",
			checks: joinChecks(pidChecks, []probeCheck{
				{"open=/sys/fs/cgroup/memory", "errno=ENOENT"},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireNullrun(t)
			r := newRuntime(t)
			checks := expandChecks(tt.checks, listenAbstract(t), startVictim(t).cmd.Process.Pid)
			var annotations map[string]string
			if tt.grants {
				annotations = newHostFiles(t).annotations()
			}
			b := newNullBundle(t, r, tt.null, annotations, probeArgs(checks)...)
			if tt.noHostname {
				b.Spec.Hostname = ""
			}
			requireProbeResults(t, runProbe(t, r, b), checks)
		})
	}
}

// TestNullSignals checks that the sandbox's signals do not reach a
// process outside it, beyond the errno of the kill call.
func TestNullSignals(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	v := startVictim(t)
	checks := expandChecks([]probeCheck{
		{"kill={victim}", "errno=EPERM"},
		{"pidfd-signal={victim}", "errno=EPERM"},
	}, "", v.cmd.Process.Pid)
	b := newNullBundle(t, r, "pid", nil, probeArgs(checks)...)
	requireProbeResults(t, runProbe(t, r, b), checks)
	v.requireUnsignalled(t)
}

// TestNullPIDLookup checks that a null PID namespace cannot look another
// process up by PID either: the emulation shares the host's PID namespace,
// so the filter refuses pidfd_open and the calls that name a PID.
func TestNullPIDLookup(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	v := startVictim(t)
	checks := expandChecks([]probeCheck{{"pidfd_open={victim}", "errno=EPERM"}}, "", v.cmd.Process.Pid)
	b := newNullBundle(t, r, "pid", nil, probeArgs(checks)...)
	requireProbeResults(t, runProbe(t, r, b), checks)
}

// TestNullUserHostname runs a null user next to a fresh UTS namespace
// with a host name, which the default spec has. The runtime must either
// set the name before the process loses its capabilities or reject the
// bundle at create with an error naming the hostname.
func TestNullUserHostname(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := newNullBundle(t, r, "user,mount", nil, "uname")
	b.Spec.Hostname = "nullbox"
	b.write(t)
	res := r.run("create", "--bundle", b.Dir, r.newID())
	if res.Code != 0 {
		requireOneLineError(t, res, "hostname")
		if strings.Contains(res.Stderr, "operation not permitted") {
			t.Errorf("create: got %q, want a rejection of the bundle, not a failed sethostname", res.Stderr)
		}
		r.requireNoLeaks()
	}
}

// TestNullNamedSocket checks that a null network leaves named unix
// sockets working: only the abstract namespace is scoped.
func TestNullNamedSocket(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := newNullBundle(t, r, "network", nil, "connect-path=/tmp/s.sock")
	// sun_path holds 107 bytes and the rootfs path is longer, so the
	// socket is bound through a short symlink to the rootfs's /tmp.
	short, err := os.MkdirTemp("", "nrn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	if err := os.Symlink(filepath.Join(b.Rootfs, "tmp"), filepath.Join(short, "t")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(short, "t", "s.sock"))
	if err != nil {
		t.Fatalf("listen in the rootfs: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	requireProbeResults(t, runProbe(t, r, b), []probeCheck{{"connect-path=/tmp/s.sock", "ok"}})
}

// shortSocketPath returns a path for a unix socket in a fresh directory
// short enough for sun_path.
func shortSocketPath(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nrn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// TestNullUnixGrant connects the sandbox to a server the test runs,
// through a unix: grant, under every null setting this kernel enforces.
func TestNullUnixGrant(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	path := shortSocketPath(t, "echo.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	served := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			served <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		buf := make([]byte, 5)
		n, err := conn.Read(buf)
		if err != nil {
			served <- "read: " + err.Error()
			return
		}
		conn.Write([]byte("pong\n"))
		served <- string(buf[:n])
	}()

	b := newNullBundle(t, r, allButTime, map[string]string{grantKey + "3": "unix:" + path}, "unix-echo=3")
	requireProbeResults(t, runProbe(t, r, b), []probeCheck{{"unix-echo=3", "value=pong"}})
	if got := <-served; got != "ping\n" {
		t.Errorf("server received: got %q, want %q", got, "ping\n")
	}
}

// TestNullListenGrant has the sandbox accept a connection from the test on
// a listen: grant, and checks that delete removes the socket file.
func TestNullListenGrant(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	path := shortSocketPath(t, "listen.sock")
	b := newNullBundle(t, r, allButTime, map[string]string{grantKey + "3": "listen:" + path}, "accept=3")
	b.write(t)

	stdout := r.outputFile()
	defer stdout.Close()
	id := r.newID()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := r.command(ctx, "create", "--bundle", b.Dir, id)
	cmd.Stdout = stdout
	if res := r.exec(cmd); res.Code != 0 {
		t.Fatalf("create: %s", res)
	}

	// The runtime bound and listens on the socket at create, so the test
	// can connect before the process accepts.
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect to the listen: grant %s: %v", path, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(stateTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("hi from the test\n")); err != nil {
		t.Fatal(err)
	}
	r.mustRun("start", id)
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read greeting from the sandbox: %v", err)
	}
	if got, want := string(buf[:n]), "hello from the sandbox\n"; got != want {
		t.Errorf("greeting: got %q, want %q", got, want)
	}
	r.waitStatus(id, "stopped")
	out, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(stdout.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	requireProbeResults(t, string(out), []probeCheck{{"accept=3", "value=hi from the test"}})

	if _, err := os.Stat(path); err != nil {
		t.Errorf("listen: socket before delete: %v, want it present", err)
	}
	r.mustRun("delete", id)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("listen: socket %s after delete: got %v, want it removed", path, err)
	}
	r.requireNoLeaks()
}

// nullState is the null part of `nullrun state`.
type nullState struct {
	Null map[string]string `json:"null"`
}

func TestNullStateEnforcement(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := newNullBundle(t, r, "mount,network,ipc,uts,user,pid,cgroup", nil, "clock_gettime")
	id := r.create(b)
	var st nullState
	if err := json.Unmarshal([]byte(r.mustRun("state", id).Stdout), &st); err != nil {
		t.Fatalf("parse state: %v", err)
	}
	// A null mount implies a null root and cwd.
	for _, s := range strings.Split(allButTime, ",") {
		got, ok := st.Null[s]
		if !ok {
			t.Errorf("state null[%s]: missing, want an enforcement (%v)", s, st.Null)
			continue
		}
		if !strings.HasPrefix(got, "emulated:") {
			t.Errorf("state null[%s]: got %q, want emulated:<mechanisms> on this kernel", s, got)
		}
	}
	if got, ok := st.Null["time"]; ok {
		t.Errorf("state null[time]: got %q, want no entry for a setting not requested", got)
	}

	features := nullFeatures(t, r)
	if features == nil {
		t.Errorf("features: no per-setting null enforcement listed; want each setting with " +
			"native:<feature>, emulated:<mechanisms> or unavailable:<reason>")
	}
	for s, got := range st.Null {
		if features == nil {
			break
		}
		if want := features[s]; got != want {
			t.Errorf("state null[%s]: got %q, want %q as features lists it", s, got, want)
		}
	}
}

// nullFeatures returns the setting-to-enforcement map of `nullrun
// features`: the first JSON object, at any depth, with an "enforcement"
// object next to a "settings" list. It returns nil when there is none.
func nullFeatures(t *testing.T, r *testRuntime) map[string]string {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(r.mustRun("features").Stdout), &doc); err != nil {
		t.Fatalf("parse features: %v", err)
	}
	var find func(v any) map[string]string
	find = func(v any) map[string]string {
		switch v := v.(type) {
		case map[string]any:
			if enf, ok := v["enforcement"].(map[string]any); ok {
				if _, ok := v["settings"]; ok {
					out := map[string]string{}
					for k, e := range enf {
						out[k], _ = e.(string)
					}
					return out
				}
			}
			for _, child := range v {
				if m := find(child); m != nil {
					return m
				}
			}
		case []any:
			for _, child := range v {
				if m := find(child); m != nil {
					return m
				}
			}
		}
		return nil
	}
	return find(doc)
}

func TestNullTime(t *testing.T) {
	t.Run("strict rejects", func(t *testing.T) {
		requireNullrun(t)
		r := newRuntime(t)
		b := newNullBundle(t, r, "time", nil, "clock_gettime")
		_, res := r.runBundle(b)
		requireOneLineError(t, res, "null time")
		if msg := res.Stderr; !strings.Contains(msg, "time namespace") {
			t.Errorf("error: got %q, want it to name the kernel feature, a null time namespace", msg)
		}
		r.requireNoLeaks()
	})
	t.Run("permissive fresh namespace", func(t *testing.T) {
		requireNullrun(t)
		r := newRuntime(t)
		b := newNullBundle(t, r, "time", map[string]string{enforceKey: "permissive"}, "clock_gettime")
		id := r.create(b)
		var st nullState
		if err := json.Unmarshal([]byte(r.mustRun("state", id).Stdout), &st); err != nil {
			t.Fatalf("parse state: %v", err)
		}
		if got, want := st.Null["time"], "fresh-namespace"; got != want {
			t.Errorf("state null[time]: got %q, want %q", got, want)
		}
		r.mustRun("delete", "--force", id)
		requireProbeResults(t, runProbe(t, r, b), timeChecks)
	})
}

// TestNullNativeRejected checks that native mode, which takes kernel
// features only, rejects every setting on a kernel without them.
func TestNullNativeRejected(t *testing.T) {
	tests := []struct {
		null, feature string
	}{
		{"network", "null network namespace"},
		{"mount", "CLONE_EMPTY_MNTNS"},
		{"root", "failfs"},
		{"cwd", "failfs"},
	}
	for _, tt := range tests {
		t.Run(tt.null, func(t *testing.T) {
			requireNullrun(t)
			r := newRuntime(t)
			b := newNullBundle(t, r, tt.null, map[string]string{enforceKey: "native"}, "uname")
			_, res := r.runBundle(b)
			requireOneLineError(t, res, "null "+tt.null)
			if !strings.Contains(res.Stderr, tt.feature) {
				t.Errorf("error: got %q, want it to name the kernel feature %q", res.Stderr, tt.feature)
			}
			r.requireNoLeaks()
		})
	}
}

// dynamicProgram copies the host's /bin/ls and its ELF interpreter into
// rootfs and returns the interpreter's path.
func dynamicProgram(t *testing.T, rootfs string) string {
	t.Helper()
	const program = "/bin/ls"
	f, err := elf.Open(program)
	if err != nil {
		t.Skipf("needs a dynamically linked %s: %v", program, err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			data := make([]byte, p.Filesz)
			if _, err := p.ReadAt(data, 0); err != nil {
				t.Fatal(err)
			}
			interp = strings.TrimRight(string(data), "\x00")
		}
	}
	if interp == "" {
		t.Skipf("needs a dynamically linked %s; it has no interpreter", program)
	}
	for _, p := range []string{program, interp} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(rootfs, p)
		os.Remove(dst) // the busybox applet symlink
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return interp
}

// Each case is a bundle that create must reject with a one-line error
// naming the value, a non-zero exit and nothing left behind.
func TestNullBadInput(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the bundle and returns the value the error must
		// name.
		edit func(t *testing.T, b *bundle) string
		// preserve is the --preserve-fds count, with as many files passed.
		preserve int
	}{
		{
			name: "unknown setting",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[nullKey] = "network,bogus"
				return "bogus"
			},
		},
		{
			name: "unknown enforcement",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[enforceKey] = "lenient"
				return "lenient"
			},
		},
		{
			name: "missing grant path",
			edit: func(t *testing.T, b *bundle) string {
				path := filepath.Join(b.Dir, "no-such-dir")
				b.Spec.Annotations[grantKey+"3"] = path
				return path
			},
		},
		{
			name: "grant fd below 3",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[grantKey+"2"] = b.Dir
				return grantKey + "2"
			},
		},
		{
			name: "dynamically linked program",
			edit: func(t *testing.T, b *bundle) string {
				interp := dynamicProgram(t, b.Rootfs)
				b.Spec.Process.Args = []string{"/bin/ls"}
				return interp
			},
		},
		{
			name: "mounts with null mount",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Mounts = []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}
				return "/proc"
			},
		},
		{
			name: "hostname with null uts",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[nullKey] = "uts"
				b.Spec.Hostname = "nullbox"
				return "hostname"
			},
		},
		{
			name: "joined namespace with null network",
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[nullKey] = "network"
				b.addNamespace(specs.NetworkNamespace, "/proc/1/ns/net")
				return "/proc/1/ns/net"
			},
		},
		{
			name:     "grant fd clashes with preserve-fds",
			preserve: 2,
			edit: func(t *testing.T, b *bundle) string {
				b.Spec.Annotations[grantKey+"4"] = b.Dir
				return "4"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireNullrun(t)
			r := newRuntime(t)
			b := newNullBundle(t, r, "mount", nil, "uname")
			value := tt.edit(t, b)
			b.write(t)
			ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
			defer cancel()
			args := []string{"create", "--bundle", b.Dir}
			if tt.preserve > 0 {
				args = append(args, "--preserve-fds", strconv.Itoa(tt.preserve))
			}
			cmd := r.command(ctx, append(args, r.newID())...)
			for range tt.preserve {
				cmd.ExtraFiles = append(cmd.ExtraFiles, openFile(t, "preserved\n"))
			}
			res := r.exec(cmd)
			requireOneLineError(t, res, value)
			r.requireNoLeaks()
		})
	}
}

// TestNullFailedCreateRemovesListenSocket checks that a create that fails
// after binding a listen: grant removes the socket file again.
func TestNullFailedCreateRemovesListenSocket(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	path := shortSocketPath(t, "listen.sock")
	b := newNullBundle(t, r, "mount", map[string]string{grantKey + "3": "listen:" + path}, "uname")
	interp := dynamicProgram(t, b.Rootfs)
	b.Spec.Process.Args = []string{"/bin/ls"}
	_, res := r.runBundle(b)
	requireOneLineError(t, res, interp)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("listen: socket %s after the failed create: got %v, want it removed", path, err)
	}
	r.requireNoLeaks()
}

// TestNullExec checks that a process exec'd into a container with null
// settings is confined like the container's own: the same settings,
// enforced the same way, without the container's grants.
func TestNullExec(t *testing.T) {
	requireNullrun(t)
	tests := []struct {
		name   string
		null   string
		checks []probeCheck
	}{
		{"network", "network", networkChecks[:6]},
		{"mount", "mount", joinChecks(rootChecks, cwdChecks, mountChecks)},
		{"pid and uts", "pid,uts", joinChecks(utsChecks, []probeCheck{{"fork", "errno=EPERM"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t)
			// The container's own process only waits; the probe is exec'd.
			b := newNullBundle(t, r, tt.null, nil)
			b.Spec.Process.Args = []string{"/bin/busybox", "sleep", "1000"}
			id := r.create(b)
			r.mustRun("start", id)
			r.waitStatus(id, "running")
			res := r.mustRun(append([]string{"exec", id, "/nullprobe"}, probeArgs(tt.checks)...)...)
			requireProbeResults(t, res.Stdout, tt.checks)
		})
	}
}

// TestNullExecNullUser checks that a process exec'd into a container with
// a null user runs as the container's own unprivileged host uid in the
// container's unmapped user namespace.
func TestNullExecNullUser(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := newNullBundle(t, r, "user,mount", nil)
	b.Spec.Process.Args = []string{"/bin/busybox", "sleep", "1000"}
	b.Spec.Hostname = ""
	id := r.create(b)
	r.mustRun("start", id)
	st := r.waitStatus(id, "running")
	checks := joinChecks(userChecks, rootChecks[:1])
	res := r.mustRun(append([]string{"exec", id, "/nullprobe"}, probeArgs(checks)...)...)
	requireProbeResults(t, res.Stdout, checks)

	// A detached exec stays long enough to compare it with the init from
	// the host: the same user namespace and the same host uid.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	r.mustRun("exec", "--detach", "--pid-file", pidFile, id, "/bin/busybox", "sleep", "1000")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	for _, f := range []string{"ns/user"} {
		want, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", st.Pid, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.Readlink("/proc/" + pid + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s of the exec'd process: got %q, want the init's %q", f, got, want)
		}
	}
	uid := func(p string) string {
		status, err := os.ReadFile("/proc/" + p + "/status")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				return strings.Join(strings.Fields(v), " ")
			}
		}
		return ""
	}
	if got, want := uid(pid), uid(strconv.Itoa(st.Pid)); got != want || strings.HasPrefix(got, "0 ") {
		t.Errorf("host uids of the exec'd process: got %q, want the init's %q (not root)", got, want)
	}
}

// TestNullNetworkRejectsAdminCapabilities checks that an emulated null
// network refuses CAP_SYS_ADMIN and CAP_NET_ADMIN, at create and at exec:
// with them the process could mount sysfs and see the host's network.
func TestNullNetworkRejectsAdminCapabilities(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	b.Spec.Annotations = map[string]string{nullKey: "network"}
	b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	b.write(t)
	res := r.run("create", "--bundle", b.Dir, r.newID())
	requireOneLineError(t, res, "CAP_SYS_ADMIN")
	r.requireNoLeaks()

	b = r.newBundle("sleep", "1000")
	b.Spec.Annotations = map[string]string{nullKey: "network"}
	id := r.create(b)
	r.mustRun("start", id)
	r.waitStatus(id, "running")
	res = r.run("exec", "--cap", "CAP_NET_ADMIN", id, "true")
	requireOneLineError(t, res, "CAP_NET_ADMIN")
}

// TestNullRootRejectsMounts checks that a null root takes no mounts: they
// would stay reachable from the process's kept cwd.
func TestNullRootRejectsMounts(t *testing.T) {
	requireNullrun(t)
	r := newRuntime(t)
	b := r.newBundle("/bin/busybox", "true")
	b.Spec.Annotations = map[string]string{nullKey: "root"}
	b.write(t)
	res := r.run("create", "--bundle", b.Dir, r.newID())
	requireOneLineError(t, res, "/proc")
	r.requireNoLeaks()
}
