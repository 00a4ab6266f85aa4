package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// startSleeper runs a detached container whose init sleeps, with the
// given memory and pids limits when they are not 0, and returns its ID and
// init PID.
func (r *testRuntime) startSleeper(memory, pids int64) (string, int) {
	r.t.Helper()
	b := r.newBundle("sleep", "1000")
	if memory != 0 {
		b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &memory}
	}
	if pids != 0 {
		b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	}
	id, res := r.runBundle(b, "--detach")
	if res.Code != 0 {
		r.t.Fatalf("run --detach: %s", res)
	}
	return id, r.waitStatus(id, "running").Pid
}

// stoppedContainer runs a detached container whose init exits at once and
// waits until its state is "stopped".
func (r *testRuntime) stoppedContainer() string {
	r.t.Helper()
	id, res := r.runBundle(r.newBundle("true"), "--detach")
	if res.Code != 0 {
		r.t.Fatalf("run --detach: %s", res)
	}
	r.waitStatus(id, "stopped")
	return id
}

// mustFail runs the runtime with args and fails the test unless it exits
// non-zero with want in its stderr.
func (r *testRuntime) mustFail(want string, args ...string) {
	r.t.Helper()
	res := r.run(args...)
	if res.Code == 0 {
		r.t.Errorf("%s: got exit 0, want a failure saying %q", strings.Join(args, " "), want)
		return
	}
	if !strings.Contains(res.Stderr, want) {
		r.t.Errorf("%s: got stderr %q, want it to contain %q", strings.Join(args, " "), res.Stderr, want)
	}
}

func TestOpsPsJSON(t *testing.T) {
	r := newRuntime(t)
	id, pid := r.startSleeper(0, 0)

	res := r.mustRun("ps", "--format", "json", id)
	var pids []int
	if err := json.Unmarshal([]byte(res.Stdout), &pids); err != nil {
		t.Fatalf("parse ps --format json output %q: %v", res.Stdout, err)
	}
	if !slices.Contains(pids, pid) {
		t.Errorf("ps --format json: got %v, want it to contain the init pid %d", pids, pid)
	}
}

func TestOpsPsTable(t *testing.T) {
	r := newRuntime(t)
	id, pid := r.startSleeper(0, 0)

	lines := strings.Split(strings.TrimSpace(r.mustRun("ps", id).Stdout), "\n")
	header := strings.Fields(lines[0])
	column := slices.Index(header, "PID")
	if column < 0 {
		t.Fatalf("ps header: got %q, want a PID column", lines[0])
	}
	var pids []int
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		n, err := strconv.Atoi(fields[column])
		if err != nil {
			t.Fatalf("ps line %q: PID column %q: %v", line, fields[column], err)
		}
		pids = append(pids, n)
	}
	if !slices.Contains(pids, pid) {
		t.Errorf("ps table PIDs: got %v, want them to contain the init pid %d", pids, pid)
	}
	if slices.Contains(pids, os.Getpid()) {
		t.Errorf("ps table PIDs: got %v, want no process outside the container such as the test (%d)",
			pids, os.Getpid())
	}

	// Options after the ID go to ps(1).
	custom := r.mustRun("ps", id, "-o", "pid,comm").Stdout
	if !strings.Contains(custom, "sleep") {
		t.Errorf("ps ID -o pid,comm: got %q, want a sleep line", custom)
	}
}

func TestOpsPauseResume(t *testing.T) {
	r := newRuntime(t)
	id, _ := r.startSleeper(0, 0)

	r.mustFail("not paused", "resume", id)

	r.mustRun("pause", id)
	if got := r.state(id).Status; got != "paused" {
		t.Errorf("status after pause: got %q, want paused", got)
	}
	if got := cgroupFileOfContainer(t, r, id, "freezer", "freezer.state", "cgroup.freeze"); got != "FROZEN" && got != "1" {
		t.Errorf("freezer state after pause: got %q, want FROZEN (v1) or 1 (v2)", got)
	}

	r.mustRun("resume", id)
	if got := r.state(id).Status; got != "running" {
		t.Errorf("status after resume: got %q, want running", got)
	}
	r.mustFail("not paused", "resume", id)
}

// TestOpsPauseCreated checks runc 1.1's behaviour: a created container can
// be paused, and resuming it returns it to "created".
func TestOpsPauseCreated(t *testing.T) {
	r := newRuntime(t)
	id := r.create(r.newBundle("sleep", "1000"))

	r.mustRun("pause", id)
	if got := r.state(id).Status; got != "paused" {
		t.Errorf("status after pause of a created container: got %q, want paused", got)
	}
	r.mustRun("resume", id)
	if got := r.state(id).Status; got != "created" {
		t.Errorf("status after resume: got %q, want created", got)
	}
}

func TestOpsPauseStopped(t *testing.T) {
	r := newRuntime(t)
	id := r.stoppedContainer()

	r.mustFail("not running", "pause", id)
	r.mustFail("not paused", "resume", id)
	if got := r.state(id).Status; got != "stopped" {
		t.Errorf("status after a failed pause: got %q, want stopped", got)
	}
}

