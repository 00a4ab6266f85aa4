package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The tests in this file pin runtime behaviour that the OCI validation
// suite (validation_test.go) found wrong, so a regression shows up here
// without running the whole suite.

func TestRootfsPropagationUnbindable(t *testing.T) {
	skipIfRuntime(t, "runc", "runc 1.1.5 leaves the container's root private with rootfsPropagation unbindable")
	r := newRuntime(t)
	b := r.newBundle(withMountinfo("mkdir -p /bindtarget && mount -o bind / /bindtarget 2>&1; echo bind-exit=$?")...)
	b.Spec.Linux.RootfsPropagation = "unbindable"
	// The bind needs CAP_SYS_ADMIN, or it fails with EPERM before the
	// propagation is checked.
	caps := b.Spec.Process.Capabilities
	caps.Bounding = append(caps.Bounding, "CAP_SYS_ADMIN")
	caps.Effective = append(caps.Effective, "CAP_SYS_ADMIN")
	caps.Permitted = append(caps.Permitted, "CAP_SYS_ADMIN")
	mounts, rest := splitMountinfo(t, r.mustRunBundle(b))

	root := requireMount(t, mounts, "/")
	got := strings.Join(root.Optional, " ")
	if !strings.Contains(got, "unbindable") {
		t.Errorf("root propagation fields: got %q, want unbindable", got)
	}
	if !strings.Contains(rest, "Invalid argument") || strings.Contains(rest, "bind-exit=0") {
		t.Errorf("bind mount of an unbindable root: got %q, want EINVAL (Invalid argument)", rest)
	}
}

func TestDeviceCgroupListOrder(t *testing.T) {
	if isCgroup2() {
		t.Skip("devices.list exists only on cgroup v1; cgroup v2 uses an eBPF program")
	}
	skipIfRuntime(t, "runc", "runc 1.1.5 writes device rules sorted by device number")
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	major, minor := int64(10), int64(229)
	block, blockMinor := int64(8), int64(20)
	b.Spec.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"},
		{Allow: true, Type: "b", Major: &block, Minor: &blockMinor, Access: "rw"},
	}
	id, res := r.runBundle(b, "--detach")
	if res.Code != 0 {
		t.Fatalf("run --detach: %s", res)
	}
	pid := r.waitStatus(id, "running").Pid

	// The kernel lists device rules in the order they were written, so the
	// spec's rules come first, before the runtime's default rules.
	list := strings.Split(cgroupFile(t, pid, "devices", "devices.list"), "\n")
	want := []string{"c 10:229 rwm", "b 8:20 rw"}
	if len(list) < len(want) || strings.Join(list[:len(want)], "; ") != strings.Join(want, "; ") {
		t.Errorf("devices.list: got %q, want it to start with %q", list, want)
	}
}
