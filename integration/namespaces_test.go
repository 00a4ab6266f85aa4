package integration

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestUserNamespace(t *testing.T) {
	const hostID, size = 100000, 65536
	r := newRuntime(t)
	b := r.newBundle(shell("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")...)
	b.addNamespace(specs.UserNamespace, "")
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: size}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: size}}
	chownTree(t, b.Rootfs, hostID, hostID)

	got := strings.Fields(r.mustRunBundle(b))
	want := strings.Fields(fmt.Sprintf("0 0 0 %d %d 0 %d %d", hostID, size, hostID, size))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("id -u, id -g, uid_map, gid_map: got %q, want %q", got, want)
	}
}

// chownTree changes the owner of every file under dir, without following
// symlinks.
func chownTree(t testing.TB, dir string, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		t.Fatalf("chown %s to %d:%d: %v", dir, uid, gid, err)
	}
}

func TestJoinNetworkNamespace(t *testing.T) {
	r := newRuntime(t)
	first := r.newBundle("sleep", "1000")
	id, res := r.runBundle(first, "--detach")
	if res.Code != 0 {
		t.Fatalf("run the first container: %s", res)
	}
	pid := r.waitStatus(id, "running").Pid
	nsPath := fmt.Sprintf("/proc/%d/ns/net", pid)
	want, err := os.Readlink(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if want == host {
		t.Fatalf("first container's network namespace: got the host's %s, want a new one", host)
	}

	second := r.newBundle("readlink", "/proc/self/ns/net")
	second.addNamespace(specs.NetworkNamespace, nsPath)
	if got := strings.TrimSpace(r.mustRunBundle(second)); got != want {
		t.Errorf("second container's network namespace: got %q, want %q", got, want)
	}
}

func TestNamespacesAreNew(t *testing.T) {
	r := newRuntime(t)
	kinds := []string{"pid", "net", "ipc", "uts", "mnt"}
	script := ""
	for _, k := range kinds {
		script += "readlink /proc/self/ns/" + k + "; "
	}
	b := r.newBundle(shell(script)...)
	got := strings.Fields(r.mustRunBundle(b))
	if len(got) != len(kinds) {
		t.Fatalf("namespace links: got %q, want %d", got, len(kinds))
	}
	for i, k := range kinds {
		host, err := os.Readlink("/proc/self/ns/" + k)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] == host {
			t.Errorf("%s namespace: got the host's %s, want a new one", k, host)
		}
	}
}
