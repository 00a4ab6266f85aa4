package nsenter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// procStatusField returns the fields of one line of /proc/PID/status,
// such as "Uid" or "Threads".
func procStatusField(t *testing.T, pid int, name string) []string {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("/proc/%d/status has no %s line", pid, name)
	return nil
}

// cgroupPath returns the path of the named v1 hierarchy in the text of a
// /proc/PID/cgroup file.
func cgroupPath(t *testing.T, text, controller string) string {
	t.Helper()
	for line := range strings.Lines(text) {
		fields := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(fields) == 3 && fields[1] == controller {
			return fields[2]
		}
	}
	t.Fatalf("no %s hierarchy in %q", controller, text)
	return ""
}

// makePidsCgroup creates /sys/fs/cgroup/pids/NAME for the test and
// removes it in cleanup, which runs after the cleanup of children
// started later, so the cgroup is empty by then.
func makePidsCgroup(t *testing.T) (dir, name string) {
	t.Helper()
	const root = "/sys/fs/cgroup/pids"
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		t.Skipf("needs the cgroup v1 pids hierarchy at %s: %v", root, err)
	}
	name = t.Name()
	dir = filepath.Join(root, name)
	// A run that was killed may have left the cgroup behind, empty.
	_ = os.Remove(dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove test cgroup: %v", err)
		}
	})
	return dir, name
}

func TestPauseRunsMainAfterResume(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name    string
		unshare []string
		forks   bool
	}{
		{"no fork", nil, false},
		{"fork for pid namespace", []string{"pid"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "marker")
			cmd := childCommand()
			cmd.Env = append(cmd.Env, markerEnv+"="+marker)
			c, err := startCommand(t, cmd, Request{Unshare: tt.unshare, Pause: true})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if forked := c.pid != cmd.Process.Pid; forked != tt.forks {
				t.Errorf("pid %d of the direct child %d: got forked %v, want %v", c.pid, cmd.Process.Pid, forked, tt.forks)
			}
			// A paused process is still in the constructor, which runs
			// before the Go runtime starts its threads.
			if got := procStatusField(t, c.pid, "Threads"); len(got) != 1 || got[0] != "1" {
				t.Errorf("threads of the paused pid %d: got %v, want 1", c.pid, got)
			}

			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Resume(c.sock); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			r := c.exchange(t)
			if r.Marker != "found" {
				t.Errorf("marker seen by Go main: got %q, want \"found\" (written before Resume)", r.Marker)
			}
			if r.PID != c.pid && (len(r.NSpid) == 0 || r.NSpid[0] != c.pid) {
				t.Errorf("pid reported by the child: got %d (NSpid %v), want %d from Start", r.PID, r.NSpid, c.pid)
			}
		})
	}
}

func TestPauseCgroupNamespace(t *testing.T) {
	needRoot(t)
	dir, name := makePidsCgroup(t)
	c, err := startChild(t, Request{Pause: true, CgroupNamespace: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(c.pid)), 0); err != nil {
		t.Fatalf("move pid %d into the test cgroup: %v", c.pid, err)
	}
	if err := Resume(c.sock); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	r := c.exchange(t)

	if got := cgroupPath(t, r.Cgroup, "pids"); got != "/" {
		t.Errorf("pids cgroup seen by the child: got %q, want \"/\"", got)
	}
	host, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cgroupPath(t, string(host), "pids"), "/"+name; got != want {
		t.Errorf("pids cgroup seen by the parent: got %q, want %q", got, want)
	}
	if own := namespaces("self"); r.NS["cgroup"] == own["cgroup"] {
		t.Errorf("cgroup namespace: got the parent's %q, want a new one", own["cgroup"])
	}
}

