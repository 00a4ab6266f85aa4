package integration

import (
	"bytes"
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
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// containerd2Version is the containerd release the shim is tested
	// against, built from the Go module proxy.
	containerd2Version = "v2.4.2"
	containerd2Module  = "github.com/containerd/containerd/v2"

	// nullrunShimRuntime is the runtime type that selects
	// containerd-shim-nullrun-v2.
	nullrunShimRuntime = "io.containerd.nullrun.v2"

	// nullrunShimStateRoot is the shim's default state root; the state of
	// namespace NS lives in nullrunShimStateRoot/NS.
	nullrunShimStateRoot = "/run/containerd/nullrun"
)

// containerd2 is a private containerd 2.x daemon that runs the nullrun
// shim. It reuses containerd16's ctr helpers and teardown, which find ctr
// and the shim through PATH: startContainerd2 puts containerd 2's ctr and
// the shim first on it.
type containerd2 struct {
	*containerd16
	// events collects `ctr events` output for the daemon's namespace.
	events *eventLog
}

// containerd2Binaries returns the directory holding containerd and ctr of
// containerd2Version, building them into the cache on the first run. It
// skips t when the module proxy cannot be reached.
func containerd2Binaries(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("needs the go command to build containerd %s: %v", containerd2Version, err)
	}
	cache, err := validationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	versionDir := filepath.Join(cache, "containerd", containerd2Version)
	binDir := filepath.Join(versionDir, "bin")

	if fileIsExecutable(filepath.Join(binDir, "containerd")) && fileIsExecutable(filepath.Join(binDir, "ctr")) {
		return binDir
	}
	if err := os.MkdirAll(versionDir, 0o755); err != nil {
		t.Fatalf("create cache directory: %v", err)
	}
	// Build into a fresh directory and rename it into place, so an
	// interrupted build never leaves a partial bin directory behind.
	tmp, err := os.MkdirTemp(versionDir, "build-")
	if err != nil {
		t.Fatalf("create build directory: %v", err)
	}
	defer os.RemoveAll(tmp)

	args := []string{"install",
		containerd2Module + "/cmd/containerd@" + containerd2Version,
		containerd2Module + "/cmd/ctr@" + containerd2Version}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = versionDir
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=")
	started := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		if isNetworkFailure(string(out)) {
			t.Skipf("cannot build containerd %s: the Go module proxy is unreachable: %s",
				containerd2Version, out)
		}
		t.Fatalf("build containerd with go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	_ = os.RemoveAll(binDir)
	if err := os.Rename(tmp, binDir); err != nil {
		t.Fatalf("move the built containerd into the cache: %v", err)
	}
	t.Logf("built containerd %s into %s in %s", containerd2Version, binDir,
		time.Since(started).Round(time.Second))
	return binDir
}

// isNetworkFailure reports whether go command output shows that a module
// could not be downloaded.
func isNetworkFailure(out string) bool {
	for _, sign := range []string{"dial tcp", "no such host", "i/o timeout", "connection refused",
		"proxy.golang.org", "network is unreachable", "TLS handshake timeout"} {
		if strings.Contains(out, sign) {
			return true
		}
	}
	return false
}

func fileIsExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}

// buildShim returns the path of containerd-shim-nullrun-v2: $NULLRUN_SHIM
// when set, else a build of ./cmd/containerd-shim-nullrun-v2 in a
// directory that the test removes.
func buildShim(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("NULLRUN_SHIM"); path != "" {
		abs, err := filepath.Abs(path)
		if err != nil || !fileIsExecutable(abs) {
			t.Fatalf("NULLRUN_SHIM=%s is not an executable file", path)
		}
		return abs
	}
	dir := t.TempDir()
	shim := filepath.Join(dir, "containerd-shim-nullrun-v2")
	out, err := exec.Command("go", "build", "-o", shim, "../cmd/containerd-shim-nullrun-v2").CombinedOutput()
	if err != nil {
		t.Fatalf("build containerd-shim-nullrun-v2: %v\n%s", err, out)
	}
	return shim
}

