package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// podmanTimeout bounds one podman call, so that a hung conmon or
	// runtime fails the test instead of stalling it.
	podmanTimeout = 2 * time.Minute

	// podmanRuntimeName is the basename of the runtime wrapper. podman 4.3.1
	// looks this name up in runtime_supports_json, so it must be the name a
	// user installs.
	podmanRuntimeName = "nullrun"

	// podmanCgroupParent is the cgroup that podman's cgroupfs manager puts
	// containers (libpod-<id>) and conmon (conmon) below, in every hierarchy.
	podmanCgroupParent = "libpod_parent"

	// podmanBlobInfoCache is where `podman load` run as root records blob
	// digests. podman 4.3.1 writes it even with every private flag and file
	// of this setup (seen with strace).
	podmanBlobInfoCache = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"
)

// podman is a private podman 4.x setup: its own containers.conf,
// storage.conf and registries.conf, storage, run and temporary
// directories under dir, and a runtime wrapper that gives the runtime
// under test a private state root and logs each call.
type podman struct {
	dir string

	// runtime is the wrapper passed to --runtime. It execs the runtime
	// under test with --root stateRoot, because podman passes no --root.
	runtime   string
	stateRoot string

	// callLog receives the argv and the exported environment of every
	// runtime call, for failure messages and to find container IDs.
	callLog string

	globalArgs []string
	env        []string

	// createdParents lists the podmanCgroupParent directories that did not
	// exist before the test, so teardown removes only those.
	createdParents []string

	// nofile and nproc are the default ulimits of every container.
	nofile, nproc uint64

	// createdCache lists podmanBlobInfoCache and those of its parent
	// directories that did not exist before the test, file first.
	createdCache []string
}

