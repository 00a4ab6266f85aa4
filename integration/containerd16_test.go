package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	containerdBin = "/usr/bin/containerd"

	// runcShimRuntime is the runtime name of the runc shim that containerd
	// 1.6 ships. ctr's --runc-binary flag only works with it.
	runcShimRuntime = "io.containerd.runc.v2"

	// ctrTimeout bounds one ctr call so that a hung shim or runtime fails
	// the test instead of stalling it.
	ctrTimeout = time.Minute

	// ctrPollTimeout bounds every wait for a state change.
	ctrPollTimeout = 30 * time.Second

	// containerdGlobalRun is where the runc shim of containerd 1.6 keeps
	// the paths that the daemon's config cannot move: shim sockets in s/,
	// the runtime's state root runc/<namespace>, and ctr's FIFOs in fifo/.
	containerdGlobalRun = "/run/containerd"
)

// containerd16 is a private containerd 1.x daemon: its own config, root,
// state and sockets under dir, and a containerd namespace used by no other
// run.
type containerd16 struct {
	dir       string
	config    string
	address   string
	namespace string
	logPath   string
	fifoDir   string

	// runtime is the absolute path of the runtime under test, which the
	// runc shim calls in place of runc.
	runtime string

	cmd *exec.Cmd
	// exited is closed when the daemon process has been waited for.
	exited chan struct{}

	// createdGlobal lists the directories under containerdGlobalRun that
	// did not exist before the daemon started, deepest first.
	createdGlobal []string
}

// ctrResult is the outcome of one ctr call.
type ctrResult struct {
	stdout, stderr string
	code           int
}

// startContainerd16 starts containerd with a private config and registers
// a cleanup that removes every task, container, process, mount, cgroup and
// directory the daemon and the runtime made. It skips t when not root or
// when containerd 1.x, ctr or the runc shim is not installed.
func startContainerd16(t *testing.T) *containerd16 {
	t.Helper()
	requireRoot(t)
	if _, err := os.Stat(containerdBin); err != nil {
		t.Skipf("needs %s from the Debian package containerd: %v", containerdBin, err)
	}
	for _, name := range []string{"ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("needs %s on PATH from the Debian package containerd: %v", name, err)
		}
	}
	version, err := exec.Command(containerdBin, "--version").Output()
	if err != nil {
		t.Fatalf("run %s --version: %v", containerdBin, err)
	}
	fields := strings.Fields(string(version))
	if len(fields) < 3 || !strings.HasPrefix(strings.TrimPrefix(fields[2], "v"), "1.") {
		t.Skipf("needs containerd 1.x, which reads a version 2 config, but %s reports %q", containerdBin, strings.TrimSpace(string(version)))
	}

	// The shim runs in another working directory, so it needs an absolute
	// path. A missing binary is named here once instead of in five shim errors.
	runtimePath, err := filepath.Abs(runtimeBin)
	if err != nil {
		t.Fatalf("resolve runtime path %s: %v", runtimeBin, err)
	}
	if info, err := os.Stat(runtimePath); err != nil || info.Mode()&0o111 == 0 {
		t.Fatalf("runtime under test %s is not an executable file (stat: %v): set NULLRUN_RUNTIME to the path of a runtime binary", runtimePath, err)
	}
	dir, err := os.MkdirTemp("", "nullrun-containerd16-")
	if err != nil {
		t.Fatal(err)
	}
	d := &containerd16{
		dir:       dir,
		config:    filepath.Join(dir, "config.toml"),
		address:   filepath.Join(dir, "containerd.sock"),
		namespace: "nullrun-ctrd16-" + randomHex(t, 6),
		logPath:   filepath.Join(dir, "containerd.log"),
		fifoDir:   filepath.Join(dir, "fifo"),
		runtime:   runtimePath,
		exited:    make(chan struct{}),
	}
	for _, sub := range []string{"", "s", "runc", "fifo"} {
		path := filepath.Join(containerdGlobalRun, sub)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			d.createdGlobal = append([]string{path}, d.createdGlobal...)
		}
	}
	t.Cleanup(func() { d.teardown(t) })

	if err := os.WriteFile(d.config, []byte(d.configTOML()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	d.launch(t, containerdBin, logFile)
	return d
}

// configTOML returns the daemon's config: everything it can move lives
// under d.dir, and the plugins that need hardware, kernel modules or
// Kubernetes are off.
func (d *containerd16) configTOML() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(d.dir, "root"), filepath.Join(d.dir, "state"), d.address,
		filepath.Join(d.dir, "containerd-ttrpc.sock"), filepath.Join(d.dir, "opt"))
}