// startContainerd2 starts containerd 2 with a private config and the
// nullrun shim on its PATH, and registers the cleanup of every task,
// container, shim, mount, cgroup and directory of the run.
func startContainerd2(t *testing.T) *containerd2 {
	t.Helper()
	requireRoot(t)
	binDir := containerd2Binaries(t)
	shim := buildShim(t)
	// containerd looks for containerd-shim-<name>-v2 on its PATH, and the
	// containerd16 helpers run the first ctr on PATH.
	t.Setenv("PATH", filepath.Dir(shim)+":"+binDir+":"+os.Getenv("PATH"))

	dir, err := os.MkdirTemp("", "nullrun-containerd2-")
	if err != nil {
		t.Fatal(err)
	}
	d := &containerd2{containerd16: &containerd16{
		dir:       dir,
		config:    filepath.Join(dir, "config.toml"),
		address:   filepath.Join(dir, "containerd.sock"),
		namespace: "nullrun-ctrd2-" + randomHex(t, 6),
		logPath:   filepath.Join(dir, "containerd.log"),
		fifoDir:   filepath.Join(dir, "fifo"),
		exited:    make(chan struct{}),
	}}
	for _, sub := range []string{"", "s", "runc", "fifo", "nullrun"} {
		path := filepath.Join(containerdGlobalRun, sub)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			d.createdGlobal = append([]string{path}, d.createdGlobal...)
		}
	}
	// Cleanups run last-registered first: the shim's state root is
	// checked after teardown has deleted every task.
	t.Cleanup(func() { d.removeShimState(t) })
	t.Cleanup(func() { d.teardown(t) })
	t.Cleanup(func() { d.logShimProblems(t) })

	if err := os.WriteFile(d.config, []byte(d.configTOML2()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	last := d.launch(t, filepath.Join(binDir, "containerd"), logFile)
	if !strings.Contains(last.stdout, strings.TrimPrefix(containerd2Version, "v")) {
		t.Fatalf("ctr version: got %q, want server and client %s", last.stdout, containerd2Version)
	}
	d.events = d.watchEvents(t)
	return d
}

// configTOML2 returns a version 3 config: everything the daemon can move
// lives under d.dir, and the plugins that need hardware, kernel modules or
// Kubernetes are off.
func (d *containerd2) configTOML2() string {
	return fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = [
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.grpc.v1.cri",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.sandbox.controller.v1.shim",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.erofs",
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

// removeShimState fails t if the shim left container state behind in its
// namespace's state root, and removes the root.
func (d *containerd2) removeShimState(t *testing.T) {
	root := filepath.Join(nullrunShimStateRoot, d.namespace)
	if entries, err := os.ReadDir(root); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			// Dot files are the runtime's caches, such as its kernel
			// probe results, not containers.
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		if len(names) > 0 {
			t.Errorf("shim state root %s: got leftover entries %q after every task was deleted, want none", root, names)
		}
	}
	if err := os.RemoveAll(root); err != nil {
		t.Errorf("remove shim state root: %v", err)
	}
	_ = os.Remove(nullrunShimStateRoot)
}

// logShimProblems logs the warnings and errors that the shims wrote to
// the daemon's log, to explain a failure. Some are expected, such as the
// rejected create of the null-sandbox test.
func (d *containerd2) logShimProblems(t *testing.T) {
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		// containerd runs the shim's delete action after every shim exits
		// and logs its stderr, which holds only debug lines normally.
		if _, inner, ok := strings.Cut(line, "cleaning up dead shim"); ok &&
			!strings.Contains(inner, "level=warn") && !strings.Contains(inner, "level=error") {
			continue
		}
		if strings.Contains(line, "runtime="+nullrunShimRuntime) &&
			(strings.Contains(line, "level=error") || strings.Contains(line, "level=warn")) {
			t.Logf("shim log: %s", line)
		}
	}
}

// runArgs2 returns `ctr run` arguments that select the nullrun shim,
// followed by extra.
func (d *containerd2) runArgs2(extra ...string) []string {
	return append([]string{"run", "--runtime", nullrunShimRuntime, "--fifo-dir", d.fifoDir}, extra...)
}

// taskEvent is one task event from `ctr events`.
type taskEvent struct {
	topic       string
	containerID string
	id          string
	execID      string
	exitStatus  int
}

// eventLog is the output of a `ctr events` process, read as it arrives.
type eventLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *eventLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// taskEvents returns the task events of container id received so far, in
// order.
func (l *eventLog) taskEvents(t testing.TB, id string) []taskEvent {
	t.Helper()
	l.mu.Lock()
	text := l.buf.String()
	l.mu.Unlock()
	var out []taskEvent
	for _, line := range strings.Split(text, "\n") {
		// A line is: timestamp (with spaces), namespace, topic, JSON.
		i := strings.Index(line, " /tasks/")
		if i < 0 {
			continue
		}
		topic, payload, _ := strings.Cut(line[i+1:], " ")
		var fields struct {
			ContainerID string `json:"container_id"`
			ID          string `json:"id"`
			ExecID      string `json:"exec_id"`
			ExitStatus  int    `json:"exit_status"`
		}
		if err := json.Unmarshal([]byte(payload), &fields); err != nil {
			t.Fatalf("parse event %q: %v", line, err)
		}
		if fields.ContainerID != id {
			continue
		}
		out = append(out, taskEvent{topic: topic, containerID: fields.ContainerID, id: fields.ID,
			execID: fields.ExecID, exitStatus: fields.ExitStatus})
	}
	return out
}

// topics returns the topics of events.
func topics(events []taskEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.topic)
	}
	return out
}