// startPodman writes a private podman configuration and registers a
// cleanup that removes every container, image, process, mount, cgroup and
// directory that podman, conmon and the runtime made. It skips t when not
// root or when podman or conmon is not installed.
func startPodman(t *testing.T) *podman {
	t.Helper()
	requireRoot(t)
	for _, name := range []string{"podman", "conmon"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("needs %s on PATH from the Debian package podman: %v", name, err)
		}
	}
	runtimePath, err := filepath.Abs(runtimeBin)
	if err != nil {
		t.Fatalf("resolve runtime path %s: %v", runtimeBin, err)
	}
	if info, err := os.Stat(runtimePath); err != nil || info.Mode()&0o111 == 0 {
		t.Fatalf("runtime under test %s is not an executable file (stat: %v): set NULLRUN_RUNTIME to the path of a runtime binary", runtimePath, err)
	}

	// A short directory name keeps conmon's socket paths under the 108
	// bytes that a unix socket address allows.
	dir, err := os.MkdirTemp("", "nrpm-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podman{
		dir:       dir,
		runtime:   filepath.Join(dir, "bin", podmanRuntimeName),
		stateRoot: filepath.Join(dir, "state"),
		callLog:   filepath.Join(dir, "runtime-calls.log"),
	}
	for _, hierarchy := range cgroupMountPoints(t) {
		parent := filepath.Join(hierarchy, podmanCgroupParent)
		if _, err := os.Stat(parent); errors.Is(err, os.ErrNotExist) {
			p.createdParents = append(p.createdParents, parent)
		}
	}
	// podman 4.3.1 sets its own nproc limit to 32768 and tries to raise
	// its nofile limit to 1048576 (seen with strace). Its children, the
	// runtime among them, cannot raise a hard limit beyond what they inherit.
	p.nofile = min(hardLimit(t, unix.RLIMIT_NOFILE), 1<<20)
	p.nproc = min(hardLimit(t, unix.RLIMIT_NPROC), 32768)
	for path := podmanBlobInfoCache; path != "/var/lib"; path = filepath.Dir(path) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			p.createdCache = append(p.createdCache, path)
		}
	}
	t.Cleanup(func() { p.teardown(t) })

	for _, sub := range []string{"bin", "state", "tmp", "networks", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("#!/bin/sh\n"+
		"{ printf 'argv:'; printf ' %%s' \"$@\"; printf '\\n'; export -p; } >> %s\n"+
		"exec %s --root %s \"$@\"\n",
		shellQuote(p.callLog), shellQuote(runtimePath), shellQuote(p.stateRoot))
	files := map[string]string{
		p.runtime:                               script,
		filepath.Join(dir, "containers.conf"):   p.containersConf(),
		filepath.Join(dir, "storage.conf"):      p.storageConf(),
		filepath.Join(dir, "registries.conf"):   "unqualified-search-registries = []\n",
		filepath.Join(dir, "runtime-calls.log"): "",
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	p.globalArgs = []string{
		"--root", filepath.Join(dir, "storage"),
		"--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs",
		"--tmpdir", filepath.Join(dir, "tmp"),
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
		"--network-config-dir", filepath.Join(dir, "networks"),
		"--runtime", p.runtime,
	}
	p.env = append(os.Environ(),
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
		"TMPDIR="+filepath.Join(dir, "tmp"),
		// `podman system reset` creates and removes the podman machine
		// directory under $HOME/.config/containers.
		"HOME="+filepath.Join(dir, "home"),
	)
	return p
}

// containersConf returns the private containers.conf. podman's default
// nofile ulimit of 1048576 fails where the hard limit is lower and the
// runtime lacks CAP_SYS_RESOURCE, so the ulimits are ones that podman's
// children may always set (see startPodman). File locks keep podman off the
// host-wide /dev/shm/libpod_lock segment.
//
// NOTE: podman 4.3.1 rejects `--cgroups disabled` for this wrapper with "not
// compatible with NoCgroups" before it calls the runtime, although
// runtime_supports_nocgroups lists the wrapper's basename, so that mode is
// not tested.
func (p *podman) containersConf() string {
	return fmt.Sprintf(`[containers]
default_ulimits = ["nofile=%[1]d:%[1]d", "nproc=%[2]d:%[2]d"]
netns = "none"

[network]
network_config_dir = %[3]q

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
image_copy_tmp_dir = %[4]q
lock_type = "file"
runtime_supports_json = ["crun", "runc", %[5]q]
runtime_supports_nocgroups = ["crun", %[5]q]
`, p.nofile, p.nproc, filepath.Join(p.dir, "networks"), filepath.Join(p.dir, "tmp"), podmanRuntimeName)
}

// hardLimit returns the hard limit of resource for this process.
func hardLimit(t testing.TB, resource int) uint64 {
	t.Helper()
	var limit unix.Rlimit
	if err := unix.Getrlimit(resource, &limit); err != nil {
		t.Fatalf("get resource limit %d: %v", resource, err)
	}
	return limit.Max
}

// storageConf returns the private storage.conf. The same paths are also
// passed as global flags, because conmon's cleanup command only carries
// the flags.
func (p *podman) storageConf() string {
	return fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, filepath.Join(p.dir, "storage"), filepath.Join(p.dir, "run"))
}

// command returns a podman command with every private global flag. The
// caller owns ctx.
func (p *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", append(slices.Clone(p.globalArgs), args...)...)
	cmd.Env = p.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs podman with args and returns what it produced. Output goes to
// files rather than pipes, because a detached container or its conmon that
// held a pipe would keep Wait from returning.
func (p *podman) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), podmanTimeout)
	defer cancel()
	cmd := p.command(ctx, args...)
	stdout, stderr := tempOutput(t), tempOutput(t)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	res := result{Stdout: readOutput(t, stdout), Stderr: readOutput(t, stderr)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		res.Code = exitErr.ExitCode()
	default:
		t.Fatalf("podman %s: %v (%s)\n%s", strings.Join(args, " "), err, res, p.callTail())
	}
	return res
}

// tempOutput returns an unlinked temp file for a command's output.
func tempOutput(t testing.TB) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "nrpm-output-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(f.Name())
	return f
}

// mustRun is run that fails the test on a non-zero exit, naming the
// runtime calls podman made. It returns stdout.
func (p *podman) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	res := p.run(t, args...)
	if res.Code != 0 {
		t.Fatalf("podman %s: %s\n%s", strings.Join(args, " "), res, p.callTail())
	}
	return res.Stdout
}

// callTail returns the last runtime calls from the wrapper's log.
func (p *podman) callTail() string {
	data, err := os.ReadFile(p.callLog)
	if err != nil {
		return fmt.Sprintf("(no runtime call log: %v)", err)
	}
	var calls []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "argv:") {
			calls = append(calls, strings.TrimPrefix(line, "argv: "))
		}
	}
	const maxCalls = 8
	if len(calls) > maxCalls {
		calls = calls[len(calls)-maxCalls:]
	}
	return "last runtime calls:\n  " + strings.Join(calls, "\n  ")
}

