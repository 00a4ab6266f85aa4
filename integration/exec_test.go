package integration

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// startSleeper creates and starts a container running sleep and returns
// its ID.
func startSleeper(t *testing.T, r *testRuntime) string {
	t.Helper()
	b := r.newBundle("sleep", "1000")
	id := r.create(b)
	r.mustRun("start", id)
	r.waitStatus(id, "running")
	return id
}

func TestExecOutputAndExitCode(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	res := r.run("exec", id, "sh", "-c", "echo from exec; exit 3")
	if res.Code != 3 {
		t.Errorf("exit code: got %d, want 3 (%s)", res.Code, res)
	}
	if res.Stdout != "from exec\n" {
		t.Errorf("output: got %q, want %q", res.Stdout, "from exec\n")
	}
	if st := r.state(id); st.Status != "running" {
		t.Errorf("status after exec: got %q, want running", st.Status)
	}
}

func TestExecJoinsNamespaces(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	b.Spec.Hostname = "inside"
	id := r.create(b)
	r.mustRun("start", id)
	st := r.waitStatus(id, "running")

	res := r.mustRun("exec", id, "sh", "-c",
		"hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/mnt")
	want := []string{"inside"}
	for _, ns := range []string{"net", "mnt"} {
		link, err := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, link)
	}
	if got := strings.Fields(res.Stdout); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("exec output: got %q, want %q", got, want)
	}
}

func TestExecFlags(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	res := r.mustRun("exec", "--user", "1000:1001", "--additional-gids", "7",
		"--env", "GREETING=hi", "--cwd", "/tmp", id,
		"sh", "-c", `id -u; id -g; id -G; echo "$GREETING"; pwd`)
	want := "1000\n1001\n1001 7\nhi\n/tmp\n"
	if res.Stdout != want {
		t.Errorf("exec output: got %q, want %q", res.Stdout, want)
	}
}

func TestExecProcessJSON(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	p := specs.Process{
		Args: []string{"sh", "-c", `echo "$ONLY"; id -u`},
		Env:  []string{"PATH=/bin", "ONLY=from-json"},
		Cwd:  "/",
		User: specs.User{UID: 42, GID: 42},
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.mustRun("exec", "--process", path, id)
	if want := "from-json\n42\n"; res.Stdout != want {
		t.Errorf("exec output: got %q, want %q", res.Stdout, want)
	}
}

func TestExecDetachPidFile(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	r.mustRun("exec", "--detach", "--pid-file", pidFile, id, "sleep", "1000")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file: got %q, want a PID", data)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatalf("read cmdline of exec process %d: %v", pid, err)
	}
	if got := strings.ReplaceAll(string(cmdline), "\x00", " "); got != "sleep 1000 " {
		t.Errorf("exec process cmdline: got %q, want %q", got, "sleep 1000 ")
	}
}

func TestExecIntoCreated(t *testing.T) {
	r := newRuntime(t)
	id := r.create(r.newBundle("sleep", "1000"))
	res := r.mustRun("exec", id, "echo", "early")
	if res.Stdout != "early\n" {
		t.Errorf("exec output: got %q, want %q", res.Stdout, "early\n")
	}
	if st := r.state(id); st.Status != "created" {
		t.Errorf("status after exec: got %q, want created", st.Status)
	}
}

func TestExecFailureKeepsContainer(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	res := r.run("exec", id, "no-such-program")
	// runc exits 255 when exec itself fails, apart from the process's
	// own statuses.
	if res.Code != 255 {
		t.Errorf("exec of a missing program: got exit %d, want 255 (%s)", res.Code, res)
	}
	if !strings.Contains(res.Stderr, "no-such-program") {
		t.Errorf("stderr: got %q, want it to name the program", res.Stderr)
	}
	if st := r.state(id); st.Status != "running" {
		t.Errorf("status after failed exec: got %q, want running", st.Status)
	}
}

func TestExecStoppedContainer(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	r.mustRun("kill", id, "KILL")
	r.waitStatus(id, "stopped")
	res := r.run("exec", id, "true")
	if res.Code == 0 {
		t.Fatalf("exec in a stopped container: got exit 0, want an error")
	}
	if want := "cannot exec in a stopped container"; !strings.Contains(res.Stderr, want) {
		t.Errorf("stderr: got %q, want it to contain %q", res.Stderr, want)
	}
}

func TestExecTerminal(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	console := newConsoleSocket(t)
	done := make(chan result, 1)
	go func() {
		done <- r.run("exec", "--tty", "--detach", "--console-socket", console.Path, id,
			"sh", "-c", "tty; test -t 0 && echo on-a-tty")
	}()
	master := console.receive(t)
	if res := <-done; res.Code != 0 {
		t.Fatalf("exec --tty: %s", res)
	}
	data, _ := io.ReadAll(master)
	got := string(data)
	if !strings.Contains(got, "/dev/pts/") || !strings.Contains(got, "on-a-tty") {
		t.Errorf("terminal output: got %q, want a /dev/pts name and on-a-tty", got)
	}
}

// TestExecWithoutMountNamespace checks that a process exec'd into a
// container that has no mount namespace of its own is chrooted like the
// container's init, not left in the caller's root.
func TestExecWithoutMountNamespace(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	b.removeNamespace(specs.MountNamespace)
	b.Spec.Mounts = nil
	b.Spec.Linux.MaskedPaths = nil
	b.Spec.Linux.ReadonlyPaths = nil
	b.Spec.Root.Readonly = false
	b.writeRootfsFile(t, "marker", "inside the rootfs\n", 0o644)
	id := r.create(b)
	r.mustRun("start", id)
	r.waitStatus(id, "running")
	res := r.mustRun("exec", id, "cat", "/marker")
	if res.Stdout != "inside the rootfs\n" {
		t.Errorf("exec cat /marker: got %q, want the rootfs's marker", res.Stdout)
	}
}

// TestExecMissingCwd checks that exec does not create a missing working
// directory, as runc does not: only the container's own process gets one.
func TestExecMissingCwd(t *testing.T) {
	r := newRuntime(t)
	id := startSleeper(t, r)
	res := r.run("exec", "--cwd", "/no/such/dir", id, "true")
	if res.Code == 0 {
		t.Fatalf("exec --cwd /no/such/dir: got exit 0, want an error")
	}
	if !strings.Contains(res.Stderr, "/no/such/dir") {
		t.Errorf("stderr: got %q, want it to name the directory", res.Stderr)
	}
	if got := r.run("exec", id, "test", "-e", "/no/such/dir"); got.Code == 0 {
		t.Errorf("the missing cwd was created by the failed exec")
	}
}