func TestOpsUpdateLimits(t *testing.T) {
	r := newRuntime(t)
	id, pid := r.startSleeper(64<<20, 50)
	memFile, memV2 := "memory.limit_in_bytes", "memory.max"
	if isCgroup2() {
		memFile = memV2
	}

	r.mustRun("update", "--memory", "96m", "--pids-limit", "80", id)
	if got, want := cgroupFile(t, pid, "memory", memFile), strconv.Itoa(96<<20); got != want {
		t.Errorf("%s after update --memory 96m: got %s, want %s", memFile, got, want)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max"); got != "80" {
		t.Errorf("pids.max after update --pids-limit 80: got %s, want 80", got)
	}

	// A second update through --resources on stdin, as containerd sends it,
	// changes only pids. If the first update had not been stored, the
	// runtime would write the original 64 MiB memory limit back.
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := r.command(ctx, "update", "--resources", "-", id)
	cmd.Stdin = strings.NewReader(`{"pids": {"limit": 90}}`)
	if res := r.exec(cmd); res.Code != 0 {
		t.Fatalf("update --resources -: %s", res)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max"); got != "90" {
		t.Errorf("pids.max after update --resources: got %s, want 90", got)
	}
	if got, want := cgroupFile(t, pid, "memory", memFile), strconv.Itoa(96<<20); got != want {
		t.Errorf("%s after a pids-only update: got %s, want %s kept from the first update",
			memFile, got, want)
	}

	file := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(file, []byte(`{"memory": {"limit": 134217728}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r.mustRun("update", "--resources="+file, id)
	if got, want := cgroupFile(t, pid, "memory", memFile), strconv.Itoa(128<<20); got != want {
		t.Errorf("%s after update --resources=FILE: got %s, want %s", memFile, got, want)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max"); got != "90" {
		t.Errorf("pids.max after a memory-only update: got %s, want 90 kept", got)
	}
	if got := r.state(id).Status; got != "running" {
		t.Errorf("status after updates: got %q, want running", got)
	}
}

func TestOpsUpdateRejects(t *testing.T) {
	r := newRuntime(t)
	id, _ := r.startSleeper(0, 0)

	tests := [][]string{
		{"update", "--memory", "lots", id},
		{"update", "--cpu-quota", "1.5", id},
		{"update", "--l3-cache-schema", "L3:0=ff", id},
		{"update", "--mem-bw-schema", "MB:0=70", id},
		{"update", "--resources", filepath.Join(t.TempDir(), "missing.json"), id},
	}
	for _, args := range tests {
		if res := r.run(args...); res.Code == 0 {
			t.Errorf("%s: got exit 0, want a failure", strings.Join(args, " "))
		}
	}
	if got := r.state(id).Status; got != "running" {
		t.Errorf("status after rejected updates: got %q, want running", got)
	}

	stopped := r.stoppedContainer()
	r.mustFail("not running", "update", "--pids-limit", "10", stopped)
}

// statsEvent is the part of an `events` line the tests read, with the field
// names containerd's go-runc decodes.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data *struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

func TestOpsEventsStats(t *testing.T) {
	r := newRuntime(t)
	id, _ := r.startSleeper(64<<20, 50)

	out := strings.TrimSpace(r.mustRun("events", "--stats", id).Stdout)
	if n := strings.Count(out, "\n"); n != 0 {
		t.Fatalf("events --stats: got %d lines, want 1: %q", n+1, out)
	}
	var ev statsEvent
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("parse events --stats output %q: %v", out, err)
	}
	if ev.Type != "stats" || ev.ID != id {
		t.Errorf("event type and id: got %q, %q, want stats, %s", ev.Type, ev.ID, id)
	}
	if ev.Data == nil {
		t.Fatalf("event data: got none in %q", out)
	}
	if got, want := ev.Data.Memory.Usage.Limit, uint64(64<<20); got != want {
		t.Errorf("memory.usage.limit: got %d, want %d", got, want)
	}
	if got := ev.Data.Memory.Usage.Usage; got == 0 {
		t.Errorf("memory.usage.usage: got 0, want the bytes the container uses")
	}
	if got := ev.Data.Pids.Current; got < 1 {
		t.Errorf("pids.current: got %d, want at least 1", got)
	}
	if got := ev.Data.Pids.Limit; got != 50 {
		t.Errorf("pids.limit: got %d, want 50", got)
	}
	if got := ev.Data.CPU.Usage.Total; got == 0 {
		t.Errorf("cpu.usage.total: got 0, want the CPU time the container used")
	}

	stopped := r.stoppedContainer()
	r.mustFail("not running", "events", "--stats", stopped)
}

// eventStream is a running `events` command whose output lines arrive on
// lines; the channel closes when the command's output ends. done is closed
// when the command has exited, and err is then its Wait result.
type eventStream struct {
	lines chan string
	done  chan struct{}
	err   error
}

func (r *testRuntime) startEvents(args ...string) *eventStream {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := r.command(ctx, append([]string{"events"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		r.t.Fatalf("start events: %v", err)
	}
	s := &eventStream{lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			s.lines <- scanner.Text()
		}
		close(s.lines)
		s.err = cmd.Wait()
		close(s.done)
	}()
	r.t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// next returns the next event of type typ, skipping others, and false when
// the stream ends or stateTimeout passes first.
func (s *eventStream) next(t *testing.T, typ string) (statsEvent, bool) {
	t.Helper()
	deadline := time.After(stateTimeout)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return statsEvent{}, false
			}
			var ev statsEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("parse event line %q: %v", line, err)
			}
			if ev.Type == typ {
				return ev, true
			}
		case <-deadline:
			return statsEvent{}, false
		}
	}
}

func TestOpsEventsStream(t *testing.T) {
	r := newRuntime(t)
	id, _ := r.startSleeper(0, 0)
	events := r.startEvents("--interval", "100ms", id)

	for i := range 2 {
		ev, ok := events.next(t, "stats")
		if !ok {
			t.Fatalf("stats event %d: got none within %v", i+1, stateTimeout)
		}
		if ev.ID != id || ev.Data == nil {
			t.Errorf("stats event %d: got id %q and data %v, want id %s with data", i+1, ev.ID, ev.Data, id)
		}
	}

	// runc ends the stream when the cgroup goes away, nullrun already when
	// the init exits: after kill and delete both must have ended it.
	r.mustRun("kill", id, "KILL")
	r.waitStatus(id, "stopped")
	r.mustRun("delete", id)
	deadline := time.After(stateTimeout)
	for {
		select {
		case _, ok := <-events.lines:
			if ok {
				continue
			}
		case <-deadline:
			t.Fatalf("events: still running %v after the container was deleted", stateTimeout)
		}
		break
	}
	<-events.done
	if events.err != nil {
		t.Errorf("events after the container stopped: got %v, want exit 0", events.err)
	}
}

func TestOpsEventsOOM(t *testing.T) {
	r := newRuntime(t)
	// The init waits for a file from the test, so the OOM kill happens
	// only after events is watching. tail keeps its whole input in memory
	// when the input has no line break.
	b := r.newBundle(shell("while [ ! -e /tmp/go ]; do sleep 0.05; done; " +
		"head -c 256m /dev/zero | tail >/dev/null; sleep 1000")...)
	memory := int64(32 << 20)
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &memory, Swap: &memory}
	id, res := r.runBundle(b, "--detach")
	if res.Code != 0 {
		t.Fatalf("run --detach: %s", res)
	}
	r.waitStatus(id, "running")

	events := r.startEvents("--interval", "100ms", id)
	if _, ok := events.next(t, "stats"); !ok {
		t.Fatalf("stats event: got none within %v", stateTimeout)
	}
	if err := os.WriteFile(filepath.Join(b.Rootfs, "tmp", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ev, ok := events.next(t, "oom")
	if !ok {
		t.Fatalf("oom event: got none within %v of a 256 MiB allocation under a 32 MiB limit",
			stateTimeout)
	}
	if ev.ID != id {
		t.Errorf("oom event id: got %q, want %s", ev.ID, id)
	}
}

func TestOpsFeatures(t *testing.T) {
	r := newRuntime(t)
	out := r.mustRun("features").Stdout
	var doc struct {
		OCIVersionMax string   `json:"ociVersionMax"`
		Hooks         []string `json:"hooks"`
		MountOptions  []string `json:"mountOptions"`
		Linux         struct {
			Namespaces   []string `json:"namespaces"`
			Capabilities []string `json:"capabilities"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("parse features output: %v in %q", err, out)
	}
	if doc.OCIVersionMax == "" {
		t.Errorf("ociVersionMax: got none, want a runtime-spec version")
	}
	for _, ns := range []string{"mount", "pid", "network", "ipc", "uts", "user", "cgroup"} {
		if !slices.Contains(doc.Linux.Namespaces, ns) {
			t.Errorf("linux.namespaces: got %v, want it to contain %q", doc.Linux.Namespaces, ns)
		}
	}
	for _, opt := range []string{"rbind", "bind", "ro", "nosuid", "rprivate"} {
		if !slices.Contains(doc.MountOptions, opt) {
			t.Errorf("mountOptions: got %v, want it to contain %q", doc.MountOptions, opt)
		}
	}
	if !slices.Contains(doc.Linux.Capabilities, "CAP_SYS_ADMIN") {
		t.Errorf("linux.capabilities: got %v, want it to contain CAP_SYS_ADMIN", doc.Linux.Capabilities)
	}
	if !slices.Contains(doc.Hooks, "prestart") || !slices.Contains(doc.Hooks, "poststop") {
		t.Errorf("hooks: got %v, want prestart and poststop among them", doc.Hooks)
	}
}

// cgroupFileOfContainer reads a file of the container's cgroup: v1name in
// the controller's hierarchy on cgroup v1, v2name on a cgroup v2 host.
func cgroupFileOfContainer(t *testing.T, r *testRuntime, id, controller, v1name, v2name string) string {
	t.Helper()
	pid := r.state(id).Pid
	if isCgroup2() {
		return cgroupFile(t, pid, controller, v2name)
	}
	return cgroupFile(t, pid, controller, v1name)
}