// ctrCommand returns a ctr command aimed at the private daemon and
// namespace. The caller owns ctx.
func (d *containerd16) ctrCommand(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--address", d.address, "--namespace", d.namespace}, args...)
	return exec.CommandContext(ctx, "ctr", full...)
}

// ctr runs ctr with args and returns its output and exit code. Only a ctr
// that cannot start or outlives ctrTimeout fails t.
func (d *containerd16) ctr(t testing.TB, args ...string) ctrResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	cmd := d.ctrCommand(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ctr %s: timed out after %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), ctrTimeout, stdout.String(), stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run ctr %s: %v", strings.Join(args, " "), err)
	}
	return ctrResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// mustCtr runs ctr with args, fails t unless it exits 0, and returns its
// standard output.
func (d *containerd16) mustCtr(t testing.TB, args ...string) string {
	t.Helper()
	res := d.ctr(t, args...)
	if res.code != 0 {
		t.Fatalf("ctr %s: got exit code %d, want 0\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

// runArgs returns the `ctr run` arguments that route the container through
// the stock runc shim to the runtime under test, followed by extra.
func (d *containerd16) runArgs(extra ...string) []string {
	return append([]string{"run", "--runtime", runcShimRuntime, "--runc-binary", d.runtime, "--fifo-dir", d.fifoDir}, extra...)
}

// ctrTask is one row of `ctr task ls`.
type ctrTask struct {
	pid    int
	status string
}

// tasks returns the rows of `ctr task ls` by container ID.
func (d *containerd16) tasks(t testing.TB) map[string]ctrTask {
	t.Helper()
	out := d.mustCtr(t, "task", "ls")
	tasks := map[string]ctrTask{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		if i == 0 || len(fields) != 3 {
			continue
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("parse `ctr task ls` line %q: %v", line, err)
		}
		tasks[fields[0]] = ctrTask{pid: pid, status: fields[2]}
	}
	return tasks
}

// waitTaskStatus polls `ctr task ls` until the task of id has status want,
// and returns that task.
func (d *containerd16) waitTaskStatus(t testing.TB, id, want string) ctrTask {
	t.Helper()
	var got ctrTask
	var found bool
	if !pollUntil(func() bool {
		got, found = d.tasks(t)[id]
		return found && got.status == want
	}) {
		if !found {
			t.Fatalf("task %s: got no task in `ctr task ls`, want status %s", id, want)
		}
		t.Fatalf("task %s: got status %s after %v, want %s", id, got.status, ctrPollTimeout, want)
	}
	return got
}

// removeContainer kills and deletes the task of id, if any, and then the
// container. It reports what fails and goes on, so it can run in cleanups.
func (d *containerd16) removeContainer(t testing.TB, id string) {
	t.Helper()
	if _, ok := d.tasks(t)[id]; ok {
		// SIGKILL because a shell or sleep as PID 1 ignores SIGTERM.
		d.ctr(t, "task", "kill", "--all", "--signal", "SIGKILL", id)
		pollUntil(func() bool {
			tk, ok := d.tasks(t)[id]
			return !ok || tk.status == "STOPPED"
		})
		if res := d.ctr(t, "task", "delete", "--force", id); res.code != 0 {
			t.Errorf("delete task %s: exit code %d: %s", id, res.code, res.stderr)
		}
	}
	if res := d.ctr(t, "containers", "delete", id); res.code != 0 && !strings.Contains(res.stderr, "not found") {
		t.Errorf("delete container %s: exit code %d: %s", id, res.code, res.stderr)
	}
}

// teardown removes what the daemon, its shims and the runtime left behind,
// in the order that keeps each step possible: tasks and containers while
// the daemon runs, then the daemon, leftover processes, mounts, cgroups
// and directories.
func (d *containerd16) teardown(t testing.TB) {
	// Deferred, so that the daemon stops and the leftovers go even when a
	// ctr call below ends the cleanup with t.Fatal.
	defer d.removeLeftovers(t)
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.exited:
		t.Errorf("containerd exited before teardown: %v\n%s", d.cmd.ProcessState, d.logTail())
		return
	default:
	}
	defer d.stopDaemon(t)
	for _, id := range strings.Fields(d.mustCtrQuiet(t, "containers", "ls", "--quiet")) {
		d.removeContainer(t, id)
	}
}

// removeLeftovers runs after the daemon has stopped. It kills processes and
// detaches mounts that outlived their tasks, and removes the test's cgroups,
// the runtime's state root and the daemon's directories.
func (d *containerd16) removeLeftovers(t testing.TB) {
	d.killLeftoverProcesses(t)
	d.removeShimSockets()
	d.unmountLeftovers(t)
	d.removeCgroups(t)

	runtimeRoot := filepath.Join(containerdGlobalRun, "runc", d.namespace)
	if entries, err := os.ReadDir(runtimeRoot); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("runtime state root %s: got leftover entries %q after every task was deleted, want none", runtimeRoot, names)
	}
	if err := os.RemoveAll(runtimeRoot); err != nil {
		t.Errorf("remove runtime state root: %v", err)
	}
	for _, dir := range d.createdGlobal {
		// Remove only empty directories: another client may use them now.
		_ = os.Remove(dir)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("remove containerd directory: %v", err)
	}
}

// mustCtrQuiet is mustCtr for teardown: it reports a failure and returns
// empty output instead of stopping the cleanup.
func (d *containerd16) mustCtrQuiet(t testing.TB, args ...string) string {
	t.Helper()
	res := d.ctr(t, args...)
	if res.code != 0 {
		t.Errorf("ctr %s: exit code %d: %s", strings.Join(args, " "), res.code, res.stderr)
		return ""
	}
	return res.stdout
}

// stopDaemon sends containerd SIGTERM and, if it has not exited within
// ctrPollTimeout, SIGKILL.
func (d *containerd16) stopDaemon(t testing.TB) {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("send SIGTERM to containerd (pid %d): %v", d.cmd.Process.Pid, err)
	}
	select {
	case <-d.exited:
		return
	case <-time.After(ctrPollTimeout):
	}
	t.Errorf("containerd (pid %d) did not exit within %v of SIGTERM, sending SIGKILL", d.cmd.Process.Pid, ctrPollTimeout)
	_ = d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(ctrPollTimeout):
		t.Errorf("containerd (pid %d) still runs %v after SIGKILL", d.cmd.Process.Pid, ctrPollTimeout)
	}
}