func TestPauseNullUser(t *testing.T) {
	needRoot(t)
	// Searchable by everyone, so that only the file modes decide.
	dir, err := os.MkdirTemp("", "nsenter-null-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret, public := filepath.Join(dir, "secret"), filepath.Join(dir, "public")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, []byte("everyone\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := childCommand()
	cmd.Env = append(cmd.Env, openEnv+"="+secret+":"+public, setRootEnv+"=1")
	c, err := startCommand(t, cmd, Request{Pause: true, NullUser: &IDs{UID: 65534, GID: 65534}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := procStatusField(t, c.pid, "Uid"); got[1] != "0" {
		t.Errorf("host euid of the paused pid %d: got %s, want 0 until Resume", c.pid, got[1])
	}
	if err := Resume(c.sock); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	r := c.exchange(t)

	if r.UID != 65534 || r.GID != 65534 {
		t.Errorf("uid, gid seen by the child: got %d, %d, want 65534, 65534", r.UID, r.GID)
	}
	if r.UIDMap != "" || r.GIDMap != "" {
		t.Errorf("uid_map, gid_map: got %q, %q, want both empty", r.UIDMap, r.GIDMap)
	}
	if own := namespaces("self"); r.NS["user"] == own["user"] {
		t.Errorf("user namespace: got the parent's %q, want a new one", own["user"])
	}
	for _, name := range []string{"Uid", "Gid"} {
		if got := procStatusField(t, c.pid, name); strings.Join(got, " ") != "65534 65534 65534 65534" {
			t.Errorf("host %s (real, effective, saved, fs) of pid %d: got %v, want 65534 in all four", name, c.pid, got)
		}
	}
	if got := procStatusField(t, c.pid, "Groups"); len(got) != 0 {
		t.Errorf("host supplementary groups of pid %d: got %v, want none", c.pid, got)
	}

	if got := r.OpenErrno[public]; got != 0 {
		t.Errorf("open a 0644 file: got errno %d, want success", got)
	}
	if got := unix.Errno(r.OpenErrno[secret]); got != unix.EACCES {
		t.Errorf("open a root-owned 0600 file: got errno %d (%v), want EACCES", int(got), got)
	}
	if got := unix.Errno(r.SetRootErrno); got != unix.EPERM && got != unix.EINVAL {
		t.Errorf("switch to uid 0: got %q (errno %d), want EPERM or EINVAL", r.SetRootErr, r.SetRootErrno)
	}
}

func TestResumeReturnsSetupError(t *testing.T) {
	needRoot(t)
	// Creating a cgroup namespace fails with ENOSPC inside a user
	// namespace whose limit is 0, which is private to that namespace.
	holder := startHolderScript(t, "echo 0 > /proc/sys/user/max_cgroup_namespaces && ", "--user", "--map-root-user")
	userPath := fmt.Sprintf("/proc/%d/ns/user", holder)

	c, err := startChild(t, Request{
		Join:            []Namespace{{Type: "user", Path: userPath}},
		Pause:           true,
		CgroupNamespace: true,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	err = Resume(c.sock)
	var setupErr *SetupError
	if !errors.As(err, &setupErr) {
		t.Fatalf("Resume: got %v (%T), want a *SetupError", err, err)
	}
	if !strings.Contains(err.Error(), "create cgroup namespace") {
		t.Errorf("error: got %q, want it to name the cgroup namespace", err)
	}
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("errors.Is(%v, ENOSPC): got false, want true", err)
	}
	if state := c.wait(t); state.ExitCode() != 1 {
		t.Errorf("child after the error: got %s, want exit status 1", state)
	}
}

func TestPauseJoinNullUser(t *testing.T) {
	needRoot(t)
	ids := &IDs{UID: 64001, GID: 64001}
	first, err := startChild(t, Request{Pause: true, NullUser: ids})
	if err != nil {
		t.Fatalf("Start first: %v", err)
	}
	if err := Resume(first.sock); err != nil {
		t.Fatalf("Resume first: %v", err)
	}
	userns := fmt.Sprintf("/proc/%d/ns/user", first.pid)
	want, err := os.Readlink(userns)
	if err != nil {
		t.Fatal(err)
	}

	second, err := startChild(t, Request{Pause: true, NullUser: ids, NullUserNamespace: userns})
	if err != nil {
		t.Fatalf("Start second: %v", err)
	}
	if err := Resume(second.sock); err != nil {
		t.Fatalf("Resume second: %v", err)
	}
	r := second.exchange(t)
	if r.NS["user"] != want {
		t.Errorf("user namespace of the second child: got %q, want the first's %q", r.NS["user"], want)
	}
	if r.UID != 65534 || r.GID != 65534 {
		t.Errorf("uid, gid seen by the second child: got %d, %d, want 65534, 65534", r.UID, r.GID)
	}
	if got := procStatusField(t, second.pid, "Uid"); strings.Join(got, " ") != "64001 64001 64001 64001" {
		t.Errorf("host uids of the second child: got %v, want 64001 in all four", got)
	}
	first.exchange(t)
}