// watchEvents starts `ctr events` for the daemon and stops it in a cleanup.
func (d *containerd2) watchEvents(t *testing.T) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &eventLog{}
	cmd := d.ctrCommand(ctx, "events")
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ctr events: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return log
}

// waitEvents polls until cond holds for the events of id and returns them.
func (d *containerd2) waitEvents(t *testing.T, id string, what string, cond func([]taskEvent) bool) []taskEvent {
	t.Helper()
	var got []taskEvent
	if !pollUntil(func() bool {
		got = d.events.taskEvents(t, id)
		return cond(got)
	}) {
		t.Fatalf("events of %s: got topics %q after %v, want %s", id, topics(got), ctrPollTimeout, what)
	}
	return got
}

// TestContainerd2Shim drives containerd 2.4 with containerd-shim-nullrun-v2
// as the runtime io.containerd.nullrun.v2.
func TestContainerd2Shim(t *testing.T) {
	start := time.Now()
	d := startContainerd2(t)
	archive := busyboxImageArchive(t)
	t.Logf("containerd %s, namespace %s", d.dir, d.namespace)

	d.mustCtr(t, "images", "import", archive)
	if images := strings.Fields(d.mustCtr(t, "images", "ls", "--quiet")); !slices.Contains(images, busyboxImageName) {
		t.Fatalf("got images %q after import, want %s among them", images, busyboxImageName)
	}

	t.Run("RunRmOutput", func(t *testing.T) { testContainerd2RunOutput(t, d) })
	t.Run("ExitCodes", func(t *testing.T) { testContainerd2ExitCodes(t, d) })
	t.Run("DetachedLifecycle", func(t *testing.T) { testContainerd2Lifecycle(t, d) })
	t.Run("Exec", func(t *testing.T) { testContainerd2Exec(t, d) })
	t.Run("ConcurrentExecs", func(t *testing.T) { testContainerd2ConcurrentExecs(t, d) })
	t.Run("ExecsKilledWithInit", func(t *testing.T) { testContainerd2ExecsKilledWithInit(t, d) })
	t.Run("RunTerminal", func(t *testing.T) { testContainerd2RunTerminal(t, d) })
	t.Run("Stdin", func(t *testing.T) { testContainerd2Stdin(t, d) })
	t.Run("RuntimeOptions", func(t *testing.T) { testContainerd2RuntimeOptions(t, d) })
	t.Run("RuntimeInfo", func(t *testing.T) { testContainerd2RuntimeInfo(t, d) })
	t.Run("NullSandbox", func(t *testing.T) { testContainerd2NullSandbox(t, d) })

	t.Logf("scenario took %v including daemon start", time.Since(start).Round(time.Millisecond))
}

func testContainerd2RunOutput(t *testing.T, d *containerd2) {
	const id = "run-output"
	res := d.ctr(t, d.runArgs2("--rm", busyboxImageName, id, "sh", "-c", "echo hello from nullrun; echo to stderr >&2")...)
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0\nstderr: %s\n%s", res.code, res.stderr, d.logTail())
	}
	if got, want := res.stdout, "hello from nullrun\n"; got != want {
		t.Errorf("got stdout %q, want %q", got, want)
	}
	if !strings.Contains(res.stderr, "to stderr\n") {
		t.Errorf("got stderr %q, want it to contain %q", res.stderr, "to stderr\n")
	}
	events := d.waitEvents(t, id, "create, start, exit, delete", func(e []taskEvent) bool {
		return slices.Contains(topics(e), "/tasks/delete")
	})
	want := []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}
	if got := topics(events); !slices.Equal(got, want) {
		t.Errorf("got event topics %q, want %q", got, want)
	}
}