// killLeftoverProcesses kills the shims of this run and the processes in
// its cgroups that survived the task deletes, and waits until they have
// exited, since a cgroup cannot be removed while it has members.
func (d *containerd16) killLeftoverProcesses(t testing.TB) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Errorf("list processes: %v", err)
		return
	}
	var killed []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !d.ownsProcess(pid) || processExited(pid) {
			continue
		}
		t.Errorf("got process %d (%s) still running after teardown, want it gone; killing it", pid, processCommand(pid))
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
		}
	}
	allExited := func() bool {
		for _, pid := range killed {
			if !processExited(pid) {
				return false
			}
		}
		return true
	}
	if !pollUntil(allExited) {
		t.Errorf("processes %v still run %v after SIGKILL", killed, ctrPollTimeout)
	}
}

// removeShimSockets removes the sockets of shims that were killed instead
// of shut down. They live in containerdGlobalRun/s/, and each bundle under
// the daemon's state directory records its shim's address.
func (d *containerd16) removeShimSockets() {
	bundles := filepath.Join(d.dir, "state", "io.containerd.runtime.v2.task", d.namespace)
	addressFiles, _ := filepath.Glob(filepath.Join(bundles, "*", "address"))
	for _, file := range addressFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		socket := strings.TrimPrefix(strings.TrimSpace(string(data)), "unix://")
		if filepath.Dir(socket) == filepath.Join(containerdGlobalRun, "s") {
			_ = os.Remove(socket)
		}
	}
}

// ownsProcess reports whether pid is a runc shim of this run's namespace or
// a process in one of the namespace's cgroups, so that teardown never kills
// an unrelated process.
func (d *containerd16) ownsProcess(pid int) bool {
	args := strings.Split(processCommand(pid), " ")
	if strings.Contains(args[0], "containerd-shim") && slices.Contains(args, d.namespace) {
		return true
	}
	cgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return err == nil && strings.Contains(string(cgroups), "/"+d.namespace+"/")
}

// processCommand returns the command line of pid with spaces between the
// arguments, or "" when pid does not exist.
func processCommand(pid int) string {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
}

// processExited reports whether pid is gone or a zombie. A zombie has
// already left its cgroups.
func processExited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain ") ".
	i := bytes.LastIndex(stat, []byte(") "))
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
}

