package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// counterScript counts up in /count in the rootfs, five times a second.
const counterScript = "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.2; done"

// criuCheck runs `criu check` as the runtime will and returns whether it
// passed and the first Error line of its output (its whole output when it
// has none). It skips t when criu is not installed.
func criuCheck(t *testing.T) (bool, string) {
	t.Helper()
	path, err := exec.LookPath("criu")
	if err != nil {
		path = "/usr/sbin/criu"
		if _, err := os.Stat(path); err != nil {
			t.Skip("criu is not installed (Debian: apt-get install criu)")
		}
	}
	out, err := exec.Command(path, "check").CombinedOutput()
	text := string(out)
	if err == nil && strings.Contains(text, "Looks good") {
		return true, ""
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "Error") {
			return false, line
		}
	}
	return false, strings.TrimSpace(text)
}

// readCounter returns the number in the rootfs's /count, or -1.
func readCounter(t *testing.T, b *bundle) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.Rootfs, "count"))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return -1
	}
	return n
}

// waitCounter polls until the counter is at least min and returns it.
func waitCounter(t *testing.T, b *bundle, min int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n := readCounter(t, b); n >= min {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("counter: got %d, want at least %d within 10 s", readCounter(t, b), min)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startCounter runs a detached counter container and waits for it to count.
func startCounter(t *testing.T, r *testRuntime) (*bundle, string) {
	t.Helper()
	b := r.newBundle(shell(counterScript)...)
	b.write(t)
	id := r.newID()
	r.mustRun("run", "--detach", "--bundle", b.Dir, id)
	waitCounter(t, b, 3)
	return b, id
}

func TestCheckpointRestoreCounter(t *testing.T) {
	if ok, reason := criuCheck(t); !ok {
		t.Skipf("criu cannot checkpoint on this kernel, `criu check` reports: %s", reason)
	}
	r := newRuntime(t)
	b, id := startCounter(t, r)
	images := filepath.Join(openTempDir(t), "images")

	r.mustRun("checkpoint", "--image-path", images, id)
	if res := r.run("state", id); res.Code == 0 {
		t.Errorf("state after checkpoint: got %s, want the container deleted", res)
	}
	stopped := readCounter(t, b)
	time.Sleep(600 * time.Millisecond)
	if got := readCounter(t, b); got != stopped {
		t.Fatalf("counter after checkpoint: got %d, want it stopped at %d", got, stopped)
	}

	r.track(id)
	r.mustRun("restore", "--detach", "--image-path", images, "--bundle", b.Dir, id)
	got := waitCounter(t, b, stopped+1)
	if got > stopped+5 {
		t.Errorf("counter after restore: got %d, want it to continue from %d", got, stopped)
	}
	if st := r.state(id); st.Status != "running" {
		t.Errorf("status after restore: got %q, want running", st.Status)
	}

	r.mustRun("kill", id, "KILL")
	r.waitStatus(id, "stopped")
	r.mustRun("delete", id)
	if res := r.run("state", id); res.Code == 0 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("state after delete: got %s, want exit 1 and \"does not exist\"", res)
	}
}

func TestCheckpointWithoutWorkingCRIU(t *testing.T) {
	skipIfRuntime(t, "runc", "runc words the criu failure differently")
	ok, reason := criuCheck(t)
	if ok {
		t.Skip("criu check passes on this kernel: TestCheckpointRestoreCounter covers it")
	}
	r := newRuntime(t)
	b, id := startCounter(t, r)
	images := filepath.Join(openTempDir(t), "images")

	res := r.run("checkpoint", "--image-path", images, id)
	if res.Code != 1 {
		t.Errorf("checkpoint exit code: got %d, want 1 (%s)", res.Code, res)
	}
	for _, want := range []string{"criu check", reason} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("checkpoint error: got %q, want it to contain %q", res.Stderr, want)
		}
	}
	if st := r.state(id); st.Status != "running" {
		t.Errorf("status after failed checkpoint: got %q, want running", st.Status)
	}

	restored := r.newID()
	res = r.run("restore", "--detach", "--image-path", images, "--bundle", b.Dir, restored)
	if res.Code != 1 {
		t.Errorf("restore exit code: got %d, want 1 (%s)", res.Code, res)
	}
	if !strings.Contains(res.Stderr, reason) {
		t.Errorf("restore error: got %q, want it to contain %q", res.Stderr, reason)
	}
	if res := r.run("state", restored); res.Code == 0 {
		t.Errorf("state after failed restore: got %s, want no container", res)
	}
}

func TestCheckpointRejectsLazyPages(t *testing.T) {
	skipIfRuntime(t, "runc", "runc supports --lazy-pages")
	r := newRuntime(t)
	_, id := startCounter(t, r)
	res := r.run("checkpoint", "--lazy-pages", id)
	if res.Code != 1 || !strings.Contains(res.Stderr, "--lazy-pages is not supported") {
		t.Errorf("checkpoint --lazy-pages: got %s, want exit 1 and \"--lazy-pages is not supported\"", res)
	}
}
