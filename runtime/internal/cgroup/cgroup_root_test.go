package cgroup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups under /sys/fs/cgroup")
	}
}

// testParent returns an absolute cgroupsPath parent unique to this test,
// which Apply has to create and Destroy has to remove again.
func testParent(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("/nullrun-test-%d-%s", os.Getpid(), name)
}

// newApplied creates a Manager for linux, starts a sleep child and applies
// the cgroup to it. Cleanup kills the child and removes every directory the
// cgroup left, even if the test failed half way.
func newApplied(t *testing.T, linux *specs.Linux) (*Manager, *exec.Cmd) {
	t.Helper()
	m, err := New("ctr", linux, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	paths := m.Paths()
	t.Cleanup(func() { removeLeftovers(t, paths, linux.CgroupsPath) })

	cmd := startSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatalf("Apply(%d): %v", cmd.Process.Pid, err)
	}
	return m, cmd
}

// startSleep starts a child that lives until the test kills it.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// removeLeftovers removes the test's cgroup directories and their parents
// up to the test's own top directory, in case the code under test did not.
func removeLeftovers(t *testing.T, paths map[string]string, cgroupsPath string) {
	top := strings.SplitN(strings.TrimPrefix(cgroupsPath, "/"), "/", 2)[0]
	for _, dir := range paths {
		_ = cgroups.RemovePath(dir)
		if i := strings.Index(dir, "/"+top+"/"); top != "" && i >= 0 {
			_ = cgroups.RemovePath(dir[:i+len(top)+1])
		}
	}
}

// controllerFile returns the path of a controller's file: v1name in the
// controller's directory on v1 and hybrid hosts, v2name in the unified
// directory on v2 hosts.
func controllerFile(m *Manager, controller, v1name, v2name string) string {
	if cgroups.IsCgroup2UnifiedMode() {
		return filepath.Join(m.Paths()[""], v2name)
	}
	return filepath.Join(m.Paths()[controller], v1name)
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(data))
}

func TestApplySetsLimits(t *testing.T) {
	needRoot(t)
	linux := &specs.Linux{
		CgroupsPath: testParent(t) + "/ctr",
		Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Kernel: ptr(int64(8 << 20))},
			Pids:   &specs.LinuxPids{Limit: ptr(int64(50))},
			CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512))},
		},
	}
	m, cmd := newApplied(t, linux)

	mem := controllerFile(m, "memory", "memory.limit_in_bytes", "memory.max")
	if got, want := readTrimmed(t, mem), strconv.Itoa(64<<20); got != want {
		t.Errorf("%s: got %s, want %s", mem, got, want)
	}
	pids := controllerFile(m, "pids", "pids.max", "pids.max")
	if got, want := readTrimmed(t, pids), "50"; got != want {
		t.Errorf("%s: got %s, want %s", pids, got, want)
	}
	if !cgroups.IsCgroup2UnifiedMode() {
		shares := controllerFile(m, "cpu", "cpu.shares", "")
		if got, want := readTrimmed(t, shares), "512"; got != want {
			t.Errorf("%s: got %s, want %s", shares, got, want)
		}
	}

	for controller, dir := range m.Paths() {
		procs, err := cgroups.GetPids(dir)
		if err != nil {
			t.Errorf("read pids of %q cgroup %s: %v", controller, dir, err)
			continue
		}
		if !slices.Contains(procs, cmd.Process.Pid) {
			t.Errorf("%q cgroup %s: got pids %v, want them to contain %d",
				controller, dir, procs, cmd.Process.Pid)
		}
	}
}