func testContainerd2ExitCodes(t *testing.T, d *containerd2) {
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"zero", []string{"true"}, 0},
		{"fortytwo", []string{"sh", "-c", "exit 42"}, 42},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "exit-" + tt.name
			res := d.ctr(t, d.runArgs2(append([]string{"--rm", busyboxImageName, id}, tt.args...)...)...)
			if res.code != tt.want {
				t.Errorf("got exit code %d, want %d\nstderr: %s", res.code, tt.want, res.stderr)
			}
			events := d.waitEvents(t, id, "an exit event", func(e []taskEvent) bool {
				return slices.Contains(topics(e), "/tasks/delete")
			})
			for _, e := range events {
				if e.topic == "/tasks/exit" && e.exitStatus != tt.want {
					t.Errorf("got TaskExit status %d, want %d", e.exitStatus, tt.want)
				}
			}
		})
	}

	t.Run("sigkill", func(t *testing.T) {
		// The init of a PID namespace ignores SIGKILL sent from inside it,
		// so the signal comes from containerd while ctr run waits.
		const id = "exit-sigkill"
		ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
		defer cancel()
		run := d.ctrCommand(ctx, d.runArgs2("--rm", busyboxImageName, id, "sleep", "1000")...)
		var stderr bytes.Buffer
		run.Stderr = &stderr
		if err := run.Start(); err != nil {
			t.Fatalf("start ctr run: %v", err)
		}
		d.waitTaskStatus(t, id, "RUNNING")
		d.mustCtr(t, "task", "kill", "--signal", "SIGKILL", id)
		err := run.Wait()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("wait for ctr run: %v", err)
		}
		if got := run.ProcessState.ExitCode(); got != 137 {
			t.Errorf("got exit code %d, want 137\nstderr: %s", got, stderr.String())
		}
	})
}

func testContainerd2Lifecycle(t *testing.T, d *containerd2) {
	const id = "lifecycle"
	t.Cleanup(func() { d.removeContainer(t, id) })
	cgroupPath := "/" + d.namespace + "/" + id

	d.mustCtr(t, d.runArgs2("--detach", busyboxImageName, id, "sleep", "1000")...)
	running := d.waitTaskStatus(t, id, "RUNNING")
	if got := processCommand(running.pid); got != "sleep 1000" {
		t.Errorf("task pid %d: got command line %q, want %q", running.pid, got, "sleep 1000")
	}
	stateDir := filepath.Join(nullrunShimStateRoot, d.namespace, id)
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); err != nil {
		t.Errorf("runtime state of a running task: got stat error %v, want %s/state.json", err, stateDir)
	}

	d.checkPsPauseResume(t, id, running.pid, cgroupPath)
	events := d.waitEvents(t, id, "paused and resumed", func(e []taskEvent) bool {
		return slices.Contains(topics(e), "/tasks/resumed")
	})
	if got := topics(events); !slices.Contains(got, "/tasks/paused") {
		t.Errorf("got event topics %q, want /tasks/paused before /tasks/resumed", got)
	}

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
	if res := d.ctr(t, "task", "kill", "--signal", "SIGKILL", id); res.code == 0 {
		t.Errorf("kill of a stopped task: got exit code 0, want an error")
	}

	d.mustCtr(t, "task", "delete", id)
	if _, ok := d.tasks(t)[id]; ok {
		t.Errorf("got task %s in `ctr task ls` after task delete, want it gone", id)
	}
	if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime state %s after task delete: got stat error %v, want not exist", stateDir, err)
	}
	for _, hierarchy := range cgroupMountPoints(t) {
		dir := filepath.Join(hierarchy, cgroupPath)
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s after task delete: got stat error %v, want not exist", dir, err)
		}
	}
	rootfs := filepath.Join(d.dir, "state", "io.containerd.runtime.v2.task", d.namespace, id, "rootfs")
	if mounts := mountPointsUnder(t, filepath.Dir(rootfs)); len(mounts) > 0 {
		t.Errorf("got mounts %q after task delete, want the rootfs unmounted", mounts)
	}
	exit := d.waitEvents(t, id, "an exit event", func(e []taskEvent) bool {
		return slices.Contains(topics(e), "/tasks/delete")
	})
	for _, e := range exit {
		if e.topic == "/tasks/exit" && e.exitStatus != 137 {
			t.Errorf("got TaskExit status %d after SIGKILL, want 137", e.exitStatus)
		}
	}

	d.mustCtr(t, "containers", "delete", id)
}