// unmountLeftovers detaches every mount below d.dir, such as a container
// rootfs whose task delete failed, so the directory can be removed.
func (d *containerd16) unmountLeftovers(t testing.TB) {
	mounts := mountPointsUnder(t, d.dir)
	if len(mounts) > 0 {
		t.Errorf("got mounts %q under %s after teardown, want none", mounts, d.dir)
	}
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
}

// removeCgroups removes /<namespace> and everything below it in every
// cgroup hierarchy, because containerd's default cgroup path for a container
// is /<namespace>/<id>. A cgroup that is not empty is reported.
func (d *containerd16) removeCgroups(t testing.TB) {
	for _, hierarchy := range cgroupMountPoints(t) {
		top := filepath.Join(hierarchy, d.namespace)
		var dirs []string
		_ = filepath.WalkDir(top, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, dir := range dirs {
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove cgroup %s: %v", dir, err)
			}
		}
	}
}

// cgroupMountPoints returns the mount points of the cgroup v1 and v2
// hierarchies in this process's mount table.
func cgroupMountPoints(t testing.TB) []string {
	var points []string
	for _, m := range readMountInfo(t) {
		if m.fsType == "cgroup" || m.fsType == "cgroup2" {
			points = append(points, m.point)
		}
	}
	return points
}

// mountPointsUnder returns the mount points strictly below dir, deepest
// first.
func mountPointsUnder(t testing.TB, dir string) []string {
	var points []string
	for _, m := range readMountInfo(t) {
		if strings.HasPrefix(m.point, dir+"/") {
			points = append(points, m.point)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	return points
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	point, fsType string
}

func readMountInfo(t testing.TB) []mountEntry {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mount table: %v", err)
		return nil
	}
	var entries []mountEntry
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		// Fields: id parent major:minor root point options [optional...] - type source super-options
		before, after, ok := strings.Cut(scanner.Text(), " - ")
		fields, tail := strings.Fields(before), strings.Fields(after)
		if !ok || len(fields) < 5 || len(tail) < 1 {
			continue
		}
		entries = append(entries, mountEntry{point: unescapeMountPath(fields[4]), fsType: tail[0]})
	}
	return entries
}

// unescapeMountPath undoes the octal escapes (\040 for a space) that the
// kernel writes in mountinfo paths.
func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// logTail returns the end of the daemon's log for failure messages.
func (d *containerd16) logTail() string {
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(no containerd log: %v)", err)
	}
	const maxLogBytes = 4000
	if len(data) > maxLogBytes {
		data = data[len(data)-maxLogBytes:]
	}
	return "containerd log (end):\n" + string(data)
}

// pollUntil calls cond until it returns true or ctrPollTimeout passes, and
// reports whether it returned true.
func pollUntil(cond func() bool) bool {
	deadline := time.Now().Add(ctrPollTimeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// runInTerminal runs cmd with a new pseudo-terminal as its controlling
// terminal and stdio, and returns what it wrote there and its exit code.
// ctr's --tty mode needs a terminal on its own stdio.
func runInTerminal(t testing.TB, cmd *exec.Cmd) (string, int) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pseudo-terminal master: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pseudo-terminal: %v", err)
	}
	ptyNumber, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("get pseudo-terminal number: %v", err)
	}
	replica, err := os.OpenFile("/dev/pts/"+strconv.Itoa(ptyNumber), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pseudo-terminal /dev/pts/%d: %v", ptyNumber, err)
	}

	cmd.Stdin, cmd.Stdout, cmd.Stderr = replica, replica, replica
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	replica.Close()
	if err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}

	// The master reads EIO once the last replica fd closes, which is when
	// cmd exits, so this copy ends by itself.
	output := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, master)
		output <- buf.Bytes()
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s: %v", cmd.Path, err)
	}
	return string(<-output), cmd.ProcessState.ExitCode()
}