func TestApplyAllowsDefaultDevices(t *testing.T) {
	needRoot(t)
	if cgroups.IsCgroup2UnifiedMode() {
		t.Skip("needs cgroup v1 devices.list; cgroup v2 uses an eBPF program")
	}
	linux := &specs.Linux{
		CgroupsPath: testParent(t) + "/ctr",
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
		}},
	}
	m, _ := newApplied(t, linux)

	list := readTrimmed(t, filepath.Join(m.Paths()["devices"], "devices.list"))
	lines := strings.Split(list, "\n")
	for _, want := range []string{"c 1:3 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "b *:* m"} {
		if !slices.Contains(lines, want) {
			t.Errorf("devices.list: got %q, want it to contain %q", lines, want)
		}
	}
	if slices.Contains(lines, "a *:* rwm") {
		t.Errorf("devices.list: got %q, want no allow-all rule", lines)
	}
}

func TestApplyFailureRemovesCgroup(t *testing.T) {
	needRoot(t)
	parent := testParent(t)
	linux := &specs.Linux{
		CgroupsPath: parent + "/ctr",
		// No host has this CPU, so writing cpuset.cpus fails.
		Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: strconv.Itoa(runtime.NumCPU() + 4000)}},
	}
	m, err := New("ctr", linux, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	paths := m.Paths()
	t.Cleanup(func() { removeLeftovers(t, paths, linux.CgroupsPath) })
	cmd := startSleep(t)

	if err := m.Apply(cmd.Process.Pid); err == nil {
		t.Fatal("Apply: got no error, want one for a CPU the host does not have")
	}
	for controller, dir := range paths {
		if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: got %s present (%v), want it removed after the failed Apply",
				controller, filepath.Dir(dir), err)
		}
	}
}

func TestFreezeThaw(t *testing.T) {
	needRoot(t)
	m, _ := newApplied(t, &specs.Linux{CgroupsPath: testParent(t) + "/ctr"})
	state := controllerFile(m, "freezer", "freezer.state", "cgroup.freeze")
	frozen, thawed := "FROZEN", "THAWED"
	if cgroups.IsCgroup2UnifiedMode() {
		frozen, thawed = "1", "0"
	}

	if err := m.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if got := readTrimmed(t, state); got != frozen {
		t.Errorf("after Freeze, %s: got %s, want %s", state, got, frozen)
	}
	if got, err := m.Frozen(); err != nil || !got {
		t.Errorf("after Freeze, Frozen: got %v, %v, want true, nil", got, err)
	}

	if err := m.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if got := readTrimmed(t, state); got != thawed {
		t.Errorf("after Thaw, %s: got %s, want %s", state, got, thawed)
	}
	if got, err := m.Frozen(); err != nil || got {
		t.Errorf("after Thaw, Frozen: got %v, %v, want false, nil", got, err)
	}
}

func TestPidsAndStats(t *testing.T) {
	needRoot(t)
	m, cmd := newApplied(t, &specs.Linux{
		CgroupsPath: testParent(t) + "/ctr",
		Resources:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}},
	})
	second := startSleep(t)
	if err := m.AddProcess(second.Process.Pid); err != nil {
		t.Fatalf("AddProcess: %v", err)
	}

	pids, err := m.Pids()
	if err != nil {
		t.Fatalf("Pids: %v", err)
	}
	slices.Sort(pids)
	want := []int{cmd.Process.Pid, second.Process.Pid}
	slices.Sort(want)
	if !slices.Equal(pids, want) {
		t.Errorf("Pids: got %v, want %v", pids, want)
	}

	stats, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if got := stats.PidsStats.Current; got != 2 {
		t.Errorf("PidsStats.Current: got %d, want 2", got)
	}
	// Usage itself can be 0: cgroup v1 leaves a process's earlier memory
	// charged to the cgroup it came from.
	if got, want := stats.MemoryStats.Usage.Limit, uint64(64<<20); got != want {
		t.Errorf("MemoryStats.Usage.Limit: got %d, want %d", got, want)
	}
}