// runtimeCalls returns the argv of every logged runtime call whose
// subcommand is command. The global flags podman or conmon pass come
// before it, and the wrapper's --root is not in the log.
func (p *podman) runtimeCalls(t testing.TB, command string) [][]string {
	t.Helper()
	data, err := os.ReadFile(p.callLog)
	if err != nil {
		t.Fatalf("read runtime call log: %v", err)
	}
	var calls [][]string
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "argv: ")
		if !ok {
			continue
		}
		args := strings.Fields(rest)
		if subcommand(args) == command {
			calls = append(calls, args)
		}
	}
	return calls
}

// subcommand returns the first argument of a runtime call that is neither
// a global flag nor a global flag's value.
func subcommand(args []string) string {
	withValue := map[string]bool{"--log": true, "--log-format": true, "--root": true, "--criu": true}
	for i := 0; i < len(args); i++ {
		switch {
		case withValue[args[i]]:
			i++
		case strings.HasPrefix(args[i], "-"):
		default:
			return args[i]
		}
	}
	return ""
}

// inspect returns `podman inspect --format FORMAT NAME` without the
// trailing newline.
func (p *podman) inspect(t testing.TB, name, format string) string {
	t.Helper()
	return strings.TrimSpace(p.mustRun(t, "inspect", "--format", format, name))
}

// waitStatus polls State.Status of name until it is want.
func (p *podman) waitStatus(t testing.TB, name, want string) {
	t.Helper()
	var got string
	if !pollUntil(func() bool {
		got = p.inspect(t, name, "{{.State.Status}}")
		return got == want
	}) {
		t.Fatalf("container %s: got status %q after %v, want %q\n%s", name, got, ctrPollTimeout, want, p.callTail())
	}
}

// runtimeStatus returns the status that the runtime under test itself
// reports for the container with the full ID id.
func (p *podman) runtimeStatus(t testing.TB, id string) string {
	t.Helper()
	out, err := exec.Command(runtimeBin, "--root", p.stateRoot, "state", id).Output()
	if err != nil {
		t.Fatalf("%s state %s: %v", runtimeBin, id, err)
	}
	var st containerState
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("parse state of %s: %v in %q", id, err, out)
	}
	return st.Status
}

// exists reports whether podman has a container named name.
func (p *podman) exists(t testing.TB, name string) bool {
	t.Helper()
	res := p.run(t, "container", "exists", name)
	if res.Code > 1 {
		t.Fatalf("podman container exists %s: %s", name, res)
	}
	return res.Code == 0
}

// terminal runs podman with args on a new pseudo-terminal and returns
// what it wrote there and its exit code.
func (p *podman) terminal(t testing.TB, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), podmanTimeout)
	defer cancel()
	return runInTerminal(t, p.command(ctx, args...))
}

