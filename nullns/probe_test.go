package nullns

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestProbeRunsChild(t *testing.T) {
	var before unix.Stat_t
	if err := unix.Stat("/", &before); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()

	p := Probe()
	for _, f := range p.childFeatures() {
		if strings.Contains(f.Detail, "probe child") {
			t.Errorf("%s: the probe child did not run: %s", f.Name, f.Detail)
		}
		if f.Name == "" || f.Kernel == "" {
			t.Errorf("feature without name or kernel: %+v", f)
		}
	}
	if Probe() != p {
		t.Error("Probe: got a new result on the second call, want the cached one")
	}

	// The probes that change state ran in the child only.
	var after unix.Stat_t
	if err := unix.Stat("/", &after); err != nil {
		t.Fatalf("stat / after Probe: %v", err)
	}
	if after.Ino != before.Ino || after.Dev != before.Dev {
		t.Errorf("root after Probe: got %d:%d, want %d:%d", after.Dev, after.Ino, before.Dev, before.Ino)
	}
	if got, _ := os.Getwd(); got != wd {
		t.Errorf("working directory after Probe: got %q, want %q", got, wd)
	}
}

// TestProbeLandlock fails when the probe disagrees with the kernel, and
// skips only where the kernel has no Landlock.
func TestProbeLandlock(t *testing.T) {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	p := Probe()
	if errno != 0 {
		if p.Landlock.Available {
			t.Fatalf("Landlock: probe says available, kernel says %v", errno)
		}
		t.Skipf("kernel without Landlock: %v", errno)
	}
	if got, want := p.LandlockABI, int(abi); got != want {
		t.Errorf("Landlock ABI: got %d, want %d", got, want)
	}
	if !p.Landlock.Available {
		t.Errorf("Landlock available: got false, want true (%s)", p.Landlock.Detail)
	}
}

// TestProbeStockKernel checks the signatures on a kernel older than every
// native feature, where each must read as missing.
func TestProbeStockKernel(t *testing.T) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	if !strings.HasPrefix(release, "6.") {
		t.Skipf("kernel %s may have native features; this test covers 6.x", release)
	}
	p := Probe()
	for _, f := range []Feature{p.Failfs, p.FailfsCwd, p.EmptyMntnsUnshare, p.EmptyMntnsClone,
		p.OpenTreeNamespace, p.NullNetwork, p.NullIPC, p.NullUTS} {
		if f.Available {
			t.Errorf("%s on %s: got available (%s), want missing", f.Name, release, f.Detail)
		}
	}
	if !p.Seccomp.Available {
		t.Errorf("seccomp: got missing (%s), want available", p.Seccomp.Detail)
	}
}

func TestProbeCost(t *testing.T) {
	start := time.Now()
	p := probeKernel()
	t.Logf("uncached probe: %v; failfs: %s; UNSHARE_EMPTY_MNTNS: %s; CLONE_EMPTY_MNTNS: %s; OPEN_TREE_NAMESPACE: %s",
		time.Since(start), p.Failfs.Detail, p.EmptyMntnsUnshare.Detail, p.EmptyMntnsClone.Detail, p.OpenTreeNamespace.Detail)
}