func testContainerd2Exec(t *testing.T, d *containerd2) {
	const id = "exec"
	t.Cleanup(func() { d.removeContainer(t, id) })
	d.mustCtr(t, d.runArgs2("--detach", busyboxImageName, id, "sleep", "1000")...)
	d.waitTaskStatus(t, id, "RUNNING")

	res := d.ctr(t, "task", "exec", "--exec-id", "plain", "--fifo-dir", d.fifoDir, id,
		"sh", "-c", "echo exec output; exit 3")
	if res.code != 3 {
		t.Errorf("plain exec: got exit code %d, want 3\nstderr: %s", res.code, res.stderr)
	}
	if got, want := res.stdout, "exec output\n"; got != want {
		t.Errorf("plain exec: got output %q, want %q", got, want)
	}
	events := d.waitEvents(t, id, "the exec's added, started and exit events", func(e []taskEvent) bool {
		return slices.Contains(topics(e), "/tasks/exit")
	})
	var execTopics []string
	for _, e := range events {
		if e.execID == "plain" || e.id == "plain" {
			execTopics = append(execTopics, e.topic)
		}
	}
	want := []string{"/tasks/exec-added", "/tasks/exec-started", "/tasks/exit"}
	if !slices.Equal(execTopics, want) {
		t.Errorf("plain exec: got event topics %q, want %q", execTopics, want)
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

// testContainerd2ConcurrentExecs runs ten execs at once; each must end
// with its own exit code and exit event.
func testContainerd2ConcurrentExecs(t *testing.T, d *containerd2) {
	const id = "concurrent"
	const n = 10
	t.Cleanup(func() { d.removeContainer(t, id) })
	d.mustCtr(t, d.runArgs2("--detach", busyboxImageName, id, "sleep", "1000")...)
	d.waitTaskStatus(t, id, "RUNNING")

	results := make([]ctrResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.ctr(t, "task", "exec", "--exec-id", fmt.Sprintf("exec-%d", i),
				"--fifo-dir", d.fifoDir, id, "sh", "-c", fmt.Sprintf("echo exec %d; exit %d", i, 10+i))
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.code != 10+i {
			t.Errorf("exec-%d: got exit code %d, want %d\nstderr: %s", i, res.code, 10+i, res.stderr)
		}
		if want := fmt.Sprintf("exec %d\n", i); res.stdout != want {
			t.Errorf("exec-%d: got output %q, want %q", i, res.stdout, want)
		}
	}
	events := d.waitEvents(t, id, "ten exec exits", func(e []taskEvent) bool {
		return len(execExits(e)) == n
	})
	for execID, status := range execExits(events) {
		i, _ := strconv.Atoi(strings.TrimPrefix(execID, "exec-"))
		if status != 10+i {
			t.Errorf("TaskExit of %s: got status %d, want %d", execID, status, 10+i)
		}
	}
}

// execExits returns the exit status of every exec in events by exec ID.
func execExits(events []taskEvent) map[string]int {
	exits := map[string]int{}
	for _, e := range events {
		if e.topic == "/tasks/exit" && e.id != e.containerID {
			exits[e.id] = e.exitStatus
		}
	}
	return exits
}

// testContainerd2ExecsKilledWithInit kills the init while ten execs run:
// the kernel kills the execs with their PID namespace, and every exec's
// exit event must come before the init's.
func testContainerd2ExecsKilledWithInit(t *testing.T, d *containerd2) {
	const id = "execs-killed"
	const n = 10
	t.Cleanup(func() { d.removeContainer(t, id) })
	d.mustCtr(t, d.runArgs2("--detach", busyboxImageName, id, "sleep", "1000")...)
	running := d.waitTaskStatus(t, id, "RUNNING")

	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	var execs []*exec.Cmd
	for i := range n {
		cmd := d.ctrCommand(ctx, "task", "exec", "--exec-id", fmt.Sprintf("sleeper-%d", i),
			"--fifo-dir", d.fifoDir, id, "sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start ctr task exec: %v", err)
		}
		execs = append(execs, cmd)
	}
	d.waitEvents(t, id, "ten exec-started events", func(e []taskEvent) bool {
		started := 0
		for _, ev := range e {
			if ev.topic == "/tasks/exec-started" {
				started++
			}
		}
		return started == n
	})
	if err := syscall.Kill(running.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill init %d: %v", running.pid, err)
	}
	for i, cmd := range execs {
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("wait for ctr task exec: %v", err)
		}
		if got := cmd.ProcessState.ExitCode(); got != 137 {
			t.Errorf("sleeper-%d: got exit code %d, want 137", i, got)
		}
	}
	events := d.waitEvents(t, id, "the init's exit", func(e []taskEvent) bool {
		for _, ev := range e {
			if ev.topic == "/tasks/exit" && ev.id == id {
				return true
			}
		}
		return false
	})
	initExit := slices.IndexFunc(events, func(e taskEvent) bool { return e.topic == "/tasks/exit" && e.id == id })
	if got := len(execExits(events[:initExit])); got != n {
		t.Errorf("got %d exec exit events before the init's, want %d: topics %q", got, n, topics(events))
	}
	if got := len(execExits(events[initExit:])); got != 0 {
		t.Errorf("got %d exec exit events after the init's, want 0", got)
	}
	if status := events[initExit].exitStatus; status != 137 {
		t.Errorf("init TaskExit: got status %d, want 137", status)
	}
}