// containerIDs returns the full ID of every container the runtime was
// asked to create, from the wrapper's log.
func (p *podman) containerIDs(t testing.TB) []string {
	var ids []string
	for _, call := range p.runtimeCalls(t, "create") {
		if id := call[len(call)-1]; validID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// teardown removes what podman, conmon and the runtime left behind, in the
// order that keeps each step possible: containers and images through
// podman, then leftover processes, mounts, cgroups and directories. It
// reports leftovers that a working runtime would have removed.
func (p *podman) teardown(t testing.TB) {
	ids := p.containerIDs(t)
	if res := p.run(t, "rm", "--all", "--force", "--time", "0"); res.Code != 0 {
		t.Errorf("podman rm --all --force: %s\n%s", res, p.callTail())
	}
	if res := p.run(t, "system", "reset", "--force"); res.Code != 0 {
		t.Errorf("podman system reset: %s", res)
	}

	if entries, err := os.ReadDir(p.stateRoot); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("runtime state root: got leftover entries %q after every container was removed, want none", names)
	}
	p.killLeftoverProcesses(t, ids)
	for _, m := range mountPointsUnder(t, p.dir) {
		t.Errorf("got mount %s after teardown, want none", m)
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
	p.removeCgroups(t, ids)
	for _, path := range p.createdCache {
		// A podman started meanwhile may use the cache too, so only an empty
		// directory goes and a failed remove is not an error.
		_ = os.Remove(path)
	}
	if err := os.RemoveAll(p.dir); err != nil {
		t.Errorf("remove podman directory: %v", err)
	}
}

// killLeftoverProcesses waits for conmon and podman's cleanup processes of
// this setup to exit, then kills whatever still runs: those processes and
// the processes in the cgroups of ids.
func (p *podman) killLeftoverProcesses(t testing.TB, ids []string) {
	owned := func() []int {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Errorf("list processes: %v", err)
			return nil
		}
		var pids []int
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err == nil && pid != os.Getpid() && p.ownsProcess(pid, ids) && !processExited(pid) {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	if pollUntil(func() bool { return len(owned()) == 0 }) {
		return
	}
	var killed []int
	for _, pid := range owned() {
		t.Errorf("got process %d (%s) still running %v after teardown, want it gone; killing it", pid, processCommand(pid), ctrPollTimeout)
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
		}
	}
	if !pollUntil(func() bool { return !slices.ContainsFunc(killed, func(pid int) bool { return !processExited(pid) }) }) {
		t.Errorf("processes %v still run %v after SIGKILL", killed, ctrPollTimeout)
	}
}

// ownsProcess reports whether pid belongs to this setup: its command line
// names the setup's directory (conmon and `podman container cleanup` do),
// or it is in the cgroup of one of ids.
func (p *podman) ownsProcess(pid int, ids []string) bool {
	if strings.Contains(processCommand(pid), p.dir+"/") {
		return true
	}
	cgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	for _, id := range ids {
		if strings.Contains(string(cgroups), "/"+podmanCgroupParent+"/libpod-"+id) {
			return true
		}
	}
	return false
}

// removeCgroups removes the container cgroups of ids, reporting each one
// that the runtime's delete left behind, and then the podmanCgroupParent
// directories this test created, if no one else uses them by now.
func (p *podman) removeCgroups(t testing.TB, ids []string) {
	for _, hierarchy := range cgroupMountPoints(t) {
		for _, id := range ids {
			dir := filepath.Join(hierarchy, podmanCgroupParent, "libpod-"+id)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			t.Errorf("got cgroup %s after the container was removed, want it gone", dir)
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove cgroup %s: %v", dir, err)
			}
		}
	}
	for _, parent := range p.createdParents {
		// conmon's cgroup outlives every container. Another podman that
		// started meanwhile may still use either directory, so a failed
		// remove is not an error.
		_ = os.Remove(filepath.Join(parent, "conmon"))
		_ = os.Remove(parent)
	}
}

// podmanPs returns the names of all containers podman lists.
func (p *podman) podmanPs(t testing.TB) []string {
	t.Helper()
	return strings.Fields(p.mustRun(t, "ps", "--all", "--format", "{{.Names}}"))
}

// TestPodman drives podman 4.x and conmon with the runtime under test as
// the OCI runtime, through every container command a podman user runs.
func TestPodman(t *testing.T) {
	start := time.Now()
	p := startPodman(t)
	archive := busyboxImageArchive(t)
	t.Logf("podman directory %s, runtime %s", p.dir, runtimeBin)

	out := p.mustRun(t, "load", "--input", archive)
	if !strings.Contains(out, busyboxImageName) {
		t.Fatalf("podman load: got output %q, want it to name %s", out, busyboxImageName)
	}
	images := strings.Fields(p.mustRun(t, "images", "--format", "{{.Repository}}:{{.Tag}}"))
	if !slices.Contains(images, busyboxImageName) {
		t.Fatalf("got images %q after load, want %s among them", images, busyboxImageName)
	}

	t.Run("RunRmOutput", func(t *testing.T) {
		out := p.mustRun(t, "run", "--rm", "--network", "none", busyboxImageName, "echo", "hello from podman")
		if got, want := out, "hello from podman\n"; got != want {
			t.Errorf("got output %q, want %q", got, want)
		}
	})

	t.Run("RunRmExitCode", func(t *testing.T) {
		const name = "run-exit"
		res := p.run(t, "run", "--rm", "--network", "none", "--name", name, busyboxImageName, "sh", "-c", "exit 7")
		if res.Code != 7 {
			t.Errorf("got exit code %d, want 7 (%s)\n%s", res.Code, res, p.callTail())
		}
		if p.exists(t, name) {
			t.Errorf("got container %s after run --rm, want it removed", name)
		}
	})

	t.Run("Ulimits", func(t *testing.T) {
		out := p.mustRun(t, "run", "--rm", "--network", "none", busyboxImageName, "sh", "-c", "ulimit -n; ulimit -u")
		if got, want := out, fmt.Sprintf("%d\n%d\n", p.nofile, p.nproc); got != want {
			t.Errorf("got nofile and nproc limits %q, want %q from default_ulimits", got, want)
		}
	})

	t.Run("UlimitTooHigh", func(t *testing.T) {
		// No process may raise nofile above fs.nr_open, whatever its
		// capabilities, so the runtime must fail to create the container.
		// podman reports that with exit code 126.
		nrOpen, err := strconv.ParseUint(readTrimmed(t, "/proc/sys/fs/nr_open"), 10, 64)
		if err != nil {
			t.Fatalf("parse fs.nr_open: %v", err)
		}
		ulimit := fmt.Sprintf("nofile=%[1]d:%[1]d", nrOpen+1)
		res := p.run(t, "run", "--rm", "--network", "none", "--ulimit", ulimit, busyboxImageName, "echo", "started")
		if res.Code != 126 {
			t.Errorf("--ulimit %s: got exit code %d, want 126 from a failed create (%s)\n%s", ulimit, res.Code, res, p.callTail())
		}
		if strings.Contains(res.Stdout, "started") {
			t.Errorf("--ulimit %s: got output %q, want the command not to run", ulimit, res.Stdout)
		}
		if !strings.Contains(strings.ToLower(res.Stderr), "rlimit") {
			t.Errorf("--ulimit %s: got error %q, want it to name the rlimit", ulimit, res.Stderr)
		}
	})

	t.Run("NoStrayFds", func(t *testing.T) {
		// conmon gives the runtime its sync and start pipes as fds 3 and
		// 4, which must not reach the container. ls itself opens fd 3.
		out := p.mustRun(t, "run", "--rm", "--network", "none", busyboxImageName, "ls", "/proc/self/fd")
		if got, want := strings.Fields(out), []string{"0", "1", "2", "3"}; !slices.Equal(got, want) {
			t.Errorf("got open fds %q in the container, want %q", got, want)
		}
	})

	t.Run("Detached", func(t *testing.T) {
		testPodmanDetached(t, p)
	})

	t.Run("CreateInitStart", func(t *testing.T) {
		testPodmanCreateInitStart(t, p)
	})

	t.Run("Info", func(t *testing.T) {
		testPodmanInfo(t, p)
	})

	t.Run("RunTerminal", func(t *testing.T) {
		out, code := p.terminal(t, "run", "--rm", "--tty", "--network", "none", busyboxImageName, "sh", "-c", "tty; exit 5")
		if code != 5 {
			t.Errorf("got exit code %d, want 5\noutput: %q\n%s", code, out, p.callTail())
		}
		if !strings.Contains(out, "/dev/pts/") {
			t.Errorf("got terminal output %q, want the name of a /dev/pts terminal from tty", out)
		}
	})

	if names := p.podmanPs(t); len(names) != 0 {
		t.Errorf("got containers %q after the scenario, want none", names)
	}
	t.Logf("scenario took %v", time.Since(start).Round(time.Millisecond))
}

// usr1Script is a PID 1 that writes /tmp/usr1 on SIGUSR1. The shell runs
// a trap only between commands, hence the short sleeps. As PID 1 without
// a SIGTERM trap it ignores SIGTERM, so podman stop must escalate.
const usr1Script = `trap 'echo usr1 > /tmp/usr1' USR1; while :; do sleep 0.1; done`

// testPodmanDetached walks a detached container through exec, pause,
// unpause, kill, stop and rm.
func testPodmanDetached(t *testing.T, p *podman) {
	const name = "detached"
	p.mustRun(t, "run", "--detach", "--network", "none", "--name", name, busyboxImageName, "sh", "-c", usr1Script)
	p.waitStatus(t, name, "running")
	id := p.inspect(t, name, "{{.Id}}")
	if got, want := p.runtimeStatus(t, id), "running"; got != want {
		t.Errorf("runtime state of %s: got status %q, want %q", id, got, want)
	}

	t.Run("Exec", func(t *testing.T) {
		res := p.run(t, "exec", name, "sh", "-c", "echo hello from exec; exit 3")
		if res.Code != 3 {
			t.Errorf("got exit code %d, want 3 (%s)\n%s", res.Code, res, p.callTail())
		}
		if got, want := res.Stdout, "hello from exec\n"; got != want {
			t.Errorf("got output %q, want %q", got, want)
		}
	})

	t.Run("ExecTerminal", func(t *testing.T) {
		out, code := p.terminal(t, "exec", "--tty", name, "sh", "-c", "tty; exit 4")
		if code != 4 {
			t.Errorf("got exit code %d, want 4\noutput: %q\n%s", code, out, p.callTail())
		}
		if !strings.Contains(out, "/dev/pts/") {
			t.Errorf("got terminal output %q, want the name of a /dev/pts terminal from tty", out)
		}
	})

	t.Run("PauseUnpause", func(t *testing.T) {
		p.mustRun(t, "pause", name)
		if got, want := p.inspect(t, name, "{{.State.Status}}"), "paused"; got != want {
			t.Errorf("after pause: got status %q, want %q", got, want)
		}
		if got, want := p.runtimeStatus(t, id), "paused"; got != want {
			t.Errorf("after pause: got runtime status %q, want %q", got, want)
		}
		p.mustRun(t, "unpause", name)
		if got, want := p.inspect(t, name, "{{.State.Status}}"), "running"; got != want {
			t.Errorf("after unpause: got status %q, want %q", got, want)
		}
		if got, want := p.runtimeStatus(t, id), "running"; got != want {
			t.Errorf("after unpause: got runtime status %q, want %q", got, want)
		}
	})

	t.Run("KillUSR1", func(t *testing.T) {
		p.mustRun(t, "kill", "--signal", "USR1", name)
		var res result
		if !pollUntil(func() bool {
			res = p.run(t, "exec", name, "cat", "/tmp/usr1")
			return res.Code == 0
		}) {
			t.Fatalf("marker /tmp/usr1: got %s %v after kill -s USR1, want it written\n%s", res, ctrPollTimeout, p.callTail())
		}
		if got, want := res.Stdout, "usr1\n"; got != want {
			t.Errorf("marker /tmp/usr1: got %q, want %q", got, want)
		}
		if got, want := p.inspect(t, name, "{{.State.Status}}"), "running"; got != want {
			t.Errorf("after USR1: got status %q, want %q", got, want)
		}
	})

	t.Run("Stop", func(t *testing.T) {
		p.mustRun(t, "stop", "--time", "1", name)
		if got, want := p.inspect(t, name, "{{.State.Status}}"), "exited"; got != want {
			t.Errorf("after stop: got status %q, want %q", got, want)
		}
		// 137 is 128 + SIGKILL: SIGTERM was ignored, so podman escalated.
		if got, want := p.inspect(t, name, "{{.State.ExitCode}}"), "137"; got != want {
			t.Errorf("after stop: got exit code %s, want %s", got, want)
		}
	})

	t.Run("Rm", func(t *testing.T) {
		p.mustRun(t, "rm", name)
		if p.exists(t, name) {
			t.Errorf("got container %s after rm, want it removed", name)
		}
		if _, err := os.Stat(filepath.Join(p.stateRoot, id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("runtime state of %s after rm: got stat error %v, want not exist", id, err)
		}
	})
}

// testPodmanCreateInitStart walks a container through create, init, start,
// update and restart, and removes it while it runs.
func testPodmanCreateInitStart(t *testing.T, p *podman) {
	const name = "created"
	p.mustRun(t, "create", "--network", "none", "--name", name, busyboxImageName, "sleep", "1000")
	if got, want := p.inspect(t, name, "{{.State.Status}}"), "created"; got != want {
		t.Errorf("after create: got status %q, want %q", got, want)
	}
	calls := p.runtimeCalls(t, "create")
	if len(calls) == 0 {
		t.Fatalf("got no runtime create call, want podman to call %s", p.runtime)
	}
	// conmon passes the JSON log flags only when runtime_supports_json
	// lists the runtime's basename, and podman then reads errors from it.
	for _, call := range calls {
		if !slices.Contains(call, "--log-format=json") {
			t.Errorf("runtime create call %q: got no --log-format=json, want it", call)
		}
	}

	p.mustRun(t, "init", name)
	if got, want := p.inspect(t, name, "{{.State.Status}}"), "initialized"; got != want {
		t.Errorf("after init: got status %q, want %q", got, want)
	}
	id := p.inspect(t, name, "{{.Id}}")
	if got, want := p.runtimeStatus(t, id), "created"; got != want {
		t.Errorf("after init: got runtime status %q, want %q", got, want)
	}

	p.mustRun(t, "start", name)
	p.waitStatus(t, name, "running")
	if got, want := p.runtimeStatus(t, id), "running"; got != want {
		t.Errorf("after start: got runtime status %q, want %q", got, want)
	}

	t.Run("Update", func(t *testing.T) {
		p.mustRun(t, "update", "--cpu-shares", "512", name)
		if calls := p.runtimeCalls(t, "update"); len(calls) == 0 {
			t.Errorf("got no runtime update call, want one\n%s", p.callTail())
		}
		cgroup := p.inspect(t, name, "{{.State.CgroupPath}}")
		if cgroup == "" {
			t.Fatalf("got no State.CgroupPath for %s", name)
		}
		shares := filepath.Join("/sys/fs/cgroup/cpu", cgroup, "cpu.shares")
		if isCgroup2() {
			// cgroup v2 has cpu.weight in place of cpu.shares.
			t.Skipf("reads %s, which cgroup v2 does not have", shares)
		}
		if got, want := readTrimmed(t, shares), "512"; got != want {
			t.Errorf("%s: got %s, want %s", shares, got, want)
		}
	})

	t.Run("Restart", func(t *testing.T) {
		before := p.inspect(t, name, "{{.State.Pid}}")
		p.mustRun(t, "restart", "--time", "1", name)
		p.waitStatus(t, name, "running")
		after := p.inspect(t, name, "{{.State.Pid}}")
		if after == before || after == "0" {
			t.Errorf("after restart: got pid %s (before: %s), want a new process", after, before)
		}
		if got, want := p.runtimeStatus(t, id), "running"; got != want {
			t.Errorf("after restart: got runtime status %q, want %q", got, want)
		}
	})

	t.Run("RmForce", func(t *testing.T) {
		p.mustRun(t, "rm", "--force", "--time", "1", name)
		if p.exists(t, name) {
			t.Errorf("got container %s after rm --force, want it removed", name)
		}
		if _, err := os.Stat(filepath.Join(p.stateRoot, id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("runtime state of %s after rm --force: got stat error %v, want not exist", id, err)
		}
	})
}

// testPodmanInfo checks that `podman info` names the runtime wrapper and
// reports the version the runtime under test prints.
func testPodmanInfo(t *testing.T, p *podman) {
	var info struct {
		Host struct {
			OCIRuntime struct {
				Name    string `json:"name"`
				Path    string `json:"path"`
				Version string `json:"version"`
			} `json:"ociRuntime"`
			CgroupManager string `json:"cgroupManager"`
		} `json:"host"`
		Store struct {
			GraphRoot   string `json:"graphRoot"`
			GraphDriver string `json:"graphDriverName"`
		} `json:"store"`
	}

	out := p.mustRun(t, "info", "--format", "json")
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("parse podman info: %v in %q", err, out)
	}

	runtime := info.Host.OCIRuntime
	// podman 4.3.1 names a runtime given by path after the whole path, but
	// matches only the basename against runtime_supports_json.
	if got, want := filepath.Base(runtime.Name), podmanRuntimeName; got != want {
		t.Errorf("host.ociRuntime.name: got %q, want a name ending in %q", runtime.Name, want)
	}
	if got, want := runtime.Path, p.runtime; got != want {
		t.Errorf("host.ociRuntime.path: got %q, want %q", got, want)
	}

	version, err := exec.Command(runtimeBin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", runtimeBin, err)
	}
	firstLine, _, _ := strings.Cut(string(version), "\n")
	if !strings.Contains(runtime.Version, firstLine) {
		t.Errorf("host.ociRuntime.version: got %q, want it to contain %q", runtime.Version, firstLine)
	}

	if got, want := info.Host.CgroupManager, "cgroupfs"; got != want {
		t.Errorf("host.cgroupManager: got %q, want %q", got, want)
	}
	if got, want := info.Store.GraphRoot, filepath.Join(p.dir, "storage"); got != want {
		t.Errorf("store.graphRoot: got %q, want %q", got, want)
	}
}
