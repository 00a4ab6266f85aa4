package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// commandTimeout bounds one runtime invocation so a hung runtime fails
// the test instead of the whole package.
const commandTimeout = 60 * time.Second

// stateTimeout bounds every wait for a state change.
const stateTimeout = 20 * time.Second

var (
	runtimeNameOnce sync.Once
	runtimeNameVal  string
)

// runtimeName returns the first word of `$RUNTIME --version` ("runc",
// "crun", "nullrun"), so tests can tell which runtime they drive.
func runtimeName() string {
	runtimeNameOnce.Do(func() {
		out, err := exec.Command(runtimeBin, "--version").Output()
		if err != nil {
			runtimeNameVal = "unknown"
			return
		}
		fields := strings.Fields(string(out))
		if len(fields) == 0 {
			runtimeNameVal = "unknown"
			return
		}
		runtimeNameVal = fields[0]
	})
	return runtimeNameVal
}

// skipIfRuntime skips t when the runtime under test is name. reason says
// what that runtime does differently from what nullrun must do.
func skipIfRuntime(t testing.TB, name, reason string) {
	t.Helper()
	if runtimeName() == name {
		t.Skipf("%s differs here, so the check only applies to nullrun: %s", name, reason)
	}
}

// idCounter makes container IDs unique within one test binary.
var idCounter atomic.Int64

// result is what one runtime invocation produced.
type result struct {
	Stdout string
	Stderr string
	Code   int
}

// String formats r for failure messages.
func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// containerState is the subset of the OCI state document the tests read.
type containerState struct {
	OCIVersion string `json:"ociVersion"`
	ID         string `json:"id"`
	Pid        int    `json:"pid"`
	Status     string `json:"status"`
	Bundle     string `json:"bundle"`
}

// testRuntime drives the runtime under test with a private state root,
// and on cleanup kills and deletes every container it created, then
// checks that nothing was left behind.
type testRuntime struct {
	t    *testing.T
	root string

	// mu guards ids and bundles, which concurrent creates append to.
	mu      sync.Mutex
	ids     []string
	bundles []string
}

// newRuntime returns a testRuntime with its own --root. It skips t when
// not root.
func newRuntime(t *testing.T) *testRuntime {
	t.Helper()
	requireRoot(t)
	r := &testRuntime{t: t, root: t.TempDir()}
	t.Cleanup(r.cleanup)
	return r
}

// newID returns a container ID unique in this test binary and short
// enough to name a cgroup.
func (r *testRuntime) newID() string {
	return fmt.Sprintf("nrt-%d-%d", os.Getpid(), idCounter.Add(1))
}

// track records id so cleanup deletes it and the leak check looks for it.
func (r *testRuntime) track(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

// command returns `$RUNTIME --root ROOT args...`. A create or run call
// has its last argument, the container ID, tracked.
func (r *testRuntime) command(ctx context.Context, args ...string) *exec.Cmd {
	if len(args) > 1 && (args[0] == "create" || args[0] == "run") {
		r.track(args[len(args)-1])
	}
	full := append([]string{"--root", r.root}, args...)
	cmd := exec.CommandContext(ctx, runtimeBin, full...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// exec runs cmd, capturing stdout and stderr unless the caller set them.
// Output goes to files rather than pipes: a detached container inherits
// the runtime's stdio, and a pipe it holds would keep Wait from returning.
func (r *testRuntime) exec(cmd *exec.Cmd) result {
	r.t.Helper()
	var stdout, stderr *os.File
	if cmd.Stdout == nil {
		stdout = r.outputFile()
		cmd.Stdout = stdout
	}
	if cmd.Stderr == nil {
		stderr = r.outputFile()
		cmd.Stderr = stderr
	}
	err := cmd.Run()
	res := result{Stdout: readOutput(r.t, stdout), Stderr: readOutput(r.t, stderr)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
		if res.Code == -1 {
			r.t.Fatalf("%v: %v (%s)", cmd.Args, err, res)
		}
	default:
		r.t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return res
}

// outputFile returns an empty temp file for a command's output.
func (r *testRuntime) outputFile() *os.File {
	r.t.Helper()
	f, err := os.CreateTemp("", "nrt-output-")
	if err != nil {
		r.t.Fatal(err)
	}
	os.Remove(f.Name())
	return f
}

// readOutput returns what was written to f and closes it; nil gives "".
func readOutput(t testing.TB, f *os.File) string {
	t.Helper()
	if f == nil {
		return ""
	}
	defer f.Close()
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatalf("read command output: %v", err)
	}
	return string(data)
}

// run runs the runtime with args and returns what it produced.
func (r *testRuntime) run(args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	return r.exec(r.command(ctx, args...))
}

// mustRun is run that fails the test on a non-zero exit.
func (r *testRuntime) mustRun(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.Code != 0 {
		r.t.Fatalf("%s %s: %s", runtimeName(), strings.Join(args, " "), res)
	}
	return res
}

// runBundle writes b's config.json and runs `run --bundle DIR extra... ID`
// in the foreground with a fresh ID.
func (r *testRuntime) runBundle(b *bundle, extra ...string) (string, result) {
	r.t.Helper()
	b.write(r.t)
	id := r.newID()
	args := append([]string{"run", "--bundle", b.Dir}, extra...)
	return id, r.run(append(args, id)...)
}

// mustRunBundle is runBundle that fails the test unless the container
// exits 0. It returns the container's stdout.
func (r *testRuntime) mustRunBundle(b *bundle, extra ...string) string {
	r.t.Helper()
	_, res := r.runBundle(b, extra...)
	if res.Code != 0 {
		r.t.Fatalf("run container: %s", res)
	}
	return res.Stdout
}

// create writes b's config.json and creates a container from it.
func (r *testRuntime) create(b *bundle, extra ...string) string {
	r.t.Helper()
	b.write(r.t)
	id := r.newID()
	args := append([]string{"create", "--bundle", b.Dir}, extra...)
	r.mustRun(append(args, id)...)
	return id
}

// state returns the parsed `state ID` output.
func (r *testRuntime) state(id string) containerState {
	r.t.Helper()
	res := r.mustRun("state", id)
	var st containerState
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		r.t.Fatalf("parse state of %s: %v in %q", id, err, res.Stdout)
	}
	return st
}

// waitStatus polls state until the container reaches want, failing after
// stateTimeout.
func (r *testRuntime) waitStatus(id, want string) containerState {
	r.t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for {
		st := r.state(id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("container %s status: got %q, want %q after %v", id, st.Status, want, stateTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanup kills and force-deletes every container the test made or the
// root lists, then runs the leak check.
func (r *testRuntime) cleanup() {
	r.t.Helper()
	ids := map[string]bool{}
	r.mu.Lock()
	for _, id := range r.ids {
		ids[id] = true
	}
	r.mu.Unlock()
	if res := r.run("list", "-q"); res.Code == 0 {
		for _, id := range strings.Fields(res.Stdout) {
			ids[id] = true
		}
	}
	for id := range ids {
		if !validID(id) {
			continue
		}
		r.run("kill", id, "KILL")
		r.run("delete", "--force", id)
	}
	r.checkLeaks()
}

// validID reports whether id could name a container and a cgroup, so the
// cleanup and the leak check can use it as a path component.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.Contains(id, "/") && len(id) <= 1024
}