func testContainerd2RunTerminal(t *testing.T, d *containerd2) {
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	args := d.runArgs2("--rm", "--tty", busyboxImageName, "run-tty", "sh", "-c", "tty; exit 5")
	out, code := runInTerminal(t, d.ctrCommand(ctx, args...))
	if code != 5 {
		t.Errorf("got exit code %d, want 5\noutput: %q", code, out)
	}
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("got terminal output %q, want the name of a /dev/pts terminal from tty", out)
	}
}

// testContainerd2Stdin feeds the container's stdin through ctr: the
// process must read it all and then end-of-file, which needs the shim to
// close the stdin pipe when ctr closes its fifo (CloseIO).
func testContainerd2Stdin(t *testing.T, d *containerd2) {
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	cmd := d.ctrCommand(ctx, d.runArgs2("--rm", busyboxImageName, "stdin",
		"sh", "-c", "wc -l; echo done")...)
	cmd.Stdin = strings.NewReader("one\ntwo\nthree\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ctr run with stdin: %v\nstderr: %s", err, stderr.String())
	}
	if got, want := strings.Fields(stdout.String()), []string{"3", "done"}; !slices.Equal(got, want) {
		t.Errorf("got output words %q, want %q", got, want)
	}
}

// testContainerd2RuntimeOptions passes runtime options as ctr does, in a
// TOML file: Root moves the runtime's state, and an unknown key is
// ignored.
func testContainerd2RuntimeOptions(t *testing.T, d *containerd2) {
	const id = "options"
	t.Cleanup(func() { d.removeContainer(t, id) })
	root := filepath.Join(d.dir, "nullrun-root")
	config := filepath.Join(d.dir, "nullrun-options.toml")
	toml := fmt.Sprintf("Root = %q\nBinaryName = \"/usr/bin/runc\"\n", root)
	if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	d.mustCtr(t, d.runArgs2("--detach", "--runtime-config-path", config, busyboxImageName, id, "sleep", "1000")...)
	d.waitTaskStatus(t, id, "RUNNING")
	state := filepath.Join(root, d.namespace, id, "state.json")
	if _, err := os.Stat(state); err != nil {
		t.Errorf("runtime state with Root = %s: got stat error %v, want %s", root, err, state)
	}
	d.removeContainer(t, id)
	if _, err := os.Stat(filepath.Dir(state)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime state after delete: got stat error %v, want not exist", err)
	}
}