// freezerState returns the freezer.state of the container's v1 cgroup, or
// "" when this machine has no v1 freezer hierarchy.
func freezerState(t testing.TB, cgroupPath string) string {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/freezer"); err != nil {
		return ""
	}
	data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", cgroupPath, "freezer.state"))
	if err != nil {
		t.Fatalf("read freezer state: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// TestContainerd16StockShim drives containerd 1.6's own runc shim with the
// runtime under test as its OCI binary, the setup of a containerd 1.6 host
// that sets BinaryName to nullrun.
func TestContainerd16StockShim(t *testing.T) {
	start := time.Now()
	d := startContainerd16(t)
	archive := busyboxImageArchive(t)
	t.Logf("containerd %s, namespace %s, runtime %s", d.dir, d.namespace, d.runtime)

	d.mustCtr(t, "images", "import", archive)
	if images := strings.Fields(d.mustCtr(t, "images", "ls", "--quiet")); !slices.Contains(images, busyboxImageName) {
		t.Fatalf("got images %q after import, want %s among them", images, busyboxImageName)
	}

	t.Run("RunRmOutput", func(t *testing.T) {
		res := d.ctr(t, d.runArgs("--rm", busyboxImageName, "run-output", "echo", "hello from containerd")...)
		if res.code != 0 {
			t.Fatalf("got exit code %d, want 0\nstderr: %s", res.code, res.stderr)
		}
		if got, want := res.stdout, "hello from containerd\n"; got != want {
			t.Errorf("got output %q, want %q", got, want)
		}
	})

	t.Run("RunRmExitCode", func(t *testing.T) {
		res := d.ctr(t, d.runArgs("--rm", busyboxImageName, "run-exit", "sh", "-c", "exit 7")...)
		if res.code != 7 {
			t.Errorf("got exit code %d, want 7\nstderr: %s", res.code, res.stderr)
		}
		if _, ok := d.tasks(t)["run-exit"]; ok {
			t.Errorf("got task run-exit in `ctr task ls` after run --rm, want it gone")
		}
	})

	t.Run("DetachedLifecycle", func(t *testing.T) {
		testContainerd16Lifecycle(t, d)
	})

	t.Run("Exec", func(t *testing.T) {
		testContainerd16Exec(t, d)
	})

	t.Run("RunTerminal", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
		defer cancel()
		args := d.runArgs("--rm", "--tty", busyboxImageName, "run-tty", "sh", "-c", "tty; exit 5")
		out, code := runInTerminal(t, d.ctrCommand(ctx, args...))
		if code != 5 {
			t.Errorf("got exit code %d, want 5\noutput: %q", code, out)
		}
		if !strings.Contains(out, "/dev/pts/") {
			t.Errorf("got terminal output %q, want the name of a /dev/pts terminal from tty", out)
		}
	})

	t.Logf("scenario took %v including daemon start", time.Since(start).Round(time.Millisecond))
}

// testContainerd16Lifecycle walks a detached container through every task
// state: running, paused, running, stopped, deleted.
func testContainerd16Lifecycle(t *testing.T, d *containerd16) {
	const id = "lifecycle"
	t.Cleanup(func() { d.removeContainer(t, id) })
	cgroupPath := "/" + d.namespace + "/" + id

	d.mustCtr(t, d.runArgs("--detach", busyboxImageName, id, "sleep", "1000")...)
	running := d.waitTaskStatus(t, id, "RUNNING")
	if got := processCommand(running.pid); got != "sleep 1000" {
		t.Errorf("task pid %d: got command line %q, want %q", running.pid, got, "sleep 1000")
	}

	d.checkPsPauseResume(t, id, running.pid, cgroupPath)

	// ctr prints a "pids.current" and a "memory.usage" row for both cgroup
	// v1 and v2. A pid count of at least 1 shows that the shim reads the
	// cgroup that contains the container's init.
	metrics := d.mustCtr(t, "task", "metrics", id)
	if !strings.Contains(metrics, "memory.usage") {
		t.Errorf("ctr task metrics: got %q, want a memory.usage row", metrics)
	}
	pidsCurrent := -1
	for _, line := range strings.Split(metrics, "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "pids.current" {
			pidsCurrent, _ = strconv.Atoi(fields[1])
		}
	}
	if pidsCurrent < 1 {
		t.Errorf("ctr task metrics: got pids.current %d in %q, want at least 1", pidsCurrent, metrics)
	}

	d.mustCtr(t, "task", "kill", "--signal", "SIGKILL", id)
	d.waitTaskStatus(t, id, "STOPPED")
	if err := syscall.Kill(running.pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("task pid %d after SIGKILL: got kill(0) error %v, want ESRCH", running.pid, err)
	}

	d.mustCtr(t, "task", "delete", id)
	if _, ok := d.tasks(t)[id]; ok {
		t.Errorf("got task %s in `ctr task ls` after task delete, want it gone", id)
	}
	stateDir := filepath.Join(containerdGlobalRun, "runc", d.namespace, id)
	if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime state %s after task delete: got stat error %v, want not exist", stateDir, err)
	}
	for _, hierarchy := range cgroupMountPoints(t) {
		dir := filepath.Join(hierarchy, cgroupPath)
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s after task delete: got stat error %v, want not exist", dir, err)
		}
	}

	d.mustCtr(t, "containers", "delete", id)
	if containers := strings.Fields(d.mustCtr(t, "containers", "ls", "--quiet")); slices.Contains(containers, id) {
		t.Errorf("got containers %q after container delete, want %s gone", containers, id)
	}
}

