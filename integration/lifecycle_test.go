package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunPrintsOutput(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("echo hello; hostname")...)
	b.Spec.Hostname = "box"
	got := r.mustRunBundle(b)
	if want := "hello\nbox\n"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
}

func TestRunExitCode(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"exit 0", "exit 0", 0},
		{"exit 7", "exit 7", 7},
		{"self SIGKILL", "kill -9 $$", 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle(shell(tt.script)...)
			// The init of a PID namespace cannot send itself SIGKILL, so
			// the container shares the host's PID namespace.
			b.removeNamespace(specs.PIDNamespace)
			_, res := r.runBundle(b)
			if res.Code != tt.want {
				t.Errorf("exit code: got %d, want %d (%s)", res.Code, tt.want, res)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	id := r.create(b)

	st := r.state(id)
	if st.Status != "created" {
		t.Errorf("status after create: got %q, want %q", st.Status, "created")
	}
	if st.Pid <= 0 {
		t.Errorf("pid after create: got %d, want > 0", st.Pid)
	}
	if st.ID != id {
		t.Errorf("id: got %q, want %q", st.ID, id)
	}
	if st.Bundle != b.Dir {
		t.Errorf("bundle: got %q, want %q", st.Bundle, b.Dir)
	}

	r.mustRun("start", id)
	r.waitStatus(id, "running")
	r.mustRun("kill", id, "KILL")
	r.waitStatus(id, "stopped")
	r.mustRun("delete", id)

	res := r.run("state", id)
	if res.Code == 0 {
		t.Fatalf("state after delete: got exit 0, want non-zero (%s)", res)
	}
	if !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("state after delete: got stderr %q, want it to contain %q", res.Stderr, "does not exist")
	}
}

func TestList(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	first := r.create(b)
	second := r.create(b)

	quiet := strings.Fields(r.mustRun("list", "-q").Stdout)
	if len(quiet) != 2 || !contains(quiet, first) || !contains(quiet, second) {
		t.Errorf("list -q: got %q, want %q and %q", quiet, first, second)
	}

	var listed []containerState
	out := r.mustRun("list", "--format", "json").Stdout
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("parse list --format json output %q: %v", out, err)
	}
	if len(listed) != 2 {
		t.Fatalf("list --format json: got %d entries, want 2: %s", len(listed), out)
	}
	for _, c := range listed {
		if c.Status != "created" {
			t.Errorf("listed %s status: got %q, want %q", c.ID, c.Status, "created")
		}
		if c.Bundle != b.Dir {
			t.Errorf("listed %s bundle: got %q, want %q", c.ID, c.Bundle, b.Dir)
		}
	}
}

func TestMissingContainer(t *testing.T) {
	r := newRuntime(t)
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"delete", "--force", "nosuchcontainer"}, 0},
		{[]string{"delete", "nosuchcontainer"}, 1},
		{[]string{"state", "nosuchcontainer"}, 1},
		{[]string{"kill", "nosuchcontainer", "KILL"}, 1},
		{[]string{"start", "nosuchcontainer"}, 1},
	}
	for _, tt := range tests {
		res := r.run(tt.args...)
		if res.Code != tt.want {
			t.Errorf("%s: got exit %d, want %d (%s)", strings.Join(tt.args, " "), res.Code, tt.want, res)
		}
		if tt.want != 0 && !strings.Contains(res.Stderr, "does not exist") {
			t.Errorf("%s: got stderr %q, want it to contain %q", strings.Join(tt.args, " "), res.Stderr, "does not exist")
		}
	}
}

func TestRunDetach(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	id, res := r.runBundle(b, "--detach")
	if res.Code != 0 {
		t.Fatalf("run --detach: %s", res)
	}
	st := r.waitStatus(id, "running")
	if err := processAlive(st.Pid); err != nil {
		t.Errorf("container init %d: %v", st.Pid, err)
	}
}

func TestRunKeep(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("true")
	id, res := r.runBundle(b, "--keep")
	if res.Code != 0 {
		t.Fatalf("run --keep: %s", res)
	}
	if st := r.state(id); st.Status != "stopped" {
		t.Errorf("status after run --keep: got %q, want %q", st.Status, "stopped")
	}
	r.mustRun("delete", id)
}

func TestRunRemovesState(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("true")
	id, res := r.runBundle(b)
	if res.Code != 0 {
		t.Fatalf("run: %s", res)
	}
	if res := r.run("state", id); res.Code == 0 {
		t.Errorf("state after run without --keep: got exit 0, want non-zero (%s)", res)
	}
}

func TestKillSignals(t *testing.T) {
	// The shell waits on a background sleep so the trap runs at once; as
	// PID 1 of its namespace it would ignore an untrapped SIGTERM.
	script := "trap 'exit 0' TERM; sleep 1000 & wait"
	for _, sig := range []string{"TERM", "SIGTERM", "15"} {
		t.Run(sig, func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle(shell(script)...)
			id := r.create(b)
			r.mustRun("start", id)
			r.waitStatus(id, "running")
			r.mustRun("kill", id, sig)
			r.waitStatus(id, "stopped")
		})
	}
	t.Run("default signal", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle(shell(script)...)
		id := r.create(b)
		r.mustRun("start", id)
		r.waitStatus(id, "running")
		r.mustRun("kill", id)
		r.waitStatus(id, "stopped")
	})
	t.Run("all", func(t *testing.T) {
		r := newRuntime(t)
		b := r.newBundle(shell("sleep 1000 & sleep 1000 & wait")...)
		id := r.create(b)
		r.mustRun("start", id)
		r.waitStatus(id, "running")
		r.mustRun("kill", "--all", id, "KILL")
		r.waitStatus(id, "stopped")
	})
}

func TestPidFile(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	id := r.create(b, "--pid-file", pidFile)

	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read pid file after create: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("parse pid file %q: %v", data, err)
	}
	if st := r.state(id); pid != st.Pid {
		t.Errorf("pid file: got %d, want the state's pid %d", pid, st.Pid)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// processAlive returns nil when pid exists and is not a zombie.
func processAlive(pid int) error {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return err
	}
	// The state letter follows the command name, which is in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) > 0 && fields[0] == "Z" {
		return os.ErrProcessDone
	}
	return nil
}