// testContainerd2RuntimeInfo requests the shim's features through
// containerd, which runs the shim with -info.
func testContainerd2RuntimeInfo(t *testing.T, d *containerd2) {
	out := d.mustCtr(t, "plugins", "inspect-runtime", "--runtime", nullrunShimRuntime)
	var info struct {
		Name     string `json:"Name"`
		Features struct {
			OCIVersionMax                      string            `json:"ociVersionMax"`
			Annotations                        map[string]string `json:"annotations"`
			PotentiallyUnsafeConfigAnnotations []string          `json:"potentiallyUnsafeConfigAnnotations"`
		} `json:"Features"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("parse ctr plugins inspect-runtime output %q: %v", out, err)
	}
	if info.Name != nullrunShimRuntime {
		t.Errorf("got runtime name %q, want %q", info.Name, nullrunShimRuntime)
	}
	if info.Features.OCIVersionMax == "" {
		t.Errorf("got no ociVersionMax in the features %s, want the runtime-spec version", out)
	}
	if got := info.Features.Annotations["dev.nullrun.enforcement.mount"]; !strings.HasPrefix(got, "emulated:") && !strings.HasPrefix(got, "native:") {
		t.Errorf("got enforcement %q for null mount, want native:… or emulated:…", got)
	}
	if !slices.Contains(info.Features.PotentiallyUnsafeConfigAnnotations, "dev.nullrun.grant.") {
		t.Errorf("got unsafe annotations %q, want dev.nullrun.grant. among them",
			info.Features.PotentiallyUnsafeConfigAnnotations)
	}
}

// nullSandboxSettings are the null settings this kernel can enforce in
// strict mode; time needs a kernel feature no released kernel has.
const nullSandboxSettings = "mount,network,ipc,uts,user,pid,cgroup"

// testContainerd2NullSandbox runs busybox through ctr with null
// annotations: the shim drops the default spec's mounts and the runtime
// starts the process without a root.
func testContainerd2NullSandbox(t *testing.T, d *containerd2) {
	t.Run("Run", func(t *testing.T) {
		script := "echo sandboxed; test -e /bin/busybox && echo root visible; " +
			"cd /bin 2>/dev/null && echo cwd visible; exit 0"
		res := d.ctr(t, d.runArgs2("--rm", "--annotation", "dev.nullrun.null="+nullSandboxSettings,
			busyboxImageName, "null-run", "sh", "-c", script)...)
		if res.code != 0 {
			t.Fatalf("got exit code %d, want 0\nstderr: %s\n%s", res.code, res.stderr, d.logTail())
		}
		if got, want := res.stdout, "sandboxed\n"; got != want {
			t.Errorf("got output %q, want %q: the rootfs must not be reachable", got, want)
		}
	})

	t.Run("State", func(t *testing.T) {
		const id = "null-state"
		t.Cleanup(func() { d.removeContainer(t, id) })
		d.mustCtr(t, d.runArgs2("--detach", "--annotation", "dev.nullrun.null="+nullSandboxSettings,
			busyboxImageName, id, "sleep", "1000")...)
		d.waitTaskStatus(t, id, "RUNNING")

		bundle := filepath.Join(d.dir, "state", "io.containerd.runtime.v2.task", d.namespace, id)
		var spec struct {
			Mounts []struct {
				Destination string `json:"destination"`
			} `json:"mounts"`
		}
		readJSON(t, filepath.Join(bundle, "config.json"), &spec)
		if len(spec.Mounts) != 0 {
			t.Errorf("bundle config.json of a null-mount task: got %d mounts, want none", len(spec.Mounts))
		}
		var state struct {
			Null map[string]string `json:"null"`
		}
		readJSON(t, filepath.Join(nullrunShimStateRoot, d.namespace, id, "state.json"), &state)
		for _, setting := range strings.Split(nullSandboxSettings, ",") {
			if got := state.Null[setting]; got == "" || strings.HasPrefix(got, "fresh") {
				t.Errorf("state of null %s: got enforcement %q, want native or emulated", setting, got)
			}
		}
	})

	t.Run("Rejected", func(t *testing.T) {
		res := d.ctr(t, d.runArgs2("--rm", "--annotation", "dev.nullrun.null=bogus",
			busyboxImageName, "null-bogus", "true")...)
		if res.code == 0 {
			t.Fatalf("run with an invalid null setting: got exit code 0, want an error")
		}
		if !strings.Contains(res.stderr, "bogus") {
			t.Errorf("got stderr %q, want it to name the invalid setting bogus", res.stderr)
		}
		d.removeContainer(t, "null-bogus")
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}