// testContainerd16Exec runs extra processes in a running container, with
// and without a terminal.
func testContainerd16Exec(t *testing.T, d *containerd16) {
	const id = "exec"
	t.Cleanup(func() { d.removeContainer(t, id) })
	d.mustCtr(t, d.runArgs("--detach", busyboxImageName, id, "sleep", "1000")...)
	d.waitTaskStatus(t, id, "RUNNING")

	res := d.ctr(t, "task", "exec", "--exec-id", "plain", "--fifo-dir", d.fifoDir, id,
		"sh", "-c", "echo exec output; exit 3")
	if res.code != 3 {
		t.Errorf("plain exec: got exit code %d, want 3\nstderr: %s", res.code, res.stderr)
	}
	if got, want := res.stdout, "exec output\n"; got != want {
		t.Errorf("plain exec: got output %q, want %q", got, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	cmd := d.ctrCommand(ctx, "task", "exec", "--tty", "--exec-id", "terminal", "--fifo-dir", d.fifoDir, id,
		"sh", "-c", "tty; exit 4")
	out, code := runInTerminal(t, cmd)
	if code != 4 {
		t.Errorf("terminal exec: got exit code %d, want 4\noutput: %q", code, out)
	}
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("terminal exec: got output %q, want the name of a /dev/pts terminal from tty", out)
	}

	if tk := d.waitTaskStatus(t, id, "RUNNING"); tk.pid <= 0 {
		t.Errorf("got task pid %d after the execs, want the init still running", tk.pid)
	}
}

// launch starts the daemon binary with d's config, logging to logFile,
// and waits until `ctr version` answers; it returns that answer. A daemon
// that exits or does not answer in time fails t with the log's tail.
func (d *containerd16) launch(t *testing.T, daemon string, logFile *os.File) ctrResult {
	t.Helper()
	d.cmd = exec.Command(daemon, "--config", d.config, "--log-level", "debug")
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		close(d.exited)
		t.Fatalf("start %s: %v", daemon, err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()

	var last ctrResult
	ready := pollUntil(func() bool {
		select {
		case <-d.exited:
			return true
		default:
		}
		last = d.ctr(t, "version")
		return last.code == 0
	})
	select {
	case <-d.exited:
		t.Fatalf("containerd exited during start-up: %v\n%s", d.cmd.ProcessState, d.logTail())
	default:
	}
	if !ready {
		t.Fatalf("containerd did not answer `ctr version` within %v: %s\n%s", ctrPollTimeout, last.stderr, d.logTail())
	}
	return last
}

// checkPsPauseResume checks that `ctr task ps` lists the task's pid, and
// that pause and resume reach PAUSED and RUNNING with the freezer in
// cgroupPath FROZEN and THAWED (an empty freezer state is not checked).
func (d *containerd16) checkPsPauseResume(t *testing.T, id string, pid int, cgroupPath string) {
	t.Helper()
	psOut := d.mustCtr(t, "task", "ps", id)
	var psPids []string
	for _, line := range strings.Split(strings.TrimSpace(psOut), "\n")[1:] {
		if fields := strings.Fields(line); len(fields) > 0 {
			psPids = append(psPids, fields[0])
		}
	}
	if !slices.Contains(psPids, strconv.Itoa(pid)) {
		t.Errorf("ctr task ps: got pids %q, want the task pid %d among them", psPids, pid)
	}

	d.mustCtr(t, "task", "pause", id)
	d.waitTaskStatus(t, id, "PAUSED")
	if got := freezerState(t, cgroupPath); got != "" && got != "FROZEN" {
		t.Errorf("paused task: got freezer state %s in %s, want FROZEN", got, cgroupPath)
	}
	d.mustCtr(t, "task", "resume", id)
	d.waitTaskStatus(t, id, "RUNNING")
	if got := freezerState(t, cgroupPath); got != "" && got != "THAWED" {
		t.Errorf("resumed task: got freezer state %s in %s, want THAWED", got, cgroupPath)
	}
}
