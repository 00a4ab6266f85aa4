package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupFile reads file in the cgroup v1 hierarchy of controller that pid
// belongs to, or in pid's cgroup v2 group on a unified host.
func cgroupFile(t testing.TB, pid int, controller, file string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			unified = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return readTrimmed(t, filepath.Join(cgroupRoot, parts[1], parts[2], file))
			}
		}
	}
	if unified == "" {
		t.Fatalf("cgroup of pid %d: no %s controller in %q", pid, controller, data)
	}
	return readTrimmed(t, filepath.Join(cgroupRoot, unified, file))
}

func readTrimmed(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// isCgroup2 reports whether the host has only the unified hierarchy.
func isCgroup2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

func TestCgroupLimits(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	memory, pids := int64(64<<20), int64(50)
	shares, quota, period := uint64(512), int64(50000), uint64(100000)
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &memory}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	b.Spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}
	id, res := r.runBundle(b, "--detach")
	if res.Code != 0 {
		t.Fatalf("run --detach: %s", res)
	}
	pid := r.waitStatus(id, "running").Pid

	tests := []struct{ controller, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"pids", "pids.max", "50"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
	}
	if isCgroup2() {
		// cpu.weight is converted from shares, which runtimes round
		// differently, so only the limits are compared.
		tests = []struct{ controller, file, want string }{
			{"memory", "memory.max", "67108864"},
			{"pids", "pids.max", "50"},
			{"cpu", "cpu.max", "50000 100000"},
		}
	}
	for _, tt := range tests {
		if got := cgroupFile(t, pid, tt.controller, tt.file); got != tt.want {
			t.Errorf("%s of the container: got %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestCgroupMountReadOnly(t *testing.T) {
	if isCgroup2() {
		t.Skip("checks the per-controller cgroup v1 mounts, and this host has only cgroup v2")
	}
	r := newRuntime(t)
	b := r.newBundle(shell(strings.Join([]string{
		"cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
		"echo 1 2>/dev/null >/sys/fs/cgroup/pids/pids.max && echo writable || echo read-only",
	}, "; "))...)
	memory, pids := int64(32<<20), int64(40)
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &memory}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	if got, want := r.mustRunBundle(b), "33554432\n40\nread-only\n"; got != want {
		t.Errorf("cgroup files inside the container: got %q, want %q", got, want)
	}
}