func TestKillAllAndDestroy(t *testing.T) {
	needRoot(t)
	parent := testParent(t)
	m, cmd := newApplied(t, &specs.Linux{CgroupsPath: parent + "/ctr"})
	other := startSleep(t)
	if err := m.AddProcess(other.Process.Pid); err != nil {
		t.Fatalf("AddProcess: %v", err)
	}
	paths := m.Paths()

	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatalf("KillAll: %v", err)
	}
	for _, c := range []*exec.Cmd{cmd, other} {
		err := c.Wait()
		status, ok := c.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !status.Signaled() || status.Signal() != unix.SIGKILL {
			t.Errorf("pid %d: got %v, want it killed by SIGKILL", c.Process.Pid, err)
		}
	}
	if frozen, err := m.Frozen(); err != nil || frozen {
		t.Errorf("after KillAll, Frozen: got %v, %v, want false, nil", frozen, err)
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("after KillAll, Pids: got %v, %v, want none", pids, err)
	}

	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for controller, dir := range paths {
		top := dir[:strings.Index(dir, parent)+len(parent)]
		if _, err := os.Stat(top); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: got %s present (%v), want it removed", controller, top, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: got %v, want nil for a cgroup already gone", err)
	}
}

func TestDestroyKeepsSharedParent(t *testing.T) {
	needRoot(t)
	parent := testParent(t)
	first, firstCmd := newApplied(t, &specs.Linux{CgroupsPath: parent + "/first"})
	second, _ := newApplied(t, &specs.Linux{CgroupsPath: parent + "/second"})

	if err := first.KillAll(unix.SIGKILL); err != nil {
		t.Fatalf("KillAll: %v", err)
	}
	_ = firstCmd.Wait()
	if err := first.Destroy(); err != nil {
		t.Fatalf("Destroy first: %v", err)
	}
	for controller, dir := range second.Paths() {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%q: got %v, want the second container's cgroup %s kept", controller, err, dir)
		}
	}
}

func TestDestroyBusyCgroupFails(t *testing.T) {
	needRoot(t)
	m, _ := newApplied(t, &specs.Linux{CgroupsPath: testParent(t) + "/ctr"})
	if err := m.Destroy(); err == nil {
		t.Fatal("Destroy: got no error, want one for a cgroup with a live process")
	}
}

func TestLoadThenUpdate(t *testing.T) {
	needRoot(t)
	linux := &specs.Linux{
		CgroupsPath: testParent(t) + "/ctr",
		Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))},
			Pids:   &specs.LinuxPids{Limit: ptr(int64(50))},
		},
	}
	m, cmd := newApplied(t, linux)

	data, err := json.Marshal(m.Saved())
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var saved Saved
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	loaded, err := Load(saved)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	update := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(96 << 20))}}
	if err := loaded.Update(update); err != nil {
		t.Fatalf("Update: %v", err)
	}
	mem := controllerFile(loaded, "memory", "memory.limit_in_bytes", "memory.max")
	if got, want := readTrimmed(t, mem), strconv.Itoa(96<<20); got != want {
		t.Errorf("%s: got %s, want %s", mem, got, want)
	}
	pids := controllerFile(loaded, "pids", "pids.max", "pids.max")
	if got, want := readTrimmed(t, pids), "50"; got != want {
		t.Errorf("%s: got %s, want %s (unchanged by a memory update)", pids, got, want)
	}
	if got := loaded.Saved().Config.Resources.Memory; got != 96<<20 {
		t.Errorf("saved memory limit: got %d, want %d", got, 96<<20)
	}

	if err := loaded.KillAll(unix.SIGKILL); err != nil {
		t.Fatalf("KillAll: %v", err)
	}
	_ = cmd.Wait()
	if err := loaded.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	parent := linux.CgroupsPath[:strings.LastIndex(linux.CgroupsPath, "/")]
	for controller, dir := range loaded.Paths() {
		top := dir[:strings.Index(dir, parent)+len(parent)]
		if _, err := os.Stat(top); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: got %s present (%v), want the loaded manager to remove it", controller, top, err)
		}
	}
}
