package integration

import (
	"strings"
	"testing"
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
