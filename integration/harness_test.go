package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runtimeBin is the runtime under test, set by TestMain.
var runtimeBin string

// busyboxPath is the static busybox copied into every rootfs.
const busyboxPath = "/bin/busybox"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	runtimeBin = os.Getenv("NULLRUN_RUNTIME")
	if runtimeBin == "" {
		dir, err := os.MkdirTemp("", "nullrun-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		runtimeBin = filepath.Join(dir, "nullrun")
		build := exec.Command("go", "build", "-o", runtimeBin, "../cmd/nullrun")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build nullrun: %v\n", err)
			return 1
		}
	}
	defer removeBusyboxImage()
	return m.Run()
}

// requireRoot skips t when the test process is not root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces, mounts and cgroups")
	}
}

// makeRootfs fills dir with a minimal busybox-static root filesystem:
// busybox, one symlink per applet under /bin, /etc/passwd and /etc/group,
// and empty /proc, /sys, /dev and /tmp.
func makeRootfs(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skipf("needs %s from the busybox-static package: %v", busyboxPath, err)
	}
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("list busybox applets: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
